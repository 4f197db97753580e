/**
 * Impact analysis of a run (pure): for every fault, which services left their steady state, how, when
 * and for how long; compared with what the dependency graph predicted (blast radius). Impact without
 * an edge becomes a hidden dependency (an edge with "impact" evidence in graphAfter); an edge whose
 * client showed no impact is reported as resilient.
 */
import type { ServiceKind } from "../discovery/profile.js";
import { adjacency, blastRadius, DEFAULT_MIN_CONFIDENCE } from "../graph/order.js";
import type { DependencyGraph, GraphEdge } from "../graph/types.js";
import type { MonitorData, ServiceSample } from "../monitor/types.js";
import type { FaultStep, RunRecord } from "../run/record.js";
import { CONTINUOUS_METRICS, serviceDeviation } from "./deviation.js";
import { SEVERITY_RULE, severityOf } from "./severity.js";
import { breachedBefore, formatThresholdValue, thresholdsFor, type Threshold } from "./thresholds.js";
import type {
  ChartSeries,
  ClientError,
  EdgeRef,
  ImpactedService,
  RunAnalysis,
  ScenarioFaultAnalysis,
  ServiceImpact,
  StepAnalysis,
  TimelineEvent,
} from "./types.js";
import { describeClientErrors, describeErrors } from "./words.js";

export interface AnalyzeOptions {
  /** Edges below this confidence do not count for expected impact (as in the planner). */
  minConfidence?: number;
  /** Samples needed per service in a step's own baseline before falling back to the whole run's. */
  minBaselineSamples?: number;
  /** Services charted per fault (target first, then the impacted). */
  maxChartedServices?: number;
  /** Explicit steady-state limits on top of the learned ones (parseThresholds). */
  thresholds?: readonly Threshold[];
  now?: () => Date;
}

/** Confidence of an edge learned only from impact: errors naming the peer, or merely co-occurring. */
export const HIDDEN_EDGE_CONFIDENCE = { peerMentioned: 0.8, coincident: 0.5 } as const;

/** The signal of a service impacted only by what its clients logged about it. */
export const CLIENT_ERRORS_METRIC = "clients.errors";

export function analyzeRun(record: RunRecord, data: MonitorData, options: AnalyzeOptions = {}): RunAnalysis {
  const graph = record.graphBefore ?? { nodes: [], edges: [], order: [] };
  const ctx = new RunContext(data, graph, options);
  const steps = unitsOf(record.steps).map((unit) =>
    unit.scenario ? ctx.analyzeScenario(unit.scenario, unit.steps) : ctx.analyzeStep(unit.steps[0]!),
  );
  const hiddenEdges = mergeHiddenEdges(steps);
  const base = record.graphAfter ?? record.graphBefore;
  return {
    version: 1,
    runId: record.runId,
    generatedAt: (options.now?.() ?? new Date()).toISOString(),
    intervalMs: data.intervalMs,
    severityRule: SEVERITY_RULE,
    ...(options.thresholds?.length ? { thresholds: options.thresholds.map((t) => t.text) } : {}),
    steps,
    hiddenEdges,
    ...(base ? { graphAfter: withEdges(base, hiddenEdges) } : {}),
    timeline: timeline(record, steps),
    examples: data.examples,
    notes: data.notes,
  };
}

class RunContext {
  private readonly byService = new Map<string, ServiceSample[]>();
  private readonly kinds = new Map<string, ServiceKind>();
  private readonly minConfidence: number;
  private readonly userFacing: Set<string>;

  constructor(
    private readonly data: MonitorData,
    private readonly graph: DependencyGraph,
    private readonly options: AnalyzeOptions,
  ) {
    for (const s of [...data.samples].sort((a, b) => a.t - b.t)) {
      const list = this.byService.get(s.service) ?? [];
      list.push(s);
      this.byService.set(s.service, list);
    }
    for (const n of graph.nodes) this.kinds.set(n.id, n.kind);
    this.minConfidence = options.minConfidence ?? DEFAULT_MIN_CONFIDENCE;
    const adj = adjacency(graph, this.minConfidence);
    this.userFacing = new Set(
      adj.ids.filter((id) => adj.dependents.get(id)!.size === 0 && adj.dependsOn.get(id)!.size > 0),
    );
    // A lone HTTP service with no dependents is an entry point too.
    for (const n of graph.nodes)
      if ((n.kind === "http" || n.kind === "grpc") && adj.dependents.get(n.id)?.size === 0)
        this.userFacing.add(n.id);
  }

  /**
   * A scenario is judged as one unit (its baseline, its window, its recovery), with all its targets as
   * targets; then each fault gets what deviated while it alone was in effect, where windows differ.
   */
  analyzeScenario(scenario: { id: string; title: string }, steps: readonly FaultStep[]): StepAnalysis {
    const targets = [...new Set(steps.map((s) => s.target))];
    const times = (pick: (s: FaultStep) => string | undefined) =>
      steps
        .map(pick)
        .filter((t): t is string => t !== undefined)
        .sort();
    const outcomes = steps.map((s) => s.outcome);
    const unit: FaultStep = {
      ...steps[0]!,
      faultId: scenario.id,
      target: targets[0]!,
      description: `scenario "${scenario.title}": ${steps.map((s) => s.description).join("; ")}`,
      ...(times((s) => s.injectedAt)[0] ? { injectedAt: times((s) => s.injectedAt)[0] } : {}),
      ...(times((s) => s.revertedAt).at(-1) ? { revertedAt: times((s) => s.revertedAt).at(-1) } : {}),
      outcome:
        outcomes.find((o) => o?.status === "revert-failed") ??
        outcomes.find((o) => o?.status === "aborted") ??
        outcomes.find((o) => o?.status === "reverted") ??
        outcomes[0],
      errors: steps.flatMap((s) => s.errors),
    };
    const analysis = this.analyzeStep(unit, targets.slice(1));
    const targetImpacts = [
      ...(analysis.targetImpact ? [analysis.targetImpact] : []),
      ...(analysis.otherTargets ?? []),
    ];
    delete analysis.otherTargets;
    return {
      ...analysis,
      target: targets.join("+"),
      kind: "scenario",
      expected: [...new Set(targets.flatMap((t) => this.expected(t)))].filter((t) => !targets.includes(t)),
      scenario: {
        id: scenario.id,
        title: scenario.title,
        targets,
        targetImpacts,
        faults: this.attributeFaults(scenario.id, steps),
      },
    };
  }

  /** Each fault's own window inside the scenario, the part no other fault shared, and what deviated then. */
  private attributeFaults(scenarioId: string, steps: readonly FaultStep[]): ScenarioFaultAnalysis[] {
    const start = this.data.marks.find((m) => m.stepId === scenarioId && m.phase === "during")?.t;
    const end = this.data.marks.find((m) => m.stepId === scenarioId && m.phase === "after")?.t;
    if (start === undefined) return [];
    const windowOf = (faultId: string): [number, number] | undefined => {
      const from = this.data.marks.find((m) => m.stepId === faultId && m.phase === "during")?.t;
      if (from === undefined) return undefined;
      const to = this.data.marks.find((m) => m.stepId === faultId && m.phase === "after")?.t;
      return [from, to ?? end ?? from];
    };
    const windows = new Map(steps.map((s) => [s.faultId, windowOf(s.faultId)]));
    const samples = this.data.samples.filter((s) => s.stepId === scenarioId);
    const baselineOf = (service: string) =>
      samples.filter((s) => s.service === service && s.phase === "baseline");
    return steps.map((step): ScenarioFaultAnalysis => {
      const own = windows.get(step.faultId);
      const base = {
        faultId: step.faultId,
        kind: step.kind,
        target: step.target,
        description: step.description,
      };
      if (!own)
        return {
          ...base,
          startMs: 0,
          endMs: 0,
          exclusiveMs: 0,
          deviated: [],
          attribution: "never in effect",
        };
      const others = [...windows].filter(([id, w]) => id !== step.faultId && w).map(([, w]) => w!);
      const alone = (t: number) => t >= own[0] && t <= own[1] && !others.some(([a, b]) => t >= a && t <= b);
      const exclusive = samples.filter((s) => s.phase === "during" && alone(s.t));
      const ticks = new Set(exclusive.map((s) => s.t)).size;
      const exclusiveMs = ticks * this.data.intervalMs;
      const timing = { startMs: own[0] - start, endMs: own[1] - start, exclusiveMs };
      if (ticks < 2)
        return {
          ...base,
          ...timing,
          deviated: [],
          attribution:
            "in effect only while other faults of the scenario were too: its impact is the scenario's",
        };
      const first = Math.min(...exclusive.map((s) => s.t));
      const last = Math.max(...exclusive.map((s) => s.t));
      const deviated = this.data.services.flatMap((service) => {
        const dev = serviceDeviation({
          service,
          baseline: baselineOf(service),
          window: exclusive.filter((s) => s.service === service),
          injectT: first,
          revertT: last,
          intervalMs: this.data.intervalMs,
          thresholds: thresholdsFor(this.options.thresholds ?? [], service),
        });
        if (!dev || !dev.signals.length) return [];
        return [{ service, summary: dev.signals.map((g) => `${service}: ${g.text}`).slice(0, 3) }];
      });
      const names = deviated.map((d) => d.service);
      return {
        ...base,
        ...timing,
        deviated,
        attribution: names.length
          ? `alone for ${Math.round(exclusiveMs / 1000)} s: ${names.join(", ")} deviated then`
          : `alone for ${Math.round(exclusiveMs / 1000)} s: nothing deviated then`,
      };
    });
  }

  analyzeStep(
    step: FaultStep,
    alsoTargets: readonly string[] = [],
  ): StepAnalysis & { otherTargets?: ServiceImpact[] } {
    const base = {
      faultId: step.faultId,
      target: step.target,
      kind: step.kind,
      description: step.description,
      outcome: step.outcome?.status ?? "unknown",
      ...(step.injectedAt ? { injectedAt: step.injectedAt } : {}),
      ...(step.revertedAt ? { revertedAt: step.revertedAt } : {}),
      expected: this.expected(step.target),
    };
    const empty = {
      ...base,
      analyzed: false,
      severity: "none" as const,
      severityReason: "not analysed",
      impacted: [],
      confirmedEdges: [],
      hiddenEdges: [],
      resilientEdges: [],
      unobservedEdges: [],
      recoveredAfterMs: null,
      summary: [],
      charts: [],
    };
    const marks = this.data.marks.filter((m) => m.stepId === step.faultId);
    const during = marks.find((m) => m.phase === "during");
    if (!during)
      return { ...empty, note: "no monitoring data for this fault (never injected or not monitored)" };
    // The memory bound drops the oldest samples: judging a fault on what is left of its window would
    // report "no impact" for what was simply forgotten.
    const dropped = this.data.droppedThroughT;
    const firstMarkT = Math.min(...marks.map((m) => m.t));
    if (dropped !== undefined && firstMarkT <= dropped)
      return {
        ...empty,
        note: "not analysed: the monitor's memory bound (maxSamples) dropped samples of this fault's window; raise it, or run fewer or shorter faults per run",
      };
    const after = marks.find((m) => m.phase === "after");
    const stepSamples = this.data.samples.filter((s) => s.stepId === step.faultId);
    const lastT = Math.max(during.t, ...stepSamples.map((s) => s.t));
    const revertT = after?.t ?? lastT;
    const windowSeconds = Math.max(1, (lastT - during.t + this.data.intervalMs) / 1000);

    const impacts = new Map<string, ServiceImpact>();
    const unclassifiedLines: { service: string; lines: number }[] = [];
    const preBreached: string[] = [];
    for (const service of this.data.services) {
      const all = this.byService.get(service) ?? [];
      const window = all.filter((s) => s.stepId === step.faultId && s.phase !== "baseline");
      const lines = window.reduce((n, s) => n + (s.logs?.dropped ?? 0), 0);
      if (lines > 0) unclassifiedLines.push({ service, lines });
      let baseline = all.filter((s) => s.stepId === step.faultId && s.phase === "baseline");
      if (baseline.length < (this.options.minBaselineSamples ?? 3))
        baseline = all.filter((s) => s.phase === "baseline");
      // A threshold the steady state itself did not keep cannot measure this fault.
      const thresholds: Threshold[] = [];
      for (const t of thresholdsFor(this.options.thresholds ?? [], service)) {
        const before = breachedBefore(t, baseline, this.data.intervalMs / 1000);
        if (!before.breached) thresholds.push(t);
        else
          preBreached.push(
            `${service}: threshold ${t.text} was already breached before the fault (median ${formatThresholdValue(t, before.median!)}); not counted as impact`,
          );
      }
      const dev = serviceDeviation({
        service,
        baseline,
        window,
        injectT: during.t,
        revertT,
        intervalMs: this.data.intervalMs,
        thresholds,
      });
      if (!dev) continue;
      const summary = [
        ...dev.errors.map((e) => describeErrors(service, e, windowSeconds, (id) => this.kinds.get(id))),
        ...dev.signals.filter((g) => !g.metric.startsWith("logs.")).map((g) => `${service}: ${g.text}`),
      ];
      impacts.set(service, { ...dev, summary });
    }

    const targetImpact = impacts.get(step.target);
    impacts.delete(step.target);
    // A scenario's other targets are under a fault of their own: their deviation is expected too.
    const otherTargets = alsoTargets.flatMap((t) => {
      const i = impacts.get(t);
      impacts.delete(t);
      return i ? [i] : [];
    });
    for (const silent of this.impactFromClients(step.target, impacts, alsoTargets))
      impacts.set(silent.service, silent);
    const adj = adjacency(this.graph, this.minConfidence);
    const directDependents = adj.dependents.get(step.target) ?? new Set<string>();
    const directDependencies = adj.dependsOn.get(step.target) ?? new Set<string>();
    const expected = new Set(base.expected);
    // A fault on a client changes what reaches its servers too (fewer calls, reset connections): a server
    // of the target that deviates is impact along a known edge, never a hidden dependency on its client.
    const dependencies = reachableFrom(adj.dependsOn, step.target);
    const impacted: ImpactedService[] = [...impacts.values()].map((i): ImpactedService => {
      if (directDependents.has(i.service)) return { ...i, via: "direct", side: "dependent" };
      if (expected.has(i.service)) return { ...i, via: "transitive", side: "dependent" };
      if (directDependencies.has(i.service)) return { ...i, via: "direct", side: "dependency" };
      if (dependencies.has(i.service)) return { ...i, via: "transitive", side: "dependency" };
      return { ...i, via: "hidden" };
    });
    const paths = shortestPaths(adj.dependents, step.target);
    const pathOf = new Map<string, string[]>();
    for (const i of impacted) {
      const p = i.side === "dependent" ? paths.get(i.service) : undefined;
      if (p) pathOf.set(i.service, p);
    }
    // A service the graph does not link, whose errors name an impacted peer, was reached through it.
    for (const i of impacted) {
      if (i.via !== "hidden") continue;
      const through = i.errors.map((e) => e.peer).find((p) => p !== undefined && pathOf.has(p));
      if (through) {
        i.via = "transitive";
        i.side = "dependent";
        pathOf.set(i.service, [...pathOf.get(through)!, i.service]);
      }
    }
    for (const i of impacted) {
      const p = pathOf.get(i.service);
      if (p) i.path = p;
    }
    impacted.sort((a, b) => a.firstDeviationMs - b.firstDeviationMs || a.service.localeCompare(b.service));

    const affected = new Set([step.target, ...impacted.map((i) => i.service)]);
    const counted = this.graph.edges.filter((e) => e.confidence >= this.minConfidence && e.from !== e.to);
    const confirmedEdges: EdgeRef[] = counted
      .filter((e) => impacts.has(e.from) && affected.has(e.to))
      .map(({ from, to }) => ({ from, to }));
    const unaffectedClients = counted.filter((e) => affected.has(e.to) && !affected.has(e.from));
    const observed = (e: GraphEdge) => this.trafficContinued(e.from, step.faultId);
    const resilientEdges: EdgeRef[] = unaffectedClients
      .filter(observed)
      .map(({ from, to }) => ({ from, to }));
    const unobservedEdges: EdgeRef[] = unaffectedClients
      .filter((e) => !observed(e))
      .map(({ from, to }) => ({ from, to }));
    const hiddenEdges = this.hiddenEdgesOf(step, impacted);

    // An aborted step (SIGINT, the safety envelope) may have been reverted with no time left to watch.
    const afterTicks = stepSamples.filter((s) => s.phase === "after" && s.service === step.target).length;
    const recoveryObserved = step.outcome?.status !== "aborted" || afterTicks >= 2;
    const { severity, reason } = severityOf({
      targetImpact,
      impacted,
      userFacing: this.userFacing,
      recoveryObserved,
    });
    const everyone = [targetImpact, ...impacted].filter((i): i is ServiceImpact => i !== undefined);
    const recoveredAfterMs = everyone.some((i) => i.recoveredAfterMs === null)
      ? null
      : Math.max(0, ...everyone.map((i) => i.recoveredAfterMs ?? 0));
    const summary = [
      ...(targetImpact ? targetImpact.summary.slice(0, 3) : [`${step.target}: no visible deviation`]),
      ...impacted.flatMap((i) => i.summary.slice(0, 4)),
      ...hiddenEdges.map((e) => `hidden dependency: ${e.from} -> ${e.to} (${e.detail})`),
      ...unclassifiedLines.map((u) => lowerBoundText(u.service, u.lines)),
      ...preBreached,
    ];
    return {
      ...base,
      analyzed: true,
      ...(recoveryObserved ? {} : { note: "the run was aborted before recovery could be watched" }),
      ...(unclassifiedLines.length ? { unclassifiedLines } : {}),
      severity,
      severityReason: reason,
      ...(targetImpact ? { targetImpact } : {}),
      impacted,
      confirmedEdges,
      hiddenEdges,
      resilientEdges,
      unobservedEdges,
      recoveredAfterMs,
      summary,
      charts: this.charts(step, [step.target, ...impacted.map((i) => i.service)], during.t, revertT),
      ...(alsoTargets.length ? { otherTargets } : {}),
    };
  }

  /**
   * Services that said nothing themselves but whose clients' errors name them (a proxy passing its
   * upstream's 5xx on, with its access log elsewhere): impacted, with those errors as the evidence.
   * Services already impacted get the errors beside their own signals.
   */
  private impactFromClients(
    target: string,
    impacts: Map<string, ServiceImpact>,
    alsoTargets: readonly string[],
  ): ServiceImpact[] {
    const known = new Set(this.graph.nodes.map((n) => n.id));
    const seen = new Map<string, { errors: ClientError[]; clients: ServiceImpact[] }>();
    for (const client of impacts.values())
      for (const e of client.errors) {
        const server = e.peer;
        if (!server || server === client.service || server === target || alsoTargets.includes(server))
          continue;
        if (!known.has(server)) continue;
        // A server's errors naming its own known client (a broken pipe to a proxy that gave up waiting)
        // say nothing of that client as a server.
        if (this.hasEdge(server, client.service)) continue;
        const entry = seen.get(server) ?? { errors: [], clients: [] };
        entry.errors.push({ client: client.service, class: e.class, count: e.count });
        if (!entry.clients.includes(client)) entry.clients.push(client);
        seen.set(server, entry);
      }
    const out: ServiceImpact[] = [];
    for (const [server, { errors, clients }] of seen) {
      const own = impacts.get(server);
      if (own) {
        own.clientErrors = errors;
        own.summary.push(describeClientErrors(server, errors));
        continue;
      }
      const total = errors.reduce((n, e) => n + e.count, 0);
      const firstAtMs = Math.min(...clients.map((c) => c.firstDeviationMs));
      out.push({
        service: server,
        signals: [
          {
            metric: CLIENT_ERRORS_METRIC,
            category: "error",
            baseline: 0,
            observed: total,
            firstAtMs,
            text: `clients logged ${total} errors naming ${server}`,
          },
        ],
        errors: [],
        firstDeviationMs: firstAtMs,
        recoveredAfterMs: clients.some((c) => c.recoveredAfterMs === null)
          ? null
          : Math.max(0, ...clients.map((c) => c.recoveredAfterMs ?? 0)),
        down: false,
        unhealthy: false,
        restarted: false,
        summary: [describeClientErrors(server, errors)],
        clientErrors: errors,
      });
    }
    return out;
  }

  /**
   * Whether a client's own traffic was seen to go on during the fault: it kept writing at least half
   * its baseline line rate, and its HTTP probes (if any) kept answering. Without that, an edge from a
   * client that showed nothing is "not observed", never "resilient".
   */
  private trafficContinued(client: string, stepId: string): boolean {
    const own = (this.byService.get(client) ?? []).filter((s) => s.stepId === stepId);
    const base = own.filter((s) => s.phase === "baseline" && s.logs);
    const during = own.filter((s) => s.phase === "during" && s.logs);
    if (base.length < 2 || during.length < 2) return false;
    const rate = (list: ServiceSample[]) => list.reduce((n, s) => n + s.logs!.lines, 0) / list.length;
    const baseRate = rate(base);
    if (baseRate <= 0 || rate(during) < 0.5 * baseRate) return false;
    const probed = own.filter((s) => s.phase === "during" && s.probes && s.probes.count > 0);
    return probed.every((s) => s.probes!.ok > 0);
  }

  private expected(target: string): string[] {
    try {
      return blastRadius(this.graph, target, this.minConfidence);
    } catch {
      return [];
    }
  }

  private hasEdge(from: string, to: string): boolean {
    return this.graph.edges.some((e) => e.from === from && e.to === to && e.confidence >= this.minConfidence);
  }

  /**
   * An impacted service whose errors name a known peer it has no edge to depends on that peer; a
   * service impacted with no path to the target (and naming no peer) depends on the target somehow.
   */
  private hiddenEdgesOf(step: FaultStep, impacted: ImpactedService[]): (EdgeRef & { detail: string })[] {
    const out = new Map<string, EdgeRef & { detail: string }>();
    const known = new Set(this.graph.nodes.map((n) => n.id));
    for (const i of impacted) {
      // Errors naming a known client of the service (seen from the server's side) are no dependency.
      const named = i.errors.filter(
        (e) => e.peer && known.has(e.peer) && e.peer !== i.service && !this.hasEdge(e.peer, i.service),
      );
      for (const e of named) {
        if (this.hasEdge(i.service, e.peer!) || out.has(`${i.service}->${e.peer}`)) continue;
        out.set(`${i.service}->${e.peer}`, {
          from: i.service,
          to: e.peer!,
          detail: `${e.count} ${e.class} errors naming ${e.peer} while ${step.target} was under ${step.kind}`,
        });
      }
      const onlyClientsSpoke = i.signals.every((g) => g.metric === CLIENT_ERRORS_METRIC);
      if (
        i.via === "hidden" &&
        named.length === 0 &&
        !onlyClientsSpoke &&
        !this.hasEdge(i.service, step.target)
      ) {
        out.set(`${i.service}->${step.target}`, {
          from: i.service,
          to: step.target,
          detail: `deviated (${i.signals.map((g) => g.metric).join(", ")}) while ${step.target} was under ${step.kind}, with no known path`,
        });
      }
    }
    return [...out.values()];
  }

  private charts(step: FaultStep, services: string[], injectT: number, revertT: number): ChartSeries[] {
    const out: ChartSeries[] = [];
    const metrics = [
      {
        key: "probe.p95Ms",
        label: "HTTP probe p95",
        unit: "ms",
        value: (s: ServiceSample) => s.probes?.p95Ms,
      },
      CONTINUOUS_METRICS[0]!,
      {
        key: "logs.errorsPerTick",
        label: "error log lines per tick",
        unit: "lines",
        value: (s: ServiceSample) => s.logs?.errors,
      },
      { key: "cpuPercent", label: "CPU", unit: "%", value: (s: ServiceSample) => s.cpuPercent },
    ];
    for (const service of services.slice(0, this.options.maxChartedServices ?? 6)) {
      const samples = (this.byService.get(service) ?? []).filter((s) => s.stepId === step.faultId);
      for (const m of metrics) {
        const points: [number, number][] = [];
        for (const s of samples) {
          const v = m.value(s);
          if (v !== undefined && Number.isFinite(v)) points.push([s.t - injectT, v]);
        }
        if (points.length < 2 || points.every((p) => p[1] === 0)) continue;
        out.push({
          service,
          metric: m.key,
          label: m.label,
          unit: m.unit,
          points: downsample(points, 300),
          faultStartMs: 0,
          faultEndMs: revertT - injectT,
        });
      }
    }
    return out;
  }
}

/** The warning a report shows for a service whose logs outran the classifier. */
export function lowerBoundText(service: string, lines: number): string {
  return `${service}: error counts are lower bounds: ${lines} lines not classified (log flood beyond the per-tick budget)`;
}

function downsample(points: [number, number][], max: number): [number, number][] {
  if (points.length <= max) return points;
  const step = points.length / max;
  return Array.from({ length: max }, (_, i) => points[Math.floor(i * step)]!);
}

/** Steps in run order, a scenario's consecutive steps together. */
function unitsOf(
  steps: readonly FaultStep[],
): { scenario?: { id: string; title: string }; steps: FaultStep[] }[] {
  const units: { scenario?: { id: string; title: string }; steps: FaultStep[] }[] = [];
  for (const step of steps) {
    const last = units[units.length - 1];
    if (step.scenario && last?.scenario?.id === step.scenario.id) last.steps.push(step);
    else units.push({ ...(step.scenario ? { scenario: step.scenario } : {}), steps: [step] });
  }
  return units;
}

function mergeHiddenEdges(steps: StepAnalysis[]): GraphEdge[] {
  const edges = new Map<string, GraphEdge>();
  for (const s of steps) {
    for (const h of s.hiddenEdges) {
      const key = `${h.from}->${h.to}`;
      const confidence = h.detail.includes("naming")
        ? HIDDEN_EDGE_CONFIDENCE.peerMentioned
        : HIDDEN_EDGE_CONFIDENCE.coincident;
      const e = edges.get(key) ?? { from: h.from, to: h.to, confidence, evidence: [] };
      e.confidence = Math.max(e.confidence, confidence);
      e.evidence.push({ source: "impact", detail: h.detail });
      edges.set(key, e);
    }
  }
  return [...edges.values()];
}

/** The graph plus impact edges: evidence is appended to existing edges, new edges are added. */
export function withEdges(graph: DependencyGraph, extra: GraphEdge[]): DependencyGraph {
  const edges = graph.edges.map((e) => ({ ...e, evidence: [...e.evidence] }));
  for (const x of extra) {
    const existing = edges.find((e) => e.from === x.from && e.to === x.to);
    if (existing) {
      existing.evidence.push(...x.evidence);
      existing.confidence = Math.max(existing.confidence, x.confidence);
    } else edges.push({ ...x, evidence: [...x.evidence] });
  }
  return { ...graph, nodes: [...graph.nodes], edges };
}

function timeline(record: RunRecord, steps: StepAnalysis[]): TimelineEvent[] {
  const events: TimelineEvent[] = [];
  const offset = (iso: string | undefined, ms: number | null | undefined) =>
    iso && ms !== null && ms !== undefined ? new Date(Date.parse(iso) + ms).toISOString() : undefined;
  for (const s of steps) {
    if (s.injectedAt)
      events.push({
        at: s.injectedAt,
        stepId: s.faultId,
        service: s.target,
        kind: "inject",
        text: s.description,
      });
    if (s.revertedAt)
      events.push({
        at: s.revertedAt,
        stepId: s.faultId,
        service: s.target,
        kind: "revert",
        text: `reverted ${s.kind} on ${s.target}`,
      });
    for (const i of [...(s.targetImpact ? [s.targetImpact] : []), ...s.impacted]) {
      const dev = offset(s.injectedAt, i.firstDeviationMs);
      if (dev)
        events.push({
          at: dev,
          stepId: s.faultId,
          service: i.service,
          kind: "deviation",
          text: i.summary[0] ?? `${i.service} deviated`,
        });
      const rec = offset(s.revertedAt ?? s.injectedAt, i.recoveredAfterMs);
      if (rec)
        events.push({
          at: rec,
          stepId: s.faultId,
          service: i.service,
          kind: "recovery",
          text: `${i.service} back to steady state`,
        });
    }
  }
  if (record.status === "aborted" && record.abortReason)
    events.push({
      at: record.endedAt ?? record.startedAt,
      kind: "abort",
      text: `run aborted: ${record.abortReason}`,
    });
  return events.sort((a, b) => a.at.localeCompare(b.at));
}

/** Every node reachable from `start` along `next` (without `start`). */
function reachableFrom(next: Map<string, Set<string>>, start: string): Set<string> {
  const seen = new Set<string>();
  const queue = [...(next.get(start) ?? [])];
  while (queue.length) {
    const id = queue.pop()!;
    if (id === start || seen.has(id)) continue;
    seen.add(id);
    queue.push(...(next.get(id) ?? []));
  }
  return seen;
}

/** Shortest path from `start` to every node reachable along `next`, `start` first. */
function shortestPaths(next: Map<string, Set<string>>, start: string): Map<string, string[]> {
  const paths = new Map<string, string[]>([[start, [start]]]);
  const queue = [start];
  while (queue.length) {
    const id = queue.shift()!;
    for (const n of [...(next.get(id) ?? [])].sort())
      if (!paths.has(n)) {
        paths.set(n, [...paths.get(id)!, n]);
        queue.push(n);
      }
  }
  paths.delete(start);
  return paths;
}

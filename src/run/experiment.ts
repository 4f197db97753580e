/**
 * The one experiment sequence every caller runs: `faultline run`, POST /api/experiments and, with a
 * single ad-hoc step, `faultline inject`, POST /api/faults and the Chaos-Monkey scheduler.
 *
 *   prepareExperiment   discover (the caller's source) -> plan
 *   validateSteps       every step's kind and options checked once, before anything changes
 *   runSequence         monitor (optional) -> inject / wait / revert each step -> analyse -> report
 *
 * Monitoring is optional: without it the steps run with plain recovery pauses between them and there is
 * nothing to analyse. With it the embedded monitor watches every service (steady state before each fault,
 * the fault window, recovery after each one, the last one too), its safety envelope can abort the run,
 * and the analysis (with the configured integrations' evidence) is written as a report whichever way the
 * run ended.
 */
import { HypothesisGuard } from "../analysis/hypothesis-guard.js";
import { analyzeRun } from "../analysis/impact.js";
import { checkThresholdServices, type Threshold } from "../analysis/thresholds.js";
import type { RunAnalysis } from "../analysis/types.js";
import type { ServiceProfile } from "../discovery/profile.js";
import type { ContainerInfo, DockerRuntime } from "../docker/types.js";
import { errorText, InvalidInputError } from "../errors.js";
import type { FaultRegistry } from "../faults/registry.js";
import type { RunHistory } from "../history/store.js";
import { summarizeRun, type RunSource } from "../history/summary.js";
import type { DependencyGraph } from "../graph/types.js";
import { connectionCounter } from "../monitor/connections.js";
import type { EnvelopeOptions } from "../monitor/envelope.js";
import { Monitor } from "../monitor/monitor.js";
import { MonitorObserver } from "../monitor/observer.js";
import { writeReport, type ReportFiles } from "../report/write.js";
import { log } from "../util/log.js";
import type { FaultJournal } from "./journal.js";
import { combineObservers, type RunObserver } from "./observer.js";
import { formatPlan, planExperiment, type ExperimentPlan, type PlannedStep } from "./plan.js";
import type { FaultKind } from "../faults/kinds.js";
import type { RunRecord } from "./record.js";
import { newRunId, runSteps, type RunnerOptions } from "./runner.js";
import type { TargetResolver } from "./targeting.js";

/** What every step of a sequence acts through and within. */
export interface ExperimentScope {
  /** The engine the faults act on (a dry-run runtime in a dry run). */
  runtime: DockerRuntime;
  registry: FaultRegistry;
  journal: FaultJournal;
  /** Names to containers, within the caller's scope (project, labels). */
  resolver: Pick<TargetResolver, "resolveService" | "containers">;
  project?: string;
  selfContainerId?: string;
  /** Where every run (not a dry run) is remembered: opened when it starts, closed when it ends. */
  history?: RunHistory;
}

/** What a caller asks an experiment for; the planner turns it into steps. */
export interface ExperimentRequest {
  kinds: readonly FaultKind[];
  /** Options per kind, validated once before the first step. */
  options?: Partial<Record<FaultKind, Record<string, unknown>>>;
  /** Only these services (ids), in graph order. */
  services?: readonly string[];
  durationMs: number;
  /** Unmonitored: the pause between steps. Monitored: how long recovery is watched after each step. */
  recoveryMs: number;
  maxBlastRadius?: number;
}

/** The embedded monitor's settings for a monitored sequence. */
export interface MonitorSettings {
  intervalMs: number;
  /** Steady state observed before each fault. */
  baselineMs: number;
  /** The safety envelope (all services down, error rate, probe failures); its defaults when absent. */
  envelope?: EnvelopeOptions;
  /** Explicit steady-state thresholds for the analysis; the services they name must be in scope. */
  thresholds?: readonly Threshold[];
  /** Thresholds whose live breach reverts the fault in flight and stops the run (rollback.onDeviation). */
  abortOnBreach?: readonly Threshold[];
  /** Count TCP connections between services (the host's /proc, else one helper per reading). Default true. */
  countConnections?: boolean;
  /** Prometheus, Elasticsearch and Grafana when configured (src/integrations createIntegrations()). */
  integrations?: SequenceIntegrations;
}

/** The parts of the integrations a sequence uses. */
export interface SequenceIntegrations {
  active: readonly string[];
  observers: readonly RunObserver[];
  enrich(analysis: RunAnalysis, record: RunRecord, profiles: readonly ServiceProfile[]): Promise<RunAnalysis>;
}

/** The stack as discovery (or a saved graph) shows it. */
export interface StackView {
  /** Every service's profile: the monitor needs them (absent for an unmonitored run on a saved graph). */
  profiles?: ServiceProfile[];
  graph?: DependencyGraph;
}

export interface PreparedExperiment {
  plan: ExperimentPlan;
  stack: StackView;
  /** The containers in scope when the plan was made (stopped ones too). */
  containers: ContainerInfo[];
}

/**
 * Discover -> plan. `monitor` only shapes the estimate (baseline and recovery watched around every step)
 * and checks that the thresholds name services in scope. Changes nothing.
 */
export async function prepareExperiment(input: {
  request: ExperimentRequest;
  /** Where the stack comes from: discovery now, the service's cache, a saved graph. */
  discover: () => Promise<StackView>;
  containers: () => Promise<ContainerInfo[]>;
  selfContainerId?: string;
  monitor?: Pick<MonitorSettings, "baselineMs" | "thresholds">;
}): Promise<PreparedExperiment> {
  const { request, monitor } = input;
  const stack = await input.discover();
  if (monitor?.thresholds?.length && stack.profiles)
    checkThresholdServices(
      monitor.thresholds,
      stack.profiles.map((p) => p.id),
    );
  const containers = await input.containers();
  const plan = planExperiment({
    containers,
    graph: stack.graph,
    services: request.services?.length ? request.services : undefined,
    kinds: request.kinds,
    options: request.options,
    durationMs: request.durationMs,
    recoveryWaitMs: request.recoveryMs,
    maxBlastRadius: request.maxBlastRadius,
    selfContainerId: input.selfContainerId,
  });
  // A monitored run watches recovery after every step itself, the last one too.
  if (monitor)
    plan.estimatedMs = plan.steps.length * (monitor.baselineMs + request.durationMs + request.recoveryMs);
  return { plan, stack, containers };
}

/** A plan with no step to run is refused, with the plan (who was skipped, and why) as the hint. */
export function assertRunnable(plan: ExperimentPlan): void {
  if (!plan.steps.length)
    throw new InvalidInputError("nothing to run: every service in scope was skipped", formatPlan(plan));
}

/** Builds every kind once against its first target, so bad options fail before the first fault. */
export async function validateSteps(
  steps: readonly PlannedStep[],
  scope: Pick<ExperimentScope, "registry" | "resolver" | "runtime">,
): Promise<void> {
  const seen = new Set<FaultKind>();
  for (const step of steps) {
    if (seen.has(step.kind)) continue;
    seen.add(step.kind);
    const target = await scope.resolver.resolveService(step.service);
    await scope.registry.create(step.kind, target, step.options, step.durationMs, {
      runtime: scope.runtime,
      resolveService: (n) => scope.resolver.resolveService(n),
    });
  }
}

export interface SequenceInput {
  scope: ExperimentScope;
  steps: readonly PlannedStep[];
  /** See ExperimentRequest.recoveryMs. */
  recoveryMs: number;
  /** The graph the plan was ordered by: the record's graphBefore. */
  graph?: DependencyGraph;
  /** Needed for monitoring; the monitor watches every one of these services. */
  profiles?: ServiceProfile[];
  /** The containers in scope (the connection counter reads the running ones); listed when absent. */
  containers?: readonly ContainerInfo[];
  /** Absent (or a dry run, or no profiles): the steps run unmonitored. */
  monitor?: MonitorSettings;
  /** With a monitor: where report.html/json/md are written. Without: the analysis is only returned. */
  reportDir?: string;
  /** Aborting (SIGINT, an API call) reverts the fault in flight and skips the rest. */
  signal?: AbortSignal;
  /** Told about every step (progress, metrics, the API's fault list …), after the monitor. */
  observers?: readonly RunObserver[];
  runId?: string;
  /** Who started the run, as history records it (default cli). */
  source?: RunSource;
  dryRun?: boolean;
  /** Plain-words progress lines (steady-state waits, the envelope tripping, integrations in use). */
  progress?: (text: string) => void;
  /** Called with the record and analysis before the report is written (an experiment's verdict). */
  judge?: (record: RunRecord, analysis: RunAnalysis | undefined) => void;
  /** An experiment method's probes and trailing wait (see RunnerOptions). */
  method?: Pick<RunnerOptions, "probe" | "finalWaitMs" | "finalProbes">;
}

export interface SequenceResult {
  record: RunRecord;
  /** Present when the sequence was monitored. */
  analysis?: RunAnalysis;
  /** Present when a report was written. */
  files?: ReportFiles;
}

/**
 * Monitor -> inject / wait / revert each step -> analyse -> report. Faults are reverted whatever
 * happens (the runner's guarantee); the monitor is stopped even when something throws.
 */
export async function runSequence(input: SequenceInput): Promise<SequenceResult> {
  const history = input.dryRun ? undefined : input.scope.history;
  if (!history) return runMonitoredSequence(input);
  const runId = input.runId ?? newRunId();
  remember(() =>
    history.begin({
      id: runId,
      source: input.source ?? "cli",
      ...(input.scope.project ? { project: input.scope.project } : {}),
      startedAt: new Date().toISOString(),
      targets: [...new Set(input.steps.map((s) => s.service))],
      kinds: [...new Set(input.steps.map((s) => s.kind))],
    }),
  );
  try {
    const result = await runMonitoredSequence({ ...input, runId });
    remember(() => history.finish(runId, summarizeRun(result.record, result.analysis, result.files)));
    return result;
  } catch (e) {
    remember(() =>
      history.finish(runId, {
        endedAt: new Date().toISOString(),
        status: "aborted",
        reason: errorText(e),
        impacted: [],
      }),
    );
    throw e;
  }
}

/** History is a record of runs, never a reason one fails: a store that cannot be written is logged. */
function remember(write: () => void): void {
  try {
    write();
  } catch (e) {
    log.warn({ err: e }, "could not write the run history");
  }
}

async function runMonitoredSequence(input: SequenceInput): Promise<SequenceResult> {
  const { scope } = input;
  const progress = input.progress ?? (() => undefined);
  const monitored =
    input.monitor && input.profiles && !input.dryRun
      ? await attachMonitor(input.monitor, input.profiles, await runningContainers(input), {
          runtime: scope.runtime,
          recoveryMs: input.recoveryMs,
          signal: input.signal,
          progress,
        })
      : undefined;
  try {
    const record = await runSteps(
      input.steps,
      // The monitor watches recovery after each step itself; unmonitored steps pause between them.
      monitored ? 0 : input.recoveryMs,
      {
        runtime: scope.runtime,
        registry: scope.registry,
        journal: scope.journal,
        resolver: scope.resolver,
        project: scope.project,
        runId: input.runId,
        dryRun: input.dryRun,
        signal: input.signal,
        observer: combineObservers([...(monitored ? [monitored.observers] : []), ...(input.observers ?? [])]),
        ...input.method,
      },
    );
    if (input.graph) record.graphBefore = input.graph;
    if (!monitored || !input.profiles) {
      input.judge?.(record, undefined);
      return { record };
    }
    progress(`analysing ${record.steps.length} fault(s)${input.reportDir ? " and writing the report" : ""}`);
    const analysis = await monitored.analyse(record, input.profiles, input.monitor?.thresholds);
    if (analysis.graphAfter) record.graphAfter = analysis.graphAfter;
    input.judge?.(record, analysis);
    const files = input.reportDir
      ? await writeReport(input.reportDir, record, analysis, input.profiles)
      : undefined;
    return { record, analysis, ...(files ? { files } : {}) };
  } finally {
    // Never leave the monitor's timers and log streams running after an unexpected error.
    await monitored?.observer.data().catch(() => undefined);
  }
}

async function runningContainers(input: SequenceInput): Promise<ContainerInfo[]> {
  const all = input.containers ?? (await input.scope.resolver.containers());
  return all.filter((c) => c.state === "running");
}

interface AttachedMonitor {
  observer: MonitorObserver;
  /** The monitor's observer plus the integrations' (Grafana annotations …). */
  observers: RunObserver;
  analyse(
    record: RunRecord,
    profiles: readonly ServiceProfile[],
    thresholds?: readonly Threshold[],
  ): Promise<RunAnalysis>;
}

/** The embedded monitor over every service, its safety envelope as an abort source, and the integrations. */
async function attachMonitor(
  settings: MonitorSettings,
  profiles: ServiceProfile[],
  running: readonly ContainerInfo[],
  context: {
    runtime: DockerRuntime;
    recoveryMs: number;
    signal?: AbortSignal;
    progress: (text: string) => void;
  },
): Promise<AttachedMonitor> {
  const { progress } = context;
  // The host's /proc, else one helper container per reading for the whole stack (as discovery does).
  const connections =
    settings.countConnections === false
      ? { reason: "not asked for" }
      : await connectionCounter(profiles, running, { runtime: context.runtime }, context.signal);
  const monitor = new Monitor(context.runtime, profiles, {
    intervalMs: settings.intervalMs,
    envelope: settings.envelope,
    ...(settings.abortOnBreach?.length
      ? { guard: guardOf(new HypothesisGuard(settings.abortOnBreach)) }
      : {}),
    onAbort: (reason) => progress(`safety envelope tripped: ${reason}; reverting and stopping`),
    ...("counter" in connections && connections.counter ? { countConnections: connections.counter } : {}),
  });
  if (connections.reason) progress(`TCP connection counts not collected: ${connections.reason}`);
  const observer = new MonitorObserver(monitor, {
    baselineMs: settings.baselineMs,
    afterMs: context.recoveryMs,
    signal: context.signal,
    onProgress: progress,
  });
  const integrations = settings.integrations;
  if (integrations?.active.length) progress(`integrations: ${integrations.active.join(", ")}`);
  return {
    observer,
    observers: combineObservers([observer, ...(integrations?.observers ?? [])]),
    async analyse(record, profilesSeen, thresholds) {
      const analysis = analyzeRun(record, await observer.data(), { thresholds });
      if (!integrations) return analysis;
      // Outside evidence only adds to the analysis: a back-end that fails costs its evidence, not the report.
      return integrations.enrich(analysis, record, profilesSeen).catch((e: unknown) => {
        log.warn({ err: e }, "could not add external evidence to the analysis");
        return analysis;
      });
    },
  };
}

const guardOf = (g: HypothesisGuard) => (tick: Parameters<HypothesisGuard["check"]>[0], seconds: number) =>
  g.check(tick, seconds);

/**
 * Experiments started through the API: the graph-ordered plan of `faultline run`, run in the background
 * with the embedded monitor, analysed and written as a report (report.html/json/md) when it ends.
 * One experiment at a time, and none while an ad-hoc fault is in effect.
 */
import { join } from "node:path";
import { analyzeRun } from "../analysis/impact.js";
import { checkThresholdServices, type Threshold } from "../analysis/thresholds.js";
import type { RunAnalysis } from "../analysis/types.js";
import type { ServiceProfile } from "../discovery/profile.js";
import type { DependencyGraph } from "../graph/types.js";
import type { DockerRuntime } from "../docker/types.js";
import { InvalidInputError } from "../errors.js";
import type { FaultRegistry } from "../faults/registry.js";
import { Monitor } from "../monitor/monitor.js";
import { MonitorObserver } from "../monitor/observer.js";
import type { FaultJournal } from "../run/journal.js";
import { combineObservers, type RunObserver } from "../run/observer.js";
import { formatPlan, planExperiment, type ExperimentPlan } from "../run/plan.js";
import type { FaultKind, RunRecord } from "../run/record.js";
import { newRunId, runExperiment } from "../run/runner.js";
import type { TargetResolver } from "../run/targeting.js";
import { writeReport, type ReportFiles } from "../report/write.js";
import { log } from "../util/log.js";
import { withTimeout } from "../util/time.js";
import type { DiscoveryCache } from "./discovery.js";
import { ConflictError, ReportNotReadyError, UnknownIdError } from "./errors.js";
import type { FaultManager } from "./faults.js";
import type { ServeMetrics } from "./metrics.js";
import { optionsForKind } from "./scheduler.js";

export interface ExperimentRequest {
  only?: string[];
  kinds?: string[];
  durationMs?: number;
  recoveryWaitMs?: number;
  options?: Record<string, Record<string, unknown>>;
  /** Explicit steady-state thresholds (parsed); services they name must be in scope. */
  thresholds?: Threshold[];
}

export type ExperimentStatus = "running" | "completed" | "aborted" | "failed" | "error";

export interface ExperimentView {
  id: string;
  status: ExperimentStatus;
  startedAt: string;
  endedAt?: string;
  progress: { done: number; total: number; current?: string };
  plan: { steps: string[]; excluded: { service: string; reason: string }[]; estimatedMs: number };
  record: RunRecord;
  report?: { html: string; json: string };
  error?: string;
}

interface Experiment {
  id: string;
  status: ExperimentStatus;
  plan: ExperimentPlan;
  record: RunRecord;
  done: number;
  current?: string;
  controller: AbortController;
  finished: Promise<void>;
  files?: ReportFiles;
  error?: string;
  thresholds: Threshold[];
}

export interface ExperimentDeps {
  runtime: DockerRuntime;
  registry: FaultRegistry;
  journal: FaultJournal;
  resolver: TargetResolver;
  discovery: DiscoveryCache;
  faults: FaultManager;
  metrics: ServeMetrics;
  observers?: readonly RunObserver[];
  /** Reports go to <outDir>/<experiment id>/. */
  outDir: string;
  project?: string;
  selfContainerId?: string;
  defaults: { kinds: FaultKind[]; durationMs: number; recoveryWaitMs: number; maxBlastRadius?: number };
  monitorIntervalMs?: number;
  /** Adds evidence from external back-ends (Prometheus, Elasticsearch) to the analysis. */
  enrich?: (analysis: RunAnalysis, record: RunRecord, profiles: ServiceProfile[]) => Promise<RunAnalysis>;
}

export class ExperimentManager {
  private readonly experiments = new Map<string, Experiment>();
  private running?: Experiment;

  constructor(private readonly deps: ExperimentDeps) {}

  /** Why no fault may start now, if an experiment is running. */
  blockReason(): string | undefined {
    return this.running ? `experiment ${this.running.id} is running` : undefined;
  }

  /** Validates and plans (throwing 400/404/409 errors), then runs in the background; returns at once. */
  async start(request: ExperimentRequest): Promise<ExperimentView> {
    const { deps } = this;
    if (this.running) {
      throw new ConflictError(
        `experiment ${this.running.id} is already running`,
        `follow it at GET /api/experiments/${this.running.id}, or cancel it with DELETE`,
      );
    }
    if (deps.faults.busy()) {
      throw new ConflictError("a fault is in effect", "wait until it is reverted (GET /api/faults)");
    }
    const kinds = [...new Set(request.kinds ?? deps.defaults.kinds)] as FaultKind[];
    for (const k of kinds) deps.registry.familyFor(k);
    for (const k of Object.keys(request.options ?? {})) {
      if (!kinds.includes(k as FaultKind)) {
        throw new InvalidInputError(`options are given for "${k}", which is not in kinds`, `kinds: ${kinds}`);
      }
    }
    const options = Object.fromEntries(kinds.map((k) => [k, optionsForKind(k, request.options)]));
    const discovery = await deps.discovery.current();
    const thresholds = request.thresholds ?? [];
    checkThresholdServices(
      thresholds,
      discovery.profiles.map((p) => p.id),
    );
    const plan = planExperiment({
      containers: await deps.resolver.containers(),
      graph: discovery.graph,
      services: request.only,
      kinds,
      options,
      durationMs: request.durationMs ?? deps.defaults.durationMs,
      recoveryWaitMs: request.recoveryWaitMs ?? deps.defaults.recoveryWaitMs,
      maxBlastRadius: deps.defaults.maxBlastRadius,
      selfContainerId: deps.selfContainerId,
    });
    if (!plan.steps.length) {
      throw new InvalidInputError("nothing to run: every service in scope was skipped", formatPlan(plan));
    }
    await this.validateOptions(plan);
    // Checked again: the awaits above leave room for another request.
    if (this.running || deps.faults.busy()) {
      throw new ConflictError("another experiment or fault started meanwhile", "try again when it ends");
    }

    const id = newRunId();
    const experiment: Experiment = {
      id,
      status: "running",
      plan,
      record: {
        runId: id,
        project: deps.project,
        startedAt: new Date().toISOString(),
        status: "running",
        dryRun: false,
        steps: [],
      },
      done: 0,
      controller: new AbortController(),
      finished: Promise.resolve(),
      thresholds,
    };
    this.experiments.set(id, experiment);
    this.running = experiment;
    experiment.finished = this.execute(experiment, discovery.profiles, discovery.graph);
    return this.view(experiment);
  }

  get(id: string): ExperimentView {
    return this.view(this.find(id));
  }

  list(): ExperimentView[] {
    return [...this.experiments.values()].map((e) => this.view(e)).reverse();
  }

  /** Aborts a running experiment (the fault in flight is reverted) and waits for it to wrap up. */
  async cancel(id: string, reason = "cancelled through the API"): Promise<ExperimentView> {
    const experiment = this.find(id);
    experiment.controller.abort(reason);
    await withTimeout(experiment.finished, 120_000, `cancelling experiment ${id}`);
    return this.view(experiment);
  }

  /** Aborts whatever runs (shutdown); never throws. */
  async cancelAll(reason: string): Promise<void> {
    const running = this.running;
    if (!running) return;
    running.controller.abort(reason);
    await withTimeout(running.finished, 120_000, `stopping experiment ${running.id}`).catch((e: unknown) =>
      log.error({ err: e }, "experiment did not stop in time"),
    );
  }

  /** Path of a finished experiment's report file. */
  reportFile(id: string, format: "html" | "json"): string {
    const experiment = this.find(id);
    if (!experiment.files) {
      throw new ReportNotReadyError(
        experiment.status === "running"
          ? `experiment ${id} is still running`
          : `experiment ${id} has no report${experiment.error ? `: ${experiment.error}` : ""}`,
        experiment.status === "running" ? `poll GET /api/experiments/${id} until it ends` : undefined,
      );
    }
    return format === "html" ? experiment.files.html : experiment.files.json;
  }

  private find(id: string): Experiment {
    const experiment = this.experiments.get(id);
    if (!experiment) {
      throw new UnknownIdError(`no experiment "${id}"`, "start one with POST /api/experiments");
    }
    return experiment;
  }

  private async execute(
    experiment: Experiment,
    profiles: ServiceProfile[],
    graph: DependencyGraph,
  ): Promise<void> {
    const { deps } = this;
    const monitor = new MonitorObserver(
      new Monitor(deps.runtime, profiles, { intervalMs: deps.monitorIntervalMs ?? 1000 }),
    );
    const progress: RunObserver = {
      onRunStart: (run) => {
        experiment.record = run;
      },
      onBeforeInject: ({ step }) => {
        experiment.current = step.description;
      },
      onStepEnd: () => {
        experiment.done += 1;
        experiment.current = undefined;
      },
    };
    let final: ExperimentStatus | undefined;
    try {
      const record = await runExperiment(experiment.plan, {
        runtime: deps.runtime,
        registry: deps.registry,
        journal: deps.journal,
        resolver: deps.resolver,
        project: deps.project,
        runId: experiment.id,
        signal: experiment.controller.signal,
        observer: combineObservers([
          monitor,
          progress,
          deps.metrics.observer(),
          deps.faults.observerFor("experiment", experiment.id),
          ...(deps.observers ?? []),
        ]),
      });
      record.graphBefore = graph;
      experiment.record = record;
      final = record.status === "running" ? "completed" : record.status;
      deps.metrics.experimentEnded({ status: final });
      let analysis = analyzeRun(record, await monitor.data(), { thresholds: experiment.thresholds });
      if (deps.enrich) {
        analysis = await deps.enrich(analysis, record, profiles).catch((e: unknown) => {
          log.warn({ err: e }, "could not add external evidence to the analysis");
          return analysis;
        });
      }
      experiment.files = await writeReport(join(deps.outDir, experiment.id), record, analysis, profiles);
      log.info(
        { experiment: experiment.id, status: final, report: experiment.files.html },
        "experiment done",
      );
    } catch (e) {
      experiment.error = e instanceof Error ? e.message : String(e);
      if (!final) deps.metrics.experimentEnded({ status: "failed" });
      await monitor.data().catch(() => undefined);
      log.error({ experiment: experiment.id, err: e }, "experiment failed");
    } finally {
      // Released before the status flips, so a client that saw it end can start the next one at once.
      if (this.running === experiment) this.running = undefined;
      experiment.status = final ?? "error";
    }
  }

  /** Builds every kind once, so bad options are a 400 now rather than a failed step later. */
  private async validateOptions(plan: ExperimentPlan): Promise<void> {
    const seen = new Set<FaultKind>();
    for (const step of plan.steps) {
      if (seen.has(step.kind)) continue;
      seen.add(step.kind);
      const target = await this.deps.resolver.resolveService(step.service);
      await this.deps.registry.create(step.kind, target, step.options, step.durationMs, {
        runtime: this.deps.runtime,
        resolveService: (n) => this.deps.resolver.resolveService(n),
      });
    }
  }

  private view(e: Experiment): ExperimentView {
    return {
      id: e.id,
      status: e.status,
      startedAt: e.record.startedAt,
      ...(e.record.endedAt ? { endedAt: e.record.endedAt } : {}),
      progress: { done: e.done, total: e.plan.steps.length, ...(e.current ? { current: e.current } : {}) },
      plan: {
        steps: e.plan.steps.map((s) => s.description),
        excluded: e.plan.excluded,
        estimatedMs: e.plan.estimatedMs,
      },
      record: e.record,
      ...(e.files
        ? {
            report: {
              html: `/api/experiments/${e.id}/report.html`,
              json: `/api/experiments/${e.id}/report.json`,
            },
          }
        : {}),
      ...(e.error ? { error: e.error } : {}),
    };
  }
}

/**
 * Experiments started through the API: the same sequence as `faultline run --out` (src/run/experiment.ts:
 * the graph-ordered plan, validated once, run in the background under the embedded monitor with its
 * steady-state and recovery windows and its safety envelope, analysed and written as a report when it
 * ends). One experiment at a time, and none while an ad-hoc fault is in effect.
 */
import { join } from "node:path";
import type { Threshold } from "../analysis/thresholds.js";
import type { RunAnalysis } from "../analysis/types.js";
import type { ServiceProfile } from "../discovery/profile.js";
import { errorText, InvalidInputError } from "../errors.js";
import type { LoadedExperiment } from "../experiments/load.js";
import { prepareDocument, runDocument } from "../experiments/run.js";
import type { EnvelopeOptions } from "../monitor/envelope.js";
import {
  assertRunnable,
  prepareExperiment,
  runSequence,
  validateSteps,
  type ExperimentScope,
  type MonitorSettings,
  type SequenceResult,
  type StackView,
} from "../run/experiment.js";
import type { RunObserver } from "../run/observer.js";
import type { ExperimentPlan } from "../run/plan.js";
import type { FaultKind } from "../faults/kinds.js";
import type { HistoryFilter, HistoryStore } from "../history/store.js";
import type { HistoryRun } from "../history/summary.js";
import type { RunRecord } from "../run/record.js";
import { newRunId } from "../run/runner.js";
import type { ReportFiles } from "../report/write.js";
import { log } from "../util/log.js";
import { withTimeout } from "../util/time.js";
import type { DiscoveryCache } from "./discovery.js";
import { ConflictError, ReportNotReadyError, UnknownIdError } from "./errors.js";
import type { FaultManager } from "./faults.js";
import type { ServeMetrics } from "./metrics.js";
import { optionsForKind } from "./scheduler.js";

/** Steady state watched before each fault when the service is not told otherwise. */
export const DEFAULT_BASELINE_MS = 10_000;

export interface ExperimentRequest {
  only?: string[];
  kinds?: string[];
  durationMs?: number;
  /** Steady state watched before each fault. */
  baselineMs?: number;
  /** Recovery watched after each fault. */
  recoveryWaitMs?: number;
  options?: Record<string, Record<string, unknown>>;
  /** Explicit steady-state thresholds (parsed); services they name must be in scope. */
  thresholds?: Threshold[];
}

/** "interrupted": a run of an earlier faultline that stopped before it ended (from history). */
export type ExperimentStatus = "running" | "completed" | "aborted" | "failed" | "error" | "interrupted";

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
  /** The run as history keeps it (source, targets, kinds, worst severity, impacted, verdict). */
  history?: HistoryRun;
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
}

/** What an experiment does when its request does not say. */
export interface ExperimentDefaults {
  kinds: FaultKind[];
  durationMs: number;
  /** Recovery watched after each fault. */
  recoveryWaitMs: number;
  /** Steady state watched before each fault (default DEFAULT_BASELINE_MS). */
  baselineMs?: number;
  maxBlastRadius?: number;
}

export interface ExperimentDeps {
  scope: ExperimentScope;
  discovery: DiscoveryCache;
  faults: FaultManager;
  metrics: ServeMetrics;
  observers?: readonly RunObserver[];
  /** Reports go to <outDir>/<experiment id>/. */
  outDir: string;
  defaults: ExperimentDefaults;
  monitorIntervalMs?: number;
  /** The safety envelope's limits (its defaults when absent: abort when every service is down 15 s). */
  envelope?: EnvelopeOptions;
  /** Every run this faultline and earlier ones made (API, schedule, CLI): listed with the live ones. */
  history?: HistoryStore;
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
    this.assertIdle();
    const kinds = [
      ...new Set((request.kinds ?? deps.defaults.kinds).map((k) => deps.scope.registry.parseKind(k))),
    ];
    for (const k of Object.keys(request.options ?? {})) {
      if (!kinds.includes(k as FaultKind)) {
        throw new InvalidInputError(`options are given for "${k}", which is not in kinds`, `kinds: ${kinds}`);
      }
    }
    const monitor = this.monitorSettings(request);
    const prepared = await prepareExperiment({
      request: {
        kinds,
        options: Object.fromEntries(kinds.map((k) => [k, optionsForKind(k, request.options)])),
        services: request.only,
        durationMs: request.durationMs ?? deps.defaults.durationMs,
        recoveryMs: request.recoveryWaitMs ?? deps.defaults.recoveryWaitMs,
        maxBlastRadius: deps.defaults.maxBlastRadius,
      },
      discover: async () => {
        const { profiles, graph } = await deps.discovery.current();
        return { profiles, graph };
      },
      containers: () => deps.scope.resolver.containers(),
      selfContainerId: deps.scope.selfContainerId,
      monitor,
    });
    const { plan } = prepared;
    assertRunnable(plan);
    await validateSteps(plan.steps, deps.scope);
    // Checked again: the awaits above leave room for another request.
    if (this.running || deps.faults.busy()) {
      throw new ConflictError("another experiment or fault started meanwhile", "try again when it ends");
    }

    const experiment = this.register(plan);
    const { stack, containers } = prepared;
    experiment.finished = this.execute(experiment, (observers) =>
      runSequence({
        scope: deps.scope,
        steps: plan.steps,
        recoveryMs: plan.recoveryWaitMs,
        graph: stack.graph,
        profiles: stack.profiles,
        containers,
        monitor,
        reportDir: join(deps.outDir, experiment.id),
        runId: experiment.id,
        source: "api",
        signal: experiment.controller.signal,
        progress: (text) => log.info({ experiment: experiment.id }, text),
        observers,
      }),
    );
    return this.view(experiment);
  }

  /**
   * An experiment document (the same a file holds): its scope must be this service's; targets are
   * resolved on the cached discovery and every step built once (400 on any problem, nothing injected).
   */
  async startDocument(loaded: LoadedExperiment): Promise<ExperimentView> {
    const { deps } = this;
    this.assertIdle();
    const scope = loaded.document.scope;
    if (deps.scope.project !== undefined && scope.project !== deps.scope.project)
      throw new InvalidInputError(
        `${loaded.positions.at(["scope", "project"])}: scope.project is ${scope.project ?? "not set"}, but this service works on project ${deps.scope.project}`,
        "an experiment runs within the service's scope",
      );
    const { profiles, graph } = await deps.discovery.current();
    const stack: StackView = { profiles, graph };
    const containers = await deps.scope.resolver.containers();
    const prepared = await prepareDocument({ loaded, stack, containers, scope: deps.scope });
    this.assertIdle();
    const { compiled } = prepared;
    const plan: ExperimentPlan = {
      steps: compiled.steps,
      excluded: [],
      order: [...new Set(compiled.steps.map((s) => s.service))],
      durationMs: Math.max(...compiled.steps.map((s) => s.durationMs)),
      recoveryWaitMs: compiled.recoveryMs,
      estimatedMs: compiled.estimatedMs,
    };
    const experiment = this.register(plan);
    const integrations = this.monitorSettings({}).integrations;
    experiment.finished = this.execute(experiment, (observers) =>
      runDocument({
        prepared,
        scope: deps.scope,
        stack,
        containers,
        intervalMs: deps.monitorIntervalMs ?? 1000,
        source: "POST /api/experiments",
        ...(integrations ? { integrations } : {}),
        reportDir: join(deps.outDir, experiment.id),
        runId: experiment.id,
        runSource: "api",
        signal: experiment.controller.signal,
        progress: (text) => log.info({ experiment: experiment.id }, text),
        observers,
      }).then((r) => r.result),
    );
    return this.view(experiment);
  }

  private assertIdle(): void {
    if (this.running)
      throw new ConflictError(
        `experiment ${this.running.id} is already running`,
        `follow it at GET /api/experiments/${this.running.id}, or cancel it with DELETE`,
      );
    if (this.deps.faults.busy())
      throw new ConflictError("a fault is in effect", "wait until it is reverted (GET /api/faults)");
  }

  /** A new running experiment, tracked and holding the lock until its run ends. */
  private register(plan: ExperimentPlan): Experiment {
    const id = newRunId();
    const experiment: Experiment = {
      id,
      status: "running",
      plan,
      record: {
        runId: id,
        project: this.deps.scope.project,
        startedAt: new Date().toISOString(),
        status: "running",
        dryRun: false,
        steps: [],
      },
      done: 0,
      controller: new AbortController(),
      finished: Promise.resolve(),
    };
    this.experiments.set(id, experiment);
    this.running = experiment;
    return experiment;
  }

  get(id: string): ExperimentView {
    const live = this.experiments.get(id);
    const stored = this.stored(id);
    if (live) return this.view(live, stored);
    if (stored) return historicView(stored);
    return this.view(this.find(id));
  }

  /**
   * Newest first: with history, every stored run (this faultline's and earlier ones', whatever started
   * them) matching the filter, live ones in their full view; without, this process's experiments.
   */
  list(filter: HistoryFilter = {}): ExperimentView[] {
    const live = [...this.experiments.values()].reverse();
    const history = this.deps.history;
    if (!history) return live.map((e) => this.view(e));
    const rows = history.list(filter);
    const views = rows.map((r) => {
      const experiment = this.experiments.get(r.id);
      return experiment ? this.view(experiment, r) : historicView(r);
    });
    const listed = new Set(rows.map((r) => r.id));
    // An experiment history could not record still shows when nothing is filtered out.
    const unrecorded = Object.keys(filter).length ? [] : live.filter((e) => !listed.has(e.id));
    return [...unrecorded.map((e) => this.view(e)), ...views];
  }

  private stored(id: string): HistoryRun | undefined {
    try {
      return this.deps.history?.get(id);
    } catch (e) {
      log.warn({ err: e }, "could not read the run history");
      return undefined;
    }
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
    const stored = this.experiments.has(id) ? undefined : this.stored(id);
    if (stored) {
      if (!stored.reports)
        throw new ReportNotReadyError(
          `run ${id} has no report${stored.reportsPrunedAt ? " any more: the retention limit removed it" : ""}`,
        );
      return format === "html" ? stored.reports.html : stored.reports.json;
    }
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

  private monitorSettings(request: ExperimentRequest): MonitorSettings {
    const { deps } = this;
    return {
      intervalMs: deps.monitorIntervalMs ?? 1000,
      baselineMs: request.baselineMs ?? deps.defaults.baselineMs ?? DEFAULT_BASELINE_MS,
      ...(deps.envelope ? { envelope: deps.envelope } : {}),
      ...(request.thresholds?.length ? { thresholds: request.thresholds } : {}),
      integrations: {
        active: [],
        observers: deps.observers ?? [],
        enrich: async (analysis, record, profiles) =>
          deps.enrich ? deps.enrich(analysis, record, [...profiles]) : analysis,
      },
    };
  }

  /** Runs `run` in the background with the API's observers, tracking progress, status and report files. */
  private async execute(
    experiment: Experiment,
    run: (observers: RunObserver[]) => Promise<SequenceResult>,
  ): Promise<void> {
    const { deps } = this;
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
      const { record, files } = await run([
        progress,
        deps.metrics.observer(),
        deps.faults.observerFor("experiment", experiment.id),
      ]);
      experiment.record = record;
      final = record.status === "running" ? "completed" : record.status;
      deps.metrics.experimentEnded({ status: final });
      experiment.files = files;
      log.info({ experiment: experiment.id, status: final, report: files?.html }, "experiment done");
    } catch (e) {
      experiment.error = errorText(e);
      if (!final) deps.metrics.experimentEnded({ status: "failed" });
      log.error({ experiment: experiment.id, err: e }, "experiment failed");
    } finally {
      // Released before the status flips, so a client that saw it end can start the next one at once.
      if (this.running === experiment) this.running = undefined;
      experiment.status = final ?? "error";
    }
  }

  private view(e: Experiment, stored?: HistoryRun): ExperimentView {
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
      ...(stored ? { history: stored } : {}),
    };
  }
}

const HISTORY_STATUS: Record<HistoryRun["status"], ExperimentStatus> = {
  running: "running",
  ok: "completed",
  aborted: "aborted",
  failed: "failed",
  interrupted: "interrupted",
};

/** A run this process does not hold (an earlier faultline's, a fault's, a CLI run's), as history has it. */
function historicView(r: HistoryRun): ExperimentView {
  const status = HISTORY_STATUS[r.status];
  return {
    id: r.id,
    status,
    startedAt: r.startedAt,
    ...(r.endedAt ? { endedAt: r.endedAt } : {}),
    progress: { done: 0, total: 0 },
    plan: { steps: [], excluded: [], estimatedMs: 0 },
    record: {
      runId: r.id,
      ...(r.project ? { project: r.project } : {}),
      startedAt: r.startedAt,
      ...(r.endedAt ? { endedAt: r.endedAt } : {}),
      status: status === "completed" || status === "aborted" || status === "failed" ? status : "aborted",
      ...(r.reason ? { abortReason: r.reason } : {}),
      dryRun: false,
      steps: [],
    },
    ...(r.reports
      ? {
          report: {
            html: `/api/experiments/${r.id}/report.html`,
            json: `/api/experiments/${r.id}/report.json`,
          },
        }
      : {}),
    history: r,
  };
}

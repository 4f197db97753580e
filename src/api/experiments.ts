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
import type { ContainerInfo } from "../docker/types.js";
import { InvalidInputError } from "../errors.js";
import type { EnvelopeOptions } from "../monitor/envelope.js";
import {
  assertRunnable,
  prepareExperiment,
  runSequence,
  validateSteps,
  type ExperimentScope,
  type MonitorSettings,
  type StackView,
} from "../run/experiment.js";
import type { RunObserver } from "../run/observer.js";
import type { ExperimentPlan } from "../run/plan.js";
import type { FaultKind, RunRecord } from "../run/record.js";
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
}

export interface ExperimentDeps {
  scope: ExperimentScope;
  discovery: DiscoveryCache;
  faults: FaultManager;
  metrics: ServeMetrics;
  observers?: readonly RunObserver[];
  /** Reports go to <outDir>/<experiment id>/. */
  outDir: string;
  defaults: {
    kinds: FaultKind[];
    durationMs: number;
    recoveryWaitMs: number;
    /** Default DEFAULT_BASELINE_MS. */
    baselineMs?: number;
    maxBlastRadius?: number;
  };
  monitorIntervalMs?: number;
  /** The safety envelope's limits (its defaults when absent: abort when every service is down 15 s). */
  envelope?: EnvelopeOptions;
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

    const id = newRunId();
    const experiment: Experiment = {
      id,
      status: "running",
      plan,
      record: {
        runId: id,
        project: deps.scope.project,
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
    experiment.finished = this.execute(experiment, prepared.stack, prepared.containers, monitor);
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

  private async execute(
    experiment: Experiment,
    stack: StackView,
    containers: readonly ContainerInfo[],
    monitor: MonitorSettings,
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
      const { record, files } = await runSequence({
        scope: deps.scope,
        steps: experiment.plan.steps,
        recoveryMs: experiment.plan.recoveryWaitMs,
        graph: stack.graph,
        profiles: stack.profiles,
        containers,
        monitor,
        reportDir: join(deps.outDir, experiment.id),
        runId: experiment.id,
        signal: experiment.controller.signal,
        progress: (text) => log.info({ experiment: experiment.id }, text),
        observers: [progress, deps.metrics.observer(), deps.faults.observerFor("experiment", experiment.id)],
      });
      experiment.record = record;
      final = record.status === "running" ? "completed" : record.status;
      deps.metrics.experimentEnded({ status: final });
      experiment.files = files;
      log.info({ experiment: experiment.id, status: final, report: files?.html }, "experiment done");
    } catch (e) {
      experiment.error = e instanceof Error ? e.message : String(e);
      if (!final) deps.metrics.experimentEnded({ status: "failed" });
      log.error({ experiment: experiment.id, err: e }, "experiment failed");
    } finally {
      // Released before the status flips, so a client that saw it end can start the next one at once.
      if (this.running === experiment) this.running = undefined;
      experiment.status = final ?? "error";
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

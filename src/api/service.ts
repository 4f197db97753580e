/**
 * The serving faultline behind the HTTP API: one engine connection, one journal, the latest discovery,
 * the ad-hoc fault manager, experiments and the optional chaos scheduler. `createApp` talks to it only
 * through the `ApiService` interface, so the HTTP layer is testable with any object that implements it.
 */
import type { ServiceProfile } from "../discovery/profile.js";
import type { ContainerSelector, DockerRuntime } from "../docker/types.js";
import type { FaultRegistry } from "../faults/registry.js";
import type { HistoryFilter, HistoryStore } from "../history/store.js";
import type { DependencyGraph } from "../graph/types.js";
import type { ExperimentScope } from "../run/experiment.js";
import type { Journal } from "../run/journal.js";
import type { RunObserver } from "../run/observer.js";
import type { FaultKind } from "../faults/kinds.js";
import { recover, type RecoveryReport } from "../run/recovery.js";
import { TargetResolver } from "../run/targeting.js";
import { prometheusSdTargets, type SdTargetGroup } from "../integrations/prometheus-sd.js";
import { log } from "../util/log.js";
import { DiscoveryCache, type Discovery } from "./discovery.js";
import type { LoadedExperiment } from "../experiments/load.js";
import {
  ExperimentManager,
  type ExperimentDefaults,
  type ExperimentDeps,
  type ExperimentView,
} from "./experiments.js";
import { FaultManager, type FaultView } from "./faults.js";
import { ServeMetrics } from "./metrics.js";
import type { ExperimentBody, InjectFaultBody } from "./schemas.js";
import { ChaosScheduler, type ChaosSchedulerOptions, type ScheduleStatus } from "./scheduler.js";
import { ConflictError } from "./errors.js";

export interface ServicesView {
  discoveredAt?: string;
  durationMs?: number;
  services: ServiceProfile[];
}

export type ScheduleView = ScheduleStatus;

/** What a halt did: the schedule paused, and every fault in scope reverted, whoever started it. */
export interface HaltReport {
  paused: boolean;
  /** Faults this service ran (API, scheduler, experiments), reverted. */
  reverted: FaultView[];
  /** Faults another faultline (a CLI `inject` or `run`) journalled in scope, reverted from the journal. */
  revertedFromJournal: { faultId: string; kind: string; target: string }[];
  failed: { faultId: string; error: string }[];
  durationMs: number;
}

/** Everything the HTTP layer needs. Methods throw typed errors (src/errors.ts, src/api/errors.ts). */
export interface ApiService {
  health(): { status: "ok"; activeFaults: number; experiment?: string; scope: ContainerSelector };
  services(): Promise<ServicesView>;
  discover(): Promise<ServicesView>;
  graph(): Promise<DependencyGraph>;
  injectFault(body: InjectFaultBody): Promise<FaultView>;
  listFaults(): { active: FaultView[]; recent: FaultView[] };
  getFault(id: string): FaultView;
  revertFault(id: string): Promise<FaultView>;
  startExperiment(body: ExperimentBody): Promise<ExperimentView>;
  /** An experiment document, as `faultline run --experiment` reads it from a file. */
  startExperimentDocument(loaded: LoadedExperiment): Promise<ExperimentView>;
  /** Every run history holds (newest first), filtered; without history, this process's experiments. */
  listExperiments(filter?: HistoryFilter): ExperimentView[];
  getExperiment(id: string): ExperimentView;
  cancelExperiment(id: string): Promise<ExperimentView>;
  experimentReport(id: string, format: "html" | "json"): string;
  schedule(): ScheduleView | undefined;
  pauseSchedule(): Promise<ScheduleView>;
  resumeSchedule(): ScheduleView;
  /** Pauses the schedule and reverts every fault in scope, in every mode. */
  halt(reason?: string): Promise<HaltReport>;
  metrics(): Promise<{ contentType: string; body: string }>;
  /** Prometheus http_sd_configs targets: the discovered services whose metrics endpoint answered. */
  prometheusTargets(): Promise<SdTargetGroup[]>;
}

export interface ChaosServiceOptions {
  runtime: DockerRuntime;
  journal: Journal;
  registry: FaultRegistry;
  selector: ContainerSelector;
  outDir: string;
  /** For experiments; kinds, duration and blast radius for scheduled faults too. */
  defaults: ExperimentDefaults & {
    /** Per-kind options for scheduled faults and experiments (over CHAOS_KIND_DEFAULTS). */
    kindOptions?: Partial<Record<FaultKind, Record<string, unknown>>>;
  };
  /** Cron expression for Chaos-Monkey mode; none: faults only on request. */
  schedule?: string;
  /** The schedule's guardrails, pacing and draw on top of the planner's. */
  monkey?: Pick<
    ChaosSchedulerOptions,
    "exclude" | "allowedKinds" | "weighting" | "pacing" | "paused" | "now"
  >;
  rng?: () => number;
  selfContainerId?: string;
  /** Integrations (annotations, exporters): told about every fault and run. */
  observers?: readonly RunObserver[];
  metrics?: ServeMetrics;
  monitorIntervalMs?: number;
  /** Experiments: the safety envelope's limits. */
  envelope?: ExperimentDeps["envelope"];
  enrich?: ExperimentDeps["enrich"];
  /** The run history every run is written to (and GET /api/experiments reads). */
  history?: HistoryStore;
  /** Skip the first discovery at start (tests that only inject). */
  discoverOnStart?: boolean;
}

export class ChaosService implements ApiService {
  readonly metricsRegistry: ServeMetrics;
  readonly discovery: DiscoveryCache;
  readonly faults: FaultManager;
  readonly experiments: ExperimentManager;
  readonly scheduler?: ChaosScheduler;
  private readonly resolver: TargetResolver;
  private stopping?: Promise<void>;

  constructor(private readonly options: ChaosServiceOptions) {
    const { runtime, journal, registry, selector } = options;
    this.metricsRegistry = options.metrics ?? new ServeMetrics();
    this.resolver = new TargetResolver(
      runtime,
      { project: selector.project, labels: selector.labels },
      options.selfContainerId,
    );
    this.discovery = new DiscoveryCache(runtime, selector, this.metricsRegistry);
    const observers = [this.metricsRegistry.observer(), ...(options.observers ?? [])];
    const scope: ExperimentScope = {
      runtime,
      registry,
      journal,
      resolver: this.resolver,
      project: selector.project,
      selfContainerId: options.selfContainerId,
      ...(options.history ? { history: options.history } : {}),
    };
    this.faults = new FaultManager({
      scope,
      observers,
      isBlocked: () => this.experiments.blockReason(),
    });
    this.experiments = new ExperimentManager({
      scope,
      discovery: this.discovery,
      faults: this.faults,
      metrics: this.metricsRegistry,
      observers: options.observers,
      outDir: options.outDir,
      defaults: options.defaults,
      monitorIntervalMs: options.monitorIntervalMs,
      envelope: options.envelope,
      enrich: options.enrich,
      ...(options.history ? { history: options.history } : {}),
    });
    if (options.schedule) {
      this.scheduler = new ChaosScheduler(
        {
          containers: () => this.resolver.containers(),
          graph: async () => (await this.discovery.current()).graph,
          busy: () => this.experiments.blockReason(),
          inEffect: () => this.faults.inEffectServices(),
          inject: (service, kind, planned) =>
            this.faults.inject(
              {
                target: service,
                kind,
                options: planned,
                durationMs: options.defaults.durationMs,
              },
              "scheduler",
            ),
        },
        {
          schedule: options.schedule,
          kinds: options.defaults.kinds,
          maxBlastRadius: options.defaults.maxBlastRadius,
          selfContainerId: options.selfContainerId,
          kindOptions: options.defaults.kindOptions,
          ...options.monkey,
          rng: options.rng,
        },
      );
    }
  }

  /** Crash recovery first (what a previous faultline left in effect), then discovery and the scheduler. */
  async start(): Promise<RecoveryReport> {
    const report = await recover({
      runtime: this.options.runtime,
      journal: this.options.journal,
      registry: this.options.registry,
      scope: this.options.selector,
    });
    if (this.options.discoverOnStart ?? true) {
      void this.discovery.discover().catch((e: unknown) => log.warn({ err: e }, "initial discovery failed"));
    }
    this.scheduler?.start();
    return report;
  }

  /** Stops the scheduler, then reverts everything in effect. Idempotent; never throws. */
  shutdown(reason = "faultline is shutting down"): Promise<void> {
    this.stopping ??= (async () => {
      await this.scheduler?.stop().catch((e: unknown) => log.warn({ err: e }, "scheduler stop failed"));
      await this.experiments.cancelAll(reason);
      await this.faults.revertAll(reason);
    })();
    return this.stopping;
  }

  health(): ReturnType<ApiService["health"]> {
    const running = this.experiments.blockReason();
    return {
      status: "ok",
      activeFaults: this.faults.list().active.length,
      ...(running ? { experiment: running } : {}),
      scope: this.options.selector,
    };
  }

  async services(): Promise<ServicesView> {
    return servicesView(await this.discovery.current());
  }

  async discover(): Promise<ServicesView> {
    return servicesView(await this.discovery.discover());
  }

  async graph(): Promise<DependencyGraph> {
    return (await this.discovery.current()).graph;
  }

  injectFault(body: InjectFaultBody): Promise<FaultView> {
    return this.faults.inject({
      target: body.target,
      kind: body.kind,
      options: body.options,
      durationMs: body.duration ?? this.options.defaults.durationMs,
    });
  }

  listFaults(): { active: FaultView[]; recent: FaultView[] } {
    return this.faults.list();
  }

  getFault(id: string): FaultView {
    return this.faults.get(id);
  }

  revertFault(id: string): Promise<FaultView> {
    return this.faults.revert(id);
  }

  startExperiment(body: ExperimentBody): Promise<ExperimentView> {
    // --option defaults apply to the kinds asked for; the body's options for a kind override them key by key.
    const kinds = body.kinds ?? this.options.defaults.kinds;
    const serveDefaults = this.options.defaults.kindOptions ?? {};
    const options: Record<string, Record<string, unknown>> = {};
    for (const k of kinds) {
      const merged = { ...(serveDefaults[k as FaultKind] ?? {}), ...(body.options?.[k] ?? {}) };
      if (Object.keys(merged).length) options[k] = merged;
    }
    for (const [k, v] of Object.entries(body.options ?? {})) options[k] ??= v;
    return this.experiments.start({
      only: body.only,
      kinds: body.kinds,
      durationMs: body.duration,
      baselineMs: body.baseline,
      recoveryWaitMs: body.recoveryWait,
      options,
      ...(body.thresholds ? { thresholds: body.thresholds } : {}),
    });
  }

  /** An experiment document (YAML/JSON, as a file holds it), already parsed and checked. */
  startExperimentDocument(loaded: LoadedExperiment): Promise<ExperimentView> {
    return this.experiments.startDocument(loaded);
  }

  listExperiments(filter?: HistoryFilter): ExperimentView[] {
    return this.experiments.list(filter);
  }

  getExperiment(id: string): ExperimentView {
    return this.experiments.get(id);
  }

  cancelExperiment(id: string): Promise<ExperimentView> {
    return this.experiments.cancel(id);
  }

  experimentReport(id: string, format: "html" | "json"): string {
    return this.experiments.reportFile(id, format);
  }

  schedule(): ScheduleView | undefined {
    return this.scheduler?.status();
  }

  async pauseSchedule(): Promise<ScheduleView> {
    const scheduler = this.requireScheduler();
    await scheduler.pause();
    return scheduler.status();
  }

  resumeSchedule(): ScheduleView {
    const scheduler = this.requireScheduler();
    scheduler.resume();
    return scheduler.status();
  }

  /**
   * Pause first (no new scheduled fault), then revert what this service runs — experiments cancelled,
   * every fault aborted at once — then what other faultline processes journalled in scope, through the
   * same recovery path as `faultline revert`.
   */
  async halt(reason = "halted"): Promise<HaltReport> {
    const started = Date.now();
    await this.scheduler?.pause(reason);
    const before = new Set(this.faults.list().active.map((f) => f.id));
    await Promise.all([this.experiments.cancelAll(reason), this.faults.revertAll(reason)]);
    const reverted = this.faults.list().recent.filter((f) => before.has(f.id));
    const { selector } = this.options;
    const recovery = await recover({
      runtime: this.options.runtime,
      journal: this.options.journal,
      registry: this.options.registry,
      // Faults of live processes only within a compose project: a label scope cannot bound the sweep.
      ...(selector.project ? { explicit: true, project: selector.project } : {}),
      scope: selector,
      sweepNamespaces: false,
    });
    const report: HaltReport = {
      paused: this.scheduler?.paused ?? false,
      reverted,
      revertedFromJournal: recovery.reverted.map((e) => ({
        faultId: e.faultId,
        kind: e.kind,
        target: e.target.service,
      })),
      failed: [
        ...reverted
          .filter(
            (f) =>
              f.outcome?.status === "revert-failed" ||
              (f.outcome?.status === "aborted" && !f.outcome.reverted),
          )
          .map((f) => ({ faultId: f.id, error: f.errors.join("; ") || "not reverted" })),
        ...recovery.failed.map((f) => ({ faultId: f.entry.faultId, error: f.error })),
      ],
      durationMs: Date.now() - started,
    };
    log.info(
      {
        reverted: report.reverted.length,
        fromJournal: report.revertedFromJournal.length,
        ms: report.durationMs,
      },
      "halt",
    );
    return report;
  }

  private requireScheduler(): ChaosScheduler {
    if (!this.scheduler) {
      throw new ConflictError("no chaos schedule is configured", "start faultline serve with --schedule");
    }
    return this.scheduler;
  }

  async prometheusTargets(): Promise<SdTargetGroup[]> {
    return prometheusSdTargets((await this.discovery.current()).profiles);
  }

  async metrics(): Promise<{ contentType: string; body: string }> {
    const registry = this.metricsRegistry.registry;
    return { contentType: registry.contentType, body: await registry.metrics() };
  }
}

function servicesView(d: Discovery): ServicesView {
  return { discoveredAt: d.discoveredAt, durationMs: d.durationMs, services: d.profiles };
}

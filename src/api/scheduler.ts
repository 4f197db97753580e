/**
 * Chaos-Monkey mode: on every cron tick, at most one fault on one service. What may be faulted and the
 * draw itself are pure (chaos-targets.ts: seeded, so `--seed` replays a schedule); exclusions and the
 * blast-radius cap are the planner's, so the scheduler can never pick what `faultline run` would refuse.
 */
import cron, { type ScheduledTask } from "node-cron";
import { errorText, InvalidInputError } from "../errors.js";
import type { DependencyGraph } from "../graph/types.js";
import type { PlanContainer } from "../run/plan.js";
import type { FaultKind } from "../faults/kinds.js";
import { pickChaosFault, type TargetWeighting } from "./chaos-targets.js";
import {
  injectedToday,
  PACING_HISTORY_MS,
  pacingVerdict,
  windowState,
  type PacingRules,
  type WindowState,
} from "./chaos-window.js";
import { log } from "../util/log.js";

export { CHAOS_KIND_DEFAULTS, optionsForKind, seededRandom } from "./chaos-targets.js";

export function assertCronExpression(expression: string): string {
  if (!cron.validate(expression)) {
    throw new InvalidInputError(
      `--schedule "${expression}" is not a cron expression`,
      'use five fields (minute hour day month weekday), or six with seconds first, e.g. "*/10 * * * *"',
    );
  }
  return expression;
}

export interface TickReport {
  at: string;
  outcome: "injected" | "skipped" | "failed";
  service?: string;
  kind?: FaultKind;
  faultId?: string;
  reason?: string;
}

export interface ChaosSchedulerDeps {
  /** Scope containers (stopped included), read fresh on every tick. */
  containers(): Promise<PlanContainer[]>;
  /** The dependency graph to order by (the latest discovery). */
  graph(): Promise<DependencyGraph | undefined>;
  /** Why nothing may be injected now (an experiment is running), if so. */
  busy(): string | undefined;
  /** Services with a fault in effect, whoever started it (not drawn again; counted for maxConcurrent). */
  inEffect(): ReadonlySet<string>;
  /** `options`: the kind's options as the planner completed them for this service. */
  inject(service: string, kind: FaultKind, options: Record<string, unknown>): Promise<{ id: string }>;
}

export interface ChaosSchedulerOptions {
  schedule: string;
  kinds: readonly FaultKind[];
  maxBlastRadius?: number;
  selfContainerId?: string;
  /** Per-kind options over CHAOS_KIND_DEFAULTS. */
  kindOptions?: Partial<Record<FaultKind, Record<string, unknown>>>;
  /** Services never faulted by the schedule. */
  exclude?: readonly string[];
  /** Kinds allowed per service (over the `faultline.kinds` label). */
  allowedKinds?: Readonly<Record<string, readonly FaultKind[]>>;
  weighting?: TargetWeighting;
  /** Windows, gap, concurrency and daily cap; none: one fault at a time, any time. */
  pacing?: PacingRules;
  /** Starts paused (a halt before a restart, or the user's choice). */
  paused?: boolean;
  rng?: () => number;
  /** The clock the pacing rules read (tests fix it). */
  now?: () => Date;
  /** Tick reports kept for GET /api/schedule. */
  keep?: number;
}

export interface ScheduleStatus {
  schedule: string;
  kinds: readonly FaultKind[];
  /** Ticking (started and not stopped); a paused schedule still ticks but injects nothing. */
  running: boolean;
  paused: boolean;
  pausedReason?: string;
  nextTick?: string;
  window: WindowState;
  pacing: {
    minGapMs?: number;
    maxConcurrent: number;
    dailyCap?: number;
    injectedToday: number;
    inEffect: number;
  };
  /** The latest injected faults, newest first. */
  lastFaults: TickReport[];
  ticks: TickReport[];
}

export class ChaosScheduler {
  private task?: ScheduledTask;
  private readonly rng: () => number;
  private readonly now: () => Date;
  private readonly pacing: PacingRules;
  private readonly reports: TickReport[] = [];
  private injectedAt: Date[] = [];
  private ticking?: Promise<TickReport>;
  private pausedReason?: string;

  constructor(
    private readonly deps: ChaosSchedulerDeps,
    readonly options: ChaosSchedulerOptions,
  ) {
    assertCronExpression(options.schedule);
    this.rng = options.rng ?? Math.random;
    this.now = options.now ?? (() => new Date());
    this.pacing = options.pacing ?? { windows: [] };
    if (options.paused) this.pausedReason = "started paused";
  }

  start(): void {
    if (this.task) return;
    this.task = cron.createTask(this.options.schedule, () => this.tickOnce(), {
      name: "faultline-chaos",
      noOverlap: true,
    });
    void this.task.start();
    log.info({ schedule: this.options.schedule, kinds: this.options.kinds }, "chaos scheduler started");
  }

  /** Stops ticking and waits for a tick under way (its fault keeps running until reverted by its owner). */
  async stop(): Promise<void> {
    const task = this.task;
    this.task = undefined;
    if (task) {
      await task.stop();
      await task.destroy();
    }
    await this.ticking?.catch(() => undefined);
  }

  /** No injection until resumed; a tick under way finishes first, so after this no new fault starts. */
  async pause(reason = "paused through the API"): Promise<void> {
    this.pausedReason ??= reason;
    await this.ticking?.catch(() => undefined);
    log.info({ reason }, "chaos schedule paused");
  }

  resume(): void {
    if (this.pausedReason) log.info("chaos schedule resumed");
    this.pausedReason = undefined;
  }

  get paused(): boolean {
    return this.pausedReason !== undefined;
  }

  status(): ScheduleStatus {
    const now = this.now();
    const ticks = [...this.reports].reverse();
    const next = this.task?.getNextRun();
    return {
      schedule: this.options.schedule,
      kinds: this.options.kinds,
      running: this.task !== undefined,
      paused: this.paused,
      ...(this.pausedReason ? { pausedReason: this.pausedReason } : {}),
      ...(next ? { nextTick: next.toISOString() } : {}),
      window: windowState(this.pacing.windows, now),
      pacing: {
        ...(this.pacing.minGapMs !== undefined ? { minGapMs: this.pacing.minGapMs } : {}),
        maxConcurrent: this.pacing.maxConcurrent ?? 1,
        ...(this.pacing.dailyCap !== undefined ? { dailyCap: this.pacing.dailyCap } : {}),
        injectedToday: injectedToday(this.pacing, { now, inEffect: 0, injectedAt: this.injectedAt }),
        inEffect: this.deps.inEffect().size,
      },
      lastFaults: ticks.filter((t) => t.outcome === "injected").slice(0, 10),
      ticks,
    };
  }

  /** One tick: pick and inject (or skip). Never throws: a failed tick is reported and the next one tries again. */
  tickOnce(): Promise<TickReport> {
    this.ticking ??= this.tick().finally(() => {
      this.ticking = undefined;
    });
    return this.ticking;
  }

  /** Why this tick must not inject, if so: paused, an experiment, the pacing rules. */
  private holdReason(now: Date, inEffect: ReadonlySet<string>): string | undefined {
    if (this.pausedReason) return `the schedule is paused (${this.pausedReason})`;
    const busy = this.deps.busy();
    if (busy) return busy;
    const verdict = pacingVerdict(this.pacing, { now, inEffect: inEffect.size, injectedAt: this.injectedAt });
    return verdict.allowed ? undefined : verdict.reason;
  }

  private async tick(): Promise<TickReport> {
    const now = this.now();
    const at = now.toISOString();
    let report: TickReport;
    try {
      const inEffect = this.deps.inEffect();
      const busy = this.holdReason(now, inEffect);
      const result = busy
        ? pickChaosFault({ containers: [], kinds: [], busy, rng: this.rng })
        : pickChaosFault({
            containers: await this.deps.containers(),
            graph: await this.deps.graph(),
            kinds: this.options.kinds,
            maxBlastRadius: this.options.maxBlastRadius,
            selfContainerId: this.options.selfContainerId,
            kindOptions: this.options.kindOptions,
            exclude: this.options.exclude,
            allowedKinds: this.options.allowedKinds,
            weighting: this.options.weighting,
            inEffect,
            rng: this.rng,
          });
      if ("skip" in result) {
        report = { at, outcome: "skipped", reason: result.skip };
      } else if (this.pausedReason) {
        // Paused (or halted) while this tick read the stack: nothing new starts.
        report = { at, outcome: "skipped", reason: `the schedule is paused (${this.pausedReason})` };
      } else {
        const { service, kind, options } = result.pick;
        try {
          this.recordInjection(now);
          const fault = await this.deps.inject(service, kind, options);
          report = { at, outcome: "injected", service, kind, faultId: fault.id };
        } catch (e) {
          report = { at, outcome: "failed", service, kind, reason: errorText(e) };
        }
      }
    } catch (e) {
      report = { at, outcome: "failed", reason: errorText(e) };
    }
    this.reports.push(report);
    if (this.reports.length > (this.options.keep ?? 50)) this.reports.shift();
    const level = report.outcome === "failed" ? "warn" : report.outcome === "injected" ? "info" : "debug";
    log[level]({ ...report }, "chaos tick");
    return report;
  }

  /** Counted when tried, so a fault that failed to inject still spaces and caps the next ones. */
  private recordInjection(now: Date): void {
    this.injectedAt = this.injectedAt.filter((d) => now.getTime() - d.getTime() < PACING_HISTORY_MS);
    this.injectedAt.push(now);
  }
}

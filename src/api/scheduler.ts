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
  /** Why nothing may be injected now, if so. */
  busy(): string | undefined;
  /** Services with a fault in effect (not drawn again). */
  inEffect?(): ReadonlySet<string>;
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
  rng?: () => number;
  /** Tick reports kept for GET /api/schedule. */
  keep?: number;
}

export class ChaosScheduler {
  private task?: ScheduledTask;
  private readonly rng: () => number;
  private readonly reports: TickReport[] = [];
  private ticking?: Promise<TickReport>;

  constructor(
    private readonly deps: ChaosSchedulerDeps,
    readonly options: ChaosSchedulerOptions,
  ) {
    assertCronExpression(options.schedule);
    this.rng = options.rng ?? Math.random;
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

  status(): { schedule: string; kinds: readonly FaultKind[]; running: boolean; ticks: TickReport[] } {
    return {
      schedule: this.options.schedule,
      kinds: this.options.kinds,
      running: this.task !== undefined,
      ticks: [...this.reports].reverse(),
    };
  }

  /** One tick: pick and inject (or skip). Never throws: a failed tick is reported and the next one tries again. */
  tickOnce(): Promise<TickReport> {
    this.ticking ??= this.tick().finally(() => {
      this.ticking = undefined;
    });
    return this.ticking;
  }

  private async tick(): Promise<TickReport> {
    const at = new Date().toISOString();
    let report: TickReport;
    try {
      const busy = this.deps.busy();
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
            inEffect: this.deps.inEffect?.(),
            rng: this.rng,
          });
      if ("skip" in result) {
        report = { at, outcome: "skipped", reason: result.skip };
      } else {
        const { service, kind, options } = result.pick;
        try {
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
}

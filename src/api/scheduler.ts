/**
 * Chaos-Monkey mode: on every cron tick, one fault on one service, unless a fault is already in effect.
 * Targets come in the dependency graph's test order (most depended-on first) round after round, so
 * successive ticks work through the stack the way an experiment would; the kind is drawn at random
 * (seeded, so a test can predict it) from the allowed kinds. Exclusions and the blast-radius cap are the
 * planner's (`planExperiment`), so the scheduler can never pick what `faultline run` would refuse.
 */
import cron, { type ScheduledTask } from "node-cron";
import { errorText, InvalidInputError } from "../errors.js";
import type { DependencyGraph } from "../graph/types.js";
import { planExperiment, type ExcludedService, type PlanContainer } from "../run/plan.js";
import { MIN_FAULT_DURATION_MS, type FaultKind } from "../faults/kinds.js";
import { log } from "../util/log.js";

/** Options a kind cannot do without; the scheduler uses these unless told otherwise. */
export const CHAOS_KIND_DEFAULTS: Partial<Record<FaultKind, Record<string, unknown>>> = {
  latency: { latency: "200ms", jitter: "20ms" },
  loss: { loss: 20 },
  bandwidth: { rate: "1mbit" },
  http: { status: 503, percent: 50 },
};

/** Kind defaults overlaid with the user's options. */
export function optionsForKind(
  kind: FaultKind,
  overrides: Partial<Record<FaultKind, Record<string, unknown>>> = {},
): Record<string, unknown> {
  return { ...(CHAOS_KIND_DEFAULTS[kind] ?? {}), ...(overrides[kind] ?? {}) };
}

/** mulberry32: a small seeded generator in [0, 1). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface PickInput {
  containers: readonly PlanContainer[];
  graph?: DependencyGraph;
  kinds: readonly FaultKind[];
  maxBlastRadius?: number;
  selfContainerId?: string;
  /** Per-kind options over CHAOS_KIND_DEFAULTS; the planner fills in what depends on the target. */
  kindOptions?: Partial<Record<FaultKind, Record<string, unknown>>>;
  /** Services already faulted in the current round. */
  visited: ReadonlySet<string>;
  /** Why this tick must not inject (a fault in effect, an experiment), if it must not. */
  busy?: string;
  rng: () => number;
}

export type PickResult =
  | {
      pick: { service: string; kind: FaultKind; options: Record<string, unknown> };
      /** The round's visited set after this pick (a new round starts when every service had its turn). */
      visited: Set<string>;
      excluded: ExcludedService[];
    }
  | { skip: string; excluded: ExcludedService[] };

/** Which fault this tick injects, or why none (pure). */
export function pickChaosFault(input: PickInput): PickResult {
  if (input.busy) return { skip: input.busy, excluded: [] };
  if (!input.kinds.length) return { skip: "no fault kinds allowed", excluded: [] };
  const plan = planExperiment({
    containers: input.containers,
    graph: input.graph,
    kinds: input.kinds,
    options: Object.fromEntries(input.kinds.map((k) => [k, optionsForKind(k, input.kindOptions)])),
    // The plan only picks; the tick's own duration is checked when its fault is built.
    durationMs: Math.max(...input.kinds.map((k) => MIN_FAULT_DURATION_MS[k])),
    recoveryWaitMs: 0,
    maxBlastRadius: input.maxBlastRadius,
    selfContainerId: input.selfContainerId,
  });
  if (!plan.order.length) {
    return { skip: "no service in scope may be faulted", excluded: plan.excluded };
  }
  const fresh = plan.order.filter((s) => !input.visited.has(s));
  const newRound = fresh.length === 0;
  const service = (newRound ? plan.order : fresh)[0]!;
  const kind = input.kinds[Math.min(input.kinds.length - 1, Math.floor(input.rng() * input.kinds.length))]!;
  const visited = new Set(newRound ? [] : input.visited);
  visited.add(service);
  const step = plan.steps.find((s) => s.service === service && s.kind === kind);
  const options = step?.options ?? optionsForKind(kind, input.kindOptions);
  return { pick: { service, kind, options }, visited, excluded: plan.excluded };
}

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
  rng?: () => number;
  /** Tick reports kept for GET /api/schedule. */
  keep?: number;
}

export class ChaosScheduler {
  private task?: ScheduledTask;
  private visited = new Set<string>();
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
        ? pickChaosFault({ containers: [], kinds: [], visited: this.visited, busy, rng: this.rng })
        : pickChaosFault({
            containers: await this.deps.containers(),
            graph: await this.deps.graph(),
            kinds: this.options.kinds,
            maxBlastRadius: this.options.maxBlastRadius,
            selfContainerId: this.options.selfContainerId,
            kindOptions: this.options.kindOptions,
            visited: this.visited,
            rng: this.rng,
          });
      if ("skip" in result) {
        report = { at, outcome: "skipped", reason: result.skip };
      } else {
        this.visited = result.visited;
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

/**
 * Chaos-Monkey target picking (pure): which service and kind one tick faults. The eligible set is what
 * the planner (`planExperiment`) would accept — scope, `faultline.exclude`, faultline's own containers,
 * stopped ones, the blast-radius cap — narrowed by the schedule's own guardrails: services excluded by
 * name, services with a fault already in effect, and the kinds each service allows (`--allow` or the
 * container's `faultline.kinds` label). From that set a seeded generator draws the service (uniformly,
 * or weighted toward the most depended-on) and then one of its kinds, so `--seed` replays a schedule.
 */
import { LABELS } from "../docker/types.js";
import { InvalidInputError } from "../errors.js";
import { DEFAULT_MIN_CONFIDENCE } from "../graph/order.js";
import type { DependencyGraph } from "../graph/types.js";
import { MIN_FAULT_DURATION_MS, type FaultKind } from "../faults/kinds.js";
import { planExperiment, type ExcludedService, type PlanContainer } from "../run/plan.js";
import { serviceIdOf } from "../run/targeting.js";

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

/** How the service is drawn: every eligible one alike, or in proportion to 1 + its direct dependents. */
export type TargetWeighting = "uniform" | "depended-on";
export const TARGET_WEIGHTINGS: readonly TargetWeighting[] = ["uniform", "depended-on"];

export interface PickInput {
  containers: readonly PlanContainer[];
  graph?: DependencyGraph;
  /** Kinds the schedule may use at all. */
  kinds: readonly FaultKind[];
  maxBlastRadius?: number;
  selfContainerId?: string;
  /** Per-kind options over CHAOS_KIND_DEFAULTS; the planner fills in what depends on the target. */
  kindOptions?: Partial<Record<FaultKind, Record<string, unknown>>>;
  /** Services the schedule never faults (on top of the `faultline.exclude` label). */
  exclude?: readonly string[];
  /** Kinds allowed per service (over the container's `faultline.kinds` label); others get `kinds`. */
  allowedKinds?: Readonly<Record<string, readonly FaultKind[]>>;
  weighting?: TargetWeighting;
  /** Services with a fault in effect: a second one is not drawn by the monkey. */
  inEffect?: ReadonlySet<string>;
  /** Why this tick must not inject (a window closed, the cap reached), if it must not. */
  busy?: string;
  rng: () => number;
}

export interface EligibleTarget {
  service: string;
  /** The kinds this service may get, each with its options as the planner completed them. */
  kinds: { kind: FaultKind; options: Record<string, unknown> }[];
  weight: number;
}

export interface ChaosPick {
  service: string;
  kind: FaultKind;
  options: Record<string, unknown>;
}

export type PickResult =
  | { pick: ChaosPick; eligible: EligibleTarget[]; excluded: ExcludedService[] }
  | { skip: string; eligible: EligibleTarget[]; excluded: ExcludedService[] };

/** Kinds a container allows by its `faultline.kinds` label ("pause,latency"); undefined: no label. */
export function labelledKinds(labels: Record<string, string>): string[] | undefined {
  const value = labels[LABELS.kinds];
  if (value === undefined) return undefined;
  return value
    .split(",")
    .map((k) => k.trim())
    .filter(Boolean);
}

/** Direct dependents per service (distinct clients with a confident edge to it). */
export function inDegrees(graph: DependencyGraph | undefined): Map<string, number> {
  const clients = new Map<string, Set<string>>();
  for (const e of graph?.edges ?? []) {
    if (e.from === e.to || e.confidence < DEFAULT_MIN_CONFIDENCE) continue;
    clients.set(e.to, (clients.get(e.to) ?? new Set()).add(e.from));
  }
  return new Map([...clients].map(([service, from]) => [service, from.size]));
}

/** The services (and their kinds) one tick may draw from, and why the others are out (pure). */
export function eligibleTargets(input: Omit<PickInput, "rng" | "busy">): {
  eligible: EligibleTarget[];
  excluded: ExcludedService[];
} {
  if (!input.kinds.length) return { eligible: [], excluded: [] };
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
  const excluded = [...plan.excluded];
  const named = new Set(input.exclude ?? []);
  const degrees = inDegrees(input.graph);
  const labelled = new Map<string, string[]>();
  for (const c of input.containers) {
    const kinds = labelledKinds(c.labels);
    if (kinds) labelled.set(serviceIdOf(c), kinds);
  }
  const eligible: EligibleTarget[] = [];
  for (const service of plan.order) {
    if (named.has(service)) {
      excluded.push({ service, reason: "excluded from the schedule" });
      continue;
    }
    if (input.inEffect?.has(service)) {
      excluded.push({ service, reason: "a fault is already in effect on it" });
      continue;
    }
    const allowed: readonly string[] | undefined = input.allowedKinds?.[service] ?? labelled.get(service);
    const kinds = plan.steps
      .filter((s) => s.service === service && (!allowed || allowed.includes(s.kind)))
      .map((s) => ({ kind: s.kind, options: s.options }));
    if (!kinds.length) {
      excluded.push({
        service,
        reason: `none of the schedule's kinds (${input.kinds.join(", ")}) is allowed on it${
          allowed ? ` (allowed: ${allowed.join(", ") || "none"})` : ""
        }`,
      });
      continue;
    }
    const weight = input.weighting === "depended-on" ? 1 + (degrees.get(service) ?? 0) : 1;
    eligible.push({ service, kinds, weight });
  }
  return { eligible, excluded };
}

/** Which fault this tick injects, or why none (pure; the only randomness is `rng`). */
export function pickChaosFault(input: PickInput): PickResult {
  if (input.busy) return { skip: input.busy, eligible: [], excluded: [] };
  if (!input.kinds.length) return { skip: "no fault kinds allowed", eligible: [], excluded: [] };
  const { eligible, excluded } = eligibleTargets(input);
  if (!eligible.length) return { skip: "no service in scope may be faulted", eligible, excluded };
  const target = drawWeighted(eligible, input.rng);
  const { kind, options } = target.kinds[drawIndex(target.kinds.length, input.rng)]!;
  return { pick: { service: target.service, kind, options }, eligible, excluded };
}

function drawIndex(n: number, rng: () => number): number {
  return Math.min(n - 1, Math.floor(rng() * n));
}

function drawWeighted<T extends { weight: number }>(items: readonly T[], rng: () => number): T {
  const total = items.reduce((sum, t) => sum + t.weight, 0);
  let point = rng() * total;
  for (const item of items) {
    point -= item.weight;
    if (point < 0) return item;
  }
  return items[items.length - 1]!;
}

/**
 * `--allow db=pause,latency` (repeatable) as kinds per service; every kind must be one the schedule
 * uses, or the user would expect faults that never come.
 */
export function parseAllowedKinds(
  values: readonly string[],
  scheduleKinds: readonly FaultKind[],
): Record<string, FaultKind[]> {
  const allowed: Record<string, FaultKind[]> = {};
  for (const value of values) {
    const match = /^([^=\s]+)=([^=]*)$/.exec(value.trim());
    if (!match) {
      throw new InvalidInputError(
        `--allow "${value}" is not service=kind[,kind...]`,
        "e.g. --allow db=pause,latency",
      );
    }
    const kinds = match[2]!
      .split(",")
      .map((k) => k.trim())
      .filter(Boolean);
    for (const k of kinds) {
      if (!(scheduleKinds as readonly string[]).includes(k)) {
        throw new InvalidInputError(
          `--allow ${match[1]}: "${k}" is not one of the schedule's kinds (${scheduleKinds.join(", ")})`,
          "add it to --kinds, or leave it out of --allow",
        );
      }
    }
    allowed[match[1]!] = kinds as FaultKind[];
  }
  return allowed;
}

export function parseWeighting(value: string): TargetWeighting {
  if ((TARGET_WEIGHTINGS as readonly string[]).includes(value)) return value as TargetWeighting;
  throw new InvalidInputError(
    `--weighting "${value}" is not known`,
    `use one of ${TARGET_WEIGHTINGS.join(", ")}`,
  );
}

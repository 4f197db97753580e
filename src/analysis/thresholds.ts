/**
 * Explicit steady-state thresholds: limits a user states instead of (on top of) the steady state
 * learned from the baseline. Grammar (one threshold per string, whitespace ignored):
 *
 *   threshold := [service ":"] metric ("<" | "<=") value
 *
 * | metric                  | value                        | per tick                                    |
 * | ----------------------- | ---------------------------- | ------------------------------------------- |
 * | `latency_p95_ms`        | `500`, `500ms`, `0.5s`       | p95 of the service's HTTP probes            |
 * | `latency_p50_ms`        | as above                     | median of its HTTP probes                   |
 * | `error_rate`            | `0.5`, `0.5/s`, `30/m`       | classified error log lines per second       |
 * | `http_status_5xx_ratio` | `0.05` or `5%`               | share of its probes answered with a 5xx     |
 * | `probe_failure_ratio`   | `0.5` or `50%`               | share of its probes that failed (any way)   |
 * | `cpu_percent`           | `80` or `80%`                | CPU, as `docker stats` shows it             |
 * | `memory_mb`             | `512`                        | memory in MiB                               |
 *
 * Without `service:` a threshold applies to every monitored service. A service breaches a threshold
 * when at least MIN_BREACH_TICKS ticks of a fault's window (during + recovery watch) are outside it
 * (every tick, when the window is shorter); it then counts as deviated, with a signal naming the
 * threshold. A threshold the service already breached on at least half of its baseline ticks is not
 * the fault's doing: it is reported as such and not counted. Pure; parse errors are InvalidInputError
 * naming the threshold and the grammar.
 */
import { InvalidInputError } from "../errors.js";
import { estimatedErrorLines } from "../monitor/envelope.js";
import type { ServiceSample } from "../monitor/types.js";
import type { SignalCategory } from "./types.js";

export const THRESHOLD_METRICS = [
  "latency_p95_ms",
  "latency_p50_ms",
  "error_rate",
  "http_status_5xx_ratio",
  "probe_failure_ratio",
  "cpu_percent",
  "memory_mb",
] as const;
export type ThresholdMetric = (typeof THRESHOLD_METRICS)[number];

/** Ticks outside a threshold needed for a breach (as for learned limits: one tick is noise). */
export const MIN_BREACH_TICKS = 2;

export interface Threshold {
  /** As written (normalised: no whitespace), e.g. "web:latency_p95_ms<500". */
  text: string;
  /** Only this service; undefined: every service. */
  service?: string;
  metric: ThresholdMetric;
  /** The limit in the metric's unit (ms, lines/s, ratio 0..1, %, MiB). */
  limit: number;
  /** "<=": the limit itself is still inside the steady state. */
  inclusive: boolean;
}

export const THRESHOLD_GRAMMAR =
  '[service:]metric<value, metric one of latency_p95_ms, latency_p50_ms (ms), error_rate (lines/s, "0.5/s"), http_status_5xx_ratio, probe_failure_ratio (0..1 or "5%"), cpu_percent, memory_mb; e.g. "latency_p95_ms<500" or "web:error_rate<0.5/s"';

interface MetricSpec {
  category: SignalCategory;
  unit: string;
  /** The value's number in the metric's unit, or undefined when the text is not one. */
  parse(value: string): number | undefined;
  /** This tick's value, or undefined when the tick has none (no probes, no stats). */
  of(s: ServiceSample, tickSeconds: number): number | undefined;
}

const NUMBER = String.raw`(\d+(?:\.\d+)?|\.\d+)`;

function numberWith(suffixes: Record<string, number>): (value: string) => number | undefined {
  const alternatives = Object.keys(suffixes)
    .filter(Boolean)
    .map((s) => s.replace(/[/%]/g, "\\$&"))
    .join("|");
  const re = new RegExp(`^${NUMBER}(${alternatives})?$`);
  return (value) => {
    const m = re.exec(value);
    if (!m) return undefined;
    const factor = suffixes[m[2] ?? ""];
    return factor === undefined ? undefined : Number(m[1]) * factor;
  };
}

const ratio = (value: string): number | undefined => {
  const n = numberWith({ "": 1, "%": 0.01 })(value);
  return n !== undefined && n <= 1 ? n : undefined;
};
const probeShare = (s: ServiceSample, part: (p: NonNullable<ServiceSample["probes"]>) => number) =>
  s.probes && s.probes.count > 0 ? part(s.probes) / s.probes.count : undefined;

const METRICS: Record<ThresholdMetric, MetricSpec> = {
  latency_p95_ms: {
    category: "latency",
    unit: "ms",
    parse: numberWith({ "": 1, ms: 1, s: 1000 }),
    of: (s) => s.probes?.p95Ms,
  },
  latency_p50_ms: {
    category: "latency",
    unit: "ms",
    parse: numberWith({ "": 1, ms: 1, s: 1000 }),
    of: (s) => s.probes?.p50Ms,
  },
  error_rate: {
    category: "error",
    unit: "lines/s",
    parse: numberWith({ "": 1, "/s": 1, "/m": 1 / 60, "/min": 1 / 60 }),
    of: (s, seconds) => (s.logs ? estimatedErrorLines(s.logs) / seconds : undefined),
  },
  http_status_5xx_ratio: {
    category: "error",
    unit: "ratio",
    parse: ratio,
    of: (s) => probeShare(s, (p) => p.serverErrors),
  },
  probe_failure_ratio: {
    category: "error",
    unit: "ratio",
    parse: ratio,
    of: (s) => probeShare(s, (p) => p.count - p.ok),
  },
  cpu_percent: {
    category: "resource",
    unit: "%",
    parse: numberWith({ "": 1, "%": 1 }),
    of: (s) => s.cpuPercent,
  },
  memory_mb: {
    category: "resource",
    unit: "MiB",
    parse: numberWith({ "": 1 }),
    of: (s) => (s.memoryBytes === undefined ? undefined : s.memoryBytes / (1024 * 1024)),
  },
};

const SHAPE = /^(?:([^:<>=]+):)?([a-z0-9_]+)(<=|<|>=|>|=)(.+)$/;

/** Parses one threshold; throws InvalidInputError saying what is wrong and what is expected. */
export function parseThreshold(input: string): Threshold {
  const text = input.replace(/\s+/g, "");
  const bad = (why: string) =>
    new InvalidInputError(`bad threshold "${input}": ${why}`, `use ${THRESHOLD_GRAMMAR}`);
  const m = SHAPE.exec(text);
  if (!m) throw bad("not of the form [service:]metric<value");
  const [, service, metric, op, value] = m as unknown as [string, string | undefined, string, string, string];
  if (!(THRESHOLD_METRICS as readonly string[]).includes(metric))
    throw bad(`unknown metric "${metric}" (known: ${THRESHOLD_METRICS.join(", ")})`);
  if (op !== "<" && op !== "<=")
    throw bad(`"${op}": a threshold is an upper limit of the steady state, written metric<value`);
  const spec = METRICS[metric as ThresholdMetric];
  const limit = spec.parse(value);
  if (limit === undefined || !Number.isFinite(limit))
    throw bad(`"${value}" is not a valid ${metric} value (${spec.unit})`);
  return {
    text,
    ...(service ? { service } : {}),
    metric: metric as ThresholdMetric,
    limit,
    inclusive: op === "<=",
  };
}

/** Parses every threshold (duplicates folded); the first bad one throws. */
export function parseThresholds(inputs: readonly string[]): Threshold[] {
  const out = new Map<string, Threshold>();
  for (const input of inputs) {
    const t = parseThreshold(input);
    out.set(t.text, t);
  }
  return [...out.values()];
}

/** Thresholds naming a service that is not monitored are mistakes: refused before anything runs. */
export function checkThresholdServices(thresholds: readonly Threshold[], services: readonly string[]): void {
  const known = new Set(services);
  const unknown = thresholds.filter((t) => t.service !== undefined && !known.has(t.service));
  if (unknown.length)
    throw new InvalidInputError(
      `threshold${unknown.length > 1 ? "s" : ""} ${unknown.map((t) => `"${t.text}"`).join(", ")} name${
        unknown.length > 1 ? "" : "s"
      } no service in scope`,
      `services: ${[...services].sort().join(", ")}`,
    );
}

export function thresholdsFor(thresholds: readonly Threshold[], service: string): Threshold[] {
  return thresholds.filter((t) => t.service === undefined || t.service === service);
}

export function thresholdCategory(t: Threshold): SignalCategory {
  return METRICS[t.metric].category;
}

/** The metric's value per sample (undefined where a tick has none). */
export function thresholdValues(
  t: Threshold,
  samples: readonly ServiceSample[],
  tickSeconds: number,
): (number | undefined)[] {
  return samples.map((s) => METRICS[t.metric].of(s, tickSeconds));
}

export function breaches(t: Threshold, value: number | undefined): boolean {
  if (value === undefined || !Number.isFinite(value)) return false;
  return t.inclusive ? value > t.limit : value >= t.limit;
}

/** True when the steady state itself was outside the threshold (at least half of the baseline ticks). */
export function breachedBefore(
  t: Threshold,
  baseline: readonly ServiceSample[],
  tickSeconds: number,
): { breached: boolean; median?: number } {
  const values = thresholdValues(t, baseline, tickSeconds).filter(
    (v): v is number => v !== undefined && Number.isFinite(v),
  );
  if (!values.length) return { breached: false };
  const sorted = [...values].sort((a, b) => a - b);
  const median = sorted[sorted.length >> 1]!;
  return { breached: values.filter((v) => breaches(t, v)).length * 2 >= values.length, median };
}

export function formatThresholdValue(t: Threshold, value: number): string {
  const unit = METRICS[t.metric].unit;
  if (unit === "ratio") return `${Math.round(value * 1000) / 10}%`;
  const rounded = Math.round(value * 100) / 100;
  return unit === "%" ? `${rounded}%` : `${rounded} ${unit}`;
}

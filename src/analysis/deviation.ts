/**
 * Steady state and deviation for one service around one fault. The steady state is learned from the
 * baseline samples (no hand-written hypothesis): median and MAD per metric, with an absolute floor
 * per metric so a perfectly flat baseline does not turn noise into findings.
 *
 * A continuous metric deviates when at least two ticks (or one tick far out, |z| ≥ 10) leave the
 * baseline by |z| ≥ 3.5 in the harmful direction. Error-log classes are counts: they deviate when the
 * window saw at least 3 such lines at ≥ 3× the baseline rate (+1 smoothed). Availability deviates
 * when the container is not running, unhealthy or restarted while the baseline was fine.
 *
 * Explicit thresholds (thresholds.ts) add limits the user stated: a breach is a deviation too.
 *
 * A service logging faster than the log counter's per-tick budget has lines that were only counted,
 * not classified: its error counts are lower bounds. For the rate comparison both the baseline and
 * the window are extrapolated from the classified share of each tick (so a flood in both does not
 * look like a change); the reported counts stay what was classified, flagged as lower bounds.
 */
import { isDown } from "../monitor/envelope.js";
import { ERROR_CLASSES, type ServiceSample } from "../monitor/types.js";
import { cliffsDelta, median, robustZ, sum } from "./stats.js";
import {
  breaches,
  formatThresholdValue,
  MIN_BREACH_TICKS,
  thresholdCategory,
  thresholdValues,
  type Threshold,
} from "./thresholds.js";
import type { ErrorClassName, ErrorCount, ServiceImpact, Signal, SignalCategory } from "./types.js";

export const Z_THRESHOLD = 3.5;
export const Z_SINGLE_TICK = 10;
export const MIN_ERROR_LINES = 3;
export const MIN_ERROR_RATIO = 3;
/** Why a service is down when the engine shows nothing wrong with its container. */
const PROBES_FAILED = "no HTTP probe succeeded";

interface ContinuousMetric {
  key: string;
  label: string;
  unit: string;
  category: SignalCategory;
  /** "up": only increases hurt; "both": any change is news. */
  direction: "up" | "both";
  value(s: ServiceSample): number | undefined;
  floor(baselineMedian: number): number;
}

const MB = 1024 * 1024;

export const CONTINUOUS_METRICS: ContinuousMetric[] = [
  {
    key: "probe.failureRatio",
    label: "failed HTTP probes",
    unit: "ratio",
    category: "error",
    direction: "up",
    value: (s) => (s.probes && s.probes.count ? (s.probes.count - s.probes.ok) / s.probes.count : undefined),
    floor: () => 0.1,
  },
  {
    key: "probe.p95Ms",
    label: "HTTP probe p95",
    unit: "ms",
    category: "latency",
    direction: "up",
    value: (s) => s.probes?.p95Ms,
    floor: (m) => Math.max(25, 0.5 * m),
  },
  {
    key: "cpuPercent",
    label: "CPU",
    unit: "%",
    category: "resource",
    direction: "both",
    value: (s) => s.cpuPercent,
    floor: (m) => Math.max(10, 0.5 * m),
  },
  {
    key: "memoryBytes",
    label: "memory",
    unit: "B",
    category: "resource",
    direction: "both",
    value: (s) => s.memoryBytes,
    floor: (m) => Math.max(32 * MB, 0.25 * m),
  },
  {
    key: "netRxBytesPerSec",
    label: "network in",
    unit: "B/s",
    category: "resource",
    direction: "both",
    value: (s) => s.netRxBytesPerSec,
    floor: (m) => Math.max(64 * 1024, m),
  },
  {
    key: "netTxBytesPerSec",
    label: "network out",
    unit: "B/s",
    category: "resource",
    direction: "both",
    value: (s) => s.netTxBytesPerSec,
    floor: (m) => Math.max(64 * 1024, m),
  },
  {
    key: "connections",
    label: "TCP connections",
    unit: "",
    category: "resource",
    direction: "both",
    value: (s) => s.connections,
    floor: (m) => Math.max(2, 0.5 * m),
  },
];

export interface DeviationInput {
  service: string;
  baseline: readonly ServiceSample[];
  /** During + after samples, sorted by t. */
  window: readonly ServiceSample[];
  /** Monotonic ms of the injection and of the revert (end of the fault). */
  injectT: number;
  revertT: number;
  intervalMs: number;
  /** Explicit thresholds that apply to this service (those already breached in the baseline left out). */
  thresholds?: readonly Threshold[];
}

/** The service's deviation, or undefined when it stayed in steady state. */
export function serviceDeviation(input: DeviationInput): Omit<ServiceImpact, "summary"> | undefined {
  const { baseline, window } = input;
  if (window.length === 0) return undefined;
  // What users feel (availability, errors, latency, thresholds) and what only the machine shows
  // (connections, CPU, memory, I/O) are marked apart: a connection pool that grew during the fault, or
  // memory a cache kept, may settle at a new level for good, and that is no failure to recover.
  const tickDeviates: boolean[] = window.map(() => false);
  const resourceTickDeviates: boolean[] = window.map(() => false);
  const signals: Signal[] = [];
  const rel = (t: number) => t - input.injectT;

  // Availability.
  const baseDown = baseline.length ? baseline.filter(isDown).length / baseline.length : 0;
  const baseUnhealthy = baseline.some((s) => s.health === "unhealthy");
  const baseRestarts = Math.max(0, ...baseline.map((s) => s.restartCount ?? 0));
  let down = false;
  let unhealthy = false;
  let restarted = false;
  if (baseDown < 0.5) {
    const downTick = (s: ServiceSample) => isDown(s) && s.health !== "unhealthy";
    const idx = markTicks(window, tickDeviates, downTick);
    if (idx >= 0) {
      down = true;
      // Probes may fail a tick before the engine reports why (a container being removed still lists
      // as running): the text names the cause the window shows, the time stays the first down tick.
      // Removal is the final word: a container being removed may first show as dead or exited.
      const downTicks = window.filter(downTick);
      const reasons = downTicks.map(describeDown);
      const text = downTicks.some((s) => s.gone)
        ? describeDown(downTicks.find((s) => s.gone)!)
        : (reasons.find((r) => r !== PROBES_FAILED) ?? reasons[0]!);
      signals.push(avail("down", 0, 1, rel(window[idx]!.t), text));
    }
  }
  if (!baseUnhealthy) {
    const idx = markTicks(window, tickDeviates, (s) => s.health === "unhealthy");
    if (idx >= 0) {
      unhealthy = true;
      signals.push(avail("unhealthy", 0, 1, rel(window[idx]!.t), "health check: unhealthy"));
    }
  }
  const firstRestart = window.findIndex((s) => (s.restartCount ?? 0) > baseRestarts);
  if (firstRestart >= 0 && baseline.length) {
    restarted = true;
    tickDeviates[firstRestart] = true;
    const n = Math.max(...window.map((s) => s.restartCount ?? 0)) - baseRestarts;
    signals.push(
      avail("restarts", baseRestarts, baseRestarts + n, rel(window[firstRestart]!.t), `restarted ${n}×`),
    );
  }

  // Continuous metrics.
  for (const m of CONTINUOUS_METRICS) {
    const base = values(baseline, m.value);
    if (base.length < 2) continue;
    const med = median(base);
    const floor = m.floor(med);
    const zs = window.map((s) => {
      const v = m.value(s);
      if (v === undefined) return 0;
      const z = robustZ(v, base, floor);
      return m.direction === "up" ? Math.max(0, z) : z;
    });
    const out = zs.map((z) => Math.abs(z) >= Z_THRESHOLD);
    const n = out.filter(Boolean).length;
    const maxAbs = Math.max(0, ...zs.map(Math.abs));
    if (n < 2 && maxAbs < Z_SINGLE_TICK) continue;
    const marks = m.category === "resource" ? resourceTickDeviates : tickDeviates;
    out.forEach((o, i) => (marks[i] ||= o));
    const worst = zs.findIndex((z) => Math.abs(z) === maxAbs);
    const observed = m.value(window[worst]!) ?? med;
    const during = values(
      window.filter((s) => s.t <= input.revertT),
      m.value,
    );
    const d = cliffsDelta(base, during.length ? during : values(window, m.value));
    signals.push({
      metric: m.key,
      category: m.category,
      baseline: med,
      observed,
      z: round(zs[worst]!),
      cliffsDelta: round(d),
      firstAtMs: rel(window[out.indexOf(true) >= 0 ? out.indexOf(true) : worst]!.t),
      text: `${m.label} ${fmt(med, m.unit)} -> ${fmt(observed, m.unit)} (z ${round(zs[worst]!)}, Cliff's δ ${round(d)})`,
    });
  }

  // Error logs, per class.
  const errors: ErrorCount[] = [];
  const unclassifiedLines = sum(window.map((s) => s.logs?.dropped ?? 0));
  const baseSeconds = Math.max(1, (baseline.length * input.intervalMs) / 1000);
  const windowSeconds = Math.max(1, (window.length * input.intervalMs) / 1000);
  const faultTicks = window.filter((s) => s.t <= input.revertT).length;
  const faultSeconds = Math.max(1, (faultTicks * input.intervalMs) / 1000);
  for (const cls of ERROR_CLASSES) {
    const baseCount = sum(baseline.map((s) => estimatedClassCount(s, cls)));
    const perTick = window.map((s) => estimatedClassCount(s, cls));
    const count = sum(perTick);
    const faultCount = sum(perTick.slice(0, faultTicks));
    // Errors caused by a fault crowd into the fault itself; averaging them over the recovery watch
    // too would dilute a clear burst below the threshold. Lagging errors still count over the whole window.
    const baseRate = (baseCount + 1) / baseSeconds;
    const ratio = Math.max((faultCount + 1) / faultSeconds, (count + 1) / windowSeconds) / baseRate;
    if (count < MIN_ERROR_LINES || ratio < MIN_ERROR_RATIO) continue;
    const baseMean = baseline.length ? baseCount / baseline.length : 0;
    perTick.forEach((c, i) => (tickDeviates[i] ||= c >= 1 && c > 3 * baseMean));
    const first = perTick.findIndex((c) => c >= 1 && c > 3 * baseMean);
    const estimated = unclassifiedLines > 0 ? ` (estimated: ${unclassifiedLines} lines not classified)` : "";
    signals.push({
      metric: `logs.${cls}`,
      category: "error",
      baseline: round(baseCount / baseSeconds),
      observed: round(count / windowSeconds),
      ratio: round(ratio),
      firstAtMs: rel(window[Math.max(0, first)]!.t),
      text: `${cls} log lines ${round(baseCount / baseSeconds)}/s -> ${round(count / windowSeconds)}/s (${round(ratio)}×)${estimated}`,
    });
    errors.push(
      ...errorCounts(window, cls).map((e) => (unclassifiedLines > 0 ? { ...e, lowerBound: true } : e)),
    );
  }

  // A stall: a service that kept writing lines in the baseline and fell silent during the fault is
  // waiting on something (a worker blocked on its frozen dependency logs nothing, errors included).
  const held = window.filter((s) => s.t < input.revertT);
  const stall = logStall(baseline, held, input.intervalMs);
  if (stall) {
    held.forEach((s, i) => (tickDeviates[i] ||= (s.logs?.lines ?? 0) === 0));
    signals.push({
      metric: "throughput.logLines",
      category: "availability",
      baseline: stall.baseRate,
      observed: stall.faultRate,
      ratio: round(stall.faultRate / stall.baseRate),
      firstAtMs: rel(window[stall.firstIdx]!.t),
      text: `stalled: log lines ${stall.baseRate}/s -> ${stall.faultRate}/s during the fault`,
    });
  }

  // Explicit thresholds.
  for (const threshold of input.thresholds ?? []) {
    const tickSeconds = input.intervalMs / 1000;
    const seen = thresholdValues(threshold, window, tickSeconds);
    const out = seen.map((v) => breaches(threshold, v));
    const n = out.filter(Boolean).length;
    if (n === 0 || n < Math.min(MIN_BREACH_TICKS, window.length)) continue;
    out.forEach((o, i) => (tickDeviates[i] ||= o));
    const worst = Math.max(...seen.filter((v, i): v is number => out[i]! && v !== undefined));
    const base = thresholdValues(threshold, baseline, tickSeconds).filter(
      (v): v is number => v !== undefined && Number.isFinite(v),
    );
    signals.push({
      metric: `threshold:${threshold.text}`,
      category: thresholdCategory(threshold),
      baseline: base.length ? round(median(base)) : 0,
      observed: round(worst),
      firstAtMs: rel(window[out.indexOf(true)]!.t),
      text: `breached threshold ${threshold.text}: ${formatThresholdValue(threshold, worst)} on ${n} of ${window.length} ticks`,
    });
  }

  if (signals.length === 0) return undefined;
  const everyTick = tickDeviates.map((d, i) => d || resourceTickDeviates[i]!);
  const firstIdx = everyTick.indexOf(true);
  // Recovery is judged on what users feel; resource metrics decide it only when nothing else deviated.
  const recoveryTicks = tickDeviates.includes(true) ? tickDeviates : resourceTickDeviates;
  const lastIdx = recoveryTicks.lastIndexOf(true);
  // Recovered = back in steady state for the rest of the window (at least one tick of it).
  const recoveredAfterMs =
    lastIdx === -1
      ? 0
      : lastIdx < window.length - 1
        ? Math.max(0, window[lastIdx + 1]!.t - input.revertT)
        : null;
  return {
    service: input.service,
    signals,
    errors,
    firstDeviationMs: firstIdx >= 0 ? rel(window[firstIdx]!.t) : Math.min(...signals.map((s) => s.firstAtMs)),
    recoveredAfterMs,
    down,
    unhealthy,
    restarted,
    ...(unclassifiedLines > 0 ? { unclassifiedLines } : {}),
  };
}

/** One tick's lines of one class, extrapolated over the lines the counter had no budget to classify. */
function estimatedClassCount(s: ServiceSample, cls: ErrorClassName): number {
  const n = s.logs?.byClass[cls] ?? 0;
  if (!s.logs || n === 0 || s.logs.dropped <= 0) return n;
  const classified = s.logs.lines - s.logs.dropped;
  return classified > 0 ? (n * s.logs.lines) / classified : n;
}

/** Error counts by (class, peer) over a window; lines without a peer are counted without one. */
function errorCounts(window: readonly ServiceSample[], cls: ErrorClassName): ErrorCount[] {
  const byPeer = new Map<string, number>();
  let total = 0;
  for (const s of window) {
    total += s.logs?.byClass[cls] ?? 0;
    for (const p of s.logs?.peers ?? [])
      if (p.class === cls) byPeer.set(p.peer, (byPeer.get(p.peer) ?? 0) + p.count);
  }
  const out: ErrorCount[] = [...byPeer].map(([peer, count]) => ({ class: cls, peer, count }));
  const unattributed = total - sum(out.map((e) => e.count));
  if (unattributed > 0) out.push({ class: cls, count: unattributed });
  return out.sort((a, b) => b.count - a.count);
}

function markTicks(
  window: readonly ServiceSample[],
  marks: boolean[],
  test: (s: ServiceSample) => boolean,
): number {
  let first = -1;
  window.forEach((s, i) => {
    if (test(s)) {
      marks[i] = true;
      if (first < 0) first = i;
    }
  });
  return first;
}

function avail(metric: string, baseline: number, observed: number, firstAtMs: number, text: string): Signal {
  return { metric, category: "availability", baseline, observed, firstAtMs, text };
}

function describeDown(s: ServiceSample): string {
  if (s.gone) return "container removed";
  if (s.inspectError) return `container not inspectable (${s.inspectError})`;
  if (s.state && s.state !== "running")
    return `container ${s.state}${s.state === "exited" ? ` (exit code ${s.exitCode ?? "?"})` : ""}`;
  return PROBES_FAILED;
}

function values(samples: readonly ServiceSample[], f: (s: ServiceSample) => number | undefined): number[] {
  const out: number[] = [];
  for (const s of samples) {
    const v = f(s);
    if (v !== undefined && Number.isFinite(v)) out.push(v);
  }
  return out;
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}

export function fmt(v: number, unit: string): string {
  if (unit === "ratio") return `${Math.round(v * 100)}%`;
  if (unit === "%") return `${round(v)}%`;
  if (unit === "B" || unit === "B/s") {
    const suffix = unit === "B/s" ? "/s" : "";
    if (v >= MB) return `${(v / MB).toFixed(1)} MB${suffix}`;
    if (v >= 1024) return `${(v / 1024).toFixed(1)} KB${suffix}`;
    return `${Math.round(v)} B${suffix}`;
  }
  if (unit === "ms") return `${Math.round(v)} ms`;
  return `${round(v)}${unit ? ` ${unit}` : ""}`;
}

/** Lines per second a service must have kept in its baseline for silence to mean a stall. */
export const STALL_MIN_BASE_RATE = 0.5;
/** The fault window's line rate at or below this share of the baseline's is a stall. */
export const STALL_MAX_RATIO = 0.1;

/**
 * A drop of the service's own line rate to about nothing while the fault held (its baseline steady
 * enough: lines in most ticks), with the first silent tick.
 */
export function logStall(
  baseline: readonly ServiceSample[],
  fault: readonly ServiceSample[],
  intervalMs: number,
): { baseRate: number; faultRate: number; firstIdx: number } | undefined {
  const base = baseline.filter((s) => s.logs !== undefined);
  const during = fault.filter((s) => s.logs !== undefined);
  if (base.length < 3 || during.length < 2) return undefined;
  if (base.filter((s) => s.logs!.lines > 0).length < base.length / 2) return undefined;
  const tick = intervalMs / 1000;
  const baseRate = sum(base.map((s) => s.logs!.lines)) / (base.length * tick);
  const faultRate = sum(during.map((s) => s.logs!.lines)) / (during.length * tick);
  if (baseRate < STALL_MIN_BASE_RATE || faultRate > STALL_MAX_RATIO * baseRate) return undefined;
  const firstIdx = fault.findIndex((s) => s.logs !== undefined && s.logs.lines === 0);
  return { baseRate: round(baseRate), faultRate: round(faultRate), firstIdx: Math.max(0, firstIdx) };
}

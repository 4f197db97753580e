/**
 * Evidence from external back-ends (Prometheus series, Elasticsearch logs) and how it joins the impact
 * analysis. Pure. Back-ends produce, per fault step, per service, extra Signals (and error counts) in the
 * analysis' own shape; `mergeEvidence` adds them to the RunAnalysis the embedded monitor produced:
 * appended to a service already found impacted, or adding a service the monitor did not see deviate.
 * Severity is re-derived with the same rule and only ever raised (external data adds, never hides).
 */
import { fmt, MIN_ERROR_LINES, MIN_ERROR_RATIO, Z_SINGLE_TICK, Z_THRESHOLD } from "../analysis/deviation.js";
import { severityOf } from "../analysis/severity.js";
import { cliffsDelta, median, robustZ } from "../analysis/stats.js";
import type {
  ErrorClassName,
  ErrorCount,
  ImpactedService,
  RunAnalysis,
  ServiceImpact,
  Severity,
  Signal,
  SignalCategory,
  StepAnalysis,
} from "../analysis/types.js";
import { describeErrors } from "../analysis/words.js";

export type EvidenceSource = "prometheus" | "elasticsearch";

export interface ServiceEvidence {
  service: string;
  source: EvidenceSource;
  signals: Signal[];
  errors: ErrorCount[];
  /** A scrape/availability signal says the service was down. */
  down: boolean;
  /** ms after injection of the first deviation. */
  firstDeviationMs: number;
  /** ms after the revert until back; null when still deviating at the end of the data. */
  recoveredAfterMs: number | null;
  /** Seconds the fault window covered (for error-rate words). */
  windowSeconds: number;
}

export interface StepEvidence {
  faultId: string;
  services: ServiceEvidence[];
  /** What could not be collected, in words. */
  notes: string[];
}

/** A point of a time series: ms since epoch, value. */
export type Point = [number, number];

export interface SeriesMetric {
  key: string;
  label: string;
  unit: string;
  category: SignalCategory;
  direction: "up" | "down" | "both";
  floor(baselineMedian: number): number;
}

/**
 * The same steady-state test the embedded monitor's analysis uses (robust z against the baseline
 * median/MAD with a floor; two points past |z| ≥ 3.5 or one past 10), on an external series.
 */
export function seriesSignal(
  metric: SeriesMetric,
  points: readonly Point[],
  injectAt: number,
  revertAt: number,
): { signal: Signal; firstAt: number; lastDeviatingAt: number; recoveredAt?: number } | undefined {
  const base = points.filter(([t]) => t < injectAt).map(([, v]) => v);
  const window = points.filter(([t]) => t >= injectAt);
  if (base.length < 2 || window.length === 0) return undefined;
  const med = median(base);
  const floor = metric.floor(med);
  const zs = window.map(([, v]) => {
    const z = robustZ(v, base, floor);
    return metric.direction === "up" ? Math.max(0, z) : metric.direction === "down" ? Math.min(0, z) : z;
  });
  const out = zs.map((z) => Math.abs(z) >= Z_THRESHOLD);
  const n = out.filter(Boolean).length;
  const maxAbs = Math.max(0, ...zs.map(Math.abs));
  if (n < 2 && maxAbs < Z_SINGLE_TICK) return undefined;
  const worst = zs.findIndex((z) => Math.abs(z) === maxAbs);
  const firstIdx = out.indexOf(true) >= 0 ? out.indexOf(true) : worst;
  const lastIdx = out.lastIndexOf(true) >= 0 ? out.lastIndexOf(true) : worst;
  const during = window.filter(([t]) => t <= revertAt).map(([, v]) => v);
  const d = cliffsDelta(base, during.length ? during : window.map(([, v]) => v));
  const observed = window[worst]![1];
  const next = window[lastIdx + 1];
  return {
    signal: {
      metric: metric.key,
      category: metric.category,
      baseline: round(med),
      observed: round(observed),
      z: round(zs[worst]!),
      cliffsDelta: round(d),
      firstAtMs: window[firstIdx]![0] - injectAt,
      text: `${metric.label} ${fmt(med, metric.unit)} -> ${fmt(observed, metric.unit)} (z ${round(zs[worst]!)}, Cliff's δ ${round(d)})`,
    },
    firstAt: window[firstIdx]![0],
    lastDeviatingAt: window[lastIdx]![0],
    ...(next ? { recoveredAt: next[0] } : {}),
  };
}

/** Error-line counts per class, baseline vs window, with the monitor's rule (≥ 3 lines at ≥ 3× the rate). */
export function errorClassSignals(
  source: EvidenceSource,
  baseline: { seconds: number; byClass: Partial<Record<ErrorClassName, number>> },
  window: { seconds: number; byClass: Partial<Record<ErrorClassName, number>> },
  note = "",
): Signal[] {
  const out: Signal[] = [];
  const bs = Math.max(1, baseline.seconds);
  const ws = Math.max(1, window.seconds);
  for (const [cls, count] of Object.entries(window.byClass) as [ErrorClassName, number][]) {
    const baseCount = baseline.byClass[cls] ?? 0;
    const ratio = (count + 1) / ws / ((baseCount + 1) / bs);
    if (count < MIN_ERROR_LINES || ratio < MIN_ERROR_RATIO) continue;
    out.push({
      metric: `${source}.logs.${cls}`,
      category: "error",
      baseline: round(baseCount / bs),
      observed: round(count / ws),
      ratio: round(ratio),
      firstAtMs: 0,
      text: `${cls} log lines in ${source} ${round(baseCount / bs)}/s -> ${round(count / ws)}/s (${round(ratio)}×)${note}`,
    });
  }
  return out;
}

const RANK: Record<Severity, number> = { none: 0, minor: 1, major: 2, critical: 3 };

/** The analysis with external evidence added (a new object; the input is not modified). */
export function mergeEvidence(analysis: RunAnalysis, evidence: readonly StepEvidence[]): RunAnalysis {
  const byStep = new Map(evidence.map((e) => [e.faultId, e]));
  const graph = analysis.graphAfter;
  const steps = analysis.steps.map((step) => {
    const ev = byStep.get(step.faultId);
    if (!ev || (!ev.services.length && !ev.notes.length)) return step;
    return mergeStep(step, ev, (from, to) =>
      Boolean(graph?.edges.some((e) => e.from === from && e.to === to)),
    );
  });
  const notes = [...analysis.notes];
  for (const e of evidence) for (const n of e.notes) if (!notes.includes(n)) notes.push(n);
  return { ...analysis, steps, notes };
}

function mergeStep(
  step: StepAnalysis,
  ev: StepEvidence,
  hasEdge: (from: string, to: string) => boolean,
): StepAnalysis {
  const impacted: ImpactedService[] = step.impacted.map((i) => ({ ...i }));
  let targetImpact = step.targetImpact ? { ...step.targetImpact } : undefined;
  const extraSummary: string[] = [];
  for (const e of ev.services) {
    if (!e.signals.length) continue;
    const lines = summaryOf(e);
    if (e.service === step.target) {
      targetImpact = targetImpact ? appendTo(targetImpact, e, lines) : fresh(e, lines);
      continue;
    }
    const idx = impacted.findIndex((i) => i.service === e.service);
    if (idx >= 0) {
      impacted[idx] = { ...appendTo(impacted[idx]!, e, lines), via: impacted[idx]!.via };
    } else {
      const via = hasEdge(e.service, step.target)
        ? "direct"
        : step.expected.includes(e.service)
          ? "transitive"
          : "hidden";
      impacted.push({ ...fresh(e, lines), via });
      extraSummary.push(...lines.slice(0, 3));
    }
  }
  if (!step.analyzed && !targetImpact && impacted.length === 0) return step;
  // userFacing is empty: that clause reads only the embedded HTTP probes, and severity only rises.
  const again = severityOf({ ...(targetImpact ? { targetImpact } : {}), impacted, userFacing: new Set() });
  const raised = RANK[again.severity] > RANK[step.severity];
  const everyone = [targetImpact, ...impacted].filter((i): i is ServiceImpact => i !== undefined);
  const recoveredAfterMs = everyone.some((i) => i.recoveredAfterMs === null)
    ? null
    : Math.max(0, ...everyone.map((i) => i.recoveredAfterMs ?? 0));
  impacted.sort((a, b) => a.firstDeviationMs - b.firstDeviationMs || a.service.localeCompare(b.service));
  return {
    ...step,
    ...(targetImpact ? { targetImpact } : {}),
    impacted,
    severity: raised ? again.severity : step.severity,
    severityReason: raised ? `${again.reason} (from ${sourcesOf(ev)})` : step.severityReason,
    recoveredAfterMs,
    summary: [...step.summary, ...extraSummary],
    ...(ev.notes.length ? { note: [step.note, ...ev.notes].filter(Boolean).join("; ") } : {}),
  };
}

function appendTo(impact: ServiceImpact, e: ServiceEvidence, lines: string[]): ServiceImpact {
  return {
    ...impact,
    signals: [...impact.signals, ...e.signals],
    errors: [...impact.errors, ...e.errors],
    down: impact.down || e.down,
    firstDeviationMs: Math.min(impact.firstDeviationMs, e.firstDeviationMs),
    summary: [...impact.summary, ...lines],
  };
}

function fresh(e: ServiceEvidence, lines: string[]): ServiceImpact {
  return {
    service: e.service,
    signals: e.signals,
    errors: e.errors,
    firstDeviationMs: e.firstDeviationMs,
    recoveredAfterMs: e.recoveredAfterMs,
    down: e.down,
    unhealthy: false,
    restarted: false,
    summary: lines,
  };
}

function summaryOf(e: ServiceEvidence): string[] {
  return [
    ...e.errors.map((x) => `${describeErrors(e.service, x, e.windowSeconds, () => undefined)} [${e.source}]`),
    ...e.signals
      .filter((g) => !g.metric.includes(".logs."))
      .map((g) => `${e.service}: ${g.text} [${e.source}]`),
  ];
}

function sourcesOf(ev: StepEvidence): string {
  return [...new Set(ev.services.map((s) => s.source))].join(" and ") || "external data";
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}

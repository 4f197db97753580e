/**
 * Per-service signals around each fault from whatever the services export to Prometheus (request rate,
 * 5xx ratio, latency p95, plus `up`), compared with the same steady-state rule as the embedded monitor.
 *
 * Metric names are not assumed: they are looked up per service (label values of __name__) and
 * recognised by the common conventions (…_requests_total, …_duration_seconds_bucket).
 */
import type { FaultStep, RunRecord } from "../run/record.js";
import type { Point, SeriesMetric, ServiceEvidence, StepEvidence } from "./evidence.js";
import { seriesSignal } from "./evidence.js";
import { errorText } from "../errors.js";
import { mapLimit } from "../util/concurrency.js";
import type { PrometheusConfig } from "./config.js";
import type { PrometheusClient } from "./prometheus-client.js";

// ------------------------------------------------------------------ queries per service

/** A PromQL selector body for one service: service="storefront" (value escaped). */
export function serviceMatcher(label: string, service: string): string {
  return `${label}=${JSON.stringify(service)}`;
}

export interface ServiceMetricNames {
  requestCounter?: string;
  /** Histogram bucket series and the unit its le is in. */
  latencyHistogram?: { name: string; unit: "seconds" | "milliseconds" };
  /** Label carrying the HTTP status on the request counter. */
  statusLabel?: string;
}

const REQUEST_COUNTERS = [/(^|_)http_requests?_total$/, /(^|_)requests?_total$/, /(^|_)requests?_count$/];
const HISTOGRAMS: [RegExp, "seconds" | "milliseconds"][] = [
  [/(^|_)(request_)?(duration|latency)_seconds_bucket$/, "seconds"],
  [/(^|_)(request_)?(duration|latency)_(milliseconds|ms)_bucket$/, "milliseconds"],
];
export const STATUS_LABELS = ["code", "status_code", "status", "http_status", "response_code"];

/** Picks the request counter and latency histogram among a service's metric names (pure). */
export function pickMetricNames(names: readonly string[]): Omit<ServiceMetricNames, "statusLabel"> {
  const sorted = [...names].sort();
  const out: Omit<ServiceMetricNames, "statusLabel"> = {};
  for (const [re, unit] of HISTOGRAMS) {
    const name = sorted.find((n) => re.test(n));
    if (name) {
      out.latencyHistogram = { name, unit };
      break;
    }
  }
  for (const re of REQUEST_COUNTERS) {
    const name = sorted.find((n) => re.test(n));
    if (name) {
      out.requestCounter = name;
      break;
    }
  }
  // A histogram's _count is a request counter too.
  if (!out.requestCounter && out.latencyHistogram) {
    const count = out.latencyHistogram.name.replace(/_bucket$/, "_count");
    if (sorted.includes(count)) out.requestCounter = count;
  }
  return out;
}

export interface ServiceQuery {
  metric: SeriesMetric;
  expr: string;
}

/** The PromQL per signal for one service, given what it exports (pure). */
export function serviceQueries(
  sel: string,
  names: ServiceMetricNames,
  rateWindow: string,
): { up: string; series: ServiceQuery[] } {
  const series: ServiceQuery[] = [];
  const c = names.requestCounter;
  if (c) {
    series.push({
      metric: {
        key: "prometheus.requestRate",
        label: "request rate (Prometheus)",
        unit: "req/s",
        category: "resource",
        direction: "both",
        floor: (m) => Math.max(0.5, 0.5 * m),
      },
      expr: `sum(rate(${c}{${sel}}[${rateWindow}]))`,
    });
    if (names.statusLabel)
      series.push({
        metric: {
          key: "prometheus.errorRatio",
          label: "5xx ratio (Prometheus)",
          unit: "ratio",
          category: "error",
          direction: "up",
          floor: () => 0.05,
        },
        expr:
          `(sum(rate(${c}{${sel},${names.statusLabel}=~"5.."}[${rateWindow}])) or vector(0))` +
          ` / sum(rate(${c}{${sel}}[${rateWindow}]))`,
      });
  }
  const h = names.latencyHistogram;
  if (h)
    series.push({
      metric: {
        key: "prometheus.p95Ms",
        label: "latency p95 (Prometheus)",
        unit: "ms",
        category: "latency",
        direction: "up",
        floor: (m) => Math.max(25, 0.5 * m),
      },
      expr: `histogram_quantile(0.95, sum by (le) (rate(${h.name}{${sel}}[${rateWindow}])))${h.unit === "seconds" ? " * 1000" : ""}`,
    });
  return { up: `min(up{${sel}})`, series };
}

// ------------------------------------------------------------------ evidence around faults

export interface PrometheusEvidenceOptions {
  /** How far before the injection the baseline reaches (clipped at the previous fault's end). */
  baselineMs?: number;
  /** How long after the revert the window lasts (rate windows lag by their length). */
  afterMs?: number;
  /** Most points per range query. */
  maxPoints?: number;
  /** Services queried in parallel. */
  concurrency?: number;
  now?: () => number;
  signal?: AbortSignal;
}

export class PrometheusEvidence {
  constructor(
    private readonly client: PrometheusClient,
    private readonly config: Pick<PrometheusConfig, "serviceLabel" | "rateWindow">,
    private readonly options: PrometheusEvidenceOptions = {},
  ) {}

  /** Evidence for every injected step of a run, for the given services. Never throws. */
  async collect(record: RunRecord, services: readonly string[]): Promise<StepEvidence[]> {
    const out: StepEvidence[] = [];
    let previousEnd = -Infinity;
    for (const step of record.steps) {
      const window = this.windowOf(step, previousEnd);
      if (!window) continue;
      previousEnd = window.revertAt;
      out.push(await this.collectStep(step.faultId, services, window));
    }
    return out;
  }

  windowOf(
    step: FaultStep,
    previousEnd: number,
  ): { start: number; injectAt: number; revertAt: number; end: number } | undefined {
    const injectAt = Date.parse(step.injectedAt ?? "");
    if (!Number.isFinite(injectAt)) return undefined;
    const reverted = Date.parse(step.revertedAt ?? "");
    const revertAt = Number.isFinite(reverted) ? reverted : injectAt + step.durationMs;
    const start = Math.max(injectAt - (this.options.baselineMs ?? 60_000), previousEnd);
    const now = this.options.now?.() ?? Date.now();
    const end = Math.min(now, revertAt + (this.options.afterMs ?? 30_000));
    return { start: Math.min(start, injectAt - 1000), injectAt, revertAt, end: Math.max(end, injectAt) };
  }

  private async collectStep(
    faultId: string,
    services: readonly string[],
    w: { start: number; injectAt: number; revertAt: number; end: number },
  ): Promise<StepEvidence> {
    const notes: string[] = [];
    const results = await mapLimit(services, this.options.concurrency ?? 4, async (service) => {
      try {
        return await this.serviceEvidence(service, w);
      } catch (e) {
        notes.push(`prometheus: no data for ${service}: ${errorText(e)}`);
        return undefined;
      }
    });
    return {
      faultId,
      services: results.filter((r): r is ServiceEvidence => r !== undefined && r.signals.length > 0),
      notes,
    };
  }

  async serviceEvidence(
    service: string,
    w: { start: number; injectAt: number; revertAt: number; end: number },
  ): Promise<ServiceEvidence> {
    const signal = this.options.signal;
    const sel = serviceMatcher(this.config.serviceLabel, service);
    const metricNames = await this.client.labelValues("__name__", [`{${sel}}`], w.start, w.end, signal);
    const names: ServiceMetricNames = pickMetricNames(metricNames);
    if (names.requestCounter) {
      const labels = await this.client.labelNames(
        [`${names.requestCounter}{${sel}}`],
        w.start,
        w.end,
        signal,
      );
      const status = STATUS_LABELS.find((l) => labels.includes(l));
      if (status) names.statusLabel = status;
    }
    const q = serviceQueries(sel, names, this.config.rateWindow);
    const span = Math.max(1, (w.end - w.start) / 1000);
    const stepSeconds = Math.max(1, Math.ceil(span / (this.options.maxPoints ?? 250)));
    const range = async (expr: string) =>
      (await this.client.queryRange(expr, w.start, w.end, stepSeconds, signal))[0]?.points ?? [];

    const ev: ServiceEvidence = {
      service,
      source: "prometheus",
      signals: [],
      errors: [],
      down: false,
      firstDeviationMs: Infinity,
      recoveredAfterMs: 0,
      windowSeconds: Math.max(1, (w.end - w.injectAt) / 1000),
    };
    const recovered = (at: number | undefined) => {
      if (at === undefined) ev.recoveredAfterMs = null;
      else if (ev.recoveredAfterMs !== null)
        ev.recoveredAfterMs = Math.max(ev.recoveredAfterMs, Math.max(0, at - w.revertAt));
    };

    const up = upSignal(await range(q.up), w.injectAt);
    if (up) {
      ev.signals.push(up.signal);
      ev.down = true;
      ev.firstDeviationMs = Math.min(ev.firstDeviationMs, up.signal.firstAtMs);
      recovered(up.recoveredAt);
    }
    for (const s of q.series) {
      const found = seriesSignal(s.metric, await range(s.expr), w.injectAt, w.revertAt);
      if (!found) continue;
      ev.signals.push(found.signal);
      ev.firstDeviationMs = Math.min(ev.firstDeviationMs, found.signal.firstAtMs);
      recovered(found.recoveredAt);
    }
    if (!Number.isFinite(ev.firstDeviationMs)) ev.firstDeviationMs = 0;
    return ev;
  }
}

/** `up` is 0/1: any scrape failure in the window while the baseline was up is "down" (pure). */
export function upSignal(
  points: readonly Point[],
  injectAt: number,
): { signal: ServiceEvidence["signals"][number]; recoveredAt?: number } | undefined {
  const base = points.filter(([t]) => t < injectAt);
  const window = points.filter(([t]) => t >= injectAt);
  if (!base.length || base.filter(([, v]) => v >= 1).length / base.length < 0.5) return undefined;
  const first = window.findIndex(([, v]) => v < 1);
  if (first < 0) return undefined;
  let last = first;
  window.forEach(([, v], i) => {
    if (v < 1) last = i;
  });
  const next = window[last + 1];
  return {
    signal: {
      metric: "prometheus.up",
      category: "availability",
      baseline: 1,
      observed: 0,
      firstAtMs: window[first]![0] - injectAt,
      text: "Prometheus could not scrape it (up = 0)",
    },
    ...(next ? { recoveredAt: next[0] } : {}),
  };
}

/**
 * Prometheus' HTTP API (/api/v1/query, /api/v1/query_range, label values), answered in the documented
 * envelope {status, data: {resultType, result}}.
 */
import { z } from "zod";
import { authorizationHeader, type PrometheusConfig } from "./config.js";
import type { Point } from "./evidence.js";
import { IntegrationHttpError, requestJson } from "./http.js";

// ------------------------------------------------------------------ HTTP API

const sample = z.tuple([z.number(), z.string()]);
const vectorResult = z.array(z.object({ metric: z.record(z.string(), z.string()), value: sample }));
const matrixResult = z.array(z.object({ metric: z.record(z.string(), z.string()), values: z.array(sample) }));
const envelope = z.object({
  status: z.enum(["success", "error"]),
  data: z.unknown().optional(),
  errorType: z.string().optional(),
  error: z.string().optional(),
  warnings: z.array(z.string()).optional(),
});

export interface InstantSample {
  metric: Record<string, string>;
  /** ms since epoch. */
  at: number;
  value: number;
}

export interface RangeSeries {
  metric: Record<string, string>;
  points: Point[];
}

/** The `data` of a Prometheus API answer, or a clear error for status "error" / an unexpected shape. */
export function parseEnvelope(body: unknown): unknown {
  const parsed = envelope.safeParse(body);
  if (!parsed.success)
    throw new IntegrationHttpError("prometheus", "answer is not a Prometheus API envelope");
  if (parsed.data.status === "error")
    throw new IntegrationHttpError(
      "prometheus",
      `${parsed.data.errorType ?? "error"}: ${parsed.data.error ?? "unknown error"}`,
    );
  return parsed.data.data;
}

export function parseVector(data: unknown): InstantSample[] {
  const d = z.object({ resultType: z.literal("vector"), result: vectorResult }).safeParse(data);
  if (!d.success) throw new IntegrationHttpError("prometheus", "expected a vector result");
  return d.data.result.map((r) => ({ metric: r.metric, at: r.value[0] * 1000, value: Number(r.value[1]) }));
}

export function parseMatrix(data: unknown): RangeSeries[] {
  const d = z.object({ resultType: z.literal("matrix"), result: matrixResult }).safeParse(data);
  if (!d.success) throw new IntegrationHttpError("prometheus", "expected a matrix result");
  return d.data.result.map((r) => ({
    metric: r.metric,
    // NaN (e.g. a quantile over no traffic) and ±Inf carry no steady state: dropped.
    points: r.values
      .map(([t, v]): Point => [Math.round(t * 1000), Number(v)])
      .filter(([, v]) => Number.isFinite(v)),
  }));
}

export class PrometheusClient {
  constructor(private readonly config: Pick<PrometheusConfig, "url" | "auth" | "timeoutMs">) {}

  private async get(path: string, params: [string, string][], signal?: AbortSignal): Promise<unknown> {
    const url = new URL(`${this.config.url}${path}`);
    for (const [k, v] of params) url.searchParams.append(k, v);
    const body = await requestJson("prometheus", url, {
      headers: authorizationHeader(this.config.auth),
      timeoutMs: this.config.timeoutMs,
      ...(signal ? { signal } : {}),
    });
    return parseEnvelope(body);
  }

  async query(expr: string, at?: number, signal?: AbortSignal): Promise<InstantSample[]> {
    const params: [string, string][] = [["query", expr]];
    if (at !== undefined) params.push(["time", seconds(at)]);
    return parseVector(await this.get("/api/v1/query", params, signal));
  }

  async queryRange(
    expr: string,
    start: number,
    end: number,
    stepSeconds: number,
    signal?: AbortSignal,
  ): Promise<RangeSeries[]> {
    const data = await this.get(
      "/api/v1/query_range",
      [
        ["query", expr],
        ["start", seconds(start)],
        ["end", seconds(end)],
        ["step", String(stepSeconds)],
      ],
      signal,
    );
    return parseMatrix(data);
  }

  /** Values of one label (e.g. __name__) among series matching `match`, within [start, end]. */
  async labelValues(
    label: string,
    match: string[],
    start?: number,
    end?: number,
    signal?: AbortSignal,
  ): Promise<string[]> {
    const params: [string, string][] = match.map((m) => ["match[]", m]);
    if (start !== undefined) params.push(["start", seconds(start)]);
    if (end !== undefined) params.push(["end", seconds(end)]);
    const data = await this.get(`/api/v1/label/${encodeURIComponent(label)}/values`, params, signal);
    return z.array(z.string()).parse(data);
  }

  /** Label names used by series matching `match`. */
  async labelNames(match: string[], start?: number, end?: number, signal?: AbortSignal): Promise<string[]> {
    const params: [string, string][] = match.map((m) => ["match[]", m]);
    if (start !== undefined) params.push(["start", seconds(start)]);
    if (end !== undefined) params.push(["end", seconds(end)]);
    return z.array(z.string()).parse(await this.get("/api/v1/labels", params, signal));
  }
}

function seconds(ms: number): string {
  return (ms / 1000).toFixed(3);
}

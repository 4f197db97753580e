/**
 * One bounded HTTP GET against a service's discovered endpoint. Never throws: the outcome is data.
 * Reads at most a few KB of the body, then drops the connection (no keep-alive: a paused service must
 * not pin sockets between ticks).
 */
import http from "node:http";
import type { ProbeSummary } from "./types.js";

export type ProbeOutcome = "ok" | "server-error" | "client-error" | "timeout" | "failure";

export interface ProbeResult {
  url: string;
  outcome: ProbeOutcome;
  status?: number;
  latencyMs: number;
  error?: string;
}

const MAX_BODY = 8 * 1024;

export function probeHttp(url: string, timeoutMs: number, signal?: AbortSignal): Promise<ProbeResult> {
  const started = performance.now();
  const elapsed = () => Math.round((performance.now() - started) * 10) / 10;
  return new Promise<ProbeResult>((resolve) => {
    let settled = false;
    const finish = (r: Omit<ProbeResult, "url" | "latencyMs">) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      req.destroy();
      resolve({ url, latencyMs: elapsed(), ...r });
    };
    const onAbort = () => finish({ outcome: "failure", error: "aborted" });
    const timer = setTimeout(
      () => finish({ outcome: "timeout", error: `no answer in ${timeoutMs} ms` }),
      timeoutMs,
    );
    const req = http.get(url, { agent: false, headers: { "user-agent": "faultline-monitor" } }, (res) => {
      const status = res.statusCode ?? 0;
      let read = 0;
      const done = () =>
        finish({
          outcome: status >= 500 ? "server-error" : status >= 400 ? "client-error" : "ok",
          status,
        });
      res.on("data", (chunk: Buffer) => {
        read += chunk.length;
        if (read >= MAX_BODY) done();
      });
      res.on("end", done);
      res.on("error", done);
    });
    req.on("error", (e: NodeJS.ErrnoException) => finish({ outcome: "failure", error: e.code ?? e.message }));
    if (signal?.aborted) onAbort();
    else signal?.addEventListener("abort", onAbort, { once: true });
  });
}

export function percentile(sorted: readonly number[], p: number): number | undefined {
  if (sorted.length === 0) return undefined;
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx];
}

export function summarizeProbes(results: readonly ProbeResult[]): ProbeSummary {
  const statuses: Record<string, number> = {};
  let ok = 0;
  let serverErrors = 0;
  let timeouts = 0;
  let failures = 0;
  const latencies: number[] = [];
  for (const r of results) {
    const key = r.status !== undefined ? String(r.status) : r.outcome;
    statuses[key] = (statuses[key] ?? 0) + 1;
    if (r.outcome === "ok" || r.outcome === "client-error") ok++;
    else if (r.outcome === "server-error") serverErrors++;
    else if (r.outcome === "timeout") timeouts++;
    else failures++;
    // Timeouts count at the timeout: the latency a user would have waited at least.
    if (r.outcome !== "failure") latencies.push(r.latencyMs);
  }
  latencies.sort((a, b) => a - b);
  const p50 = percentile(latencies, 50);
  const p95 = percentile(latencies, 95);
  return {
    count: results.length,
    ok,
    serverErrors,
    timeouts,
    failures,
    ...(p50 !== undefined ? { p50Ms: p50 } : {}),
    ...(p95 !== undefined ? { p95Ms: p95 } : {}),
    statuses,
  };
}

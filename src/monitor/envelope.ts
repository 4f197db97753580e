/**
 * The safety envelope: conditions under which a run must stop injecting and revert. Pure: it is fed
 * one tick of samples at a time and answers with a reason once a condition has held long enough.
 */
import type { LogSummary, ServiceSample } from "./types.js";

export interface EnvelopeOptions {
  /** Abort when every monitored service has been down or unhealthy for this long (ms). Default 15 s. */
  allDownForMs?: number;
  /** Abort when the stack's error-log rate (lines/s, all services) stays above this… (off by default). */
  maxErrorsPerSecond?: number;
  /** …for this long (ms). Default 10 s. */
  errorRateForMs?: number;
  /** Abort when the share of failed HTTP probes (all services) stays above this (0..1; off by default)… */
  maxProbeFailureRatio?: number;
  /** …for this long (ms). Default 10 s. */
  probeFailureForMs?: number;
}

/**
 * Error lines in one tick, extrapolated when the log counter had no budget to classify every line (a
 * flood): the classified share is taken as representative of the rest. Without drops: the count.
 */
export function estimatedErrorLines(logs: Pick<LogSummary, "lines" | "errors" | "dropped">): number {
  const classified = logs.lines - logs.dropped;
  if (logs.dropped <= 0 || classified <= 0) return logs.errors;
  return (logs.errors * logs.lines) / classified;
}

/** A service counts as down when not running, unhealthy, or none of its probes succeeded. */
export function isDown(s: ServiceSample): boolean {
  if (s.inspectError) return true;
  if (s.state && s.state !== "running") return true;
  if (s.health === "unhealthy") return true;
  return !!s.probes && s.probes.count > 0 && s.probes.ok === 0;
}

export class SafetyEnvelope {
  private readonly since = new Map<string, number>();

  constructor(private readonly options: EnvelopeOptions = {}) {}

  /** One tick of samples (one per service) at monotonic time `t` ms; returns an abort reason or undefined. */
  check(tick: readonly ServiceSample[], t: number, tickSeconds: number): string | undefined {
    if (tick.length === 0) return undefined;
    const o = this.options;
    const allDown = tick.every(isDown);
    const reasons: string[] = [];
    const held = (key: string, violated: boolean, forMs: number, what: string) => {
      if (!violated) {
        this.since.delete(key);
        return;
      }
      const start = this.since.get(key) ?? t;
      this.since.set(key, start);
      if (t - start >= forMs) reasons.push(`${what} for ${Math.round((t - start) / 1000)} s`);
    };
    held("all-down", allDown, o.allDownForMs ?? 15_000, `all ${tick.length} services down or unhealthy`);
    if (o.maxErrorsPerSecond !== undefined) {
      // A flood's unclassified lines are estimated, not ignored: a safety limit must not be blinded by
      // the very flood it should stop.
      const errors = tick.reduce((a, s) => a + (s.logs ? estimatedErrorLines(s.logs) : 0), 0);
      const unclassified = tick.reduce((a, s) => a + (s.logs?.dropped ?? 0), 0);
      const rate = errors / Math.max(tickSeconds, 0.001);
      held(
        "error-rate",
        rate > o.maxErrorsPerSecond,
        o.errorRateForMs ?? 10_000,
        `error logs above ${o.maxErrorsPerSecond}/s (now ${rate.toFixed(1)}/s${
          unclassified > 0 ? `, estimated: ${unclassified} lines not classified` : ""
        })`,
      );
    }
    if (o.maxProbeFailureRatio !== undefined) {
      const count = tick.reduce((a, s) => a + (s.probes?.count ?? 0), 0);
      const ok = tick.reduce((a, s) => a + (s.probes?.ok ?? 0), 0);
      const ratio = count ? (count - ok) / count : 0;
      held(
        "probe-failures",
        count > 0 && ratio > o.maxProbeFailureRatio,
        o.probeFailureForMs ?? 10_000,
        `${Math.round(ratio * 100)}% of HTTP probes failing`,
      );
    }
    return reasons.length ? reasons.join("; ") : undefined;
  }
}

import { InvalidInputError } from "../errors.js";

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses "250ms", "30s", "2m", "1h" or a bare number of milliseconds. Throws InvalidInputError. */
export function parseDuration(text: string, what = "duration"): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(text);
  if (!m) throw new InvalidInputError(`${what} "${text}" is not a duration`, 'use e.g. "500ms", "30s", "2m"');
  const ms = Number(m[1]) * UNITS[m[2] ?? "ms"]!;
  if (!Number.isFinite(ms)) throw new InvalidInputError(`${what} "${text}" is not a finite duration`);
  return Math.round(ms);
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${+(ms / 1000).toFixed(1)}s`;
  return `${+(ms / 60_000).toFixed(1)}m`;
}

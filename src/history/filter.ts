/** `--since 1h|ISO`, `--target`, `--severity`, `--source` as a user writes them (CLI flags, API query). */
import type { Severity } from "../analysis/types.js";
import { InvalidInputError } from "../errors.js";
import { parseDuration } from "../util/duration.js";
import type { HistoryFilter } from "./store.js";
import { RUN_SOURCES, SEVERITY_ORDER, type RunSource } from "./summary.js";

export interface HistoryQuery {
  since?: string;
  target?: string;
  severity?: string;
  source?: string;
  limit?: string | number;
}

export function parseHistoryQuery(query: HistoryQuery, now = new Date()): HistoryFilter {
  const filter: HistoryFilter = {};
  if (query.since !== undefined) filter.since = parseSince(query.since, now);
  if (query.target !== undefined && query.target !== "") filter.target = query.target;
  if (query.severity !== undefined) {
    if (!SEVERITY_ORDER.includes(query.severity as Severity))
      throw new InvalidInputError(
        `unknown severity "${query.severity}"`,
        `one of ${SEVERITY_ORDER.join(", ")} (runs of that severity or worse are listed)`,
      );
    filter.severity = query.severity as Severity;
  }
  if (query.source !== undefined) {
    if (!RUN_SOURCES.includes(query.source as RunSource))
      throw new InvalidInputError(`unknown source "${query.source}"`, `one of ${RUN_SOURCES.join(", ")}`);
    filter.source = query.source as RunSource;
  }
  if (query.limit !== undefined) {
    const limit = Number(query.limit);
    if (!Number.isInteger(limit) || limit < 1)
      throw new InvalidInputError(`limit must be a whole number above 0, not "${query.limit}"`);
    filter.limit = limit;
  }
  return filter;
}

/** A duration back from now ("90m", "1h", "2d") or an instant (ISO 8601). */
export function parseSince(text: string, now = new Date()): Date {
  if (/^\d{4}-\d{2}-\d{2}/.test(text)) {
    const at = Date.parse(text);
    if (Number.isNaN(at))
      throw new InvalidInputError(`--since "${text}" is not a valid date`, "e.g. 2026-01-31T09:00:00Z");
    return new Date(at);
  }
  try {
    return new Date(now.getTime() - parseAge(text, "--since"));
  } catch {
    throw new InvalidInputError(
      `--since "${text}" is neither a duration nor a date`,
      "a duration back from now (30m, 1h, 2d) or an ISO date (2026-01-31T09:00:00Z)",
    );
  }
}

/** A duration that may also be whole days ("7d"), as ages are written. */
export function parseAge(text: string, what: string): number {
  const days = /^\s*(\d+)\s*d\s*$/.exec(text);
  if (days) return Number(days[1]) * 24 * 3_600_000;
  return parseDuration(text, what);
}

/**
 * Shared construction-time checks for fault families: options are validated with zod before anything
 * touches the engine, and every complaint becomes one InvalidInputError a user can act on.
 */
import type { z } from "zod";
import { InvalidInputError } from "../errors.js";
import { MIN_FAULT_DURATION_MS, type FaultKind } from "./kinds.js";
import { formatDuration } from "../util/duration.js";
import { parseOrRefuse } from "../util/zod-issues.js";

/** Longer than this is almost certainly a typo ("30h" for "30s"), and a day-long outage is not an experiment. */
export const MAX_FAULT_DURATION_MS = 24 * 3_600_000;

/** The one duration check every entry point (CLI, API, plans, experiment documents) goes through. */
export function assertFaultDuration(kind: FaultKind, durationMs: number): void {
  if (!Number.isFinite(durationMs) || durationMs < 0) {
    throw new InvalidInputError(
      `${kind}: duration must be a non-negative number of milliseconds (got ${durationMs})`,
      "use e.g. --duration 30s",
    );
  }
  const minimum = MIN_FAULT_DURATION_MS[kind];
  if (durationMs < minimum) {
    throw new InvalidInputError(
      `${kind}: duration ${formatDuration(durationMs)} is shorter than a ${kind} fault can hold (${formatDuration(minimum)})`,
      `use at least --duration ${formatDuration(minimum)}`,
    );
  }
  if (durationMs > MAX_FAULT_DURATION_MS) {
    throw new InvalidInputError(
      `${kind}: duration ${formatDuration(durationMs)} is longer than the 24h limit`,
      "faults are experiments: use minutes, not days",
    );
  }
}

/**
 * Parses `options` with a strict object schema, so an option meant for another kind (say --latency on
 * a pause) is refused by name instead of silently ignored.
 */
export function parseFaultOptions<S extends z.ZodType>(
  kind: FaultKind,
  schema: S,
  options: Record<string, unknown>,
): z.output<S> {
  return parseOrRefuse(schema, options ?? {}, {
    what: `invalid options for a ${kind} fault`,
    noun: "option",
    hint: (keys) => (keys.length ? `${kind} accepts: ${keys.join(", ")}` : `${kind} takes no options`),
  });
}

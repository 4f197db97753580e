/**
 * Request bodies, validated with zod before anything touches the engine. Every complaint becomes one
 * InvalidInputError naming the field, so a 400 says exactly what to fix.
 */
import { z } from "zod";
import { parseThreshold } from "../analysis/thresholds.js";
import { parseDuration } from "../util/duration.js";
import { parseOrRefuse } from "../util/zod-issues.js";

/** "30s", "500ms", "2m", or a number of milliseconds. */
const duration = z
  .union([z.string().min(1), z.number().int().nonnegative()])
  .transform((v) => (typeof v === "number" ? v : parseDuration(v, "duration")));

const name = z.string().trim().min(1).max(256);

export const injectFaultBody = z.strictObject({
  target: name,
  kind: name,
  options: z.record(z.string(), z.unknown()).default({}),
  duration: duration.optional(),
});
export type InjectFaultBody = z.output<typeof injectFaultBody>;

export const experimentBody = z.strictObject({
  /** Only these services. */
  only: z.array(name).min(1).optional(),
  kinds: z.array(name).min(1).optional(),
  duration: duration.optional(),
  /** Steady state watched before each fault. */
  baseline: duration.optional(),
  /** Recovery watched after each fault. */
  recoveryWait: duration.optional(),
  /** Options per kind, e.g. {"latency":{"latency":"200ms"}}. */
  options: z.record(z.string(), z.record(z.string(), z.unknown())).optional(),
  /** Explicit steady-state thresholds, e.g. ["latency_p95_ms<500", "web:error_rate<0.5/s"]. */
  thresholds: z
    .array(
      z
        .string()
        .max(256)
        .transform((t) => parseThreshold(t)),
    )
    .max(100)
    .optional(),
});
export type ExperimentBody = z.output<typeof experimentBody>;

export const discoverBody = z.strictObject({}).optional();

/** Parses `body` or throws InvalidInputError listing every problem by field. */
export function parseBody<S extends z.ZodType>(schema: S, body: unknown, what: string): z.output<S> {
  return parseOrRefuse(schema, body ?? {}, {
    what: `invalid ${what}`,
    noun: "field",
    hint: (fields) => (fields.length ? `fields: ${fields.join(", ")}` : undefined),
  });
}

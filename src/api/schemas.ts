/**
 * Request bodies, validated with zod before anything touches the engine. Every complaint becomes one
 * InvalidInputError naming the field, so a 400 says exactly what to fix.
 */
import { z } from "zod";
import { parseThreshold } from "../analysis/thresholds.js";
import { MAX_FAULT_DURATION_MS } from "../faults/validation.js";
import { MAX_RECOVERY_WAIT_MS } from "../run/plan.js";
import { parseDuration } from "../util/duration.js";
import { parseOrRefuse } from "../util/zod-issues.js";
import { JSON_BODY_HINT } from "./body.js";
import { MissingBodyError } from "./errors.js";

/**
 * "30s", "500ms", "2m", or a whole number of milliseconds, at most `max` (shown as `maxText`): an
 * unbounded wait would block every later fault until someone deleted it.
 */
const durationUpTo = (max: number, maxText: string) =>
  z
    .union([z.string().min(1).max(32), z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER)])
    .transform((v) => (typeof v === "number" ? v : parseDuration(v, "duration")))
    .pipe(z.number().max(max, { error: `must be at most ${maxText}` }));

const faultDuration = durationUpTo(MAX_FAULT_DURATION_MS, "24h");

const name = z.string().trim().min(1).max(256);

/** Upper bounds on what one body may list: far above any real stack, far below what could hurt. */
export const BODY_LIMITS = {
  services: 256,
  kinds: 32,
  optionKeys: 32,
  thresholds: 100,
} as const;

/** An object with at most `maxKeys` keys of `value`. */
const boundedRecord = <V extends z.ZodType>(value: V, maxKeys: number) =>
  z
    .record(z.string().max(256), value)
    .refine((o) => Object.keys(o).length <= maxKeys, { error: `must have at most ${maxKeys} keys` });

const faultOptions = boundedRecord(z.unknown(), BODY_LIMITS.optionKeys);

export const injectFaultBody = z.strictObject({
  target: name,
  kind: name,
  options: faultOptions.default({}),
  duration: faultDuration.optional(),
});
export type InjectFaultBody = z.output<typeof injectFaultBody>;

export const experimentBody = z.strictObject({
  /** Only these services. */
  only: z.array(name).min(1).max(BODY_LIMITS.services).optional(),
  kinds: z.array(name).min(1).max(BODY_LIMITS.kinds).optional(),
  duration: faultDuration.optional(),
  /** Steady state watched before each fault. */
  baseline: durationUpTo(MAX_RECOVERY_WAIT_MS, "1h").optional(),
  /** Recovery watched after each fault. */
  recoveryWait: durationUpTo(MAX_RECOVERY_WAIT_MS, "1h").optional(),
  /** Options per kind, e.g. {"latency":{"latency":"200ms"}}. */
  options: boundedRecord(faultOptions, BODY_LIMITS.kinds).optional(),
  /** Explicit steady-state thresholds, e.g. ["latency_p95_ms<500", "web:error_rate<0.5/s"]. */
  thresholds: z
    .array(
      z
        .string()
        .max(256)
        .transform((t) => parseThreshold(t)),
    )
    .max(BODY_LIMITS.thresholds)
    .optional(),
});
export type ExperimentBody = z.output<typeof experimentBody>;

export const discoverBody = z.strictObject({}).optional();

/**
 * Parses `body` or throws InvalidInputError listing every problem by field. A missing body is never
 * taken as {}: where the schema needs one, that is a MissingBodyError.
 */
export function parseBody<S extends z.ZodType>(schema: S, body: unknown, what: string): z.output<S> {
  if (body === undefined && !schema.safeParse(undefined).success) {
    throw new MissingBodyError(`the ${what} has no body`, JSON_BODY_HINT);
  }
  return parseOrRefuse(schema, body, {
    what: `invalid ${what}`,
    noun: "field",
    hint: (fields) => (fields.length ? `fields: ${fields.join(", ")}` : undefined),
  });
}

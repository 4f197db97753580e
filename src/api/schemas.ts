/**
 * Request bodies, validated with zod before anything touches the engine. Every complaint becomes one
 * InvalidInputError naming the field, so a 400 says exactly what to fix.
 */
import { z } from "zod";
import { InvalidInputError } from "../errors.js";
import { parseThreshold } from "../analysis/thresholds.js";
import { parseDuration } from "../util/duration.js";

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
  let result: ReturnType<S["safeParse"]>;
  try {
    result = schema.safeParse(body ?? {}) as ReturnType<S["safeParse"]>;
  } catch (e) {
    // Transforms (parseDuration) throw typed errors of their own.
    if (e instanceof InvalidInputError) throw e;
    throw new InvalidInputError(`invalid ${what}: ${(e as Error).message}`);
  }
  if (result.success) return result.data as z.output<S>;
  const problems = result.error!.issues.map((issue) => {
    if (issue.code === "unrecognized_keys") {
      return `unknown field${issue.keys.length > 1 ? "s" : ""} ${issue.keys.map((k) => `"${k}"`).join(", ")}`;
    }
    const where = issue.path.length ? `"${issue.path.join(".")}": ` : "";
    return `${where}${issue.message}`;
  });
  const fields = schema instanceof z.ZodObject ? Object.keys(schema.shape as object) : [];
  throw new InvalidInputError(
    `invalid ${what}: ${problems.join("; ")}`,
    fields.length ? `fields: ${fields.join(", ")}` : undefined,
  );
}

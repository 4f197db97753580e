/**
 * Validation of resource-stress options (pure). cpu: workers, load %; memory: bytes (or a percent of
 * the target's memory limit), workers; both: timeout (defaults to the fault's duration).
 */
import { z } from "zod";
import { InvalidInputError } from "../../errors.js";
import { parseDuration } from "../../util/duration.js";
import { parseFaultOptions } from "../validation.js";

export type StressKind = "cpu" | "memory";
export const STRESS_KINDS: readonly StressKind[] = ["cpu", "memory"];

export interface StressOptions {
  kind: StressKind;
  workers: number;
  /** cpu: percent of each worker's CPU to burn. */
  loadPercent: number;
  /** memory: total bytes across workers, or a share of the target's limit to resolve at injection. */
  bytes?: number;
  limitPercent?: number;
  timeoutMs: number;
}

const KIB = 1024;
const SIZE_UNITS: Record<string, number> = {
  "": 1,
  b: 1,
  k: KIB,
  kb: KIB,
  kib: KIB,
  m: KIB ** 2,
  mb: KIB ** 2,
  mib: KIB ** 2,
  g: KIB ** 3,
  gb: KIB ** 3,
  gib: KIB ** 3,
};

/** "256m", "1g", "512mb", a bare number of bytes. */
export function parseSize(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  const factor = m ? SIZE_UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || factor === undefined)
    throw new InvalidInputError(`size "${text}" is not a size`, 'use e.g. "256m" or "1g"');
  return Math.round(Number(m[1]) * factor);
}

const schema = z
  .object({
    workers: z.coerce.number().int().min(1).max(64).optional(),
    load: z.coerce.number().min(1).max(100).optional(),
    bytes: z.union([z.string(), z.number()]).optional(),
    timeout: z.union([z.string(), z.number()]).optional(),
  })
  .strict();

export function parseStressOptions(
  kind: StressKind,
  raw: Record<string, unknown>,
  durationMs: number,
): StressOptions {
  const o = parseFaultOptions(kind, schema, raw);
  if (kind === "cpu" && o.bytes !== undefined)
    throw new InvalidInputError("cpu stress takes no bytes", "use kind memory");
  if (kind === "memory" && o.load !== undefined)
    throw new InvalidInputError("memory stress takes no load", "use kind cpu");
  const timeoutMs =
    o.timeout === undefined
      ? durationMs
      : typeof o.timeout === "number"
        ? o.timeout
        : parseDuration(o.timeout, "timeout");
  if (!(timeoutMs >= 1000 && timeoutMs <= durationMs)) {
    throw new InvalidInputError(
      `stress timeout ${timeoutMs} ms must be at least 1s and at most the fault's duration (${durationMs} ms)`,
    );
  }
  const base = { kind, workers: o.workers ?? 1, loadPercent: o.load ?? 100, timeoutMs };
  if (kind === "cpu") return base;
  const bytesText = o.bytes === undefined ? "256m" : String(o.bytes);
  const pct = /^\s*(\d+(?:\.\d+)?)\s*%\s*$/.exec(bytesText);
  if (pct) {
    const limitPercent = Number(pct[1]);
    if (!(limitPercent > 0 && limitPercent <= 100))
      throw new InvalidInputError(`memory share ${bytesText} must be in (0, 100]%`);
    return { ...base, limitPercent };
  }
  const bytes = parseSize(bytesText);
  if (bytes < 4 * 1024 ** 2)
    throw new InvalidInputError(`memory stress of ${bytes} bytes is too small`, "use at least 4m");
  return { ...base, bytes };
}

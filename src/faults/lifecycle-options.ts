/** Pure validation of lifecycle fault options (no engine): what each kind accepts and the signal names. */
import { z } from "zod";
import { InvalidInputError } from "../errors.js";
import type { FaultKind } from "./kinds.js";
import { assertFaultDuration, parseFaultOptions } from "./validation.js";

export const LIFECYCLE_KINDS = ["stop", "kill", "pause", "restart"] as const satisfies readonly FaultKind[];
export type LifecycleKind = (typeof LIFECYCLE_KINDS)[number];

/** Linux signal numbers 1-31, in order; what the engine forwards to a container's PID 1. */
const LINUX_SIGNALS = [
  "SIGHUP",
  "SIGINT",
  "SIGQUIT",
  "SIGILL",
  "SIGTRAP",
  "SIGABRT",
  "SIGBUS",
  "SIGFPE",
  "SIGKILL",
  "SIGUSR1",
  "SIGSEGV",
  "SIGUSR2",
  "SIGPIPE",
  "SIGALRM",
  "SIGTERM",
  "SIGSTKFLT",
  "SIGCHLD",
  "SIGCONT",
  "SIGSTOP",
  "SIGTSTP",
  "SIGTTIN",
  "SIGTTOU",
  "SIGURG",
  "SIGXCPU",
  "SIGXFSZ",
  "SIGVTALRM",
  "SIGPROF",
  "SIGWINCH",
  "SIGIO",
  "SIGPWR",
  "SIGSYS",
] as const;
const ALIASES: Record<string, string> = { SIGIOT: "SIGABRT", SIGPOLL: "SIGIO", SIGCLD: "SIGCHLD" };

/** "kill", "SIGKILL", "sigterm", "9" -> the canonical "SIGKILL"/"SIGTERM"; anything else -> InvalidInputError. */
export function normalizeSignal(input: string | number): string {
  const text = String(input).trim().toUpperCase();
  if (/^\d+$/.test(text)) {
    const name = LINUX_SIGNALS[Number(text) - 1];
    if (name) return name;
  } else {
    const name = text.startsWith("SIG") ? text : `SIG${text}`;
    if ((LINUX_SIGNALS as readonly string[]).includes(name)) return name;
    if (ALIASES[name]) return ALIASES[name];
  }
  throw new InvalidInputError(
    `"${input}" is not a Linux signal`,
    "use a name like SIGKILL, SIGTERM, HUP or a number 1-31",
  );
}

const stopTimeout = z.coerce
  .number()
  .int()
  .min(0)
  .max(300)
  .describe("seconds the engine waits after SIGTERM before SIGKILL");

const schemas = {
  stop: z.strictObject({ timeout: stopTimeout.default(10) }),
  restart: z.strictObject({ timeout: stopTimeout.default(10) }),
  pause: z.strictObject({}),
  kill: z.strictObject({
    signal: z
      .union([z.string(), z.number()])
      .default("SIGKILL")
      .transform((s, ctx) => {
        try {
          return normalizeSignal(s);
        } catch (e) {
          ctx.addIssue({ code: "custom", message: (e as Error).message });
          return z.NEVER;
        }
      }),
  }),
};

export type LifecycleOptions = {
  stop: { timeout: number };
  restart: { timeout: number };
  pause: Record<string, never>;
  kill: { signal: string };
};

export function isLifecycleKind(kind: string): kind is LifecycleKind {
  return (LIFECYCLE_KINDS as readonly string[]).includes(kind);
}

/** Validates kind, duration and options together; nothing is touched. */
export function parseLifecycleOptions<K extends LifecycleKind>(
  kind: K,
  options: Record<string, unknown>,
  durationMs: number,
): LifecycleOptions[K] {
  if (!isLifecycleKind(kind)) {
    throw new InvalidInputError(
      `"${String(kind)}" is not a lifecycle fault`,
      `use one of ${LIFECYCLE_KINDS.join(", ")}`,
    );
  }
  assertFaultDuration(kind, durationMs);
  return parseFaultOptions(kind, schemas[kind], options) as LifecycleOptions[K];
}

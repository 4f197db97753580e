/**
 * The kernel's state of a container's main process, read from the host's /proc (faultline runs on the
 * host or with its PID namespace). The engine's "running" says nothing about a process stopped by a
 * signal; this does.
 */
import { readFileSync } from "node:fs";

/** The state letter of a /proc/<pid>/stat line (pure): R, S, D, Z, T (stopped), t (traced) … */
export function stateFromStat(stat: string): string | undefined {
  // The command name is in parentheses and may itself hold spaces or parentheses: the state follows the last ")".
  const close = stat.lastIndexOf(")");
  return close < 0 ? undefined : stat.slice(close + 2).split(" ")[0] || undefined;
}

/** Is the process stopped by a signal? Undefined when its /proc entry cannot be read (another PID namespace). */
export function isProcessStopped(pid: number, procRoot = "/proc"): boolean | undefined {
  if (!(pid > 0)) return undefined;
  try {
    const state = stateFromStat(readFileSync(`${procRoot}/${pid}/stat`, "utf8"));
    return state === undefined ? undefined : state === "T" || state === "t";
  } catch {
    return undefined;
  }
}

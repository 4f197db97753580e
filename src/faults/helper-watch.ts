/**
 * Reads a fault helper's output while it runs. Agents and stress helpers are AutoRemove (so none is left
 * behind when they outlive faultline and their dead-man switch fires), which means their logs go with
 * them: whoever wants a helper's verdict must be following its output before it exits.
 */
import type { DockerRuntime } from "../docker/types.js";

const MAX_STDERR_CHARS = 8_192;

export interface HelperWatch {
  stdout(): string;
  stderr(): string;
  /** The output stream ended: the helper exited (or vanished, or could not be followed at all). */
  readonly ended: boolean;
  /** Resolves once the output has ended or after `timeoutMs`, whichever is first; true if it ended. */
  untilEnded(timeoutMs: number): Promise<boolean>;
  /** Resolves once a first line arrived (the stream is open), the output ended, or after `timeoutMs`. */
  untilFirstLine(timeoutMs: number): Promise<void>;
  stop(): void;
}

/** Follows `id`'s output from its first line. Never rejects: a missing helper is an ended one. */
export function watchHelper(runtime: DockerRuntime, id: string): HelperWatch {
  const controller = new AbortController();
  let stdout = "";
  let stderr = "";
  let ended = false;
  let gotLine = false;
  const waiters = new Set<() => void>();
  const wake = () => {
    for (const w of waiters) w();
  };
  void runtime.helpers
    .follow(
      id,
      (line, stream) => {
        gotLine = true;
        if (stream === "stderr") stderr = (stderr + line + "\n").slice(-MAX_STDERR_CHARS);
        else stdout += line + "\n";
        wake();
      },
      controller.signal,
    )
    .catch(() => undefined)
    .finally(() => {
      ended = true;
      wake();
    });

  const until = (ready: () => boolean, timeoutMs: number) =>
    new Promise<void>((resolve) => {
      if (ready()) return resolve();
      const finish = () => {
        clearTimeout(timer);
        waiters.delete(check);
        resolve();
      };
      const check = () => {
        if (ready()) finish();
      };
      const timer = setTimeout(finish, timeoutMs);
      waiters.add(check);
    });

  return {
    stdout: () => stdout,
    stderr: () => stderr,
    get ended() {
      return ended;
    },
    async untilEnded(timeoutMs) {
      await until(() => ended, timeoutMs);
      return ended;
    },
    untilFirstLine: (timeoutMs) => until(() => gotLine || ended, timeoutMs),
    stop() {
      controller.abort();
    },
  };
}

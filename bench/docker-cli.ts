/** The docker CLI, bounded in time: benches use it for set-up, clean-up and as the baseline. */
import { execFile } from "node:child_process";

export interface CliResult {
  stdout: string;
  stderr: string;
}

export function docker(
  args: string[],
  options: { timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    execFile(
      "docker",
      args,
      { timeout: options.timeoutMs ?? 60_000, signal: options.signal, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error)
          reject(new Error(`docker ${args.slice(0, 3).join(" ")} failed: ${stderr.trim() || error.message}`));
        else resolve({ stdout, stderr });
      },
    );
  });
}

/** Runs `tasks` with at most `limit` in flight; rejects with the first failure after all settle. */
export async function inParallel<T>(
  items: T[],
  limit: number,
  task: (item: T) => Promise<void>,
): Promise<void> {
  const queue = [...items];
  const errors: unknown[] = [];
  const workers = Array.from({ length: Math.min(limit, queue.length) }, async () => {
    for (let item = queue.shift(); item !== undefined; item = queue.shift()) {
      try {
        await task(item);
      } catch (e) {
        errors.push(e);
      }
    }
  });
  await Promise.all(workers);
  if (errors.length) throw errors[0];
}

import type Docker from "dockerode";
import { PassThrough } from "node:stream";

/** Longest line handed on; longer ones are cut, so one endless line cannot hold memory. */
export const MAX_LOG_LINE = 4096;

/** Follows a container's logs from `since` (epoch seconds; 0: from its first line) until it exits or `signal` aborts. */
export async function followLogs(
  docker: Docker,
  id: string,
  onLine: (line: string, stream: "stdout" | "stderr") => void,
  signal: AbortSignal,
  since: number,
): Promise<void> {
  if (signal.aborted) return;
  const container = docker.getContainer(id);
  const info = await container.inspect();
  const raw = (await container.logs({
    stdout: true,
    stderr: true,
    follow: true,
    since,
  })) as unknown as NodeJS.ReadableStream & { destroy(): void };
  const splitter = (stream: "stdout" | "stderr") => {
    let pending = "";
    const pass = new PassThrough();
    pass.on("data", (chunk: Buffer) => {
      pending += chunk.toString("utf8");
      // Bounded memory even when a service writes one endless line.
      if (pending.length > MAX_LOG_LINE * 4) pending = pending.slice(-MAX_LOG_LINE);
      let nl: number;
      while ((nl = pending.indexOf("\n")) >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        if (line.length) onLine(line.length > MAX_LOG_LINE ? line.slice(0, MAX_LOG_LINE) : line, stream);
      }
    });
    return pass;
  };
  const out = splitter("stdout");
  const err = splitter("stderr");
  if (info.Config.Tty) raw.pipe(out);
  else docker.modem.demuxStream(raw, out, err);
  await new Promise<void>((resolve) => {
    const done = () => {
      signal.removeEventListener("abort", done);
      raw.destroy();
      resolve();
    };
    signal.addEventListener("abort", done, { once: true });
    raw.on("end", done);
    raw.on("error", done);
  });
}

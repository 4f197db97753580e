/**
 * The docker CLI for a test's own set-up and checks (faultline itself reaches the engine only through its
 * adapter), bounded in time.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";

const run = promisify(execFile);

/** `docker …args`, its stdout trimmed; a non-zero exit rejects with docker's stderr. */
export async function docker(...args: string[]): Promise<string> {
  const { stdout } = await run("docker", args, { timeout: 60_000, maxBuffer: 16 * 1024 * 1024 });
  return stdout.trim();
}

/**
 * `docker run` flags that make a container a service of compose project `project`, so `--project` finds
 * it as it finds compose's. faultline.owned=false in case an image (an older netpeer) carries the label
 * that marks faultline's own helpers.
 */
export function composeLabels(project: string, service: string): string[] {
  return [
    "--label",
    "faultline.owned=false",
    "--label",
    `com.docker.compose.project=${project}`,
    "--label",
    `com.docker.compose.service=${service}`,
  ];
}

/**
 * faultline's agent image: tc/iptables/delay proxy for network faults, stress-ng for resource faults,
 * curl/nmap for watchdogs and probes. Built locally from images/agent (nothing is pulled); the tag
 * carries a hash of the build context so an edited script is never served by a stale image.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { listFilesRecursively } from "../docker/files.js";
import type { DockerRuntime } from "../docker/types.js";

const here = dirname(fileURLToPath(import.meta.url));

/** images/agent, found from src/faults (tsx) or dist/src/faults (compiled). */
export const AGENT_CONTEXT_DIR: string =
  [resolve(here, "../../images/agent"), resolve(here, "../../../images/agent")].find((d) =>
    existsSync(join(d, "Dockerfile")),
  ) ?? resolve(here, "../../images/agent");

function contextHash(dir: string): string {
  const hash = createHash("sha256");
  if (!existsSync(dir)) return "missing";
  for (const name of listFilesRecursively(dir)) {
    hash
      .update(name)
      .update("\0")
      .update(readFileSync(join(dir, name)))
      .update("\0");
  }
  return hash.digest("hex").slice(0, 12);
}

export const AGENT_IMAGE = `faultline/agent:${contextHash(AGENT_CONTEXT_DIR)}`;

/** uid the delay proxy runs as inside the agent (REDIRECT rules exclude it); fixed in the Dockerfile. */
export const AGENT_PROXY_UID = 4717;

const building = new WeakMap<DockerRuntime, Promise<void>>();

/** Builds the agent image when it is missing; concurrent callers share one build. */
export async function ensureAgentImage(
  runtime: DockerRuntime,
  onProgress?: (line: string) => void,
): Promise<void> {
  if (await runtime.images.exists(AGENT_IMAGE)) return;
  let pending = building.get(runtime);
  if (!pending) {
    pending = runtime.images
      .build(AGENT_CONTEXT_DIR, AGENT_IMAGE, onProgress, { owned: true })
      .finally(() => building.delete(runtime));
    building.set(runtime, pending);
  }
  await pending;
}

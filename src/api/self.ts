/**
 * Which container faultline itself runs in, when it does. With `network_mode: host` (the compose
 * overlay) the hostname is the host's, so the usual hostname check cannot tell; the engine's own bind
 * mounts (/var/lib/docker/containers/<id>/hostname …) in /proc/self/mountinfo can, on cgroup v1 and v2.
 */
import { readFileSync } from "node:fs";

const CONTAINER_PATH = /\/containers\/([0-9a-f]{64})\/(?:hostname|hosts|resolv\.conf)\b/;

/** The 64-hex container id named by a mountinfo text, if any (pure). */
export function containerIdFromMountinfo(text: string): string | undefined {
  for (const line of text.split("\n")) {
    const m = CONTAINER_PATH.exec(line);
    if (m) return m[1];
  }
  return undefined;
}

export function ownContainerId(path = "/proc/self/mountinfo"): string | undefined {
  try {
    return containerIdFromMountinfo(readFileSync(path, "utf8"));
  } catch {
    return undefined;
  }
}

/**
 * Which container faultline itself runs in, if any: the one answer every path (API, scheduler,
 * experiments, CLI) uses for "never fault yourself". With `network_mode: host` (the compose overlay) the
 * hostname is the host's, so it cannot tell; the engine's own bind mounts (/var/lib/docker/containers/<id>/
 * hostname …) in /proc/self/mountinfo can, and so can the cgroup path on cgroup v1 and v2. The hostname
 * (a container's short id) is the last resort.
 */
import { existsSync, readFileSync } from "node:fs";
import { hostname } from "node:os";

const MOUNT_PATH = /\/containers\/([0-9a-f]{64})\/(?:hostname|hosts|resolv\.conf)\b/;
const CGROUP_PATH = /(?:\/docker\/|\/docker-|\/libpod-)([0-9a-f]{64})(?:\.scope)?\b/;

/** The 64-hex container id named by a mountinfo text, if any (pure). */
export function containerIdFromMountinfo(text: string): string | undefined {
  for (const line of text.split("\n")) {
    const m = MOUNT_PATH.exec(line);
    if (m) return m[1];
  }
  return undefined;
}

/** The 64-hex container id in a /proc/self/cgroup text (cgroup v1 "/docker/<id>", systemd "docker-<id>.scope"). */
export function containerIdFromCgroup(text: string): string | undefined {
  return CGROUP_PATH.exec(text)?.[1];
}

export interface SelfEvidence {
  mountinfo?: string;
  cgroup?: string;
  hostname: string;
  /** /.dockerenv exists. */
  inContainer: boolean;
}

/** The id (full, or the hostname's 12 hex characters) of the container these facts describe (pure). */
export function selfContainerIdFrom(evidence: SelfEvidence): string | undefined {
  const fromMounts = evidence.mountinfo ? containerIdFromMountinfo(evidence.mountinfo) : undefined;
  if (fromMounts) return fromMounts;
  const fromCgroup = evidence.cgroup ? containerIdFromCgroup(evidence.cgroup) : undefined;
  if (fromCgroup) return fromCgroup;
  return evidence.inContainer && /^[0-9a-f]{12}$/.test(evidence.hostname) ? evidence.hostname : undefined;
}

function readOr(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

let detected: { id: string | undefined } | undefined;

/** faultline's own container, read once per process. */
export function detectSelfContainerId(): string | undefined {
  detected ??= {
    id: selfContainerIdFrom({
      mountinfo: readOr("/proc/self/mountinfo"),
      cgroup: readOr("/proc/self/cgroup"),
      hostname: hostname(),
      inContainer: existsSync("/.dockerenv"),
    }),
  };
  return detected.id;
}

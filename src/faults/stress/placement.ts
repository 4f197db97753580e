/**
 * Where the stress helper runs so its load counts against the TARGET's cgroup (pure).
 * cgroup v1 + cgroupfs: as a child cgroup of the target (`--cgroup-parent <target cgroup>`), so the
 * target's limits and accounting include it. Elsewhere a container cannot be parented under another
 * container's scope (systemd wants slices, v2 forbids processes in inner nodes): the helper then joins
 * the target's pid namespace and moves itself into the target's own cgroup through the host cgroupfs.
 */
import type { HelperSpec } from "../../docker/types.js";
import type { StressOptions } from "./options.js";

/** How the engine lays out cgroups (from its info): where a helper must go to count against a target. */
export interface CgroupLayout {
  version: "1" | "2";
  driver: string;
}

export const HOST_CGROUP_MOUNT = "/sys/fs/cgroup-host";

export interface StressTarget {
  containerId: string;
  /** The target's HostConfig.CgroupParent ("" = engine default). */
  cgroupParent: string;
  memoryLimit: number;
}

/** stress-ng's argv; its --timeout is the dead-man switch. */
export function stressArgs(o: StressOptions, memoryLimit: number): string[] {
  const seconds = String(Math.max(1, Math.ceil(o.timeoutMs / 1000)));
  if (o.kind === "cpu") {
    return [
      "stress-ng",
      "--cpu",
      String(o.workers),
      "--cpu-load",
      String(o.loadPercent),
      "--timeout",
      `${seconds}s`,
      "--metrics-brief",
    ];
  }
  const total = o.bytes ?? Math.floor((memoryLimit || 512 * 1024 ** 2) * ((o.limitPercent ?? 50) / 100));
  const perWorker = Math.max(4 * 1024 ** 2, Math.floor(total / o.workers));
  return [
    "stress-ng",
    "--vm",
    String(o.workers),
    "--vm-bytes",
    `${perWorker}`,
    "--vm-keep",
    "--timeout",
    `${seconds}s`,
    "--metrics-brief",
  ];
}

/** The target's cgroup path below the hierarchy root, as the engine's driver names it. */
export function targetCgroupPath(layout: CgroupLayout, target: StressTarget): string {
  if (layout.driver === "systemd") {
    const slice = target.cgroupParent || "system.slice";
    return `${slice.replace(/^\/+/, "")}/docker-${target.containerId}.scope`;
  }
  const parent = (target.cgroupParent || "/docker").replace(/\/+$/, "");
  return `${parent}/${target.containerId}`.replace(/^\/+/, "");
}

export type StressPlacement = Pick<HelperSpec, "cmd" | "cgroupParent" | "pidMode" | "privileged" | "binds">;

export function stressPlacement(layout: CgroupLayout, target: StressTarget, args: string[]): StressPlacement {
  const path = targetCgroupPath(layout, target);
  if (layout.version === "1" && layout.driver !== "systemd") {
    return { cmd: args, cgroupParent: `/${path}` };
  }
  const quoted = args.map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(" ");
  const join =
    layout.version === "2"
      ? `echo $$ > ${HOST_CGROUP_MOUNT}/${path}/cgroup.procs`
      : `for c in cpu,cpuacct memory pids; do echo $$ > ${HOST_CGROUP_MOUNT}/$c/${path}/cgroup.procs || exit 97; done`;
  return {
    cmd: ["sh", "-c", `${join} && exec ${quoted}`],
    pidMode: `container:${target.containerId}`,
    privileged: true,
    binds: [`/sys/fs/cgroup:${HOST_CGROUP_MOUNT}:rw`],
  };
}

/** Pure mappings from the engine's answers to faultline's types. */
import type Docker from "dockerode";
import { errorText } from "../errors.js";
import type { ContainerInfo, ContainerState, ResourceSample, TransportProtocol } from "./types.js";
import { COMPOSE_LABELS, sparseContainerInfo } from "./types.js";

/**
 * A container the engine listed but could not inspect: what the listing says, with the reason. A 404
 * means it was removed in between ("gone"); otherwise its listed state stands.
 */
export function fromListing(summary: Docker.ContainerInfo, error: unknown): ContainerInfo {
  const gone = (error as { statusCode?: number }).statusCode === 404;
  const labels = summary.Labels ?? {};
  const project = labels[COMPOSE_LABELS.project];
  const service = labels[COMPOSE_LABELS.service];
  const listed = summary.State as ContainerState;
  const detail = errorText(error);
  return sparseContainerInfo({
    id: summary.Id,
    name: (summary.Names?.[0] ?? summary.Id.slice(0, 12)).replace(/^\//, ""),
    image: summary.Image,
    imageId: summary.ImageID,
    command: summary.Command ? [summary.Command] : [],
    state: gone ? "gone" : listed,
    labels,
    compose: project && service ? { project, service } : undefined,
    networkMode: summary.HostConfig?.NetworkMode ?? "default",
    networks: Object.entries(summary.NetworkSettings?.Networks ?? {}).map(([name, n]) => ({
      name,
      networkId: n.NetworkID ?? "",
      ip: n.IPAddress ?? "",
      aliases: [],
    })),
    problem: gone
      ? `removed after it was listed (was ${listed}): only the listing's facts are known`
      : `listed as ${listed} but could not be inspected: ${detail}`,
  });
}

function parsePortKey(key: string): { port: number; protocol: TransportProtocol } {
  const [port, proto] = key.split("/");
  return { port: Number(port), protocol: proto === "udp" ? "udp" : "tcp" };
}

export function toContainerInfo(raw: Docker.ContainerInspectInfo): ContainerInfo {
  const labels = raw.Config.Labels ?? {};
  const project = labels[COMPOSE_LABELS.project];
  const service = labels[COMPOSE_LABELS.service];
  const state: ContainerState = raw.State.Paused
    ? "paused"
    : raw.State.Restarting
      ? "restarting"
      : ((raw.State.Status as ContainerState) ?? "created");
  const health = (
    raw.State as unknown as {
      Health?: { Status: string; FailingStreak: number; Log?: Array<{ Output: string }> };
    }
  ).Health;
  const healthTest = (raw.Config as unknown as { Healthcheck?: { Test?: string[] } }).Healthcheck?.Test ?? [];
  const networks = Object.entries(raw.NetworkSettings.Networks ?? {}).map(([name, n]) => ({
    name,
    networkId: n.NetworkID ?? "",
    ip: n.IPAddress ?? "",
    aliases: ((n.Aliases ?? []) as string[]).filter((a) => !raw.Id.startsWith(a)),
  }));
  const published = Object.entries(raw.NetworkSettings.Ports ?? {}).flatMap(([key, bindings]) =>
    (bindings ?? []).map((b) => ({
      ...((p) => ({ containerPort: p.port, protocol: p.protocol }))(parsePortKey(key)),
      hostIp: b.HostIp,
      hostPort: Number(b.HostPort),
    })),
  );
  const hostConfig = raw.HostConfig as Docker.HostConfig & { CgroupParent?: string; NanoCpus?: number };
  return {
    id: raw.Id,
    name: raw.Name.replace(/^\//, ""),
    image: raw.Config.Image,
    imageId: raw.Image,
    command: toArray(raw.Config.Cmd),
    entrypoint: toArray(raw.Config.Entrypoint),
    state,
    pid: raw.State.Pid ?? 0,
    startedAt: raw.State.StartedAt,
    finishedAt: raw.State.FinishedAt,
    exitCode: raw.State.ExitCode ?? 0,
    restartCount: raw.RestartCount ?? 0,
    restartPolicy: hostConfig.RestartPolicy?.Name || "no",
    health: {
      status: (health?.Status as ContainerInfo["health"]["status"]) ?? "none",
      failingStreak: health?.FailingStreak ?? 0,
      test: healthTest,
      lastOutput: health?.Log?.at(-1)?.Output?.trim(),
    },
    labels,
    env: raw.Config.Env ?? [],
    compose: project && service ? { project, service } : undefined,
    hostname: raw.Config.Hostname,
    networkMode: hostConfig.NetworkMode ?? "default",
    networks,
    exposedPorts: Object.keys(raw.Config.ExposedPorts ?? {}).map(parsePortKey),
    publishedPorts: published,
    cgroupParent: hostConfig.CgroupParent ?? "",
    memoryLimit: hostConfig.Memory ?? 0,
    nanoCpus: hostConfig.NanoCpus ?? 0,
  };
}

function toArray(v: string | string[] | undefined | null): string[] {
  if (!v) return [];
  return Array.isArray(v) ? v : [v];
}

export interface DockerStats {
  read: string;
  cpu_stats: {
    cpu_usage: { total_usage: number; percpu_usage?: number[] };
    system_cpu_usage?: number;
    online_cpus?: number;
  };
  precpu_stats: { cpu_usage: { total_usage: number }; system_cpu_usage?: number };
  memory_stats: { usage?: number; limit?: number; stats?: Record<string, number> };
  networks?: Record<string, { rx_bytes: number; tx_bytes: number }>;
  pids_stats?: { current?: number };
}

export function toResourceSample(s: DockerStats): ResourceSample {
  const cpuDelta = s.cpu_stats.cpu_usage.total_usage - (s.precpu_stats.cpu_usage?.total_usage ?? 0);
  const systemDelta = (s.cpu_stats.system_cpu_usage ?? 0) - (s.precpu_stats.system_cpu_usage ?? 0);
  const cpus = s.cpu_stats.online_cpus ?? s.cpu_stats.cpu_usage.percpu_usage?.length ?? 1;
  const cpuPercent = systemDelta > 0 && cpuDelta > 0 ? (cpuDelta / systemDelta) * cpus * 100 : 0;
  // Page cache is reclaimable; `docker stats` subtracts it too.
  const cache = s.memory_stats.stats?.total_inactive_file ?? s.memory_stats.stats?.inactive_file ?? 0;
  const nets = Object.values(s.networks ?? {});
  return {
    at: Date.parse(s.read) || Date.now(),
    cpuPercent,
    memoryBytes: Math.max(0, (s.memory_stats.usage ?? 0) - cache),
    memoryLimitBytes: s.memory_stats.limit ?? 0,
    networkRxBytes: nets.reduce((a, n) => a + n.rx_bytes, 0),
    networkTxBytes: nets.reduce((a, n) => a + n.tx_bytes, 0),
    pids: s.pids_stats?.current ?? 0,
    cpuTotalNs: s.cpu_stats.cpu_usage.total_usage,
    ...(s.cpu_stats.system_cpu_usage !== undefined ? { systemCpuNs: s.cpu_stats.system_cpu_usage } : {}),
    onlineCpus: cpus,
  };
}

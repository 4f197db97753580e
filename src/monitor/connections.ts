/**
 * Established TCP connections between one service and the others, from the container's socket table
 * read through the host's /proc (discovery's reader). Counting is pure; reading needs faultline to
 * share the host's PID namespace, which `hostProcConnectionCounter` checks once up front.
 */
import { readHostProcTables } from "../discovery/sockets/host-proc.js";
import { parseProcNetTables, type SocketEntry } from "../discovery/sockets/proc-net.js";
import type { ServiceProfile } from "../discovery/profile.js";
import type { ContainerInfo } from "../docker/types.js";

const TCP_ESTABLISHED = 1;

/**
 * Established TCP sockets of `self` whose far end is an address of another known service, in either
 * direction (every socket counts: a pool of four connections to the database is four).
 */
export function countPeerConnections(
  sockets: readonly SocketEntry[],
  self: string,
  serviceOfIp: ReadonlyMap<string, string>,
): number {
  let n = 0;
  for (const e of sockets) {
    if (e.transport !== "tcp" || e.state !== TCP_ESTABLISHED) continue;
    const peer = serviceOfIp.get(e.remoteAddress);
    if (peer !== undefined && peer !== self) n++;
  }
  return n;
}

export type ConnectionCounter = (
  profile: ServiceProfile,
  signal: AbortSignal,
  info?: ContainerInfo,
) => Promise<number | undefined>;

/**
 * A counter for the monitor, or undefined (with the reason) when the host's /proc does not show the
 * containers' sockets. Addresses are learned from discovery and refreshed from every inspect the
 * monitor makes, so a container that restarted with a new IP is still recognised.
 */
export async function hostProcConnectionCounter(
  profiles: readonly ServiceProfile[],
  running: readonly Pick<ContainerInfo, "id" | "pid">[],
): Promise<{ counter?: ConnectionCounter; reason?: string }> {
  const probe = running.find((c) => c.pid > 0);
  if (!probe) return { reason: "no running container to read a socket table from" };
  if (!(await readHostProcTables(probe.pid, probe.id)))
    return {
      reason: "the host's /proc does not show the containers' sockets (not in the host PID namespace)",
    };

  const serviceOfIp = new Map<string, string>();
  for (const p of profiles) for (const n of p.networks) if (n.ip) serviceOfIp.set(n.ip, p.id);
  const counter: ConnectionCounter = async (profile, _signal, info) => {
    if (!info || info.state !== "running" || info.pid <= 0) return undefined;
    for (const n of info.networks) if (n.ip) serviceOfIp.set(n.ip, profile.id);
    const tables = await readHostProcTables(info.pid, info.id);
    return tables ? countPeerConnections(parseProcNetTables(tables), profile.id, serviceOfIp) : undefined;
  };
  return { counter };
}

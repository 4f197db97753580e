/**
 * Network faults (latency, loss, bandwidth, partition, dns, http) on one container, optionally scoped to
 * peers (service names) and ports. Applied by an agent in the target's network namespace, so the
 * target's image needs nothing installed; the agent reverts on its own at the deadline (dead-man switch).
 */
import type { DockerRuntime } from "../../docker/types.js";
import { InvalidInputError } from "../../errors.js";
import type { FaultKind } from "../kinds.js";
import type { Fault, FaultDeps, FaultFamily, JournalFaultEntry, ResolvedService } from "../fault.js";
import { NetworkFault, revertNetwork } from "./fault.js";
import type { NetworkKind } from "./options.js";
import { NETWORK_KINDS, parseNetworkOptions } from "./options.js";

export { NetworkFault, revertNetwork, DEADMAN_GRACE_MS } from "./fault.js";
export { parseNetworkOptions, NETWORK_KINDS } from "./options.js";
export type { NetworkOptions, NetworkKind, Direction } from "./options.js";

function isNetworkKind(kind: FaultKind): kind is NetworkKind {
  return (NETWORK_KINDS as readonly string[]).includes(kind);
}

async function resolvePeers(target: ResolvedService, peers: string[], deps: FaultDeps): Promise<string[]> {
  const ips: string[] = [];
  for (const name of peers) {
    const peer = await deps.resolveService(name);
    if (peer.containerId === target.containerId) {
      throw new InvalidInputError(`peer "${name}" is the target itself`, "name another service as peer");
    }
    const own = peer.ips.filter((ip) => /^\d+\.\d+\.\d+\.\d+$/.test(ip));
    if (!own.length) {
      throw new InvalidInputError(
        `peer "${name}" has no IPv4 address`,
        "it may use host networking; scope by port instead",
      );
    }
    ips.push(...own);
  }
  return [...new Set(ips)];
}

/** The TCP ports the peers declare (EXPOSE) or publish: where to look for their HTTP port first. */
async function declaredPorts(peers: string[], deps: FaultDeps): Promise<number[]> {
  const ports = new Set<number>();
  for (const name of peers) {
    const peer = await deps.resolveService(name);
    const info = await deps.runtime.inspect(peer.containerId);
    for (const p of info.exposedPorts) if (p.protocol === "tcp") ports.add(p.port);
    for (const p of info.publishedPorts) if (p.protocol === "tcp") ports.add(p.containerPort);
  }
  return [...ports];
}

export const networkFamily: FaultFamily = {
  kinds: NETWORK_KINDS,

  async create(
    kind: FaultKind,
    target: ResolvedService,
    options: Record<string, unknown>,
    durationMs: number,
    deps: FaultDeps,
  ): Promise<Fault> {
    if (!isNetworkKind(kind)) throw new InvalidInputError(`"${kind}" is not a network fault`);
    const parsed = parseNetworkOptions(kind, options);
    const peerIps = await resolvePeers(target, parsed.peers, deps);
    const candidates =
      kind === "http" && parsed.direction === "out" && !parsed.ports.length
        ? await declaredPorts(parsed.peers, deps)
        : [];
    const fault: Fault = new NetworkFault(
      kind,
      { service: target.service, containerId: target.containerId, containerName: target.containerName },
      durationMs,
      parsed,
      options,
      peerIps,
      undefined,
      candidates,
    );
    return fault;
  },

  async revertFromEntry(entry: JournalFaultEntry, runtime: DockerRuntime): Promise<void> {
    await revertNetwork(runtime, entry);
  },
};

/**
 * Resolves what a log line mentions (a host name, alias, container name, IP, ip:port or URL) to a
 * service id, using only what discovery saw on the containers. Unknown hosts stay as written.
 */
import type { ServiceProfile } from "../discovery/profile.js";

export interface PeerResolver {
  /** Service id for a host (name, alias or IP), or undefined when nothing known has that name. */
  resolve(host: string): string | undefined;
  /**
   * Like `resolve`, for something written as an address (URL host, host:port, IP): a qualified name
   * also matches by its first label ("db.shop_back", "db.prod.svc.cluster.local" -> "db"), as DNS
   * search domains and Docker's `<name>.<network>` form allow.
   */
  resolveAddress(host: string): string | undefined;
  /** True when `word` is a known name (used to accept bare words like "cache" as peers). */
  isKnownName(word: string): boolean;
}

/**
 * A resolver whose addresses follow the containers: a container restarted by a fault (stop, kill,
 * restart) may come back with another IP, and lines naming that IP must still find its service.
 */
export interface PeerDirectory extends PeerResolver {
  /**
   * Records the addresses a service's container has now (from an inspect the caller already made).
   * Each becomes that service's, even if another service had it before (the engine gave it away); the
   * service's earlier addresses stay its own until another service claims them, since clients may still
   * dial them (and name them in their errors). Returns true when anything changed.
   */
  updateAddresses(serviceId: string, addresses: readonly string[]): boolean;
}

/** Earlier addresses remembered per service (a service restarted in a loop must not grow the map). */
const MAX_ADDRESSES_PER_SERVICE = 8;

export function peerResolver(profiles: readonly ServiceProfile[]): PeerDirectory {
  const byName = new Map<string, string>();
  const byAddress = new Map<string, string>();
  /** Per service, the addresses it holds, oldest first. */
  const held = new Map<string, string[]>();
  const add = (name: string | undefined, id: string) => {
    const key = name?.trim().toLowerCase();
    // Short generic names ("a", "db1" is fine) would match random words; two characters is the floor.
    if (key && key.length >= 2 && !byName.has(key)) byName.set(key, id);
  };
  const claim = (address: string, id: string): boolean => {
    const key = address.trim().toLowerCase();
    if (!key || byAddress.get(key) === id) return false;
    const previous = byAddress.get(key);
    if (previous !== undefined)
      held.set(
        previous,
        (held.get(previous) ?? []).filter((a) => a !== key),
      );
    byAddress.set(key, id);
    const mine = [...(held.get(id) ?? []), key];
    // The oldest addresses beyond the bound are forgotten (unless someone else holds them by now).
    for (const gone of mine.splice(0, Math.max(0, mine.length - MAX_ADDRESSES_PER_SERVICE)))
      if (byAddress.get(gone) === id) byAddress.delete(gone);
    held.set(id, mine);
    return true;
  };
  for (const p of profiles) add(p.id, p.id);
  for (const p of profiles) {
    add(p.compose?.service, p.id);
    add(p.containerName, p.id);
    add(p.hostname, p.id);
    for (const n of p.networks) {
      // Discovery's view: the first service seen with an address keeps it.
      if (n.ip && !byAddress.has(n.ip.toLowerCase())) claim(n.ip, p.id);
      for (const alias of n.aliases) add(alias, p.id);
    }
  }
  const resolve = (host: string) => {
    const key = host.toLowerCase();
    return byAddress.get(key) ?? byName.get(key);
  };
  return {
    resolve,
    resolveAddress: (host) =>
      resolve(host) ?? (isDottedName(host) ? resolve(host.split(".")[0]!) : undefined),
    isKnownName: (word) => {
      const key = word.toLowerCase();
      return byName.has(key) || byAddress.has(key);
    },
    updateAddresses: (serviceId, addresses) => {
      let changed = false;
      for (const a of addresses) if (claim(a, serviceId)) changed = true;
      return changed;
    },
  };
}

/** A dotted host name, not an IPv4 address. */
function isDottedName(host: string): boolean {
  return host.includes(".") && !/^[\d.]+$/.test(host);
}

export const NO_PEERS: PeerResolver = {
  resolve: () => undefined,
  resolveAddress: () => undefined,
  isKnownName: () => false,
};

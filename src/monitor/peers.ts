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

export function peerResolver(profiles: readonly ServiceProfile[]): PeerResolver {
  const byName = new Map<string, string>();
  const add = (name: string | undefined, id: string) => {
    const key = name?.trim().toLowerCase();
    // Short generic names ("a", "db1" is fine) would match random words; two characters is the floor.
    if (key && key.length >= 2 && !byName.has(key)) byName.set(key, id);
  };
  for (const p of profiles) add(p.id, p.id);
  for (const p of profiles) {
    add(p.compose?.service, p.id);
    add(p.containerName, p.id);
    add(p.hostname, p.id);
    for (const n of p.networks) {
      add(n.ip, p.id);
      for (const alias of n.aliases) add(alias, p.id);
    }
  }
  const resolve = (host: string) => byName.get(host.toLowerCase());
  return {
    resolve,
    resolveAddress: (host) =>
      resolve(host) ?? (isDottedName(host) ? resolve(host.split(".")[0]!) : undefined),
    isKnownName: (word) => byName.has(word.toLowerCase()),
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

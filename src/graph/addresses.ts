/**
 * Who answers to which address: an index from names and IPs to services, used to turn the hosts
 * that profiles mention (env, logs, sockets) into graph nodes. Pure.
 */
import type { ServiceProfile } from "../discovery/profile.js";

/** One graph node: every container of one service (replicas merge into one node). */
export interface ServiceGroup {
  id: string;
  profiles: ServiceProfile[];
  ips: Set<string>;
  /** Network name -> IPs on it. */
  networks: Map<string, Set<string>>;
  /** Names Docker's embedded DNS answers on a network: network name -> names (lower case). */
  dnsNames: Map<string, Set<string>>;
  /** Every name the service is known by (DNS names, container names, hostnames), lower case. */
  names: Set<string>;
  /** TCP ports the service serves on (declared or seen listening). */
  serverPorts: Set<number>;
}

export interface NameMatch {
  group: ServiceGroup;
  /** Set when the name resolves through Docker DNS on a network the asking service is attached to. */
  dnsNetwork?: string;
}

export interface ParsedHost {
  host: string;
  port?: number;
}

/** Groups profiles into services and gives each a unique, stable node id. */
export function groupServices(profiles: ServiceProfile[]): ServiceGroup[] {
  const byKey = new Map<string, ServiceProfile[]>();
  for (const p of profiles) {
    // Replicas of one compose service are one node; anything else is one node per container.
    const key = p.compose
      ? `compose:${p.compose.project}/${p.compose.service}`
      : `container:${p.containerName}`;
    const list = byKey.get(key) ?? [];
    list.push(p);
    byKey.set(key, list);
  }
  // A service's id is its compose service name (replicas share it), else the container name.
  const natural = (list: ServiceProfile[]) => list[0]!.compose?.service ?? list[0]!.id;
  const idCounts = new Map<string, number>();
  for (const list of byKey.values()) idCounts.set(natural(list), (idCounts.get(natural(list)) ?? 0) + 1);

  const groups: ServiceGroup[] = [];
  for (const list of byKey.values()) {
    const first = list[0]!;
    // The same service name in two projects (a label scope can span projects) needs the project to stay unique.
    const id =
      idCounts.get(natural(list))! > 1
        ? first.compose
          ? `${first.compose.project}/${first.compose.service}`
          : first.containerName
        : natural(list);
    groups.push(makeGroup(id, list));
  }
  return groups.sort((a, b) => compareIds(a.id, b.id));
}

function makeGroup(id: string, profiles: ServiceProfile[]): ServiceGroup {
  const group: ServiceGroup = {
    id,
    profiles,
    ips: new Set(),
    networks: new Map(),
    dnsNames: new Map(),
    names: new Set(),
    serverPorts: new Set(),
  };
  for (const p of profiles) {
    const everywhere = [p.containerName, p.compose?.service, p.id].filter(isName).map(lower);
    for (const n of everywhere) group.names.add(n);
    if (p.hostname) group.names.add(lower(p.hostname));
    for (const net of p.networks) {
      if (net.ip) {
        group.ips.add(net.ip);
        const ips = group.networks.get(net.name) ?? new Set<string>();
        ips.add(net.ip);
        group.networks.set(net.name, ips);
      } else if (!group.networks.has(net.name)) group.networks.set(net.name, new Set());
      const dns = group.dnsNames.get(net.name) ?? new Set<string>();
      // Docker DNS answers container names and aliases (compose adds the service name as an alias).
      for (const n of [...everywhere, ...net.aliases.filter(isName).map(lower)]) {
        dns.add(n);
        group.names.add(n);
      }
      group.dnsNames.set(net.name, dns);
    }
    for (const port of p.ports) if (port.protocol === "tcp") group.serverPorts.add(port.port);
  }
  return group;
}

export class AddressBook {
  private readonly byIp = new Map<string, ServiceGroup>();
  private readonly byName = new Map<string, ServiceGroup[]>();

  constructor(readonly groups: ServiceGroup[]) {
    for (const g of groups) {
      for (const ip of g.ips) this.byIp.set(ip, g);
      for (const n of g.names) {
        const list = this.byName.get(n) ?? [];
        list.push(g);
        this.byName.set(n, list);
      }
    }
  }

  byIpAddress(ip: string): ServiceGroup | undefined {
    return this.byIp.get(normaliseIp(ip));
  }

  /**
   * Services a host name means when `from` uses it. Names Docker DNS resolves on a network `from` is
   * attached to win; a name only known elsewhere (a hostname, another network's alias) is a weaker match.
   */
  resolveName(host: string, from: ServiceGroup): NameMatch[] {
    const name = this.stripNetworkSuffix(lower(host).replace(/\.$/, ""));
    const candidates = (this.byName.get(name) ?? []).filter((g) => g !== from);
    if (candidates.length === 0) return [];
    const viaDns: NameMatch[] = [];
    for (const g of candidates) {
      for (const [net, names] of g.dnsNames) {
        if (from.networks.has(net) && names.has(name)) {
          viaDns.push({ group: g, dnsNetwork: net });
          break;
        }
      }
    }
    return viaDns.length ? viaDns : candidates.map((group) => ({ group }));
  }

  /** Any service a host (name or IP) refers to, from `from`'s point of view. */
  resolve(host: string, from: ServiceGroup): NameMatch[] {
    if (isLoopback(host)) return [];
    if (isIpAddress(host)) {
      const g = this.byIpAddress(host);
      return g && g !== from ? [{ group: g }] : [];
    }
    return this.resolveName(host, from);
  }

  /** "db.shop_backend" -> "db" when shop_backend is a known network (Docker DNS answers both). */
  private stripNetworkSuffix(name: string): string {
    if (this.byName.has(name)) return name;
    const dot = name.indexOf(".");
    if (dot <= 0) return name;
    const suffix = name.slice(dot + 1);
    const known = this.groups.some((g) => [...g.networks.keys()].some((n) => lower(n) === suffix));
    return known ? name.slice(0, dot) : name;
  }
}

/** Parses a raw token as found in logs: URL, DSN, host:port, [v6]:port, IP or bare name. */
export function parseHostToken(token: string): ParsedHost | undefined {
  let text = token.trim().replace(/^["'(<[]+|[)"'>,;.\]]+$/g, "");
  if (!text) return undefined;
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(text);
  if (scheme) {
    text = text.slice(scheme[0].length);
    text = text.replace(/[/?#].*$/, "");
  }
  const at = text.lastIndexOf("@");
  if (at >= 0) text = text.slice(at + 1);
  text = text.replace(/\/.*$/, "");
  const v6 = /^\[([0-9a-f:.]+)\](?::(\d{1,5}))?$/i.exec(text);
  if (v6) return withPort(v6[1]!, v6[2]);
  const hp = /^([A-Za-z0-9_.-]+)(?::(\d{1,5}))?$/.exec(text);
  if (!hp) return undefined;
  return withPort(hp[1]!, hp[2]);
}

function withPort(host: string, port: string | undefined): ParsedHost | undefined {
  if (!host) return undefined;
  if (port === undefined) return { host };
  const n = Number(port);
  return n > 0 && n < 65536 ? { host, port: n } : { host };
}

export function isIpAddress(host: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(host) || (/^[0-9a-f:]+$/i.test(host) && host.includes(":"));
}

export function isLoopback(host: string): boolean {
  const h = lower(normaliseIp(host));
  return h === "localhost" || h === "::1" || h === "0.0.0.0" || h === "::" || /^127\./.test(h);
}

/** "::ffff:172.18.0.3" (an IPv4 peer on a dual-stack socket) -> "172.18.0.3". */
export function normaliseIp(ip: string): string {
  return ip.replace(/^::ffff:/i, "");
}

export function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function lower(s: string): string {
  return s.toLowerCase();
}

function isName(s: string | undefined): s is string {
  return typeof s === "string" && s.length > 0;
}

/**
 * Parsing of the kernel's socket tables (/proc/net/tcp, tcp6, udp, udp6) as seen from one network
 * namespace. Pure: readers fetch the text, this module turns it into sockets.
 */
import type { TransportProtocol } from "../../docker/types.js";
import type { ConnectionObservation } from "../profile.js";

export type ProcNetFile = "tcp" | "tcp6" | "udp" | "udp6";
export const PROC_NET_FILES: readonly ProcNetFile[] = ["tcp", "tcp6", "udp", "udp6"];

/** The four tables of one namespace; a missing file (no IPv6) is simply absent. */
export type ProcNetTables = Partial<Record<ProcNetFile, string>>;

export interface SocketEntry {
  transport: TransportProtocol;
  localAddress: string;
  localPort: number;
  remoteAddress: string;
  remotePort: number;
  /** Kernel state code (TCP_ESTABLISHED = 1 … TCP_LISTEN = 10). */
  state: number;
  inode: number;
}

export interface ListeningSocket {
  port: number;
  protocol: TransportProtocol;
  bindAddress: string;
}

const TCP_ESTABLISHED = 0x01;
const TCP_SYN_SENT = 0x02;
const TCP_TIME_WAIT = 0x06;
const TCP_CLOSE = 0x07;
const TCP_CLOSE_WAIT = 0x08;
const TCP_LISTEN = 0x0a;

/**
 * Decodes a /proc/net address. The kernel prints each 32-bit word of the address with %08X in host
 * byte order, so on little-endian machines every 4-byte group is reversed. IPv4-mapped IPv6
 * addresses (::ffff:a.b.c.d) come back as plain IPv4, since that is what peers see.
 */
export function parseHexAddress(hex: string, littleEndian = true): string {
  const key = littleEndian ? hex : `be:${hex}`;
  const known = decodedAddresses.get(key);
  if (known !== undefined) return known;
  const clean = hex.trim();
  if ((clean.length !== 8 && clean.length !== 32) || !/^[0-9A-Fa-f]+$/.test(clean)) {
    throw new Error(`not a /proc/net address: "${hex}"`);
  }
  const bytes = new Array<number>(clean.length / 2);
  for (let w = 0; w < clean.length; w += 8) {
    for (let i = 0; i < 4; i++) {
      bytes[w / 2 + (littleEndian ? 3 - i : i)] = parseInt(clean.slice(w + 2 * i, w + 2 * i + 2), 16);
    }
  }
  let text: string;
  if (bytes.length === 4) text = bytes.join(".");
  else if (bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff)
    text = bytes.slice(12).join(".");
  else text = formatIPv6(bytes);
  // A namespace's table repeats the same few addresses in every line (its own IP, a peer's, time-wait
  // entries by the hundred on a busy server): decoding each once keeps parsing off the critical path.
  if (decodedAddresses.size >= MAX_DECODED_ADDRESSES) decodedAddresses.clear();
  decodedAddresses.set(key, text);
  return text;
}

const MAX_DECODED_ADDRESSES = 4096;
const decodedAddresses = new Map<string, string>();

/** RFC 5952 text form: lower case, longest run (>= 2) of zero groups shortened to "::". */
export function formatIPv6(bytes: number[]): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((bytes[i] << 8) | bytes[i + 1]);
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(":");
  const head = hex.slice(0, bestStart).join(":");
  const tail = hex.slice(bestStart + bestLen).join(":");
  return `${head}::${tail}`;
}

function parseEndpoint(text: string, littleEndian: boolean): { address: string; port: number } {
  const [addr, port] = text.split(":");
  if (addr === undefined || port === undefined) throw new Error(`bad endpoint "${text}"`);
  return { address: parseHexAddress(addr, littleEndian), port: parseInt(port, 16) };
}

/** Parses one table; malformed lines are skipped, never thrown on (a truncated read is still useful). */
export function parseProcNet(text: string, transport: TransportProtocol, littleEndian = true): SocketEntry[] {
  const out: SocketEntry[] = [];
  for (const line of text.split("\n")) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 10 || !/^\d+:$/.test(fields[0] ?? "")) continue;
    try {
      const local = parseEndpoint(fields[1] ?? "", littleEndian);
      const remote = parseEndpoint(fields[2] ?? "", littleEndian);
      out.push({
        transport,
        localAddress: local.address,
        localPort: local.port,
        remoteAddress: remote.address,
        remotePort: remote.port,
        state: parseInt(fields[3] ?? "", 16),
        inode: Number(fields[9]),
      });
    } catch {
      // a garbled line: skip it
    }
  }
  return out;
}

export function parseProcNetTables(tables: ProcNetTables, littleEndian = true): SocketEntry[] {
  return PROC_NET_FILES.flatMap((file) => {
    const text = tables[file];
    return text ? parseProcNet(text, file.startsWith("tcp") ? "tcp" : "udp", littleEndian) : [];
  });
}

function isLoopback(address: string): boolean {
  return address.startsWith("127.") || address === "::1";
}

function isUnspecified(address: string): boolean {
  return address === "0.0.0.0" || address === "::";
}

function connectionState(state: number): ConnectionObservation["state"] {
  switch (state) {
    case TCP_ESTABLISHED:
      return "established";
    case TCP_SYN_SENT:
      return "syn-sent";
    case TCP_TIME_WAIT:
      return "time-wait";
    case TCP_CLOSE_WAIT:
      return "close-wait";
    default:
      return "other";
  }
}

export interface SocketSummary {
  listening: ListeningSocket[];
  connections: ConnectionObservation[];
}

/**
 * Listening sockets (TCP LISTEN; UDP sockets bound with no peer) and live TCP connections, each
 * marked inbound (its local port is one we listen on) or outbound. Connections that never leave the
 * container (loopback to loopback) say nothing about other services and are dropped; repeated
 * connections of a pool collapse to one observation.
 */
export function summarizeSockets(entries: SocketEntry[], maxConnections = 200): SocketSummary {
  const listening = new Map<string, ListeningSocket>();
  for (const e of entries) {
    const bound =
      e.transport === "tcp"
        ? e.state === TCP_LISTEN
        : e.state === TCP_CLOSE && e.remotePort === 0 && isUnspecified(e.remoteAddress);
    if (!bound) continue;
    const key = `${e.transport}/${e.localPort}`;
    const previous = listening.get(key);
    // One port bound on several addresses: report the widest.
    if (!previous || (isUnspecified(e.localAddress) && !isUnspecified(previous.bindAddress))) {
      listening.set(key, { port: e.localPort, protocol: e.transport, bindAddress: e.localAddress });
    }
  }
  const listeningTcp = new Set(
    [...listening.values()].filter((l) => l.protocol === "tcp").map((l) => l.port),
  );
  const connections = new Map<string, ConnectionObservation>();
  for (const e of entries) {
    if (e.transport !== "tcp" || e.state === TCP_LISTEN || e.state === TCP_CLOSE) continue;
    if (isLoopback(e.localAddress) && isLoopback(e.remoteAddress)) continue;
    if (isUnspecified(e.remoteAddress)) continue;
    const direction = listeningTcp.has(e.localPort) ? "inbound" : "outbound";
    const key =
      direction === "inbound"
        ? `in/${e.remoteAddress}/${e.localPort}`
        : `out/${e.remoteAddress}/${e.remotePort}`;
    const observation: ConnectionObservation = {
      localAddress: e.localAddress,
      localPort: e.localPort,
      remoteAddress: e.remoteAddress,
      remotePort: e.remotePort,
      state: connectionState(e.state),
      direction,
    };
    const previous = connections.get(key);
    // Prefer an established sample over a closing one for the same peer.
    if (!previous || (previous.state !== "established" && observation.state === "established")) {
      connections.set(key, observation);
    }
  }
  return {
    listening: [...listening.values()].sort(
      (a, b) => a.port - b.port || a.protocol.localeCompare(b.protocol),
    ),
    connections: [...connections.values()].slice(0, maxConnections),
  };
}

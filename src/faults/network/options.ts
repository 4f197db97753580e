/**
 * Validation of network fault options (pure): what a user may ask for, normalised to numbers.
 * Everything is checked before anything is injected; failures are InvalidInputError.
 */
import { z } from "zod";
import { InvalidInputError } from "../../errors.js";
import { parseDuration } from "../../util/duration.js";
import { parseFaultOptions } from "../validation.js";
import { HTTP_FIELDS, type HttpOptions, parseHttpOptions } from "./http-options.js";

export type NetworkKind = "latency" | "loss" | "bandwidth" | "partition" | "dns" | "http";
export const NETWORK_KINDS: readonly NetworkKind[] = [
  "latency",
  "loss",
  "bandwidth",
  "partition",
  "dns",
  "http",
];

export type Direction = "out" | "in" | "both";

/**
 * What a failed DNS lookup looks like to the target: reject (the query is refused at once: ICMP port
 * unreachable), nxdomain / servfail (an answer with that code, from the agent's responder), timeout
 * (the query is dropped: the resolver waits out its timeout and retries).
 */
export type DnsMode = "reject" | "nxdomain" | "servfail" | "timeout";
export const DNS_MODES: readonly DnsMode[] = ["reject", "nxdomain", "servfail", "timeout"];

export interface NetworkOptions {
  kind: NetworkKind;
  direction: Direction;
  /** Peer service names (resolved to IPs by the family). Empty: all traffic. */
  peers: string[];
  /** Server ports of the connections to affect (either side). Empty: all ports. */
  ports: number[];
  latencyMs?: number;
  jitterMs?: number;
  /** netem correlation in percent (only with netem). */
  correlationPercent?: number;
  lossPercent?: number;
  rateBitsPerSecond?: number;
  /** DNS names whose queries fail; empty: every DNS query fails. */
  dnsNames: string[];
  /** How DNS queries fail (dns only; reject when not asked). */
  dnsMode?: DnsMode;
  /** What an http fault selects and does (http only). */
  http?: HttpOptions;
}

const MAX_LATENCY_MS = 60_000;

const RATE_UNITS: Record<string, number> = {
  bit: 1,
  kbit: 1e3,
  mbit: 1e6,
  gbit: 1e9,
  bps: 8,
  kbps: 8e3,
  mbps: 8e6,
  gbps: 8e9,
};

/** "1mbit", "500kbit", "2gbit", "100kbps" (bytes), a bare number (bits) -> bits per second. */
export function parseRate(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  const unit = m ? m[2]!.toLowerCase() || "bit" : undefined;
  const factor = unit ? RATE_UNITS[unit] : undefined;
  if (!m || factor === undefined) {
    throw new InvalidInputError(`rate "${text}" is not a rate`, 'use e.g. "500kbit", "1mbit", "1gbit"');
  }
  const bits = Number(m[1]) * factor;
  if (!(bits >= 8_000) || bits > 100e9) {
    throw new InvalidInputError(`rate "${text}" is out of range`, "use between 8kbit and 100gbit");
  }
  return Math.round(bits);
}

/** Each port, peer or name is rules in the target's namespace: more than this is a mistake, not a fault. */
export const MAX_LIST_ITEMS = 64;

const listOf = <T extends z.ZodType>(item: T) =>
  z.preprocess((v) => {
    if (v === undefined || v === null || v === "") return [];
    if (typeof v === "string")
      return v
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean);
    return Array.isArray(v) ? v : [v];
  }, z.array(item).max(MAX_LIST_ITEMS));

const duration = (what: string) =>
  z.union([z.number(), z.string()]).transform((v) => (typeof v === "number" ? v : parseDuration(v, what)));

const percent = z.coerce.number().gt(0).lte(100);

const DNS_LABEL = /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/i;

const common = {
  direction: z.enum(["out", "in", "both"]).optional(),
  peers: listOf(z.string().min(1)).optional(),
  peer: listOf(z.string().min(1)).optional(),
  ports: listOf(z.coerce.number().int().min(1).max(65535)).optional(),
  port: listOf(z.coerce.number().int().min(1).max(65535)).optional(),
};

const schemas = {
  latency: z
    .object({
      ...common,
      latency: duration("latency").optional(),
      delay: duration("latency").optional(),
      jitter: duration("jitter").optional(),
      correlation: z.coerce.number().min(0).max(100).optional(),
    })
    .strict(),
  loss: z
    .object({
      ...common,
      percent: percent.optional(),
      loss: percent.optional(),
      correlation: z.coerce.number().min(0).max(100).optional(),
    })
    .strict(),
  bandwidth: z.object({ ...common, rate: z.union([z.string(), z.number()]) }).strict(),
  partition: z.object({ ...common }).strict(),
  dns: z
    .object({
      direction: z.literal("out").optional(),
      name: listOf(z.string().min(1)).optional(),
      names: listOf(z.string().min(1)).optional(),
      mode: z.enum(DNS_MODES).optional(),
    })
    .strict(),
  http: z.object({ ...common, direction: z.enum(["in", "out"]).optional(), ...HTTP_FIELDS }).strict(),
} as const;

export function validateDnsName(name: string): string {
  const trimmed = name.replace(/\.$/, "");
  const labels = trimmed.split(".");
  if (trimmed.length === 0 || trimmed.length > 253 || !labels.every((l) => DNS_LABEL.test(l))) {
    throw new InvalidInputError(
      `"${name}" is not a DNS name`,
      "use a service or host name such as db or api.internal",
    );
  }
  return trimmed.toLowerCase();
}

function parseHttpFault(o: z.output<(typeof schemas)["http"]>): NetworkOptions {
  const http = parseHttpOptions(o);
  const peers = [...new Set([...(o.peers ?? []), ...(o.peer ?? [])])];
  if (http.direction === "out" && !peers.length) {
    throw new InvalidInputError(
      "an outgoing http fault needs a peer: the service whose HTTP calls from the target it acts on",
      "e.g. --direction out --peer payments",
    );
  }
  return {
    kind: "http",
    direction: http.direction,
    peers,
    ports: [...new Set([...(o.ports ?? []), ...(o.port ?? [])])],
    dnsNames: [],
    http,
  };
}

/** Parses and checks the options of one network fault. Throws InvalidInputError. */
export function parseNetworkOptions(kind: NetworkKind, raw: Record<string, unknown>): NetworkOptions {
  if (kind === "dns") {
    const o = parseFaultOptions(kind, schemas.dns, raw);
    return {
      kind,
      direction: "out",
      peers: [],
      ports: [],
      dnsNames: [...(o.name ?? []), ...(o.names ?? [])].map(validateDnsName),
      dnsMode: o.mode ?? "reject",
    };
  }
  if (kind === "http") return parseHttpFault(parseFaultOptions(kind, schemas.http, raw));
  const o = parseFaultOptions(kind, schemas[kind], raw) as z.infer<(typeof schemas)["partition"]> &
    Record<string, unknown>;
  const base = {
    kind,
    // A partition cuts both ways unless told otherwise; shaping faults act on what leaves the target.
    direction: o.direction ?? (kind === "partition" ? "both" : "out"),
    peers: [...new Set([...(o.peers ?? []), ...(o.peer ?? [])])],
    ports: [...new Set([...(o.ports ?? []), ...(o.port ?? [])])],
    dnsNames: [],
  } satisfies Partial<NetworkOptions>;
  switch (kind) {
    case "latency": {
      const latencyMs = (o.latency ?? o.delay) as number | undefined;
      const jitterMs = (o.jitter as number | undefined) ?? 0;
      if (latencyMs === undefined)
        throw new InvalidInputError("latency needs a latency", 'e.g. latency="200ms"');
      if (!(latencyMs > 0 && latencyMs < MAX_LATENCY_MS)) {
        throw new InvalidInputError(
          `latency ${latencyMs} ms is out of range`,
          "use more than 0 and less than 60s",
        );
      }
      if (!(jitterMs >= 0 && jitterMs < latencyMs)) {
        throw new InvalidInputError(
          `jitter ${jitterMs} ms must be smaller than the latency (${latencyMs} ms)`,
        );
      }
      return { ...base, latencyMs, jitterMs, correlationPercent: o.correlation as number | undefined };
    }
    case "loss": {
      const lossPercent = (o.percent ?? o.loss) as number | undefined;
      if (lossPercent === undefined) throw new InvalidInputError("loss needs a percent", "e.g. percent=10");
      return { ...base, lossPercent, correlationPercent: o.correlation as number | undefined };
    }
    case "bandwidth":
      return { ...base, rateBitsPerSecond: parseRate(String(o.rate)) };
    case "partition":
      return base;
  }
}

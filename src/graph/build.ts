/**
 * Builds the client -> server dependency graph from service profiles. Pure: no I/O, deterministic.
 *
 * Every observation becomes a piece of evidence with a weight (the probability, on its own, that the
 * edge is real). Observations from the same source are not independent (three env vars naming the same
 * host say one thing), so each source contributes its strongest weight; different sources are treated as
 * independent and combined with a noisy-or: confidence = 1 - Π(1 - w_source).
 * Networks never create an edge; they only nudge one up, or scale it down when the two services share
 * no network at all (they could not talk over Docker's bridge networks).
 */
import type { EnvReference, ServiceProfile } from "../discovery/profile.js";
import { maskEnvValue, maskSecretsInText } from "../util/secrets.js";
import {
  AddressBook,
  compareIds,
  groupServices,
  isIpAddress,
  isLoopback,
  normaliseIp,
  parseHostToken,
  type ServiceGroup,
} from "./addresses.js";
import { DEFAULT_MIN_CONFIDENCE, orderForTesting } from "./order.js";
import type { DependencyGraph, Evidence, EvidenceSource, GraphEdge, GraphNode, TestOrder } from "./types.js";

/**
 * Per-observation weights. Why these numbers:
 * - A live socket to another service's listening port is nearly proof (0.9); seen only from the server
 *   side the direction is inferred from which port is the listening one (0.85); half-open or closing
 *   sockets count less; a direction guessed from ephemeral-port ranges alone is a coin flip plus (0.5).
 * - An env var naming a service is configuration: the service will call it (0.75 when the port is one
 *   the target serves, 0.65 without a port, 0.55 when the port is not one the target is known to serve).
 * - Logs are chatter: a name in a log line alone stays below the default 0.5 threshold on purpose, so a
 *   log-only edge is shown but does not order tests or widen a blast radius.
 * - Docker DNS resolving the referenced name on a network both share corroborates a reference (0.15).
 * - Sharing a network is almost free (every compose service shares `default`), hence 0.05.
 */
export const EVIDENCE_WEIGHTS = {
  connectionClientSide: 0.9,
  connectionServerSide: 0.85,
  connectionGuessedDirection: 0.5,
  envPortMatches: 0.75,
  envNoPort: 0.65,
  envPortUnknownToTarget: 0.55,
  logName: 0.3,
  logNameWithServedPort: 0.35,
  /** An address of another service in a server's logs without its served port: probably a client of it. */
  logPeerAddress: 0.2,
  dns: 0.15,
  sharedNetwork: 0.05,
} as const;

/** Socket states other than established are weaker: a SYN may never be answered, TIME_WAIT is history. */
export const CONNECTION_STATE_FACTOR: Record<string, number> = {
  established: 1,
  "close-wait": 0.85,
  "time-wait": 0.8,
  "syn-sent": 0.7,
  other: 0.6,
};

/** Confidence of an edge between services that share no network is multiplied by this. */
export const NO_SHARED_NETWORK_FACTOR = 0.6;

/** At most this many evidence details per source per edge, so a chatty log does not bloat the output. */
const MAX_DETAILS_PER_SOURCE = 5;

export interface BuildGraphOptions {
  order?: TestOrder;
  seed?: number;
  /** Only edges at or above this confidence order tests. */
  minConfidence?: number;
}

interface EdgeDraft {
  from: ServiceGroup;
  to: ServiceGroup;
  weights: Map<EvidenceSource, number>;
  evidence: Evidence[];
  ports: Partial<Record<EvidenceSource, number>>;
}

export function buildGraph(profiles: ServiceProfile[], options: BuildGraphOptions = {}): DependencyGraph {
  const groups = groupServices(profiles);
  const book = new AddressBook(groups);
  const drafts = new Map<string, EdgeDraft>();

  const add = (
    from: ServiceGroup,
    to: ServiceGroup,
    source: EvidenceSource,
    weight: number,
    detail: string,
    port?: number,
  ): void => {
    if (from === to) return;
    const key = `${from.id}\u0000${to.id}`;
    let draft = drafts.get(key);
    if (!draft) {
      draft = { from, to, weights: new Map(), evidence: [], ports: {} };
      drafts.set(key, draft);
    }
    draft.weights.set(source, Math.max(draft.weights.get(source) ?? 0, weight));
    const sameSource = draft.evidence.filter((e) => e.source === source);
    if (sameSource.length < MAX_DETAILS_PER_SOURCE && !sameSource.some((e) => e.detail === detail)) {
      draft.evidence.push({ source, detail });
    }
    if (port !== undefined && draft.ports[source] === undefined) draft.ports[source] = port;
  };

  for (const group of groups) {
    for (const profile of group.profiles) {
      addConnectionEvidence(group, profile, book, add);
      for (const ref of profile.envReferences) addEnvEvidence(group, ref, book, add);
      for (const token of profile.logMentions) addLogEvidence(group, profile, token, book, add);
    }
  }

  const edges = [...drafts.values()].map(finishEdge).sort(compareEdges);
  const nodes = groups.map(toNode);
  const graph: DependencyGraph = { nodes, edges, order: [] };
  graph.order = orderForTesting(
    graph,
    options.order ?? "leaves-first",
    options.seed,
    options.minConfidence ?? DEFAULT_MIN_CONFIDENCE,
  );
  return graph;
}

type AddEvidence = (
  from: ServiceGroup,
  to: ServiceGroup,
  source: EvidenceSource,
  weight: number,
  detail: string,
  port?: number,
) => void;

function addConnectionEvidence(
  self: ServiceGroup,
  profile: ServiceProfile,
  book: AddressBook,
  add: AddEvidence,
): void {
  for (const c of profile.connections) {
    const remoteIp = normaliseIp(c.remoteAddress);
    if (isLoopback(remoteIp) || self.ips.has(remoteIp)) continue;
    const peer = book.byIpAddress(remoteIp);
    if (!peer || peer === self) continue;
    const stateFactor = CONNECTION_STATE_FACTOR[c.state] ?? CONNECTION_STATE_FACTOR.other!;
    const socket = `${c.state} ${normaliseIp(c.localAddress)}:${c.localPort} -> ${remoteIp}:${c.remotePort} (seen in ${profile.containerName})`;
    const remoteServes = peer.serverPorts.has(c.remotePort);
    const localServes = self.serverPorts.has(c.localPort);
    if (remoteServes && !localServes) {
      add(
        self,
        peer,
        "connection",
        EVIDENCE_WEIGHTS.connectionClientSide * stateFactor,
        socket,
        c.remotePort,
      );
    } else if (localServes && !remoteServes) {
      add(peer, self, "connection", EVIDENCE_WEIGHTS.connectionServerSide * stateFactor, socket, c.localPort);
    } else {
      // Both or neither side serve the port: the lower port is the service, the higher the ephemeral one.
      const weight = EVIDENCE_WEIGHTS.connectionGuessedDirection * stateFactor;
      const guessed = `${socket}; direction guessed from port numbers`;
      if (c.remotePort < c.localPort) add(self, peer, "connection", weight, guessed, c.remotePort);
      else if (c.localPort < c.remotePort) add(peer, self, "connection", weight, guessed, c.localPort);
    }
  }
}

function addEnvEvidence(self: ServiceGroup, ref: EnvReference, book: AddressBook, add: AddEvidence): void {
  const matches = book.resolve(ref.host, self);
  const detail = `${ref.variable}=${maskEnvValue(ref.variable, ref.value)}`;
  for (const { group, dnsNetwork } of matches) {
    const weight =
      ref.port === undefined
        ? EVIDENCE_WEIGHTS.envNoPort
        : group.serverPorts.has(ref.port) || group.serverPorts.size === 0
          ? EVIDENCE_WEIGHTS.envPortMatches
          : EVIDENCE_WEIGHTS.envPortUnknownToTarget;
    add(self, group, "env", weight, detail, ref.port);
    if (dnsNetwork) {
      add(self, group, "dns", EVIDENCE_WEIGHTS.dns, `"${ref.host}" resolves to ${group.id} on ${dnsNetwork}`);
    }
  }
}

function addLogEvidence(
  self: ServiceGroup,
  profile: ServiceProfile,
  token: string,
  book: AddressBook,
  add: AddEvidence,
): void {
  const parsed = parseHostToken(token);
  if (!parsed) return;
  const detail = `"${maskSecretsInText(token)}" in logs of ${profile.containerName}`;
  if (isIpAddress(parsed.host)) {
    const peer = book.byIpAddress(parsed.host);
    if (!peer || peer === self) return;
    const served = parsed.port !== undefined && peer.serverPorts.has(parsed.port);
    if (served) {
      add(self, peer, "log", EVIDENCE_WEIGHTS.logNameWithServedPort, detail, parsed.port);
    } else if (self.serverPorts.size > 0) {
      // A server logs the addresses of whoever connects to it (access logs, "connection from ...").
      add(peer, self, "log", EVIDENCE_WEIGHTS.logPeerAddress, detail);
    } else {
      add(self, peer, "log", EVIDENCE_WEIGHTS.logPeerAddress, detail);
    }
    return;
  }
  for (const { group, dnsNetwork } of book.resolveName(parsed.host, self)) {
    const served = parsed.port !== undefined && group.serverPorts.has(parsed.port);
    add(
      self,
      group,
      "log",
      served ? EVIDENCE_WEIGHTS.logNameWithServedPort : EVIDENCE_WEIGHTS.logName,
      detail,
      served ? parsed.port : undefined,
    );
    if (dnsNetwork) {
      add(
        self,
        group,
        "dns",
        EVIDENCE_WEIGHTS.dns,
        `"${parsed.host}" resolves to ${group.id} on ${dnsNetwork}`,
      );
    }
  }
}

function finishEdge(draft: EdgeDraft): GraphEdge {
  const { from, to } = draft;
  const shared = [...from.networks.keys()].filter((n) => to.networks.has(n)).sort();
  let factor = 1;
  if (shared.length > 0) {
    draft.weights.set("network", EVIDENCE_WEIGHTS.sharedNetwork);
    draft.evidence.push({ source: "network", detail: `both on ${shared.join(", ")}` });
  } else if (from.networks.size > 0 && to.networks.size > 0) {
    // Services on bridge networks they do not share cannot reach each other directly: doubt the edge.
    factor = NO_SHARED_NETWORK_FACTOR;
    draft.evidence.push({
      source: "network",
      detail: `no shared network (${from.id}: ${[...from.networks.keys()].sort().join(", ")}; ${to.id}: ${[...to.networks.keys()].sort().join(", ")})`,
    });
  }
  let miss = 1;
  for (const w of draft.weights.values()) miss *= 1 - w;
  const confidence = round((1 - miss) * factor);
  const port = draft.ports.connection ?? draft.ports.env ?? draft.ports.log ?? soleServedPort(to);
  draft.evidence.sort((a, b) => SOURCE_RANK[a.source] - SOURCE_RANK[b.source]);
  return {
    from: from.id,
    to: to.id,
    confidence,
    ...(port !== undefined ? { port } : {}),
    evidence: draft.evidence,
  };
}

const SOURCE_RANK: Record<EvidenceSource, number> = {
  connection: 0,
  env: 1,
  dns: 2,
  log: 3,
  network: 4,
  impact: 5,
};

function soleServedPort(group: ServiceGroup): number | undefined {
  return group.serverPorts.size === 1 ? [...group.serverPorts][0] : undefined;
}

/** States in which a service still takes part in the stack (a paused one is a live fault target). */
const LIVE_STATES = new Set<string>(["running", "paused", "restarting"]);

function toNode(group: ServiceGroup): GraphNode {
  const best = [...group.profiles].sort(
    (a, b) => b.classification.confidence - a.classification.confidence,
  )[0]!;
  const ports = new Map<string, GraphNode["ports"][number]>();
  const endpoints = new Map<string, GraphNode["endpoints"][number]>();
  for (const p of group.profiles) {
    for (const port of p.ports) {
      const key = `${port.port}/${port.protocol}`;
      const prev = ports.get(key);
      const service = port.probe && port.probe.protocol !== "unknown" ? port.probe.protocol : prev?.service;
      ports.set(key, {
        port: port.port,
        protocol: port.protocol,
        ...(service ? { service } : {}),
        source: prev && prev.source !== port.source ? "both" : port.source,
      });
    }
    for (const e of p.endpoints) {
      const key = `${e.port} ${e.path}`;
      if (!endpoints.has(key)) endpoints.set(key, { port: e.port, path: e.path, status: e.status });
    }
  }
  const alive = group.profiles.some((p) => LIVE_STATES.has(p.state));
  return {
    id: group.id,
    kind: best.classification.kind,
    confidence: round(best.classification.confidence),
    ports: [...ports.values()].sort((a, b) => a.port - b.port || compareIds(a.protocol, b.protocol)),
    endpoints: [...endpoints.values()].sort((a, b) => a.port - b.port || compareIds(a.path, b.path)),
    ...(alive ? {} : { state: best.state }),
  };
}

function compareEdges(a: GraphEdge, b: GraphEdge): number {
  return compareIds(a.from, b.from) || compareIds(a.to, b.to);
}

function round(x: number): number {
  return Math.round(Math.min(1, Math.max(0, x)) * 1000) / 1000;
}

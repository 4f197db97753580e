/**
 * Pure builders of the command lines the agent runs in the target's network namespace: iptables chains
 * (one set per fault, jumped to from the built-in hooks with a "faultline:<id>" comment) and tc trees.
 * Apply order builds a chain completely before the jump that switches it on; revert removes the jump
 * first. `iptables` is resolved by the agent to the backend Docker itself uses in that namespace.
 * Everything carries faultline's marks (chain names, comments, tc handles in a reserved range, ifb names,
 * the ingress filter priority), so a sweep can remove it without the journal and touch nothing else.
 */
import { InvalidInputError } from "../../errors.js";
import type { FaultMechanism } from "../kinds.js";
import { httpPlan } from "./http-rules.js";
import type { Direction, NetworkOptions } from "./options.js";

export interface NetworkCapabilities {
  netem: boolean;
  tbf: boolean;
  htb: boolean;
  ifb: boolean;
  statistic: boolean;
  owner: boolean;
  string: boolean;
  conntrack: boolean;
  redirect: boolean;
  /** `ss -K` can destroy sockets (kernel INET_DIAG_DESTROY). */
  sockDestroy: boolean;
  /** `conntrack -D` works: deleting a flow's entry makes its next packet hit the nat table. */
  conntrackDelete: boolean;
  iptablesBackend: string;
}

/**
 * How the agent makes connections opened before the fault pass through the delay proxy: REDIRECT only
 * acts on a flow's first packet, so established flows in scope are reset and their clients reconnect.
 */
export interface FlowReset {
  method: "sock-destroy" | "conntrack-delete";
  /** Run after the rules are in place; best effort (a failure is reported, not fatal). */
  commands: string[][];
}

/** Placeholder names: "{name}" in commands becomes the port a proxy listener bound. */
export type ListenerName = "outPort" | "inPort" | "dnsPort";

export interface ProxyListener {
  name: ListenerName;
  toUpstreamMs: number;
  toDownstreamMs: number;
  connectDelayMs: number;
}

/** The delaying TCP proxy (latency without netem): images/agent/fl_proxy.py. */
export interface DelayProxySpec {
  mode?: "delay";
  listeners: ProxyListener[];
  jitterMs: number;
  drainSeconds: number;
}

/** The HTTP fault proxy: images/agent/fl_http.py. Paths and header values are regex sources. */
export interface HttpProxySpec {
  mode: "http";
  faultId: string;
  listeners: { name: ListenerName }[];
  select: {
    methods: string[];
    paths: string[];
    headers: { name: string; value: string | null }[];
    percent: number;
  };
  status?: number;
  delayMs: number;
  jitterMs: number;
  drainSeconds: number;
}

/** The DNS responder answering redirected queries with an error code: images/agent/fl_dns.py. */
export interface DnsResponderSpec {
  mode: "dns";
  listeners: { name: ListenerName }[];
  rcode: "nxdomain" | "servfail";
  names: string[];
}

/** What the agent starts, as the proxy uid, before applying the rules (see fl-agent's `mode`). */
export type ProxySpec = DelayProxySpec | HttpProxySpec | DnsResponderSpec;

/**
 * The HTTP ports an http plan's "{httpPort}" commands are repeated for: given, or detected by the agent
 * before it applies anything (in its own namespace when no hosts are named, else on the peers).
 */
export interface HttpPortsSpec {
  ports: number[];
  detect?: { hosts: string[]; candidates: number[] };
}

/**
 * The tc handle a plan's root qdiscs on shared devices use, for the agent to claim before applying.
 * Handles come from a 256-value range, so two faults can draw the same one: the agent claims the handle
 * per device (an abstract unix socket, which lives in the network namespace and dies with the agent) and
 * draws another free one from the range when it is taken or already in use, rewriting apply and revert.
 * `fl-agent release-root` deletes a root qdisc only when it has the handle and no live agent claims it,
 * so a fault whose apply failed never removes another fault's root, whatever handles they drew.
 */
export interface TcHandleClaim {
  /** Major handle, hex, without the colon ("fa1a"). */
  handle: string;
  /** Devices shared with other faults whose root qdisc the plan adds (the fault's own ifb is not one). */
  devices: string[];
  /** The reserved range to draw another handle from, hex ("fa00", "faff"). */
  range: [string, string];
}

export interface RulePlan {
  mechanism: FaultMechanism;
  apply: string[][];
  revert: string[][];
  /** Present when the plan adds a root qdisc to a device other faults may shape too. */
  tcClaim?: TcHandleClaim;
  proxy?: ProxySpec;
  /** Absent when the mechanism already acts on established flows (tc, filter rules) or nothing can reset. */
  resetFlows?: FlowReset;
  /** http: the ports "{httpPort}" stands for. */
  httpPorts?: HttpPortsSpec;
}

export interface RulePlanInput {
  faultId: string;
  /** 8 hex chars unique to the fault: names its chains, tc handle and ifb device. */
  tag: string;
  options: NetworkOptions;
  peerIps: string[];
  caps: NetworkCapabilities;
  proxyUid: number;
  /** Interface tc shapes (the target's first network). */
  device?: string;
  /** http out without a port: the peers' ports worth probing for HTTP (declared, published). */
  httpCandidatePorts?: number[];
}

export const chainPrefix = (tag: string): string => `FL-${tag}`;
export const commentFor = (faultId: string): string => `faultline:${faultId}`;
export const ifbDevice = (tag: string): string => `flb${tag}`;

/** tc major handles faultline's qdiscs use: a reserved range, so a sweep knows them without the journal. */
export const TC_HANDLE_RANGE = { min: 0xfa00, max: 0xfaff } as const;
/** The priority of faultline's ingress filters (the mirred redirect to its ifb). */
export const INGRESS_FILTER_PRIO = 64000;

/** The reserved range as the agent's claim wants it. */
const TC_RANGE_HEX: [string, string] = [TC_HANDLE_RANGE.min.toString(16), TC_HANDLE_RANGE.max.toString(16)];

/**
 * The revert of a root qdisc on a shared device: not a bare `tc qdisc del … root handle H:`, which would
 * delete another fault's root that drew the same handle. The agent deletes it only if it has handle H and
 * no live agent claims H on that device (see TcHandleClaim).
 */
export function releaseRootCommand(dev: string, handle: string): string[] {
  return ["fl-agent", "release-root", dev, `${handle}:`];
}

/** A tc major handle from the tag, inside the reserved range (never 0, never ffff: ingress). */
export function tcHandle(tag: string): string {
  return (TC_HANDLE_RANGE.min + (parseInt(tag.slice(0, 2), 16) || 0)).toString(16);
}

/**
 * What makes a rule faultline's, as regular expressions the agent applies to what it finds in a
 * namespace (iptables-save, `tc -j`, `ip -j link`): the sweep removes what matches and nothing else.
 */
export interface SweepMarks {
  /** The comment on the rules that hook faultline's chains into the built-in ones. */
  comment: string;
  /** faultline's own chains (flushed and deleted). */
  chain: string;
  /** ifb devices faultline created for incoming traffic (deleted). */
  ifb: string;
  /** Root qdisc handles ("fa1a:") that are faultline's (deleted); absent: left to revert commands. */
  tcHandle?: string;
  /** Ingress filters at this priority are faultline's (deleted; the ingress qdisc too once empty). */
  ingressPrio?: number;
}

const TAG_RE = "[0-9a-f]{8}";

/** Everything any fault of faultline leaves: for a namespace sweep without the journal. */
export const FAULTLINE_MARKS: SweepMarks = {
  comment: `^faultline:[a-z]+-${TAG_RE}$`,
  chain: `^FL-${TAG_RE}-[A-Z]$`,
  ifb: `^flb${TAG_RE}$`,
  tcHandle: `^fa[0-9a-f]{2}:$`,
  ingressPrio: INGRESS_FILTER_PRIO,
};

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/**
 * The marks of one fault's iptables rules and ifb device. tc root qdiscs are left to the fault's revert
 * commands: another fault's tree may hold the same handle on another device.
 */
export function faultMarks(faultId: string, prefix: string): SweepMarks {
  const tag = prefix.replace(/^FL-/, "");
  return {
    comment: `^${escapeRe(commentFor(faultId))}$`,
    chain: `^${escapeRe(prefix)}-[A-Z]$`,
    ifb: `^${escapeRe(ifbDevice(tag))}$`,
  };
}

const DIRECTIONS: Record<Direction, ("out" | "in")[]> = { out: ["out"], in: ["in"], both: ["out", "in"] };

/** Packet-level matches for peers x ports; ports match either side (the connection's server port). */
function packetMatches(way: "out" | "in", peerIps: string[], ports: number[]): string[][] {
  const addr = way === "out" ? "-d" : "-s";
  const peers: string[][] = peerIps.length ? peerIps.map((ip) => [addr, `${ip}/32`]) : [[]];
  const portMatches: string[][] = ports.length
    ? ports.flatMap((p) =>
        ["tcp", "udp"].flatMap((proto) => [
          ["-p", proto, "-m", proto, "--dport", String(p)],
          ["-p", proto, "-m", proto, "--sport", String(p)],
        ]),
      )
    : [[]];
  return peers.flatMap((peer) => portMatches.map((port) => [...peer, ...port]));
}

export interface Hook {
  table: "filter" | "nat" | "raw";
  builtin: "OUTPUT" | "INPUT" | "PREROUTING";
  chain: string;
  rules: string[][];
}

/** Chains first, jump last (apply); jump first, chains last (revert). Extra chains are goto targets. */
export function chainCommands(
  faultId: string,
  hooks: Hook[],
  extra: { table: string; chain: string; rules: string[][] }[],
) {
  const comment = ["-m", "comment", "--comment", commentFor(faultId)];
  const apply: string[][] = [];
  const revert: string[][] = [];
  for (const c of [...extra, ...hooks]) {
    apply.push(["iptables", "-t", c.table, "-N", c.chain]);
    for (const r of c.rules) apply.push(["iptables", "-t", c.table, "-A", c.chain, ...r]);
  }
  for (const h of hooks)
    apply.push(["iptables", "-t", h.table, "-I", h.builtin, "1", ...comment, "-j", h.chain]);
  for (const h of hooks) revert.push(["iptables", "-t", h.table, "-D", h.builtin, ...comment, "-j", h.chain]);
  for (const c of [...hooks, ...extra]) {
    revert.push(["iptables", "-t", c.table, "-F", c.chain]);
    revert.push(["iptables", "-t", c.table, "-X", c.chain]);
  }
  return { apply, revert };
}

function lossPlan(input: RulePlanInput): RulePlan {
  const { options: o, tag } = input;
  const prefix = chainPrefix(tag);
  const actionChain = `${prefix}-L`;
  const probability = ((o.lossPercent ?? 0) / 100).toFixed(4);
  // Goto (not jump) the action chain so a packet matching several selectors gets one draw, not several.
  const hooks: Hook[] = DIRECTIONS[o.direction].map((way) => ({
    table: "filter",
    builtin: way === "out" ? "OUTPUT" : "INPUT",
    chain: `${prefix}-${way === "out" ? "O" : "I"}`,
    rules: packetMatches(way, input.peerIps, o.ports).map((m) => [
      "!",
      way === "out" ? "-o" : "-i",
      "lo",
      ...m,
      "-g",
      actionChain,
    ]),
  }));
  const extra = [
    {
      table: "filter",
      chain: actionChain,
      rules: [["-m", "statistic", "--mode", "random", "--probability", probability, "-j", "DROP"]],
    },
  ];
  return { mechanism: "iptables-statistic", ...chainCommands(input.faultId, hooks, extra) };
}

function partitionPlan(input: RulePlanInput): RulePlan {
  const { options: o, tag } = input;
  const prefix = chainPrefix(tag);
  const hooks: Hook[] = DIRECTIONS[o.direction].map((way) => ({
    table: "filter",
    builtin: way === "out" ? "OUTPUT" : "INPUT",
    chain: `${prefix}-${way === "out" ? "O" : "I"}`,
    // Inserted at the top, so established flows are cut too (packets vanish: a real partition sends no RST).
    rules: packetMatches(way, input.peerIps, o.ports).map((m) => [
      "!",
      way === "out" ? "-o" : "-i",
      "lo",
      ...m,
      "-j",
      "DROP",
    ]),
  }));
  return { mechanism: "iptables-drop", ...chainCommands(input.faultId, hooks, []) };
}

/** DNS wire format of a name's labels, as an iptables hex-string: db.internal -> |02 64 62 08 69 ...|. */
export function dnsHexString(name: string): string {
  const bytes: number[] = [];
  for (const label of name.split(".")) {
    bytes.push(label.length, ...Buffer.from(label, "ascii"));
  }
  return `|${bytes.map((b) => b.toString(16).padStart(2, "0")).join(" ")}|`;
}

/** The string matches selecting queries for the fault's names ([[]]: every query). */
function dnsSelectors(input: RulePlanInput): string[][] {
  const { options: o, caps } = input;
  if (o.dnsNames.length && !caps.string) {
    throw new InvalidInputError(
      "this kernel has no iptables string match, so DNS failure cannot be scoped to a name",
      "drop the name to fail every DNS query of the target",
    );
  }
  return o.dnsNames.length
    ? o.dnsNames.map((n) => ["-m", "string", "--algo", "bm", "--icase", "--hex-string", dnsHexString(n)])
    : [[]];
}

/**
 * DNS failure. reject: the target's queries are refused as they leave (ICMP port unreachable, TCP reset),
 * in the filter table, which sees them after Docker's embedded DNS rewrote their port (hence
 * --ctorigdstport). timeout: the queries leave, their answers are dropped on the way back, so the
 * resolver waits out its timeout (dropping a query on the way out would fail its send at once). nxdomain /
 * servfail: UDP queries are redirected, before Docker's own NAT, to the agent's responder, which answers
 * with that code; TCP queries (a resolver falls back to TCP only for a truncated answer) are reset as in
 * reject.
 */
function dnsPlan(input: RulePlanInput): RulePlan {
  const { options: o, tag } = input;
  const mode = o.dnsMode ?? "reject";
  const selectors = dnsSelectors(input);
  const conntrack = (...more: string[]) => ["-m", "conntrack", "--ctorigdstport", "53", ...more];
  const refuse = (proto: "udp" | "tcp") =>
    selectors.map((sel) => [
      ...["-p", proto, ...conntrack(), ...sel, "-j", "REJECT"],
      ...["--reject-with", proto === "udp" ? "icmp-port-unreachable" : "tcp-reset"],
    ]);
  const prefix = chainPrefix(tag);
  if (mode === "reject") {
    const hooks: Hook[] = [
      {
        table: "filter",
        builtin: "OUTPUT",
        chain: `${prefix}-O`,
        rules: [...refuse("udp"), ...refuse("tcp")],
      },
    ];
    return { mechanism: "dns-block", ...chainCommands(input.faultId, hooks, []) };
  }
  if (mode === "timeout") {
    // An answer repeats its question, so the name's string match selects answers as well as queries.
    const rules = (["udp", "tcp"] as const).flatMap((proto) =>
      selectors.map((sel) => ["-p", proto, ...conntrack("--ctdir", "REPLY"), ...sel, "-j", "DROP"]),
    );
    const hooks: Hook[] = [{ table: "filter", builtin: "INPUT", chain: `${prefix}-I`, rules }];
    return { mechanism: "dns-block", ...chainCommands(input.faultId, hooks, []) };
  }
  if (!input.caps.redirect || !input.caps.owner) {
    throw new InvalidInputError(
      `this kernel has no iptables REDIRECT/owner match: DNS ${mode} answers are unavailable`,
      'use mode "reject" or "timeout"',
    );
  }
  const hooks: Hook[] = [
    {
      table: "nat",
      builtin: "OUTPUT",
      chain: `${prefix}-O`,
      rules: [
        // The responder relays queries for other names that share a flow: those must pass.
        ["-m", "owner", "--uid-owner", String(input.proxyUid), "-j", "RETURN"],
        ...selectors.map((sel) => [
          "-p",
          "udp",
          "-m",
          "udp",
          "--dport",
          "53",
          ...sel,
          "-j",
          "REDIRECT",
          "--to-ports",
          "{dnsPort}",
        ]),
      ],
    },
    { table: "filter", builtin: "OUTPUT", chain: `${prefix}-T`, rules: refuse("tcp") },
  ];
  const proxy: DnsResponderSpec = {
    mode: "dns",
    listeners: [{ name: "dnsPort" }],
    rcode: mode,
    names: o.dnsNames,
  };
  // NAT acts on a flow's first packet: a resolver's UDP flow to port 53 that is already tracked would
  // keep going to the real resolver.
  const resetFlows: FlowReset | undefined = input.caps.conntrackDelete
    ? {
        method: "conntrack-delete",
        commands: [["conntrack", "-D", "-p", "udp", "--orig-port-dst", "53"]],
      }
    : undefined;
  return {
    mechanism: "dns-responder",
    ...chainCommands(input.faultId, hooks, []),
    proxy,
    ...(resetFlows ? { resetFlows } : {}),
  };
}

/** Userspace latency: REDIRECT scoped TCP connections (both the target's and those to it) to the proxy. */
function proxyLatencyPlan(input: RulePlanInput): RulePlan {
  const { options: o, tag } = input;
  if (!input.caps.redirect || !input.caps.owner) {
    throw new InvalidInputError(
      "this kernel has neither sch_netem nor iptables REDIRECT/owner: latency is unavailable",
    );
  }
  const latency = o.latencyMs ?? 0;
  const out = o.direction !== "in";
  const inn = o.direction !== "out";
  const prefix = chainPrefix(tag);
  const tcpMatches = (addr: "-d" | "-s"): string[][] => {
    const peers = input.peerIps.length ? input.peerIps.map((ip) => [addr, `${ip}/32`]) : [[]];
    const ports = o.ports.length ? o.ports.map((p) => ["--dport", String(p)]) : [[]];
    return peers.flatMap((peer) => ports.map((port) => ["-p", "tcp", "-m", "tcp", ...peer, ...port]));
  };
  const hooks: Hook[] = [
    {
      table: "nat",
      builtin: "OUTPUT",
      chain: `${prefix}-O`,
      rules: [
        // The proxy's own upstream connections and loopback pass untouched.
        ["-m", "owner", "--uid-owner", String(input.proxyUid), "-j", "RETURN"],
        ["-d", "127.0.0.0/8", "-j", "RETURN"],
        ...tcpMatches("-d").map((m) => [...m, "-j", "REDIRECT", "--to-ports", "{outPort}"]),
      ],
    },
    {
      table: "nat",
      builtin: "PREROUTING",
      chain: `${prefix}-P`,
      rules: tcpMatches("-s").map((m) => [...m, "-j", "REDIRECT", "--to-ports", "{inPort}"]),
    },
  ];
  const proxy: DelayProxySpec = {
    listeners: [
      // Connections the target opens: its requests leave (out), the answers arrive (in).
      {
        name: "outPort",
        toUpstreamMs: out ? latency : 0,
        toDownstreamMs: inn ? latency : 0,
        connectDelayMs: latency * ((out ? 1 : 0) + (inn ? 1 : 0)),
      },
      // Connections to the target: requests arrive (in), its answers leave (out).
      {
        name: "inPort",
        toUpstreamMs: inn ? latency : 0,
        toDownstreamMs: out ? latency : 0,
        connectDelayMs: 0,
      },
    ],
    jitterMs: o.jitterMs ?? 0,
    drainSeconds: 1,
  };
  const resetFlows = flowReset(input.peerIps, o.ports, input.caps);
  return {
    mechanism: "delay-proxy",
    ...chainCommands(input.faultId, hooks, []),
    proxy,
    ...(resetFlows ? { resetFlows } : {}),
  };
}

/**
 * Commands that reset the established TCP flows the proxy's REDIRECT rules would catch if they were new:
 * those the target opened (remote peer/port) and those opened to it (remote peer, local port), never
 * loopback. Sockets are destroyed (both ends see a reset at once) when the kernel allows; otherwise the
 * flows' conntrack entries go, so their next packet is redirected to a proxy port that does not know
 * them and the kernel answers with a reset.
 */
export function flowReset(
  peerIps: string[],
  ports: (number | string)[],
  caps: NetworkCapabilities,
): FlowReset | undefined {
  if (caps.sockDestroy) {
    const peers = peerIps.length ? peerIps.map((ip) => ["dst", `${ip}/32`]) : [[]];
    const portSel = ports.length
      ? ports.flatMap((p) => [
          ["dport", "=", `:${p}`],
          ["sport", "=", `:${p}`],
        ])
      : [[]];
    const selectors = peers.flatMap((peer) =>
      portSel.map((port) => [...peer, ...(peer.length && port.length ? ["and"] : []), ...port]),
    );
    const scoped = selectors.filter((sel) => sel.length);
    const scope = scoped.length
      ? ["(", ...scoped.flatMap((sel, i) => [...(i ? ["or"] : []), "(", ...sel, ")"]), ")", "and"]
      : [];
    return {
      method: "sock-destroy",
      commands: [
        ["ss", "-K", "-4", "-t", "-n", "-H", "state", "established", ...scope, "not", "dst", "127.0.0.0/8"],
      ],
    };
  }
  if (caps.conntrackDelete) {
    const ct = ["conntrack", "-D", "-p", "tcp", "--state", "ESTABLISHED"];
    const commands: string[][] = [];
    const peers = peerIps.length ? peerIps : [undefined];
    const portList = ports.length ? ports : [undefined];
    for (const ip of peers) {
      for (const port of portList) {
        const p = port === undefined ? [] : ["--dport", String(port)];
        // Opened by the target (original destination is the peer) and opened to it (original source is).
        commands.push([...ct, ...(ip ? ["--dst", ip] : []), ...p]);
        if (ip || port !== undefined) commands.push([...ct, ...(ip ? ["--src", ip] : []), ...p]);
      }
    }
    return { method: "conntrack-delete", commands };
  }
  return undefined;
}

/** u32 selectors for peers x ports on a device whose packets travel `way` relative to the target. */
function u32Selectors(way: "out" | "in", peerIps: string[], ports: number[]): string[][] {
  const addr = way === "out" ? "dst" : "src";
  const peers = peerIps.length ? peerIps.map((ip) => ["match", "ip", addr, `${ip}/32`]) : [[]];
  const portSel = ports.length
    ? ports.flatMap((p) => [
        ["match", "ip", "dport", String(p), "0xffff"],
        ["match", "ip", "sport", String(p), "0xffff"],
      ])
    : [[]];
  return peers.flatMap((peer) => portSel.map((port) => [...peer, ...port]));
}

type Leaf = { qdisc: string[] } | { rate: string; burst: string };

/**
 * One tc tree on `dev`. Unscoped: the leaf as root qdisc. Scoped: an htb root whose unclassified
 * traffic passes untouched (default 0) and one class for the selected traffic (prio is not needed and
 * not always compiled in; htb is).
 */
function tcTree(dev: string, handle: string, leaf: Leaf, selectors: string[][], scoped: boolean): string[][] {
  const tc = (...args: string[]) => ["tc", ...args];
  if (!scoped) {
    const root =
      "qdisc" in leaf ? leaf.qdisc : ["tbf", "rate", leaf.rate, "burst", leaf.burst, "latency", "100ms"];
    return [tc("qdisc", "add", "dev", dev, "root", "handle", `${handle}:`, ...root)];
  }
  // Scoped: an htb root whose one class holds the fault; u32 filters send only the matching traffic there.
  const classRate =
    "qdisc" in leaf ? ["rate", "100gbit"] : ["rate", leaf.rate, "ceil", leaf.rate, "burst", leaf.burst];
  const cmds = [
    tc("qdisc", "add", "dev", dev, "root", "handle", `${handle}:`, "htb", "default", "0"),
    tc("class", "add", "dev", dev, "parent", `${handle}:`, "classid", `${handle}:1`, "htb", ...classRate),
  ];
  if ("qdisc" in leaf) cmds.push(tc("qdisc", "add", "dev", dev, "parent", `${handle}:1`, ...leaf.qdisc));
  for (const sel of selectors) {
    cmds.push(
      tc(
        "filter",
        "add",
        "dev",
        dev,
        "parent",
        `${handle}:`,
        "protocol",
        "ip",
        "prio",
        "1",
        "u32",
        ...sel,
        "flowid",
        `${handle}:1`,
      ),
    );
  }
  return cmds;
}

/** Egress trees on the device, ingress ones on an ifb the ingress traffic is mirrored to. */
function tcPlan(input: RulePlanInput, leaf: Leaf, mechanism: FaultMechanism): RulePlan {
  const { options: o, tag } = input;
  const dev = input.device ?? "eth0";
  const handle = tcHandle(tag);
  const scoped = input.peerIps.length > 0 || o.ports.length > 0;
  const apply: string[][] = [];
  const revert: string[][] = [];
  for (const way of DIRECTIONS[o.direction]) {
    const selectors = u32Selectors(way, input.peerIps, o.ports);
    if (way === "out") {
      apply.push(...tcTree(dev, handle, leaf, selectors, scoped));
      revert.push(releaseRootCommand(dev, handle));
    } else {
      if (!input.caps.ifb)
        throw new InvalidInputError(
          "this kernel has no ifb device: incoming traffic cannot be shaped",
          'use direction "out"',
        );
      const ifb = ifbDevice(tag);
      apply.push(["ip", "link", "add", ifb, "type", "ifb"], ["ip", "link", "set", "dev", ifb, "up"]);
      apply.push(...tcTree(ifb, handle, leaf, selectors, scoped));
      apply.push(["tc", "qdisc", "add", "dev", dev, "handle", "ffff:", "ingress"]);
      apply.push([
        "tc",
        "filter",
        "add",
        "dev",
        dev,
        "parent",
        "ffff:",
        "protocol",
        "ip",
        "prio",
        String(INGRESS_FILTER_PRIO),
        "u32",
        "match",
        "u32",
        "0",
        "0",
        "action",
        "mirred",
        "egress",
        "redirect",
        "dev",
        ifb,
      ]);
      // Not a bare `tc qdisc del … ingress`: when this fault's apply failed because another fault holds
      // the ingress qdisc, its revert must leave that one alone. The agent deletes it only if its
      // filter redirects to this fault's ifb.
      revert.push(["fl-agent", "release-ingress", dev, ifb], ["ip", "link", "del", ifb]);
    }
  }
  // The ifb is the fault's own; only the shared device's root can collide with another fault's.
  const shared = DIRECTIONS[o.direction].includes("out") ? [dev] : [];
  return {
    mechanism,
    apply,
    revert,
    ...(shared.length ? { tcClaim: { handle, devices: shared, range: TC_RANGE_HEX } } : {}),
  };
}

/** netem argument list: delay L [J [C%]] and/or loss P% [C%]. */
export function netemArgs(o: NetworkOptions): string[] {
  const args = ["netem"];
  if (o.latencyMs) {
    args.push("delay", `${o.latencyMs}ms`);
    if (o.jitterMs) {
      args.push(`${o.jitterMs}ms`);
      if (o.correlationPercent) args.push(`${o.correlationPercent}%`);
    }
  }
  if (o.lossPercent) {
    args.push("loss", `${o.lossPercent}%`);
    if (o.correlationPercent && !o.latencyMs) args.push(`${o.correlationPercent}%`);
  }
  return args;
}

/** tbf wants a bucket of at least one MTU; 20 ms worth of rate keeps small rates smooth. */
export function burstFor(bitsPerSecond: number): string {
  return `${Math.max(16_000, Math.ceil(bitsPerSecond / 8 / 50))}b`;
}

export function formatRate(bitsPerSecond: number): string {
  return `${bitsPerSecond}bit`;
}

/** The commands (and proxy) realising one network fault given what the kernel offers. */
export function buildRulePlan(input: RulePlanInput): RulePlan {
  const { options: o, caps } = input;
  switch (o.kind) {
    case "latency":
      return caps.netem ? tcPlan(input, { qdisc: netemArgs(o) }, "tc-netem") : proxyLatencyPlan(input);
    case "loss":
      // iptables statistic stacks with any tc fault; netem only when statistic is missing or correlation asked.
      if (caps.statistic && !(caps.netem && o.correlationPercent)) return lossPlan(input);
      if (caps.netem) return tcPlan(input, { qdisc: netemArgs(o) }, "tc-netem");
      throw new InvalidInputError(
        "this kernel has neither sch_netem nor iptables statistic: loss is unavailable",
      );
    case "bandwidth": {
      const rate = formatRate(o.rateBitsPerSecond ?? 0);
      const scoped = input.peerIps.length > 0 || o.ports.length > 0;
      if (!(scoped ? caps.htb : caps.tbf))
        throw new InvalidInputError(
          `this kernel has no ${scoped ? "htb" : "tbf"} qdisc: bandwidth is unavailable`,
        );
      return tcPlan(input, { rate, burst: burstFor(o.rateBitsPerSecond ?? 0) }, "tc-tbf");
    }
    case "partition":
      return partitionPlan(input);
    case "dns":
      return dnsPlan(input);
    case "http":
      return httpPlan(input);
  }
}

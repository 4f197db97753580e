/**
 * One network fault on one container: plans its rules when injected (the kernel decides the mechanism),
 * journals the plan, hands it to an agent in the target's namespace and stops that agent to revert.
 */
import { randomBytes } from "node:crypto";
import type { DockerRuntime } from "../../docker/types.js";
import { FaultInjectionError, FaultRevertError, InvalidInputError } from "../../errors.js";
import type { FaultKind, FaultMechanism } from "../kinds.js";
import { formatDuration } from "../../util/duration.js";
import { log } from "../../util/log.js";
import { AGENT_PROXY_UID, ensureAgentImage } from "../../images/agent.js";
import { networkCapabilities } from "./capabilities.js";
import type { Fault, FaultContext, FaultTarget, JournalFaultEntry } from "../fault.js";
import type { AgentReady, AgentRunSpec } from "./agent-runner.js";
import { cleanupInNamespace, startAgent, stopAgent } from "./agent-runner.js";
import { describeHttpSelection } from "./http-options.js";
import type { DnsMode, NetworkOptions } from "./options.js";
import type { RulePlan } from "./rules.js";
import { buildRulePlan, chainPrefix, faultMarks } from "./rules.js";
import { FAULT_TIMEOUTS } from "../timeouts.js";

/** The agent outlives the planned end by this much before reverting on its own (faultline reverts first). */
export const DEADMAN_GRACE_MS = FAULT_TIMEOUTS.deadmanGraceMs;

/** What the journal's `undo` holds for a network fault. */
export interface NetworkUndo {
  tag: string;
  chainPrefix: string;
  revert: string[][];
}

export function newFaultTag(): string {
  return randomBytes(4).toString("hex");
}

function describeScope(o: NetworkOptions, peers: string[]): string {
  const ports = o.ports.length ? `:${o.ports.join(",")}` : "";
  const towards = peers.length
    ? ` <-> ${peers.join(",")}${ports}`
    : ports
      ? ` on port ${o.ports.join(",")}`
      : "";
  const direction = { out: "outgoing", in: "incoming", both: "both ways" }[o.direction];
  return `${towards} (${direction})`;
}

export function describeNetworkFault(
  o: NetworkOptions,
  service: string,
  peers: string[],
  mechanism?: FaultMechanism,
  resetsFlows = false,
): string {
  const proxy = { "delay-proxy": "delay proxy", "http-proxy": "HTTP proxy" }[mechanism as string];
  const via =
    (mechanism ? ` via ${mechanism}` : "") +
    (resetsFlows && proxy
      ? `; existing connections in scope are reset so they pass through the ${proxy}`
      : "");
  const scope = describeScope(o, peers);
  switch (o.kind) {
    case "latency": {
      const jitter = o.jitterMs ? ` ±${formatDuration(o.jitterMs)}` : "";
      return `add ${formatDuration(o.latencyMs ?? 0)}${jitter} latency on ${service}${scope}${via}`;
    }
    case "loss":
      return `drop ${o.lossPercent}% of packets on ${service}${scope}${via}`;
    case "bandwidth":
      return `limit bandwidth to ${formatBits(o.rateBitsPerSecond ?? 0)} on ${service}${scope}${via}`;
    case "partition":
      return `partition ${service}${peers.length || o.ports.length ? scope : ` from every peer (${o.direction})`}${via}`;
    case "dns": {
      const how = DNS_FAILURE[o.dnsMode ?? "reject"];
      return `fail DNS lookups of ${o.dnsNames.length ? o.dnsNames.join(", ") : "every name"} from ${service} (${how})${via}`;
    }
    case "http":
      return describeHttpFault(o, service, peers, via);
  }
}

const DNS_FAILURE: Record<DnsMode, string> = {
  reject: "refused",
  nxdomain: "answered NXDOMAIN",
  servfail: "answered SERVFAIL",
  timeout: "never answered",
};

/** "answer 503 to 30% of GET /orders* requests to storefront:8080 (incoming)". */
function describeHttpFault(o: NetworkOptions, service: string, peers: string[], via: string): string {
  const h = o.http!;
  const jitter = h.jitterMs ? ` ±${formatDuration(h.jitterMs)}` : "";
  const actions = [
    ...(h.delayMs ? [`delay by ${formatDuration(h.delayMs)}${jitter}`] : []),
    ...(h.status !== undefined ? [`answer ${h.status} to`] : []),
  ].join(", then ");
  const ports = o.ports.length ? `:${o.ports.join(",")}` : "";
  const where =
    o.direction === "in"
      ? `to ${service}${ports}${peers.length ? ` from ${peers.join(", ")}` : ""} (incoming)`
      : `${service} makes to ${peers.join(", ")}${ports} (outgoing)`;
  return `${actions} ${describeHttpSelection(h)} ${where}${via}`;
}

function formatBits(bits: number): string {
  if (bits >= 1e9) return `${+(bits / 1e9).toFixed(2)}gbit/s`;
  if (bits >= 1e6) return `${+(bits / 1e6).toFixed(2)}mbit/s`;
  return `${+(bits / 1e3).toFixed(2)}kbit/s`;
}

export class NetworkFault implements Fault {
  readonly id: string;
  private plan?: RulePlan;
  private agentId?: string;
  private runId = "";
  private deadline: number;
  private reverted = false;
  private flowsReset?: AgentReady["reset"];
  /** The HTTP ports an http fault acts on, once the agent found (or was given) them. */
  private httpPorts?: number[];

  constructor(
    readonly kind: FaultKind,
    readonly target: FaultTarget,
    readonly durationMs: number,
    private readonly options: NetworkOptions,
    private readonly rawOptions: Record<string, unknown>,
    private readonly peerIps: string[],
    private readonly tag: string = newFaultTag(),
    /** http out without a port: the peers' declared and published ports, to probe for HTTP first. */
    private readonly httpCandidatePorts: number[] = [],
  ) {
    this.id = `${kind}-${tag}`;
    this.deadline = Date.now() + durationMs + DEADMAN_GRACE_MS;
  }

  get mechanism(): FaultMechanism | undefined {
    return this.plan?.mechanism;
  }

  describe(): string {
    const ports = this.httpPorts ?? this.options.ports;
    return describeNetworkFault(
      { ...this.options, ports },
      this.target.service,
      this.options.peers,
      this.plan?.mechanism,
      this.plan?.resetFlows !== undefined,
    );
  }

  journalEntry(): JournalFaultEntry {
    const undo: NetworkUndo = {
      tag: this.tag,
      chainPrefix: chainPrefix(this.tag),
      revert: this.plan?.revert ?? [],
    };
    return {
      faultId: this.id,
      runId: this.runId,
      kind: this.kind,
      target: { ...this.target },
      options: {
        ...this.rawOptions,
        peerIps: this.peerIps,
        ...(this.httpPorts ? { httpPorts: this.httpPorts } : {}),
      },
      mechanism: this.plan?.mechanism,
      helperContainerIds: this.agentId ? [this.agentId] : [],
      deadline: this.deadline,
      undo: { ...undo, ...(this.flowsReset ? { existingFlowsReset: this.flowsReset } : {}) },
    };
  }

  async inject(ctx: FaultContext, signal: AbortSignal): Promise<void> {
    this.runId = ctx.runId;
    if (signal.aborted) throw new FaultInjectionError(`fault ${this.id} aborted before injection`);
    await ensureAgentImage(ctx.runtime);
    const caps = await networkCapabilities(ctx.runtime);
    try {
      this.plan = buildRulePlan({
        faultId: this.id,
        tag: this.tag,
        options: this.options,
        peerIps: this.peerIps,
        caps,
        proxyUid: AGENT_PROXY_UID,
        httpCandidatePorts: this.httpCandidatePorts,
      });
    } catch (e) {
      if (e instanceof InvalidInputError) throw new FaultInjectionError(e.message, e.hint, { cause: e });
      throw e;
    }
    this.deadline = Date.now() + this.durationMs + DEADMAN_GRACE_MS;
    await ctx.record(this.journalEntry());
    const spec: AgentRunSpec = {
      faultId: this.id,
      marks: faultMarks(this.id, chainPrefix(this.tag)),
      deadlineMs: this.deadline,
      apply: this.plan.apply,
      revert: this.plan.revert,
      tcClaim: this.plan.tcClaim,
      proxy: this.plan.proxy,
      resetFlows: this.plan.resetFlows,
      httpPorts: this.plan.httpPorts,
    };
    const labels = {
      runId: ctx.runId,
      faultId: this.id,
      targetId: this.target.containerId,
      deadlineMs: this.deadline,
    };
    const ready = await startAgent(
      ctx.runtime,
      this.target.containerId,
      spec,
      labels,
      async (id) => {
        this.agentId = id;
        await ctx.record(this.journalEntry());
      },
      signal,
    ).catch(async (e: unknown) => {
      this.agentId = undefined;
      await ctx.record(this.journalEntry()).catch(() => undefined);
      throw e;
    });
    this.flowsReset = ready.reset;
    if (ready.httpPorts) this.httpPorts = ready.httpPorts;
    // Another fault held the planned tc handle: the agent drew another, and the journal's revert must
    // name that one (a replay with the planned handle would leave this fault's root in place).
    if (ready.rehandled) this.plan = { ...this.plan, revert: ready.rehandled.revert };
    if (ready.reset || ready.rehandled || ready.httpPorts) await ctx.record(this.journalEntry());
    if (ready.reset?.errors.length) {
      log.warn(
        { fault: this.id, reset: ready.reset },
        "some established connections could not be reset: they keep bypassing the delay proxy",
      );
    }
    log.debug(
      { fault: this.id, mechanism: this.plan.mechanism, reset: ready.reset },
      "network fault in effect",
    );
  }

  async revert(ctx: FaultContext): Promise<void> {
    if (this.reverted) return;
    await revertNetwork(ctx.runtime, this.journalEntry());
    this.reverted = true;
    this.agentId = undefined;
  }
}

/** Stops the fault's agent(s); when one did not report a clean revert, sweeps the namespace. */
export async function revertNetwork(runtime: DockerRuntime, entry: JournalFaultEntry): Promise<void> {
  const undo = entry.undo as Partial<NetworkUndo>;
  const prefix = undo.chainPrefix ?? chainPrefix(entry.faultId.split("-").pop() ?? "");
  const ids = new Set(entry.helperContainerIds);
  // An agent started just before a crash may not be in the journal yet: its labels still name the fault.
  // Agents only: a cleanup agent another faultline runs for the same fault is not this fault's agent.
  const labelled = await runtime.helpers
    .listOwned([`faultline.fault=${entry.faultId}`, "faultline.role=agent"])
    .catch(() => []);
  for (const c of labelled) ids.add(c.id);
  let clean = ids.size > 0;
  const details: string[] = [];
  for (const id of ids) {
    const result = await stopAgent(runtime, id);
    clean &&= result.clean;
    details.push(result.detail);
  }
  if (clean) return;
  try {
    await cleanupInNamespace(
      runtime,
      entry.target.containerId,
      { faultId: entry.faultId, marks: faultMarks(entry.faultId, prefix), revert: undo.revert ?? [] },
      { runId: entry.runId, faultId: entry.faultId, targetId: entry.target.containerId },
    );
  } catch (e) {
    if (e instanceof FaultRevertError) throw e;
    throw new FaultRevertError(
      `could not verify that network fault ${entry.faultId} is gone from ${entry.target.containerName}: ${(e as Error).message}`,
      details.join("; ") || undefined,
      { cause: e },
    );
  }
}

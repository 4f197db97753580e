/**
 * Starting, stopping and cleaning up after the network agent: the only I/O of network faults.
 * The agent joins the target's network namespace, applies its rules, says FAULTLINE-READY and then
 * holds them until SIGTERM or its own deadline, reverting them itself before it exits.
 */
import type { DockerRuntime, HelperSpec } from "../../docker/types.js";
import { LABELS } from "../../docker/types.js";
import { FaultInjectionError, FaultRevertError } from "../../errors.js";
import { AGENT_IMAGE } from "../../images/agent.js";
import { watchHelper } from "../helper-watch.js";
import type { FlowReset, HttpPortsSpec, ProxySpec, SweepMarks, TcHandleClaim } from "./rules.js";
import { FAULTLINE_MARKS } from "./rules.js";
import { sleep } from "../../util/time.js";
import { FAULT_TIMEOUTS } from "../timeouts.js";

export interface AgentRunSpec {
  faultId: string;
  /** What the agent sweeps after reverting (this fault's chains, hooks and ifb). */
  marks: SweepMarks;
  deadlineMs: number;
  apply: string[][];
  revert: string[][];
  /** The tc handle to claim on shared devices before applying (another is drawn if it is taken). */
  tcClaim?: TcHandleClaim;
  proxy?: ProxySpec;
  resetFlows?: FlowReset;
  /** http: the ports "{httpPort}" commands are repeated for, or how the agent finds them. */
  httpPorts?: HttpPortsSpec;
}

/** What the agent reports once its rules are in effect. */
export interface AgentReady {
  id: string;
  /** Established flows it reset so they reconnect through the delay proxy (when the plan asked). */
  reset?: { method: string; count: number; errors: string[] };
  /**
   * When the planned tc handle was taken in the namespace: the handle the agent drew instead, and the
   * revert commands rewritten to it (the journal must hold these, not the planned ones).
   */
  rehandled?: { handle: string; revert: string[][] };
  /** http: the ports the fault acts on (given, or found answering HTTP). */
  httpPorts?: number[];
}

export interface AgentLabels {
  runId: string;
  faultId: string;
  targetId: string;
  deadlineMs: number;
}

const POLL_MS = 40;
const READY_TIMEOUT_MS = FAULT_TIMEOUTS.agentReadyMs;
const STOP_TIMEOUT_MS = FAULT_TIMEOUTS.agentStopMs;
const FOLLOW_OPEN_TIMEOUT_MS = FAULT_TIMEOUTS.agentFollowOpenMs;
const REMOVAL_TIMEOUT_MS = FAULT_TIMEOUTS.agentRemovalMs;
/** How long a one-shot cleanup agent may run before it is killed. */
export const CLEANUP_TIMEOUT_MS = FAULT_TIMEOUTS.cleanupAgentMs;
/** Slack beyond its timeout before another faultline's expiry sweep may treat a cleanup agent as stale. */
const CLEANUP_DEADLINE_SLACK_MS = FAULT_TIMEOUTS.cleanupAgentSlackMs;

/** The helper spec of an agent in `targetId`'s network namespace (pure; unit-tested). */
export function agentHelperSpec(
  targetId: string,
  cmd: string[],
  labels: AgentLabels,
  role: HelperSpec["role"] = "agent",
): HelperSpec {
  return {
    image: AGENT_IMAGE,
    cmd,
    role,
    networkMode: `container:${targetId}`,
    capAdd: ["NET_ADMIN"],
    labels: {
      [LABELS.run]: labels.runId,
      [LABELS.fault]: labels.faultId,
      [LABELS.target]: labels.targetId,
      [LABELS.deadline]: String(labels.deadlineMs),
    },
  };
}

/** Finds a marker line ("FAULTLINE-READY {json}") in agent output. */
export function findMarker(stdout: string, marker: string): Record<string, unknown> | undefined {
  for (const line of stdout.split("\n")) {
    if (line.startsWith(marker)) {
      const rest = line.slice(marker.length).trim();
      try {
        return rest ? (JSON.parse(rest) as Record<string, unknown>) : {};
      } catch {
        return {};
      }
    }
  }
  return undefined;
}

/** Explains a failed apply in words a user can act on. */
export function explainApplyErrors(errors: string[]): string {
  const text = errors.join("; ");
  // The kernel words it by handle: the same one ("Exclusivity flag", "File exists"), another ("NLM_F_REPLACE").
  if (/Exclusivity flag|File exists|NLM_F_REPLACE needed/i.test(text)) {
    return `${text} (another tc fault already holds this interface's root or ingress qdisc: tc faults stack one per direction, iptables faults stack freely)`;
  }
  return text;
}

/**
 * Starts the agent and waits until its rules are in effect. On failure the agent has already reverted
 * whatever it applied; it is removed and FaultInjectionError thrown. `onStarted` learns the id first.
 */
export async function startAgent(
  runtime: DockerRuntime,
  targetId: string,
  spec: AgentRunSpec,
  labels: AgentLabels,
  onStarted: (id: string) => Promise<void>,
  signal?: AbortSignal,
): Promise<AgentReady> {
  const id = await runtime.helpers.start({
    ...agentHelperSpec(targetId, ["fl-agent", "run", JSON.stringify(spec)], labels),
    name: `faultline-agent-${spec.faultId}`,
    // Once its dead-man switch has fired with faultline gone, nothing is left behind.
    autoRemove: true,
  });
  await onStarted(id);
  const watch = watchHelper(runtime, id);
  const until = Date.now() + READY_TIMEOUT_MS;
  let failure: string | undefined;
  try {
    while (Date.now() < until) {
      const ended = watch.ended;
      const ready = findMarker(watch.stdout(), "FAULTLINE-READY");
      if (ready !== undefined) return readyFrom(id, ready);
      const failed = findMarker(watch.stdout(), "FAULTLINE-FAILED");
      if (failed !== undefined) {
        failure = explainApplyErrors((failed.errors as string[] | undefined) ?? ["unknown error"]);
        break;
      }
      if (ended) {
        failure = `the agent exited: ${(watch.stderr() || watch.stdout()).slice(-400) || "no output"}`;
        break;
      }
      if (signal?.aborted) {
        failure = "aborted before the fault took effect";
        break;
      }
      await sleep(POLL_MS);
    }
  } finally {
    watch.stop();
  }
  failure ??= `the agent did not apply its rules within ${READY_TIMEOUT_MS} ms`;
  await stopAgent(runtime, id).catch(() => undefined);
  throw new FaultInjectionError(
    `network fault ${spec.faultId} could not be applied: ${failure}`,
    "nothing was left in place",
  );
}

/** What a FAULTLINE-READY line reports (pure). */
export function readyFrom(id: string, ready: Record<string, unknown>): AgentReady {
  const reset = ready.reset as AgentReady["reset"] | null | undefined;
  const rehandled = ready.rehandled as AgentReady["rehandled"] | null | undefined;
  const httpPorts = Array.isArray(ready.httpPorts)
    ? ready.httpPorts.filter((p): p is number => typeof p === "number")
    : undefined;
  return {
    id,
    ...(reset ? { reset } : {}),
    ...(rehandled ? { rehandled } : {}),
    ...(httpPorts ? { httpPorts } : {}),
  };
}

export interface StopResult {
  /** The agent reported a clean revert (rules gone, nothing left over). */
  clean: boolean;
  detail: string;
}

/**
 * SIGTERM, wait for the agent to revert its rules, read its verdict, make sure it is gone. Idempotent.
 * The agent removes itself on exit (AutoRemove), so its verdict is read from its output stream, which is
 * followed (from its first line) before the signal is sent.
 */
export async function stopAgent(runtime: DockerRuntime, id: string): Promise<StopResult> {
  let detail = "";
  let clean = false;
  const info = await runtime.inspect(id).catch(() => undefined);
  if (!info) return { clean: false, detail: "agent container gone" };
  const watch = watchHelper(runtime, id);
  try {
    // A running agent has printed FAULTLINE-READY: its first line proves the stream is open.
    await watch.untilFirstLine(FOLLOW_OPEN_TIMEOUT_MS);
    if (info.state === "running") await runtime.kill(id, "SIGTERM").catch(() => undefined);
    const exited = await watch.untilEnded(STOP_TIMEOUT_MS);
    const verdict = findMarker(watch.stdout(), "FAULTLINE-REVERTED");
    const leftovers = (verdict?.leftovers as string[] | undefined) ?? [];
    clean = verdict !== undefined && leftovers.length === 0;
    detail = verdict
      ? JSON.stringify(verdict)
      : `no revert report${exited ? "" : ` within ${STOP_TIMEOUT_MS} ms`}: ${watch.stdout().slice(-300)}`;
  } finally {
    watch.stop();
    // AutoRemove has usually done it; an agent that hung (or predates AutoRemove) is removed here.
    await runtime.helpers.remove(id);
    await runtime.helpers
      .wait(id, { condition: "removed", timeoutMs: REMOVAL_TIMEOUT_MS })
      .catch(() => undefined);
  }
  return { clean, detail };
}

/**
 * The one-shot cleanup agent's spec (pure). Its deadline label is its own (now + its timeout), never the
 * fault's: a cleanup usually runs after the fault's deadline (journal replay), and a label already in the
 * past would let any other faultline starting meanwhile sweep it as expired mid-cleanup.
 */
export function cleanupHelperSpec(
  targetId: string,
  spec: Pick<AgentRunSpec, "faultId" | "marks" | "revert">,
  labels: Omit<AgentLabels, "deadlineMs">,
  now: number,
): HelperSpec {
  return agentHelperSpec(
    targetId,
    ["fl-agent", "cleanup", JSON.stringify(spec)],
    { ...labels, deadlineMs: now + CLEANUP_TIMEOUT_MS + CLEANUP_DEADLINE_SLACK_MS },
    "probe",
  );
}

/**
 * Runs a one-shot agent that undoes a fault from its revert commands and sweeps every rule, chain and
 * ifb carrying its marks: for agents that died without reverting. Throws FaultRevertError if rules remain.
 */
export async function cleanupInNamespace(
  runtime: DockerRuntime,
  targetId: string,
  spec: Pick<AgentRunSpec, "faultId" | "marks" | "revert">,
  labels: Omit<AgentLabels, "deadlineMs">,
): Promise<void> {
  const target = await runtime.inspect(targetId).catch(() => undefined);
  // Rules live in the target's namespace: if it is gone or stopped, so are they.
  if (!target || (target.state !== "running" && target.state !== "paused")) return;
  const result = await runtime.helpers.run(cleanupHelperSpec(targetId, spec, labels, Date.now()), {
    timeoutMs: CLEANUP_TIMEOUT_MS,
  });
  const verdict = findMarker(result.stdout, "FAULTLINE-CLEANED");
  const leftovers = (verdict?.leftovers as string[] | undefined) ?? [];
  if (!verdict || leftovers.length) {
    throw new FaultRevertError(
      `network fault ${spec.faultId} may still be in place on ${target.name}: ${leftovers.join("; ") || result.stderr.slice(-300)}`,
      `inspect with: docker run --rm --network container:${target.name} --cap-add NET_ADMIN ${AGENT_IMAGE} fl-agent show`,
    );
  }
}

export interface SweepResult {
  /** What the agent removed, one command per line. */
  removed: string[];
  /** What carries faultline's marks and could not be removed. */
  leftovers: string[];
}

/**
 * Removes everything carrying faultline's marks (of any fault) from a container's network namespace:
 * the journal-less sweep for rules left by agents that were SIGKILLed or removed. Nothing without the
 * marks is touched. A stopped or vanished container has no namespace left to clean.
 */
export async function sweepNamespace(
  runtime: DockerRuntime,
  targetId: string,
  marks: SweepMarks = FAULTLINE_MARKS,
): Promise<SweepResult> {
  const result = await runtime.helpers.run(
    {
      image: AGENT_IMAGE,
      cmd: ["fl-agent", "sweep", JSON.stringify(marks)],
      role: "probe",
      networkMode: `container:${targetId}`,
      capAdd: ["NET_ADMIN"],
      labels: { [LABELS.target]: targetId },
    },
    { timeoutMs: 30_000 },
  );
  const verdict = findMarker(result.stdout, "FAULTLINE-SWEPT");
  if (!verdict) {
    throw new FaultRevertError(
      `the sweep of ${targetId.slice(0, 12)}'s network namespace did not report: ${(result.stderr || result.stdout).slice(-300)}`,
      `inspect with: docker run --rm --network container:${targetId.slice(0, 12)} --cap-add NET_ADMIN ${AGENT_IMAGE} fl-agent show`,
    );
  }
  return {
    removed: (verdict.removed as string[] | undefined) ?? [],
    leftovers: (verdict.leftovers as string[] | undefined) ?? [],
  };
}

/** iptables (both backends), tc and links of a container's namespace, as the agent prints them. */
export async function showRules(runtime: DockerRuntime, targetId: string): Promise<string> {
  const result = await runtime.helpers.run(
    {
      image: AGENT_IMAGE,
      cmd: ["fl-agent", "show"],
      role: "probe",
      networkMode: `container:${targetId}`,
      capAdd: ["NET_ADMIN"],
    },
    { timeoutMs: 20_000 },
  );
  return result.stdout;
}

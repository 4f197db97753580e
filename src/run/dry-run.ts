/**
 * Dry run: the same runner and the same faults, over a runtime whose reads reach the engine and whose
 * writes are only described. So the dry run shows every call a real run would make, and changes nothing.
 *
 * The faults go through the same code paths as in a real run, so what they wait for has to happen:
 * - A helper that can touch nothing outside itself (no network, no mounts, no shared PID namespace, no
 *   cgroup parent, unprivileged) really runs: the agent's kernel capability probe is such a read, and
 *   only the kernel can say whether a network fault will use tc or iptables, so the described rules are
 *   the ones a real run would install.
 * - Every other helper is simulated: it "runs" until stopped, and a network agent prints what the real
 *   one does (its rules applied, then reverted on SIGTERM). The commands the agent would run inside the
 *   target's namespace are described, one call per line.
 * - Described lifecycle writes are remembered per container (stopped, paused …), so the revert a real
 *   run would make (docker start, docker unpause) is described too.
 */
import type {
  ContainerInfo,
  ContainerSelector,
  ContainerState,
  DockerRuntime,
  HelperResult,
  HelperRunner,
  HelperSpec,
  ImageStore,
} from "../docker/types.js";
import { sparseContainerInfo } from "../docker/types.js";
import { OperationTimeoutError, TargetNotFoundError } from "../errors.js";

/** What a simulated network agent prints, as the real one does (see images/agent/fl-agent.py). */
const AGENT_READY = 'FAULTLINE-READY {"backend":"dry-run","ports":{},"reset":null}';
const AGENT_REVERTED = 'FAULTLINE-REVERTED {"reason":"SIGTERM","errors":[],"leftovers":[]}';
const AGENT_CLEANED = 'FAULTLINE-CLEANED {"errors":[],"leftovers":[]}';
/** Signals after which a container (or a simulated helper) is taken to have exited. */
const ENDING_SIGNALS = new Set(["SIGKILL", "SIGTERM", "SIGINT", "KILL", "TERM", "INT", "9", "15", "2"]);

/** The parts of an agent's run/cleanup spec a dry run describes (src/faults/network/agent-runner.ts). */
interface AgentSpecView {
  faultId?: string;
  apply?: string[][];
  revert?: string[][];
  proxy?: {
    mode?: "delay" | "http" | "dns";
    listeners?: { name: string; toUpstreamMs?: number; toDownstreamMs?: number }[];
    status?: number;
    delayMs?: number;
    rcode?: string;
  };
  resetFlows?: { method: string; commands: string[][] };
  httpPorts?: { ports: number[]; detect?: { hosts: string[]; candidates: number[] } };
}

/** What the agent's proxy does, in words (pure). */
function describeProxy(proxy: NonNullable<AgentSpecView["proxy"]>, listener: string): string {
  const on = `on {${listener}}`;
  if (proxy.mode === "http") {
    const does = [
      ...(proxy.delayMs ? [`delays selected requests ${proxy.delayMs}ms`] : []),
      ...(proxy.status !== undefined ? [`answers selected requests ${proxy.status}`] : []),
    ];
    return `start the HTTP fault proxy ${on} (${does.join(", then ")}; the rest passes untouched)`;
  }
  if (proxy.mode === "dns") return `start the DNS responder ${on} (answers ${proxy.rcode?.toUpperCase()})`;
  const l = proxy.listeners?.find((x) => x.name === listener);
  return `start the delay proxy ${on} (+${l?.toUpstreamMs ?? 0}ms upstream, +${l?.toDownstreamMs ?? 0}ms downstream)`;
}

/** Where an http fault's "{httpPort}" commands apply, in words (pure). */
function describeHttpPorts(ports: NonNullable<AgentSpecView["httpPorts"]>): string {
  if (ports.ports.length) return `{httpPort} is ${ports.ports.join(", ")}: one command per port`;
  const hosts = ports.detect?.hosts ?? [];
  return hosts.length
    ? `{httpPort}: the ports of ${hosts.join(", ")} answering HTTP (probed with OPTIONS *), one command per port`
    : "{httpPort}: the ports listening here that answer HTTP (probed with OPTIONS *), one command per port";
}

interface SimulatedHelper {
  id: string;
  spec: HelperSpec;
  state: "running" | "exited" | "removed";
  lines: { line: string; stream: "stdout" | "stderr" }[];
  /** Woken on every new line and state change. */
  listeners: Set<() => void>;
}

/**
 * A helper that cannot change anything outside its own container, so running it for real is a read:
 * no network (a private, empty namespace), no mounts, no foreign PID namespace or cgroup, unprivileged.
 */
export function isSelfContainedHelper(spec: HelperSpec): boolean {
  return (
    spec.networkMode === "none" &&
    !spec.binds?.length &&
    !spec.pidMode &&
    !spec.privileged &&
    !spec.cgroupParent
  );
}

/** `fl-agent run|cleanup <spec>` → the mode and its spec, or undefined for any other command. */
export function agentInvocation(
  cmd: readonly string[],
): { mode: "run" | "cleanup"; spec: AgentSpecView } | undefined {
  const [program, mode, json] = cmd;
  if (program !== "fl-agent" || (mode !== "run" && mode !== "cleanup") || json === undefined)
    return undefined;
  try {
    return { mode, spec: JSON.parse(json) as AgentSpecView };
  } catch {
    return undefined;
  }
}

/** The commands an agent would run in the target's namespace, one line each (pure). */
export function describeAgentCommands(
  mode: "run" | "cleanup" | "revert",
  spec: AgentSpecView,
  where: string,
): string[] {
  const line = (argv: readonly string[]) => `  in ${where}: ${argv.join(" ")}`;
  if (mode === "revert" || mode === "cleanup") {
    const lines = (spec.revert ?? []).map(line);
    lines.push(`  in ${where}: remove every rule and chain tagged ${spec.faultId ?? "with the fault's id"}`);
    return lines;
  }
  const lines: string[] = [];
  if (spec.httpPorts) lines.push(`  in ${where}: ${describeHttpPorts(spec.httpPorts)}`);
  for (const l of spec.proxy?.listeners ?? [])
    lines.push(`  in ${where}: ${describeProxy(spec.proxy!, l.name)}`);
  lines.push(...(spec.apply ?? []).map(line));
  if (spec.resetFlows) {
    lines.push(
      ...spec.resetFlows.commands.map(
        (c) => `${line(c)} (resets established flows: ${spec.resetFlows?.method})`,
      ),
    );
  }
  return lines;
}

export function dryRunRuntime(real: DockerRuntime, onCall: (call: string) => void): DockerRuntime {
  let helperCount = 0;
  const simulated = new Map<string, SimulatedHelper>();
  /** Containers whose state a described write would have changed, by full id. */
  const assumedState = new Map<string, ContainerState>();
  const short = (id: string) => (/^[0-9a-f]{64}$/.test(id) ? id.slice(0, 12) : id);

  const wake = (h: SimulatedHelper) => {
    for (const l of h.listeners) l();
  };
  const emit = (h: SimulatedHelper, line: string) => {
    h.lines.push({ line, stream: "stdout" });
    wake(h);
  };
  /** The helper ends as its real counterpart would on `signal`: an agent reverts first (not on SIGKILL). */
  const end = (h: SimulatedHelper, signal: string) => {
    if (agentInvocation(h.spec.cmd)?.mode === "run" && !/KILL|^9$/.test(signal)) {
      emit(h, AGENT_REVERTED);
    }
    h.state = h.spec.autoRemove ? "removed" : "exited";
    wake(h);
  };
  /** Resolves once `ready()` holds, or rejects after `timeoutMs` / on abort. */
  const until = (h: SimulatedHelper, ready: () => boolean, timeoutMs: number, signal?: AbortSignal) =>
    new Promise<void>((resolve, reject) => {
      if (ready()) return resolve();
      const cleanup = () => {
        clearTimeout(timer);
        h.listeners.delete(check);
        signal?.removeEventListener("abort", onAbort);
      };
      const check = () => {
        if (ready()) {
          cleanup();
          resolve();
        }
      };
      const onAbort = () => {
        cleanup();
        reject(new OperationTimeoutError(`helper ${h.id} aborted`));
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new OperationTimeoutError(`helper ${h.id} did not finish in ${timeoutMs} ms`));
      }, timeoutMs);
      h.listeners.add(check);
      signal?.addEventListener("abort", onAbort, { once: true });
    });

  /** Where an agent runs, in words: the target container's name when the engine knows it. */
  const namespaceOf = async (spec: HelperSpec): Promise<string> => {
    const target = spec.networkMode?.startsWith("container:") ? spec.networkMode.slice(10) : undefined;
    if (!target) return "the agent's own namespace";
    const info = await real.inspect(target).catch(() => undefined);
    return `${info?.name ?? short(target)}'s network namespace`;
  };

  const describeAgent = async (spec: HelperSpec, mode: "run" | "cleanup" | "revert") => {
    const agent = agentInvocation(spec.cmd);
    if (!agent) return;
    for (const line of describeAgentCommands(mode, agent.spec, await namespaceOf(spec))) onCall(line);
  };

  /** A signal to a simulated helper: an agent describes the revert it runs on SIGTERM, then it ends. */
  const signalHelper = async (h: SimulatedHelper, signal: string) => {
    const sig = signal.toUpperCase();
    if (h.state !== "running" || !ENDING_SIGNALS.has(sig)) return;
    if (agentInvocation(h.spec.cmd)?.mode === "run" && !/KILL|^9$/.test(sig)) {
      await describeAgent(h.spec, "revert");
    }
    end(h, sig);
  };

  const helpers: HelperRunner = {
    async run(spec, options) {
      if (isSelfContainedHelper(spec)) {
        onCall(`docker run --rm ${describeHelper(spec)}   # a read: it really runs, and changes nothing`);
        return real.helpers.run(spec, options);
      }
      onCall(`docker run --rm ${describeHelper(spec)}`);
      const agent = agentInvocation(spec.cmd);
      if (agent?.mode === "cleanup") {
        await describeAgent(spec, "cleanup");
        return { exitCode: 0, stdout: `${AGENT_CLEANED}\n`, stderr: "" };
      }
      return { exitCode: 0, stdout: "", stderr: "" };
    },
    async start(spec) {
      const id = `dry-run-helper-${++helperCount}`;
      onCall(`docker run -d ${describeHelper(spec)}`);
      await describeAgent(spec, "run");
      const helper: SimulatedHelper = { id, spec, state: "running", lines: [], listeners: new Set() };
      simulated.set(id, helper);
      // The agent's rules are "in effect" at once; stress-ng and watchdogs just keep running.
      if (agentInvocation(spec.cmd)?.mode === "run") emit(helper, AGENT_READY);
      return id;
    },
    async wait(id, options) {
      const h = simulated.get(id);
      if (!h) return real.helpers.wait(id, options);
      const gone = options?.condition === "removed";
      await until(
        h,
        () => (gone ? h.state === "removed" : h.state !== "running"),
        options?.timeoutMs ?? 60_000,
      );
      return h.state === "removed" && gone ? -1 : 0;
    },
    async output(id) {
      const h = simulated.get(id);
      if (!h) return real.helpers.output(id);
      const text = (stream: "stdout" | "stderr") =>
        h.lines
          .filter((l) => l.stream === stream)
          .map((l) => `${l.line}\n`)
          .join("");
      return { exitCode: 0, stdout: text("stdout"), stderr: text("stderr") } satisfies HelperResult;
    },
    async follow(id, onLine, signal) {
      const h = simulated.get(id);
      if (!h) return real.helpers.follow(id, onLine, signal);
      if (h.state === "removed") throw new TargetNotFoundError(`no container named "${id}"`);
      let delivered = 0;
      const deliver = () => {
        for (; delivered < h.lines.length; delivered++) {
          const l = h.lines[delivered]!;
          onLine(l.line, l.stream);
        }
      };
      deliver();
      const check = () => deliver();
      h.listeners.add(check);
      try {
        await until(h, () => h.state !== "running", 24 * 3600_000, signal).catch(() => undefined);
        deliver();
      } finally {
        h.listeners.delete(check);
      }
    },
    async remove(id) {
      onCall(`docker rm -f ${short(id)}`);
      const h = simulated.get(id);
      if (h) {
        h.state = "removed";
        wake(h);
      }
    },
    listOwned: (labels) => real.helpers.listOwned(labels),
  };

  const images: ImageStore = {
    exists: (tag) => real.images.exists(tag),
    async build(contextDir, tag) {
      onCall(`docker build -t ${tag} ${contextDir}`);
    },
  };

  const withAssumedState = (info: ContainerInfo): ContainerInfo => {
    const state = assumedState.get(info.id);
    return state ? { ...info, state, pid: state === "running" || state === "paused" ? info.pid : 0 } : info;
  };
  const assume = async (id: string, state: ContainerState) => {
    const info = await real.inspect(id).catch(() => undefined);
    if (info) assumedState.set(info.id, state);
  };

  return {
    helpers,
    images,
    ping: () => real.ping(),
    info: () => real.info(),
    async list(selector: ContainerSelector) {
      const infos = (await real.list(selector)).map(withAssumedState);
      return selector.all ? infos : infos.filter((i) => i.state === "running" || i.state === "paused");
    },
    async inspect(id) {
      const h = simulated.get(id);
      if (h) {
        if (h.state === "removed") throw new TargetNotFoundError(`no container named "${id}"`);
        return simulatedInfo(h);
      }
      return withAssumedState(await real.inspect(id));
    },
    tail: (id, lines, options) => real.tail(id, lines, options),
    follow: (id, onLine, signal) => real.follow(id, onLine, signal),
    stats: (id, options) => real.stats(id, options),
    async stop(id, timeoutSeconds = 10) {
      onCall(`docker stop -t ${timeoutSeconds} ${short(id)}`);
      const h = simulated.get(id);
      if (h) await signalHelper(h, "SIGTERM");
      else await assume(id, "exited");
    },
    async start(id) {
      onCall(`docker start ${short(id)}`);
      await assume(id, "running");
    },
    async kill(id, signal) {
      onCall(`docker kill --signal ${signal} ${short(id)}`);
      const h = simulated.get(id);
      if (h) await signalHelper(h, signal);
      else if (ENDING_SIGNALS.has(signal.toUpperCase())) await assume(id, "exited");
    },
    async pause(id) {
      onCall(`docker pause ${short(id)}`);
      await assume(id, "paused");
    },
    async unpause(id) {
      onCall(`docker unpause ${short(id)}`);
      await assume(id, "running");
    },
    async restart(id, timeoutSeconds = 10) {
      onCall(`docker restart -t ${timeoutSeconds} ${short(id)}`);
      await assume(id, "running");
    },
  };
}

/** The engine's view of a simulated helper: only what faults read (state, name, labels). */
function simulatedInfo(h: SimulatedHelper): ContainerInfo {
  return sparseContainerInfo({
    id: h.id,
    name: h.spec.name ?? h.id,
    image: h.spec.image,
    command: h.spec.cmd,
    state: h.state === "running" ? "running" : "exited",
    labels: { "faultline.owned": "true", "faultline.role": h.spec.role, ...h.spec.labels },
    env: h.spec.env ?? [],
    networkMode: h.spec.networkMode ?? "",
    cgroupParent: h.spec.cgroupParent ?? "",
  });
}

/** Helper container as a docker command line; long inline scripts and agent specs are elided. */
export function describeHelper(spec: HelperSpec): string {
  const parts: string[] = [`--label faultline.role=${spec.role}`];
  for (const [k, v] of Object.entries(spec.labels ?? {})) parts.push(`--label ${k}=${v}`);
  if (spec.name) parts.push(`--name ${spec.name}`);
  if (spec.networkMode) parts.push(`--network ${spec.networkMode}`);
  if (spec.pidMode) parts.push(`--pid ${spec.pidMode}`);
  for (const c of spec.capAdd ?? []) parts.push(`--cap-add ${c}`);
  if (spec.privileged) parts.push("--privileged");
  if (spec.cgroupParent) parts.push(`--cgroup-parent ${spec.cgroupParent}`);
  for (const b of spec.binds ?? []) parts.push(`-v ${b}`);
  if (spec.autoRemove) parts.push("--rm");
  const agent = agentInvocation(spec.cmd);
  const cmd = agent
    ? ["fl-agent", agent.mode, `<spec of ${agent.spec.faultId ?? "the fault"}: commands below>`]
    : spec.cmd.map((a) => (a.includes("\n") || a.length > 200 ? "<script>" : a));
  return [...parts, spec.image, ...cmd].join(" ");
}

/**
 * What the kernel under the Docker engine offers network faults, detected once per engine and cached,
 * by running the agent in a throwaway namespace (tc/iptables answer for themselves).
 */
import type { DockerRuntime } from "../../docker/types.js";
import { FaultInjectionError } from "../../errors.js";
import { AGENT_IMAGE, ensureAgentImage } from "../../images/agent.js";
import type { NetworkCapabilities } from "./rules.js";

export type { NetworkCapabilities } from "./rules.js";

const networkCache = new WeakMap<DockerRuntime, Promise<NetworkCapabilities>>();

/** Parses the agent's `caps` line; absent features are false. */
export function parseCapabilities(stdout: string): NetworkCapabilities {
  const line = stdout
    .split("\n")
    .map((l) => l.trim())
    .find((l) => l.startsWith("{"));
  if (!line)
    throw new FaultInjectionError("the agent did not report kernel capabilities", stdout.slice(0, 200));
  const raw = JSON.parse(line) as Record<string, unknown>;
  const flag = (k: string) => raw[k] === true;
  return {
    netem: flag("netem"),
    tbf: flag("tbf"),
    htb: flag("htb"),
    ifb: flag("ifb"),
    statistic: flag("statistic"),
    owner: flag("owner"),
    string: flag("string"),
    conntrack: flag("conntrack"),
    redirect: flag("redirect"),
    sockDestroy: flag("sockDestroy"),
    conntrackDelete: flag("conntrackDelete"),
    iptablesBackend: typeof raw.iptablesBackend === "string" ? raw.iptablesBackend : "nft",
  };
}

async function detectNetwork(runtime: DockerRuntime): Promise<NetworkCapabilities> {
  await ensureAgentImage(runtime);
  const result = await runtime.helpers.run(
    {
      image: AGENT_IMAGE,
      cmd: ["fl-agent", "caps"],
      role: "probe",
      networkMode: "none",
      capAdd: ["NET_ADMIN"],
    },
    { timeoutMs: 20_000 },
  );
  if (result.exitCode !== 0) {
    throw new FaultInjectionError(
      `kernel capability probe failed (exit ${result.exitCode})`,
      result.stderr.slice(0, 300),
    );
  }
  return parseCapabilities(result.stdout);
}

/** Network features of the engine's kernel (sch_netem, tbf, htb, ifb, iptables matches), cached per engine. */
export function networkCapabilities(runtime: DockerRuntime): Promise<NetworkCapabilities> {
  let cached = networkCache.get(runtime);
  if (!cached) {
    cached = detectNetwork(runtime);
    // A failed probe is not cached: the next fault tries again.
    cached.catch(() => networkCache.delete(runtime));
    networkCache.set(runtime, cached);
  }
  return cached;
}

/** One line for logs and skipped tests: which network mechanisms this kernel allows. */
export function describeCapabilities(c: NetworkCapabilities): string {
  const yes = (b: boolean) => (b ? "yes" : "no");
  return (
    `sch_netem=${yes(c.netem)} tbf=${yes(c.tbf)} htb=${yes(c.htb)} ifb=${yes(c.ifb)} ` +
    `iptables(${c.iptablesBackend}) statistic=${yes(c.statistic)} owner=${yes(c.owner)} string=${yes(c.string)} ` +
    `sock-destroy=${yes(c.sockDestroy)} conntrack-delete=${yes(c.conntrackDelete)}`
  );
}

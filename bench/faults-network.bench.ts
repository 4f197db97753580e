/**
 * Network faults, per kind, median of a few repeats, next to the SAME operation done by hand in the same
 * run: the same iptables/tc commands (faultline's pure rule builder, src/faults/network/rules.ts) run
 * with `docker run --rm --network container:<id> --cap-add NET_ADMIN <agent> sh -c '...'`, then their
 * removal the same way.
 * - injectMs: request to rules applied, the fsync'd journal intent and updates included;
 * - revertMs: revert request to agent stopped, rules gone, helper removed, journal closed.
 * After each faultline injection the rules are checked from outside (`fl-agent show` in the target's
 * namespace, not timed). Everything the bench creates is labelled and removed.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { connectDocker } from "../src/docker/engine.js";
import { AGENT_IMAGE, AGENT_PROXY_UID, ensureAgentImage } from "../src/images/agent.js";
import { describeCapabilities, networkCapabilities } from "../src/faults/network/capabilities.js";
import type { ResolvedService } from "../src/faults/fault.js";
import { showRules } from "../src/faults/network/agent-runner.js";
import { networkFamily } from "../src/faults/network/index.js";
import { parseNetworkOptions, type NetworkKind } from "../src/faults/network/options.js";
import { buildRulePlan, tcHandle, type NetworkCapabilities } from "../src/faults/network/rules.js";
import { Journal } from "../src/run/journal.js";
import { docker } from "./docker-cli.js";
import { journalledFaults } from "./journalled.js";
import { median, ratio, type BenchContext, type BenchModule, type BenchResult } from "./types.js";

const TARGET_MS = 1500;
const REPEAT = Math.max(1, Number(process.env.FAULTLINE_BENCH_REPEAT ?? 3));
const LABEL = "faultline-bench.kind=faults-network";
const PEER_IMAGE = "faultline-test/netpeer:2";
const PEER_CONTEXT = join(
  dirname(fileURLToPath(import.meta.url)),
  "../test/integration/fixtures/faults-network",
);

const KINDS: { kind: NetworkKind; options: Record<string, unknown> }[] = [
  { kind: "latency", options: { latency: "100ms", jitter: "10ms" } },
  { kind: "loss", options: { percent: 10 } },
  { kind: "bandwidth", options: { rate: "10mbit" } },
  { kind: "partition", options: { peers: "peer" } },
  { kind: "dns", options: { name: "peer" } },
];

/** One shell line from the plan's commands; `iptables` is the backend Docker uses in that namespace. */
function byHand(commands: string[][], caps: NetworkCapabilities, strict: boolean): string {
  const iptables = ["legacy", "nft"].includes(caps.iptablesBackend)
    ? `iptables-${caps.iptablesBackend}`
    : "iptables";
  const quote = (a: string) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, "'\\''")}'`);
  const lines = commands.map((c) =>
    c
      .map((a, i) => (i === 0 && a === "iptables" ? iptables : a.replace(/\{(outPort|inPort)\}/g, "15001")))
      .map(quote)
      .join(" "),
  );
  return lines.join(strict ? " && " : " ; ");
}

async function run(ctx: BenchContext): Promise<BenchResult> {
  const runtime = connectDocker();
  const suffix = randomBytes(3).toString("hex");
  const network = `fl-bench-net-${suffix}`;
  const created: string[] = [];
  const runId = `bench-${suffix}`;
  const stateDir = await mkdtemp(join(tmpdir(), "faultline-bench-net-"));
  const journal = new Journal(stateDir);
  try {
    await ensureAgentImage(runtime);
    if (!(await runtime.images.exists(PEER_IMAGE))) await runtime.images.build(PEER_CONTEXT, PEER_IMAGE);
    const caps = await networkCapabilities(runtime);
    ctx.log(`kernel: ${describeCapabilities(caps)}`);
    await docker(["network", "create", "--label", LABEL, network]);
    for (const role of ["target", "peer"]) {
      const id = (
        await docker([
          "run",
          "-d",
          "--label",
          LABEL,
          "--name",
          `fl-bench-${role}-${suffix}`,
          "--network",
          network,
          "--network-alias",
          role,
          PEER_IMAGE,
        ])
      ).stdout.trim();
      created.push(id);
    }
    const resolve = async (idOrName: string, service: string): Promise<ResolvedService> => {
      const info = await runtime.inspect(idOrName);
      return { service, containerId: info.id, containerName: info.name, ips: info.networks.map((n) => n.ip) };
    };
    const target = await resolve(created[0]!, "target");
    const deps = {
      runtime,
      resolveService: (name: string) => resolve(name === "peer" ? created[1]! : name, name),
    };
    const journalled = journalledFaults(runtime, journal, runId);
    const inNamespace = (script: string) =>
      docker([
        "run",
        "--rm",
        "--label",
        LABEL,
        "--network",
        `container:${target.containerId}`,
        "--cap-add",
        "NET_ADMIN",
        AGENT_IMAGE,
        "sh",
        "-c",
        script,
      ]);

    const metrics: Record<string, number> = {};
    const baseline: Record<string, number> = {};
    const ratios: Record<string, number> = {};
    const notes: string[] = [`kernel: ${describeCapabilities(caps)}`];
    let pass = true;
    let unverified = 0;
    for (const { kind, options } of KINDS) {
      const ours = { inject: [] as number[], revert: [] as number[] };
      const theirs = { inject: [] as number[], revert: [] as number[] };
      for (let i = 0; i < REPEAT; i++) {
        if (ctx.signal.aborted) throw ctx.signal.reason;
        const t0 = performance.now();
        const fault = await networkFamily.create(kind, target, options, 60_000, deps);
        await journalled.inject(fault, ctx.signal);
        const t1 = performance.now();
        const { tag } = fault.journalEntry().undo as { tag: string };
        const shown = await showRules(runtime, target.containerId);
        if (!shown.includes(tag) && !shown.includes(fault.id) && !shown.includes(`${tcHandle(tag)}:`)) {
          unverified++;
          notes.push(`${kind}: rules of ${fault.id} not visible from outside after inject`);
        }
        const t2 = performance.now();
        await journalled.revert(fault);
        const t3 = performance.now();
        ours.inject.push(t1 - t0);
        ours.revert.push(t3 - t2);
        if (i === 0) notes.push(`${kind}: ${fault.describe()}`);

        // The same rules by hand: one docker run to apply them, one to remove them.
        const plan = buildRulePlan({
          faultId: `hand-${suffix}-${i}`,
          tag: randomBytes(4).toString("hex"),
          options: parseNetworkOptions(kind, options),
          peerIps: kind === "partition" ? (await deps.resolveService("peer")).ips : [],
          caps,
          proxyUid: AGENT_PROXY_UID,
        });
        if (i === 0 && plan.proxy)
          notes.push(`${kind} by hand: the ${plan.mechanism} rules only, no delay proxy`);
        theirs.inject.push(await timed(() => inNamespace(byHand(plan.apply, caps, true))));
        theirs.revert.push(await timed(() => inNamespace(byHand(plan.revert, caps, false))));
      }
      for (const phase of ["inject", "revert"] as const) {
        const key = `${kind}.${phase}Ms`;
        metrics[key] = Math.round(median(ours[phase]));
        baseline[key] = Math.round(median(theirs[phase]));
        ratios[key] = ratio(median(ours[phase]), median(theirs[phase]));
        pass &&= metrics[key] < TARGET_MS;
      }
      ctx.log(
        `${kind}: in effect after ${metrics[`${kind}.injectMs`]} ms (by hand ${baseline[`${kind}.injectMs`]} ms), ` +
          `reverted in ${metrics[`${kind}.revertMs`]} ms (by hand ${baseline[`${kind}.revertMs`]} ms)`,
      );
    }
    notes.push(
      `rules checked from outside after every injection: ${REPEAT * KINDS.length - unverified} of ${REPEAT * KINDS.length} visible`,
    );
    return {
      name: "faults-network",
      metrics,
      baseline,
      ratios,
      target: `every kind: injectMs < ${TARGET_MS} and revertMs < ${TARGET_MS} (medians of ${REPEAT}, journal fsyncs and helper included); rules visible after every injection`,
      pass: pass && unverified === 0,
      notes,
    };
  } finally {
    await rm(stateDir, { recursive: true, force: true });
    const leftovers = await runtime.helpers.listOwned([`faultline.run=${runId}`]).catch(() => []);
    for (const h of leftovers) await runtime.helpers.remove(h.id).catch(() => undefined);
    for (const id of created) await docker(["rm", "-f", id]).catch(() => undefined);
    await docker(["network", "rm", network]).catch(() => undefined);
  }
}

async function timed(work: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await work();
  return performance.now() - started;
}

const module: BenchModule = {
  name: "faults-network",
  description:
    "network fault inject/revert latency per kind vs the same rules applied by hand with the docker CLI",
  timeoutMs: 5 * 60_000,
  run,
};
export default module;

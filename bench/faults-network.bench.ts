/**
 * Network faults: time from request to fault in effect (agent reports its rules applied) and to full
 * revert (agent stopped, rules gone, container removed), per kind, median of a few repeats. Baseline in
 * the same run: the bare helper start cost, `docker run --rm --network container:<id> --cap-add NET_ADMIN
 * <agent> true` through the docker CLI. Everything it creates is labelled and removed.
 */
import { randomBytes } from "node:crypto";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { connectDocker } from "../src/docker/engine.js";
import { AGENT_IMAGE, ensureAgentImage } from "../src/faults/agent.js";
import { describeCapabilities, networkCapabilities } from "../src/faults/capabilities.js";
import type { FaultContext, ResolvedService } from "../src/faults/fault.js";
import { networkFamily } from "../src/faults/network/index.js";
import type { NetworkKind } from "../src/faults/network/options.js";
import { docker } from "./docker-cli.js";
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

async function run(ctx: BenchContext): Promise<BenchResult> {
  const runtime = connectDocker();
  const suffix = randomBytes(3).toString("hex");
  const network = `fl-bench-net-${suffix}`;
  const created: string[] = [];
  const runId = `bench-${suffix}`;
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
    const faultCtx: FaultContext = { runtime, runId, record: async () => undefined };

    const baselineRuns: number[] = [];
    for (let i = 0; i < REPEAT; i++) {
      const t = performance.now();
      await docker([
        "run",
        "--rm",
        "--label",
        LABEL,
        "--network",
        `container:${target.containerId}`,
        "--cap-add",
        "NET_ADMIN",
        AGENT_IMAGE,
        "true",
      ]);
      baselineRuns.push(performance.now() - t);
    }
    const helperStartMs = Math.round(median(baselineRuns));

    const metrics: Record<string, number> = {};
    const baseline: Record<string, number> = { helperStartMs };
    const ratios: Record<string, number> = {};
    const notes: string[] = [`kernel: ${describeCapabilities(caps)}`];
    let pass = true;
    for (const { kind, options } of KINDS) {
      const injects: number[] = [];
      const reverts: number[] = [];
      for (let i = 0; i < REPEAT; i++) {
        if (ctx.signal.aborted) throw ctx.signal.reason;
        const t0 = performance.now();
        const fault = await networkFamily.create(kind, target, options, 60_000, deps);
        await fault.inject(faultCtx, ctx.signal);
        const t1 = performance.now();
        await fault.revert(faultCtx);
        const t2 = performance.now();
        injects.push(t1 - t0);
        reverts.push(t2 - t1);
        if (i === 0) notes.push(`${kind}: ${fault.describe()}`);
      }
      const injectMs = Math.round(median(injects));
      const revertMs = Math.round(median(reverts));
      metrics[`${kind}.injectMs`] = injectMs;
      metrics[`${kind}.revertMs`] = revertMs;
      ratios[`${kind}.injectMs`] = ratio(injectMs, helperStartMs);
      ratios[`${kind}.revertMs`] = ratio(revertMs, helperStartMs);
      pass &&= injectMs < TARGET_MS && revertMs < TARGET_MS;
      ctx.log(
        `${kind}: in effect after ${injectMs} ms, reverted in ${revertMs} ms (helper start ${helperStartMs} ms)`,
      );
    }
    return {
      name: "faults-network",
      metrics,
      baseline,
      ratios,
      target: `every kind: injectMs < ${TARGET_MS} and revertMs < ${TARGET_MS} (medians of ${REPEAT}, helper included)`,
      pass,
      notes,
    };
  } finally {
    const leftovers = await runtime.helpers.listOwned([`faultline.run=${runId}`]).catch(() => []);
    for (const h of leftovers) await runtime.helpers.remove(h.id).catch(() => undefined);
    for (const id of created) await docker(["rm", "-f", id]).catch(() => undefined);
    await docker(["network", "rm", network]).catch(() => undefined);
  }
}

const module: BenchModule = {
  name: "faults-network",
  description: "network fault inject/revert latency per kind vs bare helper start",
  timeoutMs: 5 * 60_000,
  run,
};
export default module;

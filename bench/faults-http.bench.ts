/**
 * HTTP faults, against a baseline measured in the same run:
 * - added latency of the proxy when no request is selected: the median of many requests on one keep-alive
 *   connection from a client container, with an http fault in place whose filter matches none of them,
 *   next to the same requests with no fault; on two servers: netpeer (Python, faultline's fixture) and
 *   Debian's nginx (unlike any fixture). Goal: < 1 ms added at p50.
 * - time to fault in effect: create + journalled inject until the agent reports its rules in place, with
 *   the port given and with the port detected, next to the same rules applied by hand in one
 *   `docker run --network container:<id>` (no proxy).
 * Everything the bench creates is labelled and removed.
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
import { networkFamily } from "../src/faults/network/index.js";
import { parseNetworkOptions } from "../src/faults/network/options.js";
import { buildRulePlan, type NetworkCapabilities } from "../src/faults/network/rules.js";
import { Journal } from "../src/run/journal.js";
import { docker } from "./docker-cli.js";
import { journalledFaults } from "./journalled.js";
import { median, ratio, type BenchContext, type BenchModule, type BenchResult } from "./types.js";

const ADDED_P50_TARGET_MS = 1;
const INJECT_TARGET_MS = 2500;
const REPEAT = Math.max(1, Number(process.env.FAULTLINE_BENCH_REPEAT ?? 3));
const REQUESTS = 2000;
const LABEL = "faultline-bench.kind=faults-http";
const HERE = dirname(fileURLToPath(import.meta.url));
const PEER_IMAGE = "faultline-test/netpeer:5";
const PEER_CONTEXT = join(HERE, "../test/integration/fixtures/faults-network");
const NGINX_IMAGE = "faultline-bench/nginx:1";
const NGINX_CONTEXT = join(HERE, "http-stack");

interface Server {
  name: string;
  service: string;
  port: number;
  path: string;
}

const SERVERS: Server[] = [
  { name: "netpeer", service: "pyserver", port: 7080, path: "/items" },
  { name: "nginx", service: "nginx", port: 80, path: "/index.html" },
];

/** One shell line from a plan's commands, placeholders filled as the agent would. */
function byHand(commands: string[][], caps: NetworkCapabilities, port: number): string {
  const iptables = ["legacy", "nft"].includes(caps.iptablesBackend)
    ? `iptables-${caps.iptablesBackend}`
    : "iptables";
  return commands
    .map((c) =>
      c
        .map((a, i) => (i === 0 && a === "iptables" ? iptables : a))
        .map((a) => a.replace("{httpPort}", String(port)).replace(/\{(inPort|outPort)\}/, "15001"))
        .join(" "),
    )
    .join(" && ");
}

async function run(ctx: BenchContext): Promise<BenchResult> {
  const runtime = connectDocker();
  const suffix = randomBytes(3).toString("hex");
  const network = `fl-bench-http-${suffix}`;
  const runId = `bench-${suffix}`;
  const created = new Map<string, string>();
  const stateDir = await mkdtemp(join(tmpdir(), "faultline-bench-http-"));
  const journal = new Journal(stateDir);
  try {
    await ensureAgentImage(runtime);
    if (!(await runtime.images.exists(PEER_IMAGE))) await runtime.images.build(PEER_CONTEXT, PEER_IMAGE);
    if (!(await runtime.images.exists(NGINX_IMAGE))) await runtime.images.build(NGINX_CONTEXT, NGINX_IMAGE);
    const caps = await networkCapabilities(runtime);
    await docker(["network", "create", "--label", LABEL, network]);
    const start = async (service: string, image: string, cmd: string[] = []) => {
      const { stdout } = await docker([
        ...["run", "-d", "--label", LABEL, "--name", `fl-bench-${service}-${suffix}`],
        ...["--network", network, "--network-alias", service, image, ...cmd],
      ]);
      created.set(service, stdout.trim());
    };
    await start("pyserver", PEER_IMAGE);
    await start("nginx", NGINX_IMAGE);
    await start("client", PEER_IMAGE, ["sleep", "infinity"]);
    const resolve = async (service: string): Promise<ResolvedService> => {
      const info = await runtime.inspect(created.get(service)!);
      return { service, containerId: info.id, containerName: info.name, ips: info.networks.map((n) => n.ip) };
    };
    const deps = { runtime, resolveService: resolve };
    const journalled = journalledFaults(runtime, journal, runId);
    const medianOf = async (s: Server) => {
      const { stdout } = await docker(
        [
          "exec",
          created.get("client")!,
          "netpeer",
          "http",
          s.service,
          String(s.port),
          String(REQUESTS),
        ].concat(["GET", s.path]),
        { timeoutMs: 120_000 },
      );
      const run_ = JSON.parse(stdout.trim().split("\n").pop()!) as {
        medianMs: number;
        statuses: Record<string, number>;
        connects: number;
      };
      if (run_.statuses["200"] !== REQUESTS || run_.connects !== 1) {
        throw new Error(`${s.name}: unexpected answers ${JSON.stringify(run_)}`);
      }
      return run_.medianMs;
    };
    // Both servers answer before anything is measured (the first requests warm them up).
    for (const s of SERVERS) await medianOf(s);

    const metrics: Record<string, number> = {};
    const baseline: Record<string, number> = {};
    const ratios: Record<string, number> = {};
    const notes: string[] = [`kernel: ${describeCapabilities(caps)}`];
    let pass = true;

    for (const s of SERVERS) {
      const target = await resolve(s.service);
      const plain: number[] = [];
      const proxied: number[] = [];
      for (let i = 0; i < REPEAT; i++) {
        if (ctx.signal.aborted) throw ctx.signal.reason;
        plain.push(await medianOf(s));
        // Selects nothing: every request goes through the proxy's parse-and-forward path.
        const fault = await networkFamily.create(
          "http",
          target,
          { status: 503, path: "/never-selected*", port: s.port },
          120_000,
          deps,
        );
        await journalled.inject(fault, ctx.signal);
        try {
          proxied.push(await medianOf(s));
        } finally {
          await journalled.revert(fault);
        }
      }
      const key = `${s.name}.keepAliveP50Ms`;
      metrics[key] = round3(median(proxied));
      baseline[key] = round3(median(plain));
      ratios[key] = ratio(median(proxied), median(plain));
      metrics[`${s.name}.addedP50Ms`] = round3(median(proxied) - median(plain));
      pass &&= metrics[`${s.name}.addedP50Ms`]! < ADDED_P50_TARGET_MS;
      ctx.log(
        `${s.name}: p50 ${metrics[key]} ms through the proxy, ${baseline[key]} ms direct ` +
          `(+${metrics[`${s.name}.addedP50Ms`]} ms, ${REQUESTS} keep-alive requests, median of ${REPEAT})`,
      );
    }

    // Time to fault in effect, on the nginx target.
    const target = await resolve("nginx");
    const times = { given: [] as number[], detected: [] as number[], byHand: [] as number[] };
    for (let i = 0; i < REPEAT; i++) {
      for (const variant of ["given", "detected"] as const) {
        const t0 = performance.now();
        const fault = await networkFamily.create(
          "http",
          target,
          { status: 503, ...(variant === "given" ? { port: 80 } : {}) },
          120_000,
          deps,
        );
        await journalled.inject(fault, ctx.signal);
        times[variant].push(performance.now() - t0);
        await journalled.revert(fault);
      }
      const plan = buildRulePlan({
        faultId: `http-${suffix}${i}`,
        tag: randomBytes(4).toString("hex"),
        options: parseNetworkOptions("http", { status: 503, port: 80 }),
        peerIps: [],
        caps,
        proxyUid: AGENT_PROXY_UID,
      });
      const inNamespace = (script: string) =>
        docker([
          ...["run", "--rm", "--label", LABEL, "--network", `container:${target.containerId}`],
          ...["--cap-add", "NET_ADMIN", AGENT_IMAGE, "sh", "-c", script],
        ]);
      const t0 = performance.now();
      await inNamespace(byHand(plan.apply, caps, 80));
      times.byHand.push(performance.now() - t0);
      await inNamespace(byHand(plan.revert, caps, 80));
    }
    for (const variant of ["given", "detected"] as const) {
      const key = `injectMs.port${variant === "given" ? "Given" : "Detected"}`;
      metrics[key] = Math.round(median(times[variant]));
      baseline[key] = Math.round(median(times.byHand));
      ratios[key] = ratio(median(times[variant]), median(times.byHand));
      pass &&= metrics[key]! < INJECT_TARGET_MS;
    }
    ctx.log(
      `in effect after ${metrics["injectMs.portGiven"]} ms (port given), ${metrics["injectMs.portDetected"]} ms ` +
        `(port detected); the same rules by hand: ${baseline["injectMs.portGiven"]} ms`,
    );
    notes.push(
      "addedP50Ms = p50 through a proxy that selects nothing minus p50 direct, same client, same connection kind",
      "baseline of injectMs: the fault's iptables rules applied by hand in one docker run (no proxy, no journal)",
    );
    return {
      name: "faults-http",
      metrics,
      baseline,
      ratios,
      target: `addedP50Ms < ${ADDED_P50_TARGET_MS} on every server; injectMs < ${INJECT_TARGET_MS} (medians of ${REPEAT})`,
      pass,
      notes,
    };
  } finally {
    await rm(stateDir, { recursive: true, force: true });
    const leftovers = await runtime.helpers.listOwned([`faultline.run=${runId}`]).catch(() => []);
    for (const h of leftovers) await runtime.helpers.remove(h.id).catch(() => undefined);
    for (const id of created.values()) await docker(["rm", "-f", id]).catch(() => undefined);
    await docker(["network", "rm", network]).catch(() => undefined);
  }
}

const round3 = (n: number) => Math.round(n * 1000) / 1000;

const module: BenchModule = {
  name: "faults-http",
  description:
    "http fault proxy: added keep-alive latency when nothing is selected, and time to effect, vs direct / by hand",
  timeoutMs: 8 * 60_000,
  run,
};
export default module;

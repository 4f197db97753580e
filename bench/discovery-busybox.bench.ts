/**
 * Discovery of servers unlike the generated stack's: busybox `httpd` containers from Debian's
 * busybox-static (imported as an image, no EXPOSE, no banner, nothing in the logs), every fifth also
 * polling another with wget in a loop. Measures faultline's profiles + graph (total and per phase)
 * against a bare `docker inspect` of the same containers in the same run, and checks that exactly the
 * generated edges are found. 50 containers by default; FAULTLINE_BENCH_BUSYBOX_SIZES=50,200 adds the
 * 200 variant. Everything it creates is labelled and removed, even on failure.
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { discoverServices } from "../src/discovery/discover.js";
import { connectDocker } from "../src/docker/engine.js";
import type { DockerRuntime } from "../src/docker/types.js";
import { buildGraph } from "../src/graph/build.js";
import { DEFAULT_MIN_CONFIDENCE } from "../src/graph/order.js";
import { edgeCheck } from "./discovery.bench.js";
import { measurePhases, type PhaseTimes } from "./discovery-phases.js";
import { docker, inParallel } from "./docker-cli.js";
import { median, ratio, type BenchContext, type BenchModule, type BenchResult } from "./types.js";

const run$ = promisify(execFile);
const IMAGE = "faultline-bench/busybox:1";
const KIND_LABEL = "faultline-bench.kind=discovery-busybox";
const RUN_LABEL = "faultline-bench.run";
const DEADLINE_LABEL = "faultline-bench.deadline";
/** Target total (discovery + graph) per stack size. */
const TARGETS_MS: Record<number, number> = { 50: 2000, 200: 6000 };
const SIZES = (process.env.FAULTLINE_BENCH_BUSYBOX_SIZES ?? "50")
  .split(",")
  .map(Number)
  .filter((n) => Number.isInteger(n) && n > 0);
const REPEAT = Math.max(1, Number(process.env.FAULTLINE_BENCH_REPEAT ?? 3));
const PREFIX = process.env.FAULTLINE_BENCH_PREFIX ?? "fbb";
const POLL_EVERY = 5;

interface Member {
  name: string;
  args: string[];
  dependsOn: string[];
}

/** `size` httpd servers; every POLL_EVERY-th also polls the next one over HTTP with wget. */
export function planBusyboxStack(run: string, size: number): Member[] {
  const width = String(size - 1).length;
  const name = (i: number) => `${PREFIX}-${run}-httpd${String(i).padStart(width, "0")}`;
  return Array.from({ length: size }, (_, i) => {
    if (i % POLL_EVERY !== 0 || size < 2) {
      return {
        name: name(i),
        args: [IMAGE, "busybox", "httpd", "-f", "-p", "80", "-h", "/www"],
        dependsOn: [],
      };
    }
    const upstream = name((i + 1) % size);
    const poll =
      "busybox httpd -p 80 -h /www; " +
      'while true; do busybox wget -q -O /dev/null "$UPSTREAM" || echo "poll failed"; sleep 1; done';
    return {
      name: name(i),
      args: ["-e", `UPSTREAM=http://${upstream}/`, IMAGE, "busybox", "sh", "-c", poll],
      dependsOn: [upstream],
    };
  });
}

/** Imports busybox-static from the Debian archive as a one-binary image (no registry needed). */
async function ensureImage(context: BenchContext): Promise<void> {
  const present = await docker(["image", "inspect", IMAGE], { timeoutMs: 15_000 }).then(
    () => true,
    () => false,
  );
  if (present) return;
  context.log(`importing ${IMAGE} from Debian's busybox-static (once)`);
  const dir = await mkdtemp(join(tmpdir(), "faultline-busybox-"));
  try {
    await run$("apt-get", ["download", "busybox-static"], { cwd: dir, timeout: 120_000 });
    const deb = (await run$("sh", ["-c", "ls *.deb"], { cwd: dir })).stdout.trim();
    const root = join(dir, "root");
    await run$("dpkg-deb", ["-x", deb, root]);
    await run$(
      "sh",
      [
        "-c",
        'mkdir -p "$1/www" "$1/tmp" "$1/usr/bin" && echo ok > "$1/www/index.html" && ' +
          'ln -sf busybox "$1/bin/sh" && tar -C "$1" -c . | docker import ' +
          `-c 'CMD ["/bin/busybox","httpd","-f","-p","80","-h","/www"]' - ${IMAGE}`,
        "sh",
        root,
      ],
      { timeout: 120_000 },
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function cleanUp(run: string | undefined, context: BenchContext): Promise<void> {
  const now = Math.floor(Date.now() / 1000);
  const format = `{{.ID}} {{.Label "${RUN_LABEL}"}} {{.Label "${DEADLINE_LABEL}"}}`;
  const doomedOf = (stdout: string) =>
    stdout
      .split("\n")
      .map((l) => l.trim().split(" "))
      .filter(([id, r, deadline]) => id && (r === run || Number(deadline) < now))
      .map(([id]) => id!);
  const containers = doomedOf(
    (await docker(["ps", "-a", "--filter", `label=${KIND_LABEL}`, "--format", format], { timeoutMs: 30_000 }))
      .stdout,
  );
  for (let i = 0; i < containers.length; i += 25) {
    await docker(["rm", "-f", "-v", ...containers.slice(i, i + 25)], { timeoutMs: 120_000 }).catch(
      (e: Error) => context.log(`clean-up: ${e.message}`),
    );
  }
  const networks = doomedOf(
    (
      await docker(["network", "ls", "--filter", `label=${KIND_LABEL}`, "--format", format], {
        timeoutMs: 30_000,
      })
    ).stdout,
  );
  for (const id of networks) {
    await docker(["network", "rm", id], { timeoutMs: 30_000 }).catch((e: Error) =>
      context.log(`clean-up: ${e.message}`),
    );
  }
  if (containers.length) context.log(`removed ${containers.length} bench containers`);
}

async function startStack(run: string, members: Member[], context: BenchContext): Promise<void> {
  const deadline = String(Math.floor(Date.now() / 1000) + 30 * 60);
  const labels = [
    "--label",
    KIND_LABEL,
    "--label",
    `${RUN_LABEL}=${run}`,
    "--label",
    `${DEADLINE_LABEL}=${deadline}`,
  ];
  const network = `${PREFIX}-${run}-net`;
  await docker(["network", "create", ...labels, network], { timeoutMs: 30_000, signal: context.signal });
  await inParallel(members, 4, async (m) => {
    context.signal.throwIfAborted();
    await docker(
      ["run", "-d", "--name", m.name, "--network", network, "--memory", "16m", ...labels, ...m.args],
      {
        timeoutMs: 60_000,
        signal: context.signal,
      },
    );
  });
  context.log(`started ${members.length} containers`);
}

async function pause(ms: number, signal: AbortSignal): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      "abort",
      () => {
        clearTimeout(timer);
        reject(signal.reason);
      },
      { once: true },
    );
  });
}

async function baselineOnce(run: string): Promise<number> {
  const started = performance.now();
  const ids = await docker(["ps", "-q", "--filter", `label=${RUN_LABEL}=${run}`], { timeoutMs: 30_000 });
  await docker(["inspect", ...ids.stdout.split("\n").filter(Boolean)], { timeoutMs: 30_000 });
  return performance.now() - started;
}

interface Measurement {
  containers: number;
  totalMs: number;
  discoverMs: number;
  graphMs: number;
  edges: Set<string>;
}

async function measureOnce(runtime: DockerRuntime, run: string): Promise<Measurement> {
  const started = performance.now();
  const profiles = await discoverServices(runtime, { labels: [`${RUN_LABEL}=${run}`] }, { deep: false });
  const discoverMs = performance.now() - started;
  const graph = buildGraph(profiles);
  const totalMs = performance.now() - started;
  const byId = new Map(profiles.map((p) => [p.id, p.containerName]));
  const edges = new Set(
    graph.edges
      .filter((e) => e.confidence >= DEFAULT_MIN_CONFIDENCE)
      .map((e) => `${byId.get(e.from) ?? e.from}->${byId.get(e.to) ?? e.to}`),
  );
  return { containers: profiles.length, totalMs, discoverMs, graphMs: totalMs - discoverMs, edges };
}

async function measureSize(
  size: number,
  context: BenchContext,
  metrics: Record<string, number>,
  baseline: Record<string, number>,
  ratios: Record<string, number>,
  notes: string[],
): Promise<boolean> {
  const run = `i${Date.now().toString(36)}${Math.floor(Math.random() * 1296).toString(36)}`;
  try {
    const members = planBusyboxStack(run, size);
    await startStack(run, members, context);
    // Long enough for every poller to have made a few requests (and its sockets to show them).
    await pause(3000, context.signal);
    const runtime = connectDocker();
    const selector = { labels: [`${RUN_LABEL}=${run}`] };
    const baselines: number[] = [];
    const runs: Measurement[] = [];
    const phases: PhaseTimes[] = [];
    for (let i = 0; i <= REPEAT; i++) {
      context.signal.throwIfAborted();
      const b = await baselineOnce(run);
      const m = await measureOnce(runtime, run);
      context.log(
        `${size}: round ${i}${i === 0 ? " (warm-up)" : ""}: faultline ${Math.round(m.totalMs)} ms, docker inspect ${Math.round(b)} ms`,
      );
      if (i === 0) continue;
      baselines.push(b);
      runs.push(m);
      phases.push(await measurePhases(runtime, selector));
    }
    const expected = new Set(members.flatMap((m) => m.dependsOn.map((d) => `${m.name}->${d}`)));
    const checks = runs.map((r) => edgeCheck(expected, r.edges));
    const worst = checks.reduce((a, c) =>
      c.missing.length + c.extra.length > a.missing.length + a.extra.length ? c : a,
    );
    if (worst.missing.length) notes.push(`${size}: missing edges: ${sample(worst.missing)}`);
    if (worst.extra.length) notes.push(`${size}: unexpected edges: ${sample(worst.extra)}`);
    const totalMs = median(runs.map((r) => r.totalMs));
    const baselineMs = median(baselines);
    const key = (k: string) => `${size}.${k}`;
    metrics[key("containers")] = runs.at(-1)!.containers;
    metrics[key("totalMs")] = Math.round(totalMs);
    metrics[key("discoverMs")] = Math.round(median(runs.map((r) => r.discoverMs)));
    metrics[key("graphMs")] = Math.round(median(runs.map((r) => r.graphMs)) * 100) / 100;
    for (const p of Object.keys(phases[0]!) as (keyof PhaseTimes)[])
      metrics[key(`phase.${p}Ms`)] = Math.round(median(phases.map((r) => r[p])));
    metrics[key("edgesExpected")] = expected.size;
    metrics[key("edgesMissing")] = worst.missing.length;
    metrics[key("edgesExtra")] = worst.extra.length;
    baseline[key("totalMs")] = Math.round(baselineMs);
    ratios[key("totalMs")] = ratio(totalMs, baselineMs);
    const exact = checks.every((c) => c.missing.length === 0 && c.extra.length === 0);
    const target = TARGETS_MS[size] ?? Math.ceil(size / 50) * 2000;
    return totalMs < target && runs.at(-1)!.containers === size && exact;
  } finally {
    await cleanUp(run, context).catch((e: Error) => context.log(`clean-up failed: ${e.message}`));
  }
}

const bench: BenchModule = {
  name: "discovery-busybox",
  description: `discover + graph of ${SIZES.join(" and ")} busybox httpd containers vs docker inspect`,
  timeoutMs: 15 * 60_000,
  async run(context: BenchContext): Promise<BenchResult> {
    await cleanUp(undefined, context);
    await ensureImage(context);
    const metrics: Record<string, number> = {};
    const baseline: Record<string, number> = {};
    const ratios: Record<string, number> = {};
    const notes: string[] = [];
    let pass = true;
    for (const size of SIZES)
      pass = (await measureSize(size, context, metrics, baseline, ratios, notes)) && pass;
    return {
      name: "discovery-busybox",
      metrics,
      baseline,
      ratios,
      target:
        SIZES.map((s) => `${s}: totalMs < ${TARGETS_MS[s] ?? Math.ceil(s / 50) * 2000}`).join(", ") +
        `, and in every round exactly the generated edges (one per ${POLL_EVERY}th container) at confidence >= ${DEFAULT_MIN_CONFIDENCE}`,
      pass,
      notes: [
        `baseline: docker ps -q --filter label + docker inspect <ids> via the CLI, median of ${REPEAT}`,
        "metrics are keyed by stack size; totalMs is discoverServices + buildGraph end to end; phase.* come from a separate one-phase-at-a-time pass",
        ...(SIZES.includes(200)
          ? []
          : ["the 200-container variant runs with FAULTLINE_BENCH_BUSYBOX_SIZES=50,200"]),
        ...notes,
      ],
    };
  },
};

function sample(items: string[]): string {
  return `${items.length}: ${items.slice(0, 5).join(", ")}${items.length > 5 ? " …" : ""}`;
}

export default bench;

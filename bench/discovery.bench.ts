/**
 * Discovery of a generated 50-container stack: HTTP servers, TCP servers that hold connections open,
 * and clients that reference and call both. Measures faultline's profiles + graph (total and per
 * phase) against a baseline of plain `docker ps` + `docker inspect` of the same containers through
 * the docker CLI, in the same run. Everything it creates is labelled and removed, even on failure.
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { discoverServices } from "../src/discovery/discover.js";
import type { ServiceProfile } from "../src/discovery/profile.js";
import type { DockerRuntime } from "../src/docker/types.js";
import { connectDocker } from "../src/docker/engine.js";
import { buildGraph } from "../src/graph/build.js";
import { DEFAULT_MIN_CONFIDENCE } from "../src/graph/order.js";
import { measurePhases, type PhaseTimes } from "./discovery-phases.js";
import { docker, inParallel } from "./docker-cli.js";
import { median, ratio, type BenchContext, type BenchModule, type BenchResult } from "./types.js";

const IMAGE = "faultline-bench/discovery-node:1";
const KIND_LABEL = "faultline-bench.kind=discovery";
const RUN_LABEL = "faultline-bench.run";
const DEADLINE_LABEL = "faultline-bench.deadline";
const TARGET_MS = 3000;
const HTTP_SERVERS = 8;
const TCP_SERVERS = 8;
const CONTAINERS = Number(process.env.FAULTLINE_BENCH_CONTAINERS ?? 50);
const REPEAT = Math.max(1, Number(process.env.FAULTLINE_BENCH_REPEAT ?? 3));

interface StackMember {
  name: string;
  args: string[];
  /** Expected edges from this member (names). */
  dependsOn: string[];
}

/** The stack: servers first so clients find them; clients spread over the servers round-robin. */
export function planStack(run: string, size: number): StackMember[] {
  const members: StackMember[] = [];
  const pad = (i: number) => String(i).padStart(2, "0");
  const http = Array.from({ length: HTTP_SERVERS }, (_, i) => `fb-${run}-web${pad(i)}`);
  const tcp = Array.from({ length: TCP_SERVERS }, (_, i) => `fb-${run}-store${pad(i)}`);
  for (const name of http)
    members.push({ name, args: ["--expose", "8080", IMAGE, "http", "8080"], dependsOn: [] });
  for (const name of tcp)
    members.push({ name, args: ["--expose", "7000", IMAGE, "tcp", "7000"], dependsOn: [] });
  for (let i = 0; members.length < size; i++) {
    const h = http[i % http.length]!;
    const t = tcp[(i * 3) % tcp.length]!;
    members.push({
      name: `fb-${run}-client${pad(i)}`,
      args: ["-e", `HTTP_UPSTREAM=http://${h}:8080/`, "-e", `TCP_UPSTREAM=${t}:7000`, IMAGE, "client"],
      dependsOn: [h, t],
    });
  }
  return members;
}

async function ensureImage(context: BenchContext): Promise<void> {
  const present = await docker(["image", "inspect", IMAGE], { timeoutMs: 15_000 }).then(
    () => true,
    () => false,
  );
  if (present) return;
  context.log(`building ${IMAGE} (once)`);
  const dir = join(dirname(fileURLToPath(import.meta.url)), "discovery-stack");
  await docker(["build", "-q", "-t", IMAGE, dir], { timeoutMs: 300_000, signal: context.signal });
}

/** Removes this run's containers and network, and leftovers of runs whose deadline has passed. */
async function cleanUp(run: string | undefined, context: BenchContext): Promise<void> {
  const now = Math.floor(Date.now() / 1000);
  const listed = await docker(
    [
      "ps",
      "-a",
      "--filter",
      `label=${KIND_LABEL}`,
      "--format",
      `{{.ID}} {{.Label "${RUN_LABEL}"}} {{.Label "${DEADLINE_LABEL}"}}`,
    ],
    { timeoutMs: 30_000 },
  );
  const doomed = listed.stdout
    .split("\n")
    .map((l) => l.trim().split(" "))
    .filter(([id, r, deadline]) => id && (r === run || Number(deadline) < now))
    .map(([id]) => id!);
  for (let i = 0; i < doomed.length; i += 25) {
    await docker(["rm", "-f", "-v", ...doomed.slice(i, i + 25)], { timeoutMs: 120_000 }).catch((e: Error) =>
      context.log(`clean-up: ${e.message}`),
    );
  }
  const nets = await docker(
    [
      "network",
      "ls",
      "--filter",
      `label=${KIND_LABEL}`,
      "--format",
      `{{.ID}} {{.Label "${RUN_LABEL}"}} {{.Label "${DEADLINE_LABEL}"}}`,
    ],
    { timeoutMs: 30_000 },
  );
  for (const [id, r, deadline] of nets.stdout.split("\n").map((l) => l.trim().split(" "))) {
    if (id && (r === run || Number(deadline) < now)) {
      await docker(["network", "rm", id], { timeoutMs: 30_000 }).catch((e: Error) =>
        context.log(`clean-up: ${e.message}`),
      );
    }
  }
  if (doomed.length) context.log(`removed ${doomed.length} bench containers`);
}

async function startStack(run: string, members: StackMember[], context: BenchContext): Promise<void> {
  const deadline = String(Math.floor(Date.now() / 1000) + 30 * 60);
  const labels = [
    "--label",
    KIND_LABEL,
    "--label",
    `${RUN_LABEL}=${run}`,
    "--label",
    `${DEADLINE_LABEL}=${deadline}`,
  ];
  const network = `fb-${run}-net`;
  await docker(["network", "create", ...labels, network], { timeoutMs: 30_000, signal: context.signal });
  const servers = members.filter((m) => m.dependsOn.length === 0);
  const clients = members.filter((m) => m.dependsOn.length > 0);
  for (const group of [servers, clients]) {
    await inParallel(group, 4, async (m) => {
      context.signal.throwIfAborted();
      await docker(
        ["run", "-d", "--name", m.name, "--network", network, "--memory", "32m", ...labels, ...m.args],
        { timeoutMs: 60_000, signal: context.signal },
      );
    });
  }
  context.log(`started ${members.length} containers`);
}

/** Waits until the clients' long-lived connections exist (socat retries until servers listen). */
async function settle(context: BenchContext): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(resolve, 4000);
    context.signal.addEventListener(
      "abort",
      () => {
        clearTimeout(timer);
        reject(context.signal.reason);
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
  profiles: ServiceProfile[];
  totalMs: number;
  discoverMs: number;
  graphMs: number;
  edges: Set<string>;
}

/** What a user waits for: `discoverServices` + `buildGraph`, end to end. */
async function measureOnce(runtime: DockerRuntime, run: string): Promise<Measurement> {
  const started = performance.now();
  const profiles = await discoverServices(runtime, { labels: [`${RUN_LABEL}=${run}`] }, { deep: false });
  const discoverMs = performance.now() - started;
  const graphStarted = performance.now();
  const graph = buildGraph(profiles);
  const graphMs = performance.now() - graphStarted;
  const totalMs = performance.now() - started;
  const edges = new Set(
    graph.edges.filter((e) => e.confidence >= DEFAULT_MIN_CONFIDENCE).map((e) => `${e.from}->${e.to}`),
  );
  return { profiles, totalMs, discoverMs, graphMs, edges };
}

const bench: BenchModule = {
  name: "discovery",
  description: `discover + graph of a generated ${CONTAINERS}-container stack vs docker ps + inspect`,
  timeoutMs: 10 * 60_000,
  async run(context: BenchContext): Promise<BenchResult> {
    const run = `${Date.now().toString(36)}${Math.floor(Math.random() * 1296).toString(36)}`;
    const notes: string[] = [];
    try {
      await cleanUp(undefined, context);
      await ensureImage(context);
      const members = planStack(run, CONTAINERS);
      await startStack(run, members, context);
      await settle(context);

      const baselineTimes: number[] = [];
      const runs: Measurement[] = [];
      const phaseRuns: PhaseTimes[] = [];
      const runtime = connectDocker();
      const selector = { labels: [`${RUN_LABEL}=${run}`] };
      // Interleave so neither side benefits from a warmer engine; the first round warms both up.
      for (let i = 0; i <= REPEAT; i++) {
        context.signal.throwIfAborted();
        const b = await baselineOnce(run);
        const m = await measureOnce(runtime, run);
        context.log(
          `round ${i}${i === 0 ? " (warm-up)" : ""}: faultline ${Math.round(m.totalMs)} ms, docker CLI ${Math.round(b)} ms`,
        );
        if (i > 0) {
          baselineTimes.push(b);
          runs.push(m);
          phaseRuns.push(await measurePhases(runtime, selector));
        }
      }
      const last = runs[runs.length - 1]!;
      const expected = new Set(members.flatMap((m) => m.dependsOn.map((d) => `${m.name}->${d}`)));
      // Every measured round must find exactly the generated wiring at the ordering threshold.
      const checks = runs.map((r) => edgeCheck(expected, r.edges));
      const worst = checks.reduce((a, c) =>
        c.missing.length + c.extra.length > a.missing.length + a.extra.length ? c : a,
      );
      if (worst.missing.length) notes.push(`missing edges: ${sample(worst.missing)}`);
      if (worst.extra.length) notes.push(`unexpected edges: ${sample(worst.extra)}`);
      const found = expected.size - (checks.at(-1)?.missing.length ?? 0);
      if (last.profiles.length !== members.length)
        notes.push(`profiled ${last.profiles.length} of ${members.length} containers`);
      const changed = last.profiles.filter((p) => p.stateChange);
      if (changed.length) notes.push(`changed state during discovery: ${sample(changed.map((p) => p.id))}`);

      const totalMs = median(runs.map((r) => r.totalMs));
      const baselineMs = median(baselineTimes);
      const metrics: Record<string, number> = {
        containers: last.profiles.length,
        totalMs: round(totalMs),
        discoverMs: round(median(runs.map((r) => r.discoverMs))),
        graphMs: round(median(runs.map((r) => r.graphMs)), 2),
        ...Object.fromEntries(
          (Object.keys(phaseRuns[0]!) as (keyof PhaseTimes)[]).map((p) => [
            `phase.${p}Ms`,
            round(median(phaseRuns.map((r) => r[p]))),
          ]),
        ),
        "phase.graphMs": round(median(runs.map((r) => r.graphMs)), 2),
        edgesExpected: expected.size,
        edgesFound: found,
        edgesMissing: worst.missing.length,
        edgesExtra: worst.extra.length,
        edgeRecall: expected.size ? Math.round((found / expected.size) * 1000) / 1000 : 1,
      };
      const edgesExact = checks.every((c) => c.missing.length === 0 && c.extra.length === 0);
      const pass = totalMs < TARGET_MS && last.profiles.length === members.length && edgesExact;
      return {
        name: "discovery",
        metrics,
        baseline: { totalMs: round(baselineMs) },
        ratios: { totalMs: ratio(totalMs, baselineMs) },
        target:
          `profiles + graph of ${members.length} containers: totalMs < ${TARGET_MS}, and in every round ` +
          `exactly the ${expected.size} generated edges at confidence >= ${DEFAULT_MIN_CONFIDENCE} (none missing, none extra)`,
        pass,
        notes: [
          `baseline: docker ps -q --filter label + docker inspect <ids> via the CLI, median of ${REPEAT}`,
          "totalMs is discoverServices + buildGraph end to end; phase.* come from a separate pass that runs discovery's steps one phase at a time (so they do not sum to totalMs)",
          ...notes,
        ],
      };
    } finally {
      await cleanUp(run, context).catch((e: Error) => context.log(`clean-up failed: ${e.message}`));
    }
  },
};

/** Edges a round missed and edges it found that the generated stack does not have. */
export function edgeCheck(expected: Set<string>, found: Set<string>): { missing: string[]; extra: string[] } {
  return {
    missing: [...expected].filter((e) => !found.has(e)).sort(),
    extra: [...found].filter((e) => !expected.has(e)).sort(),
  };
}

function sample(items: string[]): string {
  return `${items.length}: ${items.slice(0, 5).join(", ")}${items.length > 5 ? " …" : ""}`;
}

function round(x: number, digits = 0): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

export default bench;

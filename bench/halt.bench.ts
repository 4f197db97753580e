/**
 * The big red button under load: 10 faults in effect through a real ChaosService (5 pauses, 5 latency
 * faults, each held by an agent container in its target's network namespace), then one halt.
 * - haltMs: from the halt request until the service reports every fault reverted (helpers removed,
 *   journal closed); then the bench checks no target is paused and no helper is left.
 * Baseline, in the same run: `docker unpause` of 10 paused containers in parallel through the CLI, the
 * least any revert of 10 faults can cost on this engine.
 * Target (issue: "all reverted within 2 s for 10 faults"): haltMs < 2000.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ChaosService } from "../src/api/service.js";
import { connectDocker } from "../src/docker/engine.js";
import { defaultRegistry } from "../src/faults/registry.js";
import { Journal } from "../src/run/journal.js";
import { docker, inParallel } from "./docker-cli.js";
import { ratio, type BenchContext, type BenchModule, type BenchResult } from "./types.js";

const IMAGE = process.env.FAULTLINE_BASE_IMAGE ?? "debian:bookworm-slim";
const TARGETS = 10;
const GOAL_MS = 2000;

async function startTargets(project: string, count: number): Promise<string[]> {
  const ids: string[] = [];
  await inParallel(
    Array.from({ length: count }, (_, i) => i),
    4,
    async (i) => {
      const { stdout } = await docker([
        "run",
        "-d",
        "--label",
        `com.docker.compose.project=${project}`,
        "--label",
        `com.docker.compose.service=svc${i}`,
        "--label",
        "faultline-bench.kind=halt",
        IMAGE,
        "perl",
        "-e",
        "$SIG{TERM} = sub { exit 0 }; sleep 1 while 1",
      ]);
      ids.push(stdout.trim());
    },
  );
  return ids;
}

async function pausedCount(ids: string[]): Promise<number> {
  const { stdout } = await docker(["inspect", "--format", "{{.State.Paused}}", ...ids]);
  return stdout.split("\n").filter((l) => l.trim() === "true").length;
}

async function helpersLeft(ids: string[]): Promise<number> {
  let left = 0;
  for (const id of ids) {
    const { stdout } = await docker([
      "ps",
      "-aq",
      "--filter",
      "label=faultline.owned=true",
      "--filter",
      `label=faultline.target=${id}`,
    ]);
    left += stdout.split("\n").filter(Boolean).length;
  }
  return left;
}

async function baselineUnpause(ids: string[]): Promise<number> {
  await inParallel(ids, ids.length, async (id) => void (await docker(["pause", id])));
  const started = performance.now();
  await inParallel(ids, ids.length, async (id) => void (await docker(["unpause", id])));
  return performance.now() - started;
}

async function run(ctx: BenchContext): Promise<BenchResult> {
  const project = `fl-bench-halt-${randomBytes(3).toString("hex")}`;
  const stateDir = await mkdtemp(join(tmpdir(), "faultline-bench-halt-"));
  let ids: string[] = [];
  let service: ChaosService | undefined;
  const notes: string[] = [];
  try {
    ctx.log(`starting ${TARGETS} targets`);
    ids = await startTargets(project, TARGETS);
    const baselineMs = await baselineUnpause(ids);
    service = new ChaosService({
      runtime: connectDocker(),
      journal: new Journal(stateDir),
      registry: defaultRegistry(),
      selector: { project },
      outDir: join(stateDir, "reports"),
      defaults: { kinds: ["pause"], durationMs: 120_000, recoveryWaitMs: 0 },
      schedule: "0 0 1 1 *",
      discoverOnStart: false,
    });
    await service.start();
    ctx.log("injecting 5 pauses and 5 latency faults");
    const started = performance.now();
    await inParallel(
      Array.from({ length: TARGETS }, (_, i) => i),
      TARGETS,
      async (i) =>
        void (await service!.injectFault({
          target: `svc${i}`,
          kind: i % 2 ? "latency" : "pause",
          options: i % 2 ? { latency: "200ms" } : {},
        })),
    );
    const injectMs = performance.now() - started;
    const inEffect = service.listFaults().active.length;
    ctx.log(`${inEffect} faults in effect after ${Math.round(injectMs)} ms; halting`);
    const haltStarted = performance.now();
    const report = await service.halt("bench halt");
    const haltMs = performance.now() - haltStarted;
    const stillPaused = await pausedCount(ids);
    const helpers = await helpersLeft(ids);
    if (report.failed.length) notes.push(`not reverted: ${JSON.stringify(report.failed)}`);
    notes.push(
      `${report.reverted.length} faults reverted by the halt; ${stillPaused} targets paused and ${helpers} helpers left after it`,
    );
    const pass =
      haltMs < GOAL_MS &&
      inEffect === TARGETS &&
      report.reverted.length === TARGETS &&
      report.failed.length === 0 &&
      stillPaused === 0 &&
      helpers === 0;
    return {
      name: "halt",
      metrics: { haltMs: Math.round(haltMs), injectMs: Math.round(injectMs), faults: inEffect },
      baseline: { haltMs: Math.round(baselineMs) },
      ratios: { haltMs: ratio(haltMs, baselineMs) },
      target: `haltMs < ${GOAL_MS} with all ${TARGETS} faults reverted and nothing left`,
      pass,
      notes,
    };
  } finally {
    await service?.shutdown("bench done").catch(() => undefined);
    if (ids.length) await docker(["rm", "-f", ...ids]).catch(() => undefined);
    await rm(stateDir, { recursive: true, force: true });
  }
}

const bench: BenchModule = {
  name: "halt",
  description: `halt of ${TARGETS} faults (pause and latency) in effect through the service`,
  timeoutMs: 5 * 60_000,
  run,
};
export default bench;

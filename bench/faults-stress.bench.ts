/**
 * Stress faults (cpu, memory), median of a few repeats, next to the SAME helper started by hand in the
 * same run: `docker run -d --rm <placement> <agent> stress-ng ...` with the placement and arguments
 * faultline's pure builders choose (src/faults/stress/placement.ts), removed with `docker rm -f`.
 * - injectMs: request to stress-ng running in the target's cgroup (journal fsyncs and faultline's
 *   start-up check included: a helper that dies at once is an error, not a fault in effect);
 * - revertMs: revert request to helper gone and journal closed.
 * After each injection the helper is checked from outside (inspect: running). Everything is removed.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connectDocker } from "../src/docker/engine.js";
import { AGENT_IMAGE, ensureAgentImage } from "../src/images/agent.js";
import {
  cgroupLayout,
  stressFamily,
  parseStressOptions,
  type StressKind,
} from "../src/faults/stress/index.js";
import { stressArgs, stressPlacement } from "../src/faults/stress/placement.js";
import { Journal } from "../src/run/journal.js";
import { TargetResolver } from "../src/run/targeting.js";
import { docker } from "./docker-cli.js";
import { journalledFaults } from "./journalled.js";
import { median, ratio, type BenchContext, type BenchModule, type BenchResult } from "./types.js";

const REPEAT = Math.max(1, Number(process.env.FAULTLINE_BENCH_REPEAT ?? 3));
const TARGET_MS = 2000;
const IMAGE = process.env.FAULTLINE_BASE_IMAGE ?? "debian:bookworm-slim";
const LABEL = "faultline-bench.kind=faults-stress";
const DURATION_MS = 60_000;
const KINDS: { kind: StressKind; options: Record<string, unknown> }[] = [
  { kind: "cpu", options: { workers: 1, load: 50 } },
  { kind: "memory", options: { bytes: "64m", workers: 1 } },
];

async function timed(work: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await work();
  return performance.now() - started;
}

async function run(ctx: BenchContext): Promise<BenchResult> {
  const runtime = connectDocker();
  const project = `fl-bench-stress-${randomBytes(3).toString("hex")}`;
  const stateDir = await mkdtemp(join(tmpdir(), "faultline-bench-stress-"));
  const journal = new Journal(stateDir);
  const metrics: Record<string, number> = {};
  const baseline: Record<string, number> = {};
  const ratios: Record<string, number> = {};
  const notes: string[] = [];
  let unverified = 0;
  let id = "";
  try {
    await ensureAgentImage(runtime);
    id = (
      await docker([
        "run",
        "-d",
        "--label",
        `com.docker.compose.project=${project}`,
        "--label",
        "com.docker.compose.service=target",
        "--label",
        LABEL,
        "--memory",
        "256m",
        IMAGE,
        "sleep",
        "infinity",
      ])
    ).stdout.trim();
    const layout = await cgroupLayout(runtime);
    notes.push(`cgroup v${layout.version} (${layout.driver})`);
    const resolver = new TargetResolver(runtime, { project });
    for (const { kind, options } of KINDS) {
      const ours = { inject: [] as number[], revert: [] as number[] };
      const theirs = { inject: [] as number[], revert: [] as number[] };
      for (let i = 0; i < REPEAT && !ctx.signal.aborted; i++) {
        const target = await resolver.resolveService("target");
        const fault = await stressFamily.create(kind, target, options, DURATION_MS, {
          runtime,
          resolveService: (n) => resolver.resolveService(n),
        });
        const journalled = journalledFaults(runtime, journal, `bench-${kind}`);
        let started = performance.now();
        await journalled.inject(fault, ctx.signal);
        ours.inject.push(performance.now() - started);
        for (const helper of fault.journalEntry().helperContainerIds) {
          const state = await runtime
            .inspect(helper)
            .then((c) => c.state)
            .catch(() => "gone");
          if (state !== "running") {
            unverified++;
            notes.push(`${kind}: stress helper ${helper.slice(0, 12)} ${state} right after inject`);
          }
        }
        started = performance.now();
        await journalled.revert(fault);
        ours.revert.push(performance.now() - started);
        if (i === 0) notes.push(`${kind}: ${fault.describe()}`);

        // The same helper by hand.
        const info = await runtime.inspect(id);
        const placement = stressPlacement(
          layout,
          { containerId: info.id, cgroupParent: info.cgroupParent, memoryLimit: info.memoryLimit },
          stressArgs(parseStressOptions(kind, options, DURATION_MS), info.memoryLimit),
        );
        const args = ["run", "-d", "--rm", "--label", LABEL];
        if (placement.cgroupParent) args.push("--cgroup-parent", placement.cgroupParent);
        if (placement.pidMode) args.push("--pid", placement.pidMode);
        if (placement.privileged) args.push("--privileged");
        for (const b of placement.binds ?? []) args.push("-v", b);
        let helper = "";
        theirs.inject.push(
          await timed(async () => {
            helper = (await docker([...args, AGENT_IMAGE, ...placement.cmd])).stdout.trim();
          }),
        );
        theirs.revert.push(await timed(() => docker(["rm", "-f", helper])));
      }
      for (const phase of ["inject", "revert"] as const) {
        const key = `${kind}.${phase}Ms`;
        metrics[key] = Math.round(median(ours[phase]));
        baseline[key] = Math.round(median(theirs[phase]));
        ratios[key] = ratio(median(ours[phase]), median(theirs[phase]));
      }
      ctx.log(
        `${kind}: in effect after ${metrics[`${kind}.injectMs`]} ms (by hand ${baseline[`${kind}.injectMs`]} ms), ` +
          `reverted in ${metrics[`${kind}.revertMs`]} ms (by hand ${baseline[`${kind}.revertMs`]} ms)`,
      );
    }
  } finally {
    if (id) await docker(["rm", "-f", id]).catch(() => undefined);
    for (const h of await runtime.helpers.listOwned([`faultline.target=${id}`]).catch(() => [])) {
      await runtime.helpers.remove(h.id).catch(() => undefined);
    }
    const byHand = (await docker(["ps", "-aq", "--filter", `label=${LABEL}`]).catch(() => ({ stdout: "" })))
      .stdout;
    for (const left of byHand.split("\n").filter(Boolean))
      await docker(["rm", "-f", left]).catch(() => undefined);
    await rm(stateDir, { recursive: true, force: true });
  }
  notes.push(
    `median of ${REPEAT}; faultline's inject includes a 400 ms start-up check the CLI does not make`,
  );
  return {
    name: "faults-stress",
    metrics,
    baseline,
    ratios,
    target: `every kind: injectMs < ${TARGET_MS} and revertMs < ${TARGET_MS}; helper running after every injection`,
    pass: unverified === 0 && Object.values(metrics).every((v) => v < TARGET_MS),
    notes,
  };
}

const module: BenchModule = {
  name: "faults-stress",
  description:
    "stress faults (cpu, memory): inject and revert time vs the same helper started with the docker CLI",
  timeoutMs: 5 * 60_000,
  run,
};
export default module;

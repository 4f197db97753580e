/**
 * Lifecycle faults, median of a few repeats, next to the same operation through the docker CLI in the
 * same run (`docker pause` / `docker unpause`, …):
 * - inEffectMs: from the request (journal write included) to the engine confirming the change;
 * - restoredMs: from the revert request to the engine confirming the target is back;
 * - injectMs / revertMs: until faultline is done, including starting / removing the watchdog container
 *   (revertMs is the time to full revert: target back, watchdog gone, journal closed), each also as a
 *   ratio against the same CLI commands.
 * Target: inEffect and restored within 1.2x of the CLI. The watchdog's container start is the price of a
 * dead-man switch and is reported, not hidden: it runs alongside the change, not before it.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connectDocker } from "../src/docker/engine.js";
import type { DockerRuntime } from "../src/docker/types.js";
import { lifecycleFamily } from "../src/faults/lifecycle.js";
import type { LifecycleKind } from "../src/faults/lifecycle-options.js";
import { Journal } from "../src/run/journal.js";
import { TargetResolver } from "../src/run/targeting.js";
import { docker } from "./docker-cli.js";
import { journalledFaults } from "./journalled.js";
import { median, ratio, type BenchContext, type BenchModule, type BenchResult } from "./types.js";

const REPEAT = Math.max(1, Number(process.env.FAULTLINE_BENCH_REPEAT ?? 5));
const MAX_RATIO = 1.2;
const IMAGE = process.env.FAULTLINE_BASE_IMAGE ?? "debian:bookworm-slim";

/** The docker CLI doing the same: inject, then revert (restart has nothing to revert). */
const CLI: Record<LifecycleKind, { inject: (id: string) => string[]; revert?: (id: string) => string[] }> = {
  pause: { inject: (id) => ["pause", id], revert: (id) => ["unpause", id] },
  stop: { inject: (id) => ["stop", "-t", "1", id], revert: (id) => ["start", id] },
  kill: { inject: (id) => ["kill", id], revert: (id) => ["start", id] },
  restart: { inject: (id) => ["restart", "-t", "1", id] },
};
const OPTIONS: Record<LifecycleKind, Record<string, unknown>> = {
  pause: {},
  stop: { timeout: 1 },
  kill: { signal: "SIGKILL" },
  restart: { timeout: 1 },
};

const CHANGES = ["pause", "unpause", "stop", "start", "kill", "restart"] as const;

/** The real runtime, noting when each lifecycle call the engine answered last resolved. */
function instrumented(runtime: DockerRuntime): { runtime: DockerRuntime; lastChange: () => number } {
  let last = 0;
  const proxy = new Proxy(runtime, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver) as unknown;
      if (typeof value !== "function") return value;
      if (!(CHANGES as readonly (string | symbol)[]).includes(key)) return value.bind(target);
      return async (...args: unknown[]) => {
        const result = await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        last = performance.now();
        return result;
      };
    },
  });
  return { runtime: proxy, lastChange: () => last };
}

async function timed(work: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await work();
  return performance.now() - started;
}

async function run(ctx: BenchContext): Promise<BenchResult> {
  const { runtime, lastChange } = instrumented(connectDocker());
  const project = `fl-bench-lifecycle-${randomBytes(3).toString("hex")}`;
  const stateDir = await mkdtemp(join(tmpdir(), "faultline-bench-"));
  const journal = new Journal(stateDir);
  const metrics: Record<string, number> = {};
  const baseline: Record<string, number> = {};
  const ratios: Record<string, number> = {};
  let id = "";
  try {
    // A target that exits at once on SIGTERM (a bare sleep as PID 1 ignores it: every stop would cost the timeout).
    id = (
      await docker([
        "run",
        "-d",
        "--label",
        `com.docker.compose.project=${project}`,
        "--label",
        "com.docker.compose.service=target",
        "--label",
        "faultline-bench.kind=faults-lifecycle",
        IMAGE,
        "perl",
        "-e",
        "$SIG{TERM} = sub { exit 0 }; sleep 1 while 1",
      ])
    ).stdout.trim();
    const resolver = new TargetResolver(runtime, { project });
    for (const kind of Object.keys(CLI) as LifecycleKind[]) {
      const ours = {
        inject: [] as number[],
        revert: [] as number[],
        inEffect: [] as number[],
        restored: [] as number[],
      };
      const theirs = { inject: [] as number[], revert: [] as number[] };
      for (let i = 0; i < REPEAT && !ctx.signal.aborted; i++) {
        const target = await resolver.resolveService("target");
        const fault = await lifecycleFamily.create(kind, target, OPTIONS[kind], 60_000, {
          runtime,
          resolveService: (n) => resolver.resolveService(n),
        });
        const journalled = journalledFaults(runtime, journal, `bench-${kind}`);
        let started = performance.now();
        await journalled.inject(fault, ctx.signal);
        ours.inject.push(performance.now() - started);
        ours.inEffect.push(lastChange() - started);
        started = performance.now();
        await journalled.revert(fault);
        ours.revert.push(performance.now() - started);
        if (lastChange() > started) ours.restored.push(lastChange() - started);
        const cli = CLI[kind];
        theirs.inject.push(await timed(() => docker(cli.inject(id))));
        if (cli.revert) theirs.revert.push(await timed(() => docker(cli.revert!(id))));
      }
      metrics[`${kind}.inEffectMs`] = Math.round(median(ours.inEffect));
      metrics[`${kind}.injectMs`] = Math.round(median(ours.inject));
      metrics[`${kind}.revertMs`] = Math.round(median(ours.revert));
      baseline[`${kind}.inEffectMs`] = Math.round(median(theirs.inject));
      ratios[`${kind}.inEffectMs`] = ratio(median(ours.inEffect), median(theirs.inject));
      // The whole of it, watchdog container start/removal included, against the same CLI commands.
      baseline[`${kind}.injectMs`] = baseline[`${kind}.inEffectMs`]!;
      ratios[`${kind}.injectMs`] = ratio(median(ours.inject), median(theirs.inject));
      if (theirs.revert.length) {
        metrics[`${kind}.restoredMs`] = Math.round(median(ours.restored));
        baseline[`${kind}.restoredMs`] = Math.round(median(theirs.revert));
        ratios[`${kind}.restoredMs`] = ratio(median(ours.restored), median(theirs.revert));
        baseline[`${kind}.revertMs`] = baseline[`${kind}.restoredMs`]!;
        ratios[`${kind}.revertMs`] = ratio(median(ours.revert), median(theirs.revert));
      }
      ctx.log(
        `${kind}: in effect ${metrics[`${kind}.inEffectMs`]} ms (docker ${baseline[`${kind}.inEffectMs`]} ms), ` +
          `restored ${metrics[`${kind}.restoredMs`] ?? "-"} ms (docker ${baseline[`${kind}.restoredMs`] ?? "-"} ms); ` +
          `whole inject ${metrics[`${kind}.injectMs`]} ms, whole revert ${metrics[`${kind}.revertMs`]} ms`,
      );
    }
  } finally {
    if (id) await docker(["rm", "-f", id]).catch(() => undefined);
    for (const h of await runtime.helpers.listOwned([`faultline.target=${id}`]).catch(() => [])) {
      await runtime.helpers.remove(h.id).catch(() => undefined);
    }
    await rm(stateDir, { recursive: true, force: true });
  }
  // The target is on the change itself; the full inject/revert (watchdog included) is reported beside it.
  const worst = Math.max(
    ...Object.entries(ratios)
      .filter(([key]) => key.endsWith(".inEffectMs") || key.endsWith(".restoredMs"))
      .map(([, value]) => value),
  );
  return {
    name: "faults-lifecycle",
    metrics,
    baseline,
    ratios,
    target: `in effect and restored within ${MAX_RATIO}x of the docker CLI`,
    pass: worst <= MAX_RATIO,
    notes: [
      `median of ${REPEAT}; inEffect/restored include faultline's fsync'd journal writes and its state check`,
      "injectMs/revertMs also include starting/removing the watchdog container (pause/stop/kill); revertMs is the time to full revert",
    ],
  };
}

const module: BenchModule = {
  name: "faults-lifecycle",
  description: "lifecycle faults (pause/stop/kill/restart): inject and revert time vs the docker CLI",
  timeoutMs: 5 * 60_000,
  run,
};
export default module;

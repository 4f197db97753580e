/**
 * Chaos-Monkey mode end to end: a schedule that ticks every second against small labelled containers.
 * Faults are injected one at a time (ticks are skipped while one is in effect), are drawn from the
 * eligible services, never touch the excluded container, and nothing is left once the service shuts down.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { seededRandom } from "../../src/api/scheduler.js";
import { ChaosService } from "../../src/api/service.js";
import { openRuntime } from "../../src/cli/runtime.js";
import { defaultRegistry } from "../../src/faults/registry.js";
import { Journal } from "../../src/run/journal.js";
import {
  type EchoTarget,
  helpersFor,
  removeProject,
  startEcho,
  state,
  uniqueProject,
  waitFor,
} from "../support/lifecycle-targets.js";

const project = uniqueProject("chaos");
let stateDir: string;
let service: ChaosService | undefined;
let targets: EchoTarget[];
let vault: EchoTarget;

before(async () => {
  stateDir = await mkdtemp(join(tmpdir(), "faultline-chaos-"));
  const labels = ["faultline.test=api-scheduler"];
  const started = await Promise.all([
    startEcho(project, "alpha", "no", labels),
    startEcho(project, "beta", "no", labels),
    startEcho(project, "vault", "no", [...labels, "faultline.exclude=true"]),
  ]);
  targets = started.slice(0, 2);
  vault = started[2]!;
});

after(async () => {
  await service?.shutdown();
  await removeProject(project);
  await rm(stateDir, { recursive: true, force: true });
});

describe("chaos scheduler on real containers", { timeout: 120_000 }, () => {
  test("every-second schedule: one fault at a time, in order, excluded untouched, nothing left", async () => {
    const pausedSeen = new Set<string>();
    let vaultEverPaused = false;
    service = new ChaosService({
      runtime: await openRuntime(),
      journal: new Journal(stateDir),
      registry: defaultRegistry(),
      selector: { project },
      outDir: join(stateDir, "reports"),
      defaults: { kinds: ["pause"], durationMs: 1500, recoveryWaitMs: 0 },
      schedule: "* * * * * *",
      rng: seededRandom(7),
    });
    await service.start();
    await service.discovery.current();

    await waitFor(
      async () => {
        for (const t of targets) if ((await state(t.id)).paused) pausedSeen.add(t.service);
        if ((await state(vault.id)).paused) vaultEverPaused = true;
        const injected = service!.schedule()!.ticks.filter((t) => t.outcome === "injected");
        return injected.length >= 2;
      },
      60_000,
      "two scheduled faults",
    );
    await service.shutdown("test done");

    const ticks = service.schedule()!.ticks.reverse();
    const injected = ticks.filter((t) => t.outcome === "injected");
    // Drawn at random (seeded) from the eligible set: alpha and beta, never vault.
    for (const t of injected) assert.ok(["pause alpha", "pause beta"].includes(`${t.kind} ${t.service}`));
    assert.ok(
      ticks.some((t) => t.outcome === "skipped" && /in effect/.test(t.reason ?? "")),
      `expected a tick skipped while a fault was in effect: ${JSON.stringify(ticks)}`,
    );
    assert.ok(!ticks.some((t) => t.outcome === "failed"), JSON.stringify(ticks));
    assert.ok(!ticks.some((t) => t.service === "vault"));
    assert.equal(vaultEverPaused, false);
    assert.ok(pausedSeen.size >= 1, "a scheduled pause was observed on a target");

    const faults = service.listFaults();
    assert.deepEqual(faults.active, []);
    assert.ok(faults.recent.every((f) => f.source === "scheduler" && f.outcome !== undefined));
    for (const t of [...targets, vault]) {
      const s = await state(t.id);
      assert.equal(s.status, "running");
      assert.equal(s.paused, false);
      assert.deepEqual(await helpersFor(t.id), []);
    }
    assert.deepEqual(await new Journal(stateDir).pendingFaults(), []);
    const metrics = (await service.metrics()).body;
    assert.match(metrics, /faultline_discovery_duration_seconds_count [1-9]/);
  });

  test("halt: pauses the schedule and reverts every fault in effect at once", async () => {
    const halting = new ChaosService({
      runtime: await openRuntime(),
      journal: new Journal(stateDir),
      registry: defaultRegistry(),
      selector: { project },
      outDir: join(stateDir, "reports-halt"),
      defaults: { kinds: ["pause"], durationMs: 60_000, recoveryWaitMs: 0 },
      // Never fires during the test: the faults come from the API.
      schedule: "0 0 1 1 *",
      discoverOnStart: false,
    });
    service = halting;
    await halting.start();
    for (const t of targets) await halting.injectFault({ target: t.service, kind: "pause", options: {} });
    for (const t of targets) assert.equal((await state(t.id)).paused, true);
    const report = await halting.halt("test halt");
    assert.equal(report.paused, true);
    assert.deepEqual(report.reverted.map((f) => f.target).sort(), targets.map((t) => t.service).sort());
    assert.deepEqual(report.failed, []);
    for (const t of targets) assert.equal((await state(t.id)).paused, false);
    assert.equal(halting.schedule()!.paused, true);
    assert.match((await halting.scheduler!.tickOnce()).reason ?? "", /paused/);
    assert.deepEqual(halting.listFaults().active, []);
    assert.deepEqual(await new Journal(stateDir).pendingFaults(), []);
    await halting.shutdown("test done");
  });
});

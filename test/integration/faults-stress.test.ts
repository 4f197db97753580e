/**
 * Stress faults land in the TARGET's cgroup: the target's own stats (what `docker stats` shows) rise,
 * and revert stops the helper. Proven on this engine's layout; the other layouts are unit-tested.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { cgroupLayout, stressFamily } from "../../src/faults/stress/index.js";
import { NetEnv } from "./fixtures/faults-network/env.js";

const env = new NetEnv();
let target = "";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("stress faults (integration)", { timeout: 120_000 }, () => {
  before(async () => {
    await env.setup();
    target = await env.start("stressed", ["--memory", "512m"], ["sleep", "infinity"]);
  });
  after(async () => {
    await env.dispose();
  });

  test("cpu stress shows in the target's own CPU usage; revert ends it", async (t) => {
    const layout = await cgroupLayout(env.runtime);
    if (layout.version !== "1" || layout.driver !== "cgroupfs") {
      t.skip(
        `engine uses cgroup v${layout.version} + ${layout.driver}; the integration proof covers v1 + cgroupfs`,
      );
      return;
    }
    const idle = await env.runtime.stats(target);
    const fault = await stressFamily.create(
      "cpu",
      await env.resolve(target, "stressed"),
      { workers: 1, load: 100 },
      20_000,
      env.deps({}),
    );
    await fault.inject(env.ctx(), new AbortController().signal);
    try {
      await sleep(1500);
      const busy = await env.runtime.stats(target);
      assert.ok(
        busy.cpuPercent > 50 && busy.cpuPercent > idle.cpuPercent + 40,
        `target cpu ${busy.cpuPercent}% (idle ${idle.cpuPercent}%)`,
      );
    } finally {
      await fault.revert(env.ctx());
    }
    assert.equal(
      (await env.runtime.helpers.listOwned([`faultline.fault=${fault.id}`])).length,
      0,
      "helper removed",
    );
    await sleep(1200);
    const calm = await env.runtime.stats(target);
    assert.ok(calm.cpuPercent < 20, `target cpu after revert ${calm.cpuPercent}%`);
  });

  test("memory stress raises the target's memory usage within its limit; revert releases it", async (t) => {
    const layout = await cgroupLayout(env.runtime);
    if (layout.version !== "1" || layout.driver !== "cgroupfs") {
      t.skip(`engine uses cgroup v${layout.version} + ${layout.driver}`);
      return;
    }
    const before = await env.runtime.stats(target);
    const fault = await stressFamily.create(
      "memory",
      await env.resolve(target, "stressed"),
      { bytes: "200m" },
      20_000,
      env.deps({}),
    );
    await fault.inject(env.ctx(), new AbortController().signal);
    try {
      let peak = before.memoryBytes;
      for (let i = 0; i < 10 && peak < before.memoryBytes + 150 * 1024 ** 2; i++) {
        await sleep(500);
        peak = Math.max(peak, (await env.runtime.stats(target)).memoryBytes);
      }
      assert.ok(
        peak > before.memoryBytes + 150 * 1024 ** 2,
        `target memory ${peak} (before ${before.memoryBytes})`,
      );
      assert.equal(
        (await env.runtime.stats(target)).memoryLimitBytes,
        512 * 1024 ** 2,
        "the target's own limit applies",
      );
    } finally {
      await fault.revert(env.ctx());
    }
    const released = await env.runtime.stats(target);
    assert.ok(
      released.memoryBytes < before.memoryBytes + 50 * 1024 ** 2,
      `memory after revert ${released.memoryBytes}`,
    );
  });

  test("stress-ng's timeout ends the fault on its own; revertFromEntry removes the helper", async () => {
    const fault = await stressFamily.create(
      "cpu",
      await env.resolve(target, "stressed"),
      { load: 20, timeout: "1s" },
      1_000,
      env.deps({}),
    );
    await fault.inject(env.ctx(), new AbortController().signal);
    const entry = env.journal.find((e) => e.faultId === fault.id)!;
    const helper = entry.helperContainerIds[0]!;
    assert.equal(await env.runtime.helpers.wait(helper, { timeoutMs: 10_000 }), 0);
    await stressFamily.revertFromEntry(entry, env.runtime);
    assert.equal((await env.runtime.helpers.listOwned([`faultline.fault=${fault.id}`])).length, 0);
  });
});

/**
 * Races between a fault's helpers and another faultline's clean-up, on the real engine and kernel:
 * two tc faults whose tags draw the same handle (the second's failed apply and its replay must leave the
 * first's root qdisc alone), and a lifecycle watchdog the startup sweep finds expired (the sweep makes
 * its call before removing it, so the target is never left paused).
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { WATCHDOG_ACTING_WINDOW_MS, watchdogSpec } from "../../src/faults/watchdog.js";
import { showRules } from "../../src/faults/network/agent-runner.js";
import { NetworkFault } from "../../src/faults/network/fault.js";
import { parseNetworkOptions } from "../../src/faults/network/options.js";
import type { RecoveryReport } from "../../src/run/recovery.js";
import { sweepHelper } from "../../src/run/recovery.js";
import { NetEnv, docker } from "./fixtures/faults-network/env.js";

interface Transfer {
  bytes: number;
  seconds: number;
}

const env = new NetEnv();
let server = "";
let client = "";

function bandwidthFault(tag: string, rate: string): Promise<NetworkFault> {
  return env
    .resolve(server, "server")
    .then(
      (target) =>
        new NetworkFault(
          "bandwidth",
          { service: target.service, containerId: target.containerId, containerName: target.containerName },
          60_000,
          parseNetworkOptions("bandwidth", { rate }),
          { rate },
          [],
          tag,
        ),
    );
}

const emptyReport = (): RecoveryReport => ({
  reverted: [],
  failed: [],
  helpersRemoved: [],
  namespacesSwept: [],
  sweepFailed: [],
});

describe("recovery races (integration)", { timeout: 180_000 }, () => {
  before(async () => {
    await env.setup();
    server = await env.start("server");
    client = await env.start("client", [], ["sleep", "infinity"]);
  });
  after(async () => {
    await env.dispose();
  });

  test("two tc faults drawing the same handle: the second fails and its revert leaves the first in effect", async () => {
    // Both tags start with 12: both plans name root handle fa12: on eth0 (the 1-in-256 collision).
    const first = await bandwidthFault("12aaaaaa", "1mbit");
    const second = await bandwidthFault("12bbbbbb", "2mbit");
    const signal = new AbortController().signal;
    await first.inject(env.ctx(), signal);
    try {
      assert.match(await showRules(env.runtime, server), /qdisc tbf fa12: dev eth0 root/);
      await assert.rejects(
        second.inject(env.ctx(), signal),
        /already holds this interface's root or ingress qdisc/,
      );
      // What the runner does after a failed inject: revert from the journal entry, whose revert still names
      // fa12: (the agent's FAILED line came before any READY); the agent is gone, so a cleanup agent runs it.
      await second.revert(env.ctx());
      const rules = await showRules(env.runtime, server);
      assert.match(rules, /qdisc tbf fa12: dev eth0 root/, `the first fault's root qdisc stays:\n${rules}`);
      const down = await env.measure<Transfer>(client, "bulk", "server", String(256 * 1024));
      assert.ok(down.seconds > 1.5 && down.seconds < 4, `the first fault still shapes: ${down.seconds}s`);
    } finally {
      await first.revert(env.ctx());
    }
    assert.doesNotMatch(await showRules(env.runtime, server), /qdisc tbf/, "the first fault's revert works");
  });

  test("the startup sweep leaves an acting watchdog alone, and unpauses the target of an expired one", async () => {
    const target = await env.start("paused", [], ["sleep", "infinity"]);
    await docker("pause", target);
    // Its own deadline is far off, so the watchdog does not act itself: the sweep's clock is moved instead.
    const deadline = Date.now() + 10 * 60_000;
    const id = await env.runtime.helpers.start(
      watchdogSpec({
        runId: env.ctx().runId,
        faultId: `pause-${env.suffix}`,
        targetContainerId: target,
        action: "unpause",
        deadline,
      }),
    );
    const watchdog = await env.runtime.inspect(id);
    const context = (now: number) => ({
      now,
      deadRuns: new Set<string>(),
      revertedFaults: new Set<string>(),
    });

    const acting = emptyReport();
    await sweepHelper(
      env.runtime,
      watchdog,
      context(deadline + WATCHDOG_ACTING_WINDOW_MS),
      new Map(),
      acting,
    );
    assert.deepEqual(acting.helpersRemoved, [], "a watchdog within its acting window stays");
    assert.equal((await env.runtime.inspect(target)).state, "paused");

    const expired = emptyReport();
    await sweepHelper(env.runtime, watchdog, context(deadline + 3_600_000), new Map(), expired);
    assert.equal(expired.helpersRemoved.length, 1, JSON.stringify(expired));
    assert.match(expired.helpersRemoved[0]!.reason, /deadline has passed; the sweep made its unpause call/);
    assert.equal((await env.runtime.inspect(target)).state, "running", "the sweep unpaused the target");
    assert.equal((await env.runtime.helpers.listOwned([`faultline.fault=pause-${env.suffix}`])).length, 0);
  });
});

/** The monitor against real containers: pausing one makes its probes time out, then it recovers. */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { analyzeRun } from "../../src/analysis/impact.js";
import { connectDocker } from "../../src/docker/engine.js";
import { Monitor } from "../../src/monitor/monitor.js";
import type { RunRecord } from "../../src/run/record.js";
import { profileOf, removeByLabel, startHttpContainers } from "../fixtures/monitor/http-containers.js";

const LABEL = "monitor-pause";
const docker = connectDocker();

after(async () => {
  await removeByLabel(LABEL);
});

test(
  "pause -> probes time out and the target is down; unpause -> recovered",
  { timeout: 90_000 },
  async () => {
    await removeByLabel(LABEL);
    const [a, b] = await startHttpContainers(LABEL, 2);
    const profiles = [await profileOf(docker, a!, "target"), await profileOf(docker, b!, "bystander")];
    const monitor = new Monitor(docker, profiles, {
      intervalMs: 400,
      probeTimeoutMs: 300,
      envelope: { allDownForMs: 60_000 },
    });
    const injectedAt = new Date();
    let revertedAt = new Date();
    try {
      await monitor.start();
      await sleep(3000);
      monitor.claimBaseline("f1");
      monitor.markPhase("f1", "during");
      await docker.pause(a!);
      try {
        await sleep(3000);
      } finally {
        await docker.unpause(a!);
        revertedAt = new Date();
      }
      monitor.markPhase("f1", "after");
      await sleep(3000);
    } finally {
      await monitor.stop();
    }
    const data = monitor.data();
    const during = data.samples.filter((s) => s.service === "target" && s.phase === "during");
    assert.ok(
      during.some((s) => s.state === "paused"),
      "inspect saw the pause",
    );
    assert.ok(
      during.some((s) => (s.probes?.timeouts ?? 0) > 0),
      "probes timed out",
    );
    const baseline = data.samples.filter((s) => s.service === "target" && s.phase === "baseline");
    assert.ok(baseline.length >= 3 && baseline.every((s) => s.probes?.ok === 1), "healthy baseline");
    assert.ok(
      baseline.some((s) => (s.logs?.lines ?? 0) > 0),
      "log stream followed",
    );
    const record: RunRecord = {
      runId: "it",
      startedAt: injectedAt.toISOString(),
      status: "completed",
      dryRun: false,
      graphBefore: {
        nodes: profiles.map((p) => ({ id: p.id, kind: "http", confidence: 1, ports: [], endpoints: [] })),
        edges: [],
        order: [],
      },
      steps: [
        {
          faultId: "f1",
          kind: "pause",
          target: "target",
          containerId: a!,
          options: {},
          description: "pause target",
          requestedAt: injectedAt.toISOString(),
          injectedAt: injectedAt.toISOString(),
          revertedAt: revertedAt.toISOString(),
          durationMs: 3000,
          outcome: { status: "reverted" },
          errors: [],
        },
      ],
    };
    const step = analyzeRun(record, data).steps[0]!;
    assert.equal(step.targetImpact?.down, true);
    assert.ok(step.targetImpact?.signals.some((g) => g.metric === "down"));
    assert.notEqual(step.targetImpact?.recoveredAfterMs, null, "target recovered after unpause");
    assert.deepEqual(
      step.impacted.map((i) => i.service),
      [],
      "the bystander was not impacted",
    );
    assert.equal(step.severity, "none");
  },
);

/** A fault's target lost mid-fault: when it counts as lost (pure), and that the runner ends the step early. */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { DockerRuntime } from "../../src/docker/types.js";
import { TargetNotFoundError } from "../../src/errors.js";
import type { Fault, FaultFamily, ResolvedService } from "../../src/faults/fault.js";
import { FaultRegistry } from "../../src/faults/registry.js";
import { NULL_JOURNAL } from "../../src/run/journal.js";
import { runExperiment, targetLostReason } from "../../src/run/runner.js";

const target = { service: "web", containerName: "shop-web-1" };

test("removed always counts; exited or dead only when the fault itself did not take the target down", () => {
  assert.equal(
    targetLostReason("latency", target, "removed"),
    "target shop-web-1 (service web) was removed during the latency fault",
  );
  assert.equal(
    targetLostReason("stop", target, "removed"),
    "target shop-web-1 (service web) was removed during the stop fault",
  );
  assert.equal(
    targetLostReason("cpu", target, { state: "exited", exitCode: 137 }),
    "target shop-web-1 (service web) exited (code 137) during the cpu fault",
  );
  assert.match(
    targetLostReason("pause", target, { state: "dead", exitCode: 0 }) ?? "",
    /died during the pause fault/,
  );
  for (const kind of ["stop", "kill", "restart"] as const) {
    assert.equal(targetLostReason(kind, target, { state: "exited", exitCode: 0 }), undefined, kind);
  }
  assert.equal(targetLostReason("loss", target, { state: "running", exitCode: 0 }), undefined);
  assert.equal(targetLostReason("pause", target, { state: "paused", exitCode: 0 }), undefined);
  assert.equal(
    targetLostReason("dns", { service: "db", containerName: "db" }, "removed"),
    "target db was removed during the dns fault",
  );
});

test("the runner ends a fault whose target is removed, reverts it, and says why", async () => {
  let removed = false;
  let reverted = 0;
  const runtime = {
    async inspect() {
      if (removed) throw new TargetNotFoundError("gone");
      return { state: "running", exitCode: 0 };
    },
  } as unknown as DockerRuntime;
  const family: FaultFamily = {
    kinds: ["latency"],
    async create(kind, t: ResolvedService, options, durationMs): Promise<Fault> {
      const entry = {
        faultId: "f1",
        runId: "",
        kind,
        target: t,
        options,
        helperContainerIds: [],
        deadline: 0,
        undo: {},
      };
      return {
        id: "f1",
        kind,
        target: t,
        durationMs,
        mechanism: "tc-netem",
        describe: () => `${kind} ${t.service}`,
        journalEntry: () => ({ ...entry }),
        async inject() {
          setTimeout(() => (removed = true), 100);
        },
        async revert() {
          reverted++;
        },
      };
    },
    async revertFromEntry() {},
  };
  const started = Date.now();
  const record = await runExperiment(
    {
      steps: [
        {
          service: "web",
          containerId: "c-web",
          containerName: "shop-web-1",
          kind: "latency",
          options: {},
          durationMs: 30_000,
          blastRadius: [],
          description: "",
        },
      ],
      excluded: [],
      order: ["web"],
      durationMs: 30_000,
      recoveryWaitMs: 0,
      estimatedMs: 0,
    },
    {
      runtime,
      registry: new FaultRegistry([family]),
      journal: NULL_JOURNAL,
      resolver: {
        resolveService: async (service) => ({
          service,
          containerId: "c-web",
          containerName: "shop-web-1",
          ips: [],
        }),
      },
      pollIntervalMs: 20,
    },
  );
  assert.ok(Date.now() - started < 5_000, "it did not hold the fault for its 30 s");
  assert.equal(reverted, 1);
  const outcome = record.steps[0]!.outcome;
  assert.deepEqual(outcome, {
    status: "aborted",
    reason: "target shop-web-1 (service web) was removed during the latency fault",
    reverted: true,
  });
  assert.equal(record.status, "completed", "the run itself goes on");
  assert.deepEqual(record.steps[0]!.errors, [
    "target shop-web-1 (service web) was removed during the latency fault",
  ]);
});

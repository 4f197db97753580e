/** Impact analysis details that matter for `run --out`: error bursts inside the fault, aborted steps. */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { analyzeRun } from "../../src/analysis/impact.js";
import { effects, recordRun } from "../fixtures/monitor/series.js";

describe("impact analysis around the fault window", () => {
  test("a sparse error burst during the fault is not diluted by a long recovery watch", () => {
    const { record, data } = recordRun([
      {
        id: "f1",
        target: "cache",
        kind: "pause",
        baselineTicks: 8,
        duringTicks: 12,
        afterTicks: 12,
        // One timeout every other second while the cache is frozen: 6 in 12 s, none before or after.
        effects: { cache: effects.paused(), sessions: (i) => (i < 12 && i % 2 === 0 ? burst() : undefined) },
      },
    ]);
    const step = analyzeRun(record, data).steps[0]!;
    const sessions = step.impacted.find((i) => i.service === "sessions");
    assert.ok(sessions, JSON.stringify(step.impacted.map((i) => i.service)));
    assert.deepEqual(sessions.errors, [{ class: "timeout", peer: "cache", count: 6 }]);
    assert.equal(sessions.via, "direct");
  });

  test("an aborted step with no time left to watch recovery is not called unrecovered", () => {
    const { record, data } = recordRun([
      {
        id: "f1",
        target: "cache",
        kind: "pause",
        afterTicks: 0,
        effects: { cache: effects.paused(), sessions: effects.timeoutsTo("cache") },
      },
    ]);
    record.status = "aborted";
    record.steps[0]!.outcome = { status: "aborted", reason: "SIGINT received", reverted: true };
    const step = analyzeRun(record, data).steps[0]!;
    assert.equal(step.recoveredAfterMs, null);
    assert.equal(step.severity, "major", step.severityReason);
    assert.match(step.note ?? "", /aborted before recovery could be watched/);

    record.steps[0]!.outcome = { status: "reverted" };
    assert.equal(analyzeRun(record, data).steps[0]!.severity, "critical", "a completed step is held to it");
  });
});

function burst() {
  return {
    logs: {
      lines: 6,
      errors: 1,
      byClass: { timeout: 1 },
      peers: [{ class: "timeout" as const, peer: "cache", count: 1 }],
      dropped: 0,
    },
  };
}

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { JournalFaultEntry } from "../../src/faults/fault.js";
import { CLEANUP_TIMEOUT_MS, cleanupHelperSpec } from "../../src/faults/network/agent-runner.js";
import type { JournalOwner, JournalRecord, PendingFault } from "../../src/run/journal.js";
import {
  deadRunsOf,
  helperRemovalReason,
  isOwnerAlive,
  namespacesToSweep,
  parseDeadline,
  selectForRecovery,
} from "../../src/run/recovery.js";
import { hostname } from "node:os";

const DEAD: JournalOwner = { pid: 999_999_001, host: "h" };
const LIVE: JournalOwner = { pid: 1, host: "h" };
const alive = (o: JournalOwner) => o.pid !== DEAD.pid;

function pending(faultId: string, owner: JournalOwner, project?: string): PendingFault {
  const entry = { faultId, runId: `run-${faultId}`, kind: "pause" } as JournalFaultEntry;
  return { entry, owner, project, intendedAt: "" };
}

describe("selectForRecovery", () => {
  const all = [
    pending("a", DEAD, "shop"),
    pending("b", LIVE, "shop"),
    pending("c", LIVE, "other"),
    pending("d", DEAD),
  ];
  const ids = (ps: PendingFault[]) => ps.map((p) => p.entry.faultId);
  test("on start: only what dead processes left", () =>
    assert.deepEqual(ids(selectForRecovery(all, {}, alive)), ["a", "d"]));
  test("explicit, one project: its live faults too", () =>
    assert.deepEqual(ids(selectForRecovery(all, { explicit: true, project: "shop" }, alive)), [
      "a",
      "b",
      "d",
    ]));
  test("explicit, no project: everything", () =>
    assert.deepEqual(ids(selectForRecovery(all, { explicit: true }, alive)), ["a", "b", "c", "d"]));
  test("one fault id", () =>
    assert.deepEqual(ids(selectForRecovery(all, { explicit: true, faultId: "c" }, alive)), ["c"]));
});

describe("helperRemovalReason", () => {
  const NOW = 1_764_072_000_000;
  const ctx = { now: NOW, deadRuns: new Set(["run-dead"]), revertedFaults: new Set(["f-reverted"]) };
  const helper = (labels: Record<string, string>) => ({ labels: { "faultline.owned": "true", ...labels } });
  test("watchdog of a reverted fault", () =>
    assert.match(
      helperRemovalReason(helper({ "faultline.role": "watchdog", "faultline.fault": "f-reverted" }), ctx) ??
        "",
      /reverted/,
    ));
  test("agent of a dead run", () =>
    assert.match(
      helperRemovalReason(helper({ "faultline.role": "agent", "faultline.run": "run-dead" }), ctx) ?? "",
      /no longer running/,
    ));
  test("past its deadline", () =>
    assert.match(
      helperRemovalReason(
        helper({ "faultline.role": "stress", "faultline.deadline": String(NOW - 1000) }),
        ctx,
      ) ?? "",
      /deadline/,
    ));
  test("a live run's helper before its deadline stays", () =>
    assert.equal(
      helperRemovalReason(
        helper({
          "faultline.role": "agent",
          "faultline.run": "run-live",
          "faultline.deadline": String(NOW + 1000),
        }),
        ctx,
      ),
      undefined,
    ));
  test("probes without a deadline stay (their runner removes them)", () =>
    assert.equal(
      helperRemovalReason(helper({ "faultline.role": "probe", "faultline.run": "run-dead" }), ctx),
      undefined,
    ));
  test("explicit revert of a project removes helpers aimed at its containers", () => {
    const h = helper({ "faultline.role": "agent", "faultline.run": "run-live", "faultline.target": "c1" });
    assert.match(helperRemovalReason(h, { ...ctx, explicitTargets: new Set(["c1"]) }) ?? "", /explicit/);
    assert.equal(helperRemovalReason(h, { ...ctx, explicitTargets: new Set(["c2"]) }), undefined);
  });
});

test("parseDeadline: ms, seconds, ISO, junk", () => {
  assert.equal(parseDeadline("1764072000000"), 1764072000000);
  assert.equal(parseDeadline("1764072000"), 1764072000000);
  assert.equal(parseDeadline("2026-11-25T12:00:00.000Z"), Date.parse("2026-11-25T12:00:00.000Z"));
  assert.equal(parseDeadline("soon"), undefined);
  assert.equal(parseDeadline(undefined), undefined);
});

test("deadRunsOf: runs whose owning process is gone", () => {
  const records = [pending("a", DEAD), pending("b", LIVE)].map((p): JournalRecord => ({
    type: "intent",
    at: "",
    owner: p.owner,
    entry: p.entry,
  }));
  assert.deepEqual([...deadRunsOf(records, alive)], ["run-a"]);
});

test("isOwnerAlive: this process yes, a finished pid no, another host assumed yes", () => {
  assert.ok(isOwnerAlive({ pid: process.pid, host: hostname() }));
  assert.ok(!isOwnerAlive({ pid: 2 ** 22 + 12345, host: hostname() }));
  assert.ok(isOwnerAlive({ pid: 2 ** 22 + 12345, host: "elsewhere" }));
});

test("namespacesToSweep: one container per namespace, running or paused, never excluded nor the host's", () => {
  const c = (id: string, state: string, networkMode = "bridge", labels: Record<string, string> = {}) =>
    ({ id, name: `/${id}`, state, networkMode, labels }) as Parameters<typeof namespacesToSweep>[0][number];
  assert.deepEqual(
    namespacesToSweep([
      c("web", "running"),
      c("sidecar", "running", "container:web"),
      c("db", "paused"),
      c("old", "exited"),
      c("hostnet", "running", "host"),
      c("private", "running", "bridge", { "faultline.exclude": "true" }),
      c("joined", "running", "container:elsewhere"),
    ]),
    [
      { joinId: "web", name: "/web" },
      { joinId: "db", name: "/db" },
      { joinId: "elsewhere", name: "/joined" },
    ],
  );
});

test("a cleanup agent started while replaying a long-expired fault is not swept as expired", () => {
  const now = 1_764_072_000_000;
  const faultDeadline = now - 3_600_000;
  const spec = cleanupHelperSpec(
    "target-id",
    { faultId: "latency-0a0b0c0d", marks: { comment: "c", chain: "x", ifb: "i" }, revert: [] },
    { runId: "run-dead", faultId: "latency-0a0b0c0d", targetId: "target-id" },
    now,
  );
  const labels: Record<string, string> = {
    "faultline.owned": "true",
    "faultline.role": spec.role,
    ...spec.labels,
  };
  assert.notEqual(labels["faultline.deadline"], String(faultDeadline), "not the fault's own deadline");
  const ctx = (at: number) => ({
    now: at,
    deadRuns: new Set(["run-dead"]),
    revertedFaults: new Set<string>(),
  });
  // Another faultline starting while the cleanup runs (up to its whole timeout) leaves it alone...
  assert.equal(helperRemovalReason({ labels }, ctx(now + 1)), undefined);
  assert.equal(helperRemovalReason({ labels }, ctx(now + CLEANUP_TIMEOUT_MS)), undefined);
  // ...and one long after it should have finished removes what a crash left behind.
  assert.match(helperRemovalReason({ labels }, ctx(now + 10 * CLEANUP_TIMEOUT_MS)) ?? "", /deadline/);
});

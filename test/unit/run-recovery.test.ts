import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { JournalFaultEntry } from "../../src/faults/fault.js";
import { CLEANUP_TIMEOUT_MS, cleanupHelperSpec } from "../../src/faults/network/agent-runner.js";
import type { JournalOwner, JournalRecord, PendingFault } from "../../src/run/journal.js";
import {
  WATCHDOG_ACTING_WINDOW_MS,
  WATCHDOG_SWEEP_MARGIN_MS,
  watchdogGuard,
  watchdogSpec,
} from "../../src/faults/watchdog.js";
import type { HelperSweepContext } from "../../src/run/recovery.js";
import {
  deadRunsOf,
  helperRemovalReason,
  isOwnerAlive,
  namespacesToSweep,
  parseDeadline,
  selectForRecovery,
  watchdogActionsOf,
  watchdogRestoreFor,
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

describe("lifecycle watchdogs and the startup sweep", () => {
  const NOW = 1_764_072_000_000;
  const request = (deadline: number) => ({
    runId: "run-dead",
    faultId: "f-paused",
    targetContainerId: "target-1",
    action: "unpause" as const,
    deadline,
  });
  const asHelper = (spec: ReturnType<typeof watchdogSpec>) => ({
    labels: { "faultline.owned": "true", "faultline.role": spec.role, ...spec.labels } as Record<
      string,
      string
    >,
    command: spec.cmd,
  });
  const ctx = (extra: Partial<HelperSweepContext> = {}): HelperSweepContext => ({
    now: NOW,
    deadRuns: new Set<string>(),
    revertedFaults: new Set<string>(),
    ...extra,
  });

  test("a watchdog just past its deadline is acting, not expired: the sweep leaves it", () => {
    const dog = asHelper(watchdogSpec(request(NOW - 1_000)));
    assert.equal(helperRemovalReason(dog, ctx()), undefined);
    assert.equal(helperRemovalReason(dog, ctx({ now: NOW + WATCHDOG_ACTING_WINDOW_MS })), undefined);
    // An agent at the same point is expired: it reverts on its own SIGTERM.
    const agent = { labels: { ...dog.labels, "faultline.role": "agent" } };
    assert.match(helperRemovalReason(agent, ctx()) ?? "", /deadline/);
  });

  test("past its acting window and grace, the watchdog is expired", () => {
    const dog = asHelper(watchdogSpec(request(NOW - WATCHDOG_SWEEP_MARGIN_MS - 1)));
    assert.match(helperRemovalReason(dog, ctx()) ?? "", /deadline/);
    assert.ok(WATCHDOG_SWEEP_MARGIN_MS > WATCHDOG_ACTING_WINDOW_MS);
  });

  test("the watchdog ends itself once its acting window is over (an alarm), so one left later is stuck", () => {
    const script = watchdogSpec(request(NOW)).cmd[2] ?? "";
    assert.match(script, new RegExp(`alarm\\(${WATCHDOG_ACTING_WINDOW_MS / 1000}\\)`));
    assert.match(script, /for my \$try \(1 \.\. 10\)/);
  });

  test("the watchdog of a fault whose revert just failed stays, even with its run dead", () => {
    const dog = asHelper(watchdogSpec(request(NOW + 60_000)));
    const failed = ctx({ deadRuns: new Set(["run-dead"]), failedFaults: new Set(["f-paused"]) });
    assert.equal(helperRemovalReason(dog, failed), undefined);
    assert.match(helperRemovalReason(dog, ctx({ deadRuns: new Set(["run-dead"]) })) ?? "", /no longer/);
  });

  test("`revert <id>`: the named fault's watchdog goes, its call made unless the journal reverted it", () => {
    const dog = asHelper(watchdogSpec(request(NOW + 60_000)));
    const named = ctx({ namedFault: "f-paused" });
    assert.match(helperRemovalReason(dog, named) ?? "", /explicit revert of its fault/);
    assert.deepEqual(watchdogRestoreFor(dog, named), { targetId: "target-1", action: "unpause" });
    const reverted = ctx({ namedFault: "f-paused", revertedFaults: new Set(["f-paused"]) });
    assert.equal(watchdogRestoreFor(dog, reverted), undefined);
    // Its revert failed: the watchdog is the one switch left.
    assert.equal(helperRemovalReason(dog, { ...named, failedFaults: new Set(["f-paused"]) }), undefined);
  });

  test("a removed watchdog's call is made by the sweep unless its fault is known reverted", () => {
    const dog = asHelper(watchdogSpec(request(NOW - WATCHDOG_SWEEP_MARGIN_MS - 1)));
    assert.deepEqual(watchdogRestoreFor(dog, ctx()), { targetId: "target-1", action: "unpause" });
    assert.equal(watchdogRestoreFor(dog, ctx({ revertedFaults: new Set(["f-paused"]) })), undefined);
    assert.equal(watchdogRestoreFor(dog, ctx({ closedFaults: new Set(["f-paused"]) })), undefined);
    assert.equal(watchdogRestoreFor({ labels: { "faultline.role": "agent" } }, ctx()), undefined);
  });

  test("the call comes from the labels, else the command's engine path, else the journal", () => {
    const start = watchdogSpec({ ...request(NOW), action: "start" });
    assert.deepEqual(watchdogGuard({ labels: start.labels ?? {}, command: start.cmd }), {
      targetId: "target-1",
      action: "start",
    });
    // A watchdog started before the action label existed: its command still names the call.
    const oldLabels = { "faultline.role": "watchdog", "faultline.fault": "f-old" };
    assert.deepEqual(
      watchdogRestoreFor(
        { labels: oldLabels, command: ["perl", "-e", "…", "1", "/containers/abc/start"] },
        ctx(),
      ),
      { targetId: "abc", action: "start" },
    );
    // Nothing on the container says it: the journal's entry for its fault does.
    const journal = watchdogActionsOf([
      {
        type: "intent",
        at: "",
        owner: DEAD,
        entry: { faultId: "f-old", kind: "pause" } as JournalFaultEntry,
      },
      {
        type: "intent",
        at: "",
        owner: DEAD,
        entry: { faultId: "f-net", kind: "latency" } as JournalFaultEntry,
      },
    ]);
    assert.deepEqual([...journal], [["f-old", "unpause"]]);
    assert.deepEqual(
      watchdogRestoreFor({ labels: { ...oldLabels, "faultline.target": "t9" } }, ctx(), journal),
      { targetId: "t9", action: "unpause" },
    );
  });
});

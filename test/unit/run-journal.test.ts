import assert from "node:assert/strict";
import { appendFile, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { JournalFaultEntry } from "../../src/faults/fault.js";
import { WATCHDOG_SWEEP_MARGIN_MS } from "../../src/faults/watchdog.js";
import {
  compactRecords,
  Journal,
  type JournalRecord,
  parseJournal,
  pendingFrom,
  resolveStateDir,
} from "../../src/run/journal.js";

function entry(faultId: string, extra: Partial<JournalFaultEntry> = {}): JournalFaultEntry {
  return {
    faultId,
    runId: "run-1",
    kind: "pause",
    target: { service: "db", containerId: "c-db", containerName: "db-1" },
    options: {},
    helperContainerIds: [],
    deadline: 1_000,
    undo: {},
    ...extra,
  };
}

describe("Journal", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "faultline-journal-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test("pending = intents without a reverted record, with their latest update", async () => {
    const journal = new Journal(join(dir, "a"));
    await journal.intent(entry("f1"), "shop");
    await journal.intent(entry("f2"));
    await journal.update(entry("f1", { helperContainerIds: ["w1"], undo: { stateBefore: "running" } }));
    await journal.reverted("f2");
    const pending = await journal.pendingFaults();
    assert.equal(pending.length, 1);
    assert.equal(pending[0]!.entry.faultId, "f1");
    assert.deepEqual(pending[0]!.entry.helperContainerIds, ["w1"]);
    assert.deepEqual(pending[0]!.entry.undo, { stateBefore: "running" });
    assert.equal(pending[0]!.project, "shop");
    assert.equal(pending[0]!.owner.pid, process.pid);
  });

  test("one JSON object per line, newline-terminated", async () => {
    const journal = new Journal(join(dir, "b"));
    await journal.intent(entry("f1"));
    await journal.reverted("f1");
    const text = await readFile(journal.path, "utf8");
    assert.ok(text.endsWith("\n"));
    const lines = text.trim().split("\n");
    assert.equal(lines.length, 2);
    assert.deepEqual(
      lines.map((l) => (JSON.parse(l) as { type: string }).type),
      ["intent", "reverted"],
    );
  });

  test("a torn last line is skipped, and the next append is still readable", async () => {
    const journal = new Journal(join(dir, "c"));
    await journal.intent(entry("f1"));
    await appendFile(journal.path, '{"v":1,"type":"reverted","at":"2026-01-0');
    assert.equal((await journal.pendingFaults()).length, 1, "the torn revert does not count");
    await journal.intent(entry("f2"));
    const pending = await journal.pendingFaults();
    assert.deepEqual(pending.map((p) => p.entry.faultId).sort(), ["f1", "f2"]);
  });

  test("a missing journal is empty", async () => {
    assert.deepEqual(await new Journal(join(dir, "nothing-here")).pendingFaults(), []);
  });

  test("garbage in the middle is skipped, the rest is read", async () => {
    const path = join(dir, "d.jsonl");
    const intent = JSON.stringify({
      v: 1,
      type: "intent",
      at: "x",
      owner: { pid: 1, host: "h" },
      entry: entry("f9"),
    });
    await writeFile(path, `not json\n${intent}\n`);
    assert.equal(pendingFrom(parseJournal(await readFile(path, "utf8"))).length, 1);
  });
});

describe("journal compaction", () => {
  const owner = { pid: 1, host: "h" };
  const intent = (id: string, deadline: number): JournalRecord => ({
    type: "intent",
    at: "t",
    owner,
    project: "shop",
    entry: entry(id, { deadline }),
  });
  const reverted = (id: string): JournalRecord => ({ type: "reverted", at: "t", faultId: id, by: owner });

  test("keeps pending faults with their newest entry, closed ones only while a helper may live", () => {
    const now = 1_000_000;
    const kept = compactRecords(
      [
        intent("pending", now + 5_000),
        {
          type: "update",
          at: "t",
          entry: entry("pending", { deadline: now + 5_000, helperContainerIds: ["w"] }),
        },
        intent("closed-long-ago", now - WATCHDOG_SWEEP_MARGIN_MS - 1),
        reverted("closed-long-ago"),
        intent("closed-recently", now - 1_000),
        reverted("closed-recently"),
        reverted("never-intended"),
      ],
      now,
    );
    assert.deepEqual(
      kept.map((r) => `${r.type}:${r.type === "reverted" ? r.faultId : r.entry.faultId}`),
      ["intent:pending", "intent:closed-recently", "reverted:closed-recently"],
    );
    const first = kept[0] as Extract<JournalRecord, { type: "intent" }>;
    assert.deepEqual(first.entry.helperContainerIds, ["w"]);
    assert.equal(first.project, "shop");
    assert.deepEqual(
      pendingFrom(kept).map((p) => p.entry.faultId),
      ["pending"],
    );
  });

  test("a long-running journal stays bounded and keeps what is pending", async () => {
    const dir = await mkdtemp(join(tmpdir(), "faultline-compact-"));
    try {
      const journal = new Journal(dir, { compactAfterBytes: 4096, now: () => 10_000_000 });
      await journal.intent(entry("held", { deadline: 20_000_000 }), "shop");
      for (let i = 0; i < 200; i++) {
        await journal.intent(entry(`f${i}`, { deadline: 1_000 }), "shop");
        await journal.update(entry(`f${i}`, { deadline: 1_000, helperContainerIds: ["w"] }));
        await journal.reverted(`f${i}`);
      }
      const size = (await readFile(journal.path)).length;
      assert.ok(size < 4096 + 2048, `journal is ${size} bytes after 600 writes`);
      assert.deepEqual(
        (await journal.pendingFaults()).map((p) => p.entry.faultId),
        ["held"],
      );
      await journal.reverted("held");
      assert.deepEqual(await journal.pendingFaults(), []);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("writers in parallel lose no record (the lock serialises them, compaction included)", async () => {
    const dir = await mkdtemp(join(tmpdir(), "faultline-lock-"));
    try {
      const writers = [0, 1, 2].map(
        () => new Journal(dir, { compactAfterBytes: 2048, now: () => 10_000_000 }),
      );
      await Promise.all(
        writers.map(async (journal, w) => {
          for (let i = 0; i < 30; i++) {
            await journal.intent(entry(`w${w}-${i}`, { deadline: i % 2 ? 1_000 : 20_000_000 }));
            if (i % 2) await journal.reverted(`w${w}-${i}`);
          }
        }),
      );
      const pending = (await writers[0]!.pendingFaults()).map((p) => p.entry.faultId);
      assert.equal(pending.length, 45, "every even fault of every writer is still pending");
      assert.equal((await readFile(join(dir, "journal.jsonl"), "utf8")).includes('w0-1"'), false);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("a lock left by a process that died is broken", async () => {
    const dir = await mkdtemp(join(tmpdir(), "faultline-stale-"));
    try {
      // pid 2**22 + 1 is above Linux's pid_max ceiling: no such process.
      await writeFile(join(dir, "journal.lock"), JSON.stringify({ pid: 4_194_305, host: hostname() }));
      const journal = new Journal(dir);
      await journal.intent(entry("after-stale"));
      assert.equal((await journal.pendingFaults()).length, 1);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

test("state dir: flag, then FAULTLINE_STATE_DIR, then ./.faultline", () => {
  assert.equal(resolveStateDir("s", {}, "/w"), "/w/s");
  assert.equal(resolveStateDir(undefined, { FAULTLINE_STATE_DIR: "/abs" }, "/w"), "/abs");
  assert.equal(resolveStateDir(undefined, {}, "/w"), "/w/.faultline");
});

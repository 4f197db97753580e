import assert from "node:assert/strict";
import { appendFile, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { JournalFaultEntry } from "../../src/faults/fault.js";
import { Journal, parseJournal, pendingFrom, resolveStateDir } from "../../src/run/journal.js";

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

test("state dir: flag, then FAULTLINE_STATE_DIR, then ./.faultline", () => {
  assert.equal(resolveStateDir("s", {}, "/w"), "/w/s");
  assert.equal(resolveStateDir(undefined, { FAULTLINE_STATE_DIR: "/abs" }, "/w"), "/abs");
  assert.equal(resolveStateDir(undefined, {}, "/w"), "/w/.faultline");
});

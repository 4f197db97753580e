import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import type { RunAnalysis, StepAnalysis } from "../../src/analysis/types.js";
import { HistoryStore } from "../../src/history/store.js";
import { summarizeRun, worstSeverity, type HistoryStart } from "../../src/history/summary.js";
import type { RunRecord } from "../../src/run/record.js";

const dir = mkdtempSync(join(tmpdir(), "faultline-history-"));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const dbPath = () => join(dir, `h${++n}`, "history.db");

const start = (id: string, startedAt: string, extra: Partial<HistoryStart> = {}): HistoryStart => ({
  id,
  source: "cli",
  startedAt,
  targets: ["db"],
  kinds: ["pause"],
  ...extra,
});

function reportFiles(name: string) {
  const d = join(dir, "reports", name);
  mkdirSync(d, { recursive: true });
  const files = {
    html: join(d, "report.html"),
    json: join(d, "report.json"),
    markdown: join(d, "report.md"),
  };
  for (const f of Object.values(files)) writeFileSync(f, "x");
  return files;
}

describe("history store", () => {
  test("a run is opened, closed and read back with its summary", () => {
    const store = new HistoryStore(dbPath());
    store.begin(start("run-1", "2026-01-01T10:00:00.000Z", { source: "api", project: "shop" }));
    assert.equal(store.get("run-1")?.status, "running");
    store.finish("run-1", {
      endedAt: "2026-01-01T10:01:00.000Z",
      status: "ok",
      severity: "major",
      verdict: { held: false, summary: "web deviated" },
      impacted: [{ service: "web", via: "direct", summary: ["web: timeouts calling db"] }],
    });
    const run = store.get("run-1");
    assert.equal(run?.status, "ok");
    assert.equal(run?.severity, "major");
    assert.equal(run?.source, "api");
    assert.equal(run?.project, "shop");
    assert.deepEqual(run?.verdict, { held: false, summary: "web deviated" });
    assert.deepEqual(run?.impacted[0]?.service, "web");
    store.close();
  });

  test("filters by since, target, severity (that or worse) and source; newest first", () => {
    const store = new HistoryStore(dbPath());
    const rows: [string, string, string, "none" | "minor" | "critical", "cli" | "schedule"][] = [
      ["a", "2026-01-01T10:00:00.000Z", "db", "none", "cli"],
      ["b", "2026-01-01T11:00:00.000Z", "cache", "minor", "schedule"],
      ["c", "2026-01-01T12:00:00.000Z", "db", "critical", "schedule"],
    ];
    for (const [id, at, target, severity, source] of rows) {
      store.begin(start(id, at, { targets: [target], source }));
      store.finish(id, { endedAt: at, status: "ok", severity, impacted: [] });
    }
    const ids = (f: Parameters<HistoryStore["list"]>[0]) => store.list(f).map((r) => r.id);
    assert.deepEqual(ids({}), ["c", "b", "a"]);
    assert.deepEqual(ids({ since: new Date("2026-01-01T10:30:00Z") }), ["c", "b"]);
    assert.deepEqual(ids({ target: "db" }), ["c", "a"]);
    assert.deepEqual(ids({ severity: "minor" }), ["c", "b"]);
    assert.deepEqual(ids({ source: "schedule", target: "db" }), ["c"]);
    assert.deepEqual(ids({ limit: 1 }), ["c"]);
    store.close();
  });

  test("survives a reopen; an open run of a dead process is closed as interrupted", () => {
    const path = dbPath();
    // Another process opens a run and dies without closing it.
    const child = spawnSync(
      process.execPath,
      [
        "--import",
        "tsx",
        "-e",
        `import { HistoryStore } from "./src/history/store.ts";
         const s = new HistoryStore(${JSON.stringify(path)});
         s.begin({ id: "orphan", source: "schedule", startedAt: new Date().toISOString(), targets: ["db"], kinds: ["pause"] });
         s.begin({ id: "done", source: "api", startedAt: "2026-01-01T00:00:00.000Z", targets: ["db"], kinds: ["pause"] });
         s.finish("done", { endedAt: "2026-01-01T00:01:00.000Z", status: "ok", impacted: [] });
         process.exit(0);`,
      ],
      { encoding: "utf8" },
    );
    assert.equal(child.status, 0, child.stderr);
    const store = new HistoryStore(path);
    store.begin(start("mine", new Date().toISOString()));
    assert.deepEqual(store.closeInterrupted(), ["orphan"]);
    const orphan = store.get("orphan");
    assert.equal(orphan?.status, "interrupted");
    assert.match(orphan?.reason ?? "", /stopped before the run ended/);
    assert.ok(orphan?.endedAt);
    assert.equal(store.get("done")?.status, "ok", "a closed run is left as it was");
    assert.equal(store.get("mine")?.status, "running", "this process's own run stays open");
    store.close();
  });

  test("retention removes report files beyond the count and the age, keeping the rows", () => {
    const store = new HistoryStore(dbPath(), { maxReports: 2, maxReportAgeMs: 24 * 3600_000 });
    const now = Date.now();
    const at = (hoursAgo: number) => new Date(now - hoursAgo * 3600_000).toISOString();
    const files = {
      old: reportFiles("old"),
      r1: reportFiles("r1"),
      r2: reportFiles("r2"),
      r3: reportFiles("r3"),
    };
    const order: [keyof typeof files, number][] = [
      ["old", 48],
      ["r1", 3],
      ["r2", 2],
      ["r3", 1],
    ];
    for (const [id, hoursAgo] of order) {
      store.begin(start(id, at(hoursAgo)));
      store.finish(id, { endedAt: at(hoursAgo), status: "ok", impacted: [], reports: files[id] });
    }
    assert.ok(store.get("r3")?.reports);
    assert.ok(store.get("r2")?.reports);
    for (const id of ["old", "r1"] as const) {
      const run = store.get(id);
      assert.equal(run?.reports, undefined, id);
      assert.ok(run?.reportsPrunedAt, id);
      assert.equal(existsSync(files[id].json), false, id);
      assert.equal(existsSync(join(dir, "reports", id)), false, `${id}: its emptied directory is removed`);
    }
    assert.ok(existsSync(files.r3.html));
    assert.equal(store.list().length, 4, "rows stay");
    store.close();
  });

  test("a directory that holds other files is kept when its report is pruned", () => {
    const store = new HistoryStore(dbPath(), { maxReports: 0, maxReportAgeMs: 1e12 });
    const files = reportFiles("shared");
    writeFileSync(join(dir, "reports", "shared", "notes.txt"), "mine");
    store.begin(start("s", new Date().toISOString()));
    store.finish("s", { endedAt: new Date().toISOString(), status: "ok", impacted: [], reports: files });
    assert.equal(existsSync(files.html), false);
    assert.ok(existsSync(join(dir, "reports", "shared", "notes.txt")));
    store.close();
  });
});

describe("run summary", () => {
  const step = (severity: StepAnalysis["severity"], impacted: string[]): StepAnalysis =>
    ({
      severity,
      impacted: impacted.map((service) => ({ service, via: "direct", summary: [`${service} broke`] })),
    }) as unknown as StepAnalysis;

  test("worst severity, merged impacted services, status and verdict", () => {
    const record = {
      runId: "r",
      startedAt: "2026-01-01T00:00:00.000Z",
      endedAt: "2026-01-01T00:02:00.000Z",
      status: "aborted",
      abortReason: "safety envelope: every service down",
      dryRun: false,
      steps: [
        { target: "db", kind: "pause" },
        { target: "cache", kind: "kill" },
      ],
      experiment: { title: "t", verdict: { held: false, summary: "no", findings: [] } },
    } as unknown as RunRecord;
    const analysis = { steps: [step("minor", ["web"]), step("critical", ["web", "api"])] } as RunAnalysis;
    const end = summarizeRun(record, analysis, undefined);
    assert.equal(end.status, "aborted");
    assert.equal(end.reason, "safety envelope: every service down");
    assert.equal(end.severity, "critical");
    assert.deepEqual(
      end.impacted.map((i) => i.service),
      ["web", "api"],
    );
    assert.deepEqual(end.targets, ["db", "cache"]);
    assert.deepEqual(end.verdict, { held: false, summary: "no" });
    assert.equal(worstSeverity([]), undefined);
  });
});

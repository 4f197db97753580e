/**
 * report.json's per-fault contract (`faults[]`, docs/report.md) on a rendered report: every key
 * present, null (never missing) where there is no value, and the same data as the full analysis.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { analyzeRun } from "../../src/analysis/impact.js";
import { loadReport, writeReport, writeReportData } from "../../src/report/write.js";
import { reportRun } from "../fixtures/monitor/report-run.js";
import { effects, recordRun } from "../fixtures/monitor/series.js";

const SEVERITIES = ["critical", "major", "minor", "none"];
const VIAS = ["direct", "transitive", "hidden"];
const CLASSES = ["timeout", "refused", "dns", "http5xx", "auth", "oom", "crash", "error"];

/** Asserts the documented shape of one fault entry; returns it typed loosely for further checks. */
function assertFaultShape(f: Record<string, unknown>): void {
  assert.equal(typeof f.faultId, "string");
  assert.equal(typeof f.target, "string");
  assert.equal(typeof f.kind, "string");
  assert.ok(SEVERITIES.includes(f.severity as string), `severity ${String(f.severity)}`);
  assert.equal(typeof f.severityReason, "string");
  assert.equal(typeof f.analyzed, "boolean");
  assert.ok(f.note === null || typeof f.note === "string");
  assert.ok(f.recoveredAfterMs === null || typeof f.recoveredAfterMs === "number");
  assert.ok(Array.isArray(f.expected));
  assert.ok(Array.isArray(f.unclassifiedLines));
  assert.ok(Array.isArray(f.impacted));
  for (const i of f.impacted as Record<string, unknown>[]) {
    assert.equal(typeof i.service, "string");
    assert.ok(VIAS.includes(i.via as string), `via ${String(i.via)}`);
    assert.ok(Array.isArray(i.signals) && i.signals.length > 0, "an impacted service has signals");
    for (const g of i.signals as Record<string, unknown>[]) {
      assert.equal(typeof g.metric, "string");
      assert.equal(typeof g.text, "string");
    }
    assert.ok(Array.isArray(i.errors));
    for (const e of i.errors as Record<string, unknown>[]) {
      assert.ok(CLASSES.includes(e.class as string), `class ${String(e.class)}`);
      assert.ok("peer" in e, "peer is always present");
      assert.ok(e.peer === null || typeof e.peer === "string");
      assert.equal(typeof e.count, "number");
      assert.equal(typeof e.lowerBound, "boolean");
    }
    assert.ok(i.recoveredAfterMs === null || typeof i.recoveredAfterMs === "number");
  }
}

describe("report.json faults[]", () => {
  test("a rendered report has the per-fault contract at the top level", async () => {
    const { record, analysis } = reportRun();
    const dir = await mkdtemp(path.join(tmpdir(), "faultline-faults-"));
    try {
      const files = await writeReport(dir, record, analysis);
      const json = JSON.parse(await readFile(files.json, "utf8")) as Record<string, unknown>;
      assert.deepEqual(Object.keys(json).slice(0, 4), ["format", "faults", "record", "analysis"]);
      const faults = json.faults as Record<string, unknown>[];
      assert.equal(faults.length, record.steps.length);
      for (const f of faults) assertFaultShape(f);

      const [cache, batch] = faults as unknown as {
        target: string;
        kind: string;
        severity: string;
        recoveredAfterMs: number | null;
        impacted: {
          service: string;
          via: string;
          errors: { class: string; peer: string | null; count: number }[];
        }[];
        hiddenEdges: { from: string; to: string }[];
      }[];
      assert.equal(cache!.target, "cache");
      assert.equal(cache!.kind, "pause");
      assert.equal(cache!.severity, analysis.steps[0]!.severity);
      assert.equal(cache!.recoveredAfterMs, 0);
      const sessions = cache!.impacted.find((i) => i.service === "sessions")!;
      assert.equal(sessions.via, "direct");
      assert.deepEqual(sessions.errors, [{ class: "timeout", peer: "cache", count: 40, lowerBound: false }]);
      const mailer = cache!.impacted.find((i) => i.service === "mailer")!;
      assert.equal(mailer.via, "hidden");
      assert.deepEqual(
        cache!.hiddenEdges.map((e) => `${e.from}->${e.to}`),
        ["mailer->cache"],
      );
      assert.equal(batch!.severity, "none");
      assert.deepEqual(batch!.impacted, []);
      // The full record and analysis stay beside it.
      assert.deepEqual((json.analysis as { steps: unknown[] }).steps.length, record.steps.length);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("peer is null when no peer could be attributed; recoveredAfterMs null when never recovered", async () => {
    const { record, data } = recordRun([
      {
        id: "f1",
        target: "db",
        kind: "pause",
        afterTicks: 5,
        effects: {
          db: effects.paused(),
          // Errors naming nobody, and still going at the end of the watch.
          batch: effects.forever(() => ({
            logs: { lines: 10, errors: 3, byClass: { error: 3 }, peers: [], dropped: 0 },
          })),
        },
      },
    ]);
    const analysis = analyzeRun(record, data);
    const dir = await mkdtemp(path.join(tmpdir(), "faultline-faults-"));
    try {
      await writeReport(dir, record, analysis);
      const { faults } = await loadReport(dir);
      const f = faults[0]!;
      assertFaultShape(f as unknown as Record<string, unknown>);
      const batch = f.impacted.find((i) => i.service === "batch")!;
      assert.deepEqual(batch.errors, [{ class: "error", peer: null, count: 45, lowerBound: false }]);
      assert.equal(batch.recoveredAfterMs, null);
      assert.equal(f.recoveredAfterMs, null);
      assert.equal(f.severity, "critical");
      assert.match(f.severityReason, /batch had not recovered/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("a report written before faults[] existed is re-rendered with it", async () => {
    const { record, analysis } = reportRun();
    const dir = await mkdtemp(path.join(tmpdir(), "faultline-faults-"));
    try {
      await writeFile(
        path.join(dir, "report.json"),
        JSON.stringify({ format: "faultline-report/1", record, analysis }),
      );
      const loaded = await loadReport(dir);
      assert.equal(loaded.faults.length, 2);
      const out = path.join(dir, "again");
      const files = await writeReportData(out, loaded);
      const json = JSON.parse(await readFile(files.json, "utf8")) as { faults: unknown[] };
      assert.deepEqual(json.faults, JSON.parse(JSON.stringify(loaded.faults)));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

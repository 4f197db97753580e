/**
 * `faultline run --out` and POST /api/experiments are one sequence (src/run/experiment.ts): for the same
 * plan on the demo shop they write the same record and report, shape for shape — the steady state before,
 * the fault, the recovery after, the graph before and after, the analysed fault.
 */
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { ChaosService } from "../../src/api/service.js";
import { defaultRegistry } from "../../src/faults/registry.js";
import type { ReportData } from "../../src/report/data.js";
import { Journal } from "../../src/run/journal.js";
import { runFaultlineOk } from "../support/cli.js";
import { DEMO_SERVICES, demoStack, type DemoStack } from "../support/demo-stack.js";

/**
 * Where two JSON values differ in shape: keys, value types, the shape of array elements (merged over each
 * array). A null or an empty array stands for "none this time" and matches any shape, since what a run
 * measured (a target impact, a recovery time) is data, not shape.
 */
function shapeDifferences(a: unknown, b: unknown, path = "$"): string[] {
  if (a === null || b === null) return [];
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b)) return [`${path}: array on one side only`];
    if (!a.length || !b.length) return [];
    return shapeDifferences(mergeElements(a), mergeElements(b), `${path}[]`);
  }
  if (typeof a !== typeof b) return [`${path}: ${typeof a} vs ${typeof b}`];
  if (typeof a !== "object") return [];
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  const keys = new Set([...Object.keys(ao), ...Object.keys(bo)]);
  return [...keys].flatMap((k) =>
    !(k in ao) || !(k in bo)
      ? [`${path}.${k}: on one side only`]
      : shapeDifferences(ao[k], bo[k], `${path}.${k}`),
  );
}
/** An array's elements as one value: objects merged key by key, else the first element. */
function mergeElements(items: unknown[]): unknown {
  const objects = items.filter((i) => i !== null && typeof i === "object" && !Array.isArray(i));
  if (!objects.length) return items[0];
  const merged: Record<string, unknown> = {};
  for (const o of objects)
    for (const [k, v] of Object.entries(o as object))
      if (merged[k] === undefined || merged[k] === null) merged[k] = v;
  return merged;
}
/** Only the keys of a graph: which edges discovery found on each side may differ between two discoveries. */
const graphKeys = (g: unknown) => (g && typeof g === "object" ? Object.keys(g).sort() : g);

describe("one experiment sequence for the CLI and the API", { timeout: 240_000 }, () => {
  let stack: DemoStack;
  let workDir: string;
  let service: ChaosService | undefined;
  let fromCli: ReportData;
  let fromApi: ReportData;
  // The client simulator: nothing depends on it, so pausing it disturbs no other test on the shared stack.
  const target = DEMO_SERVICES.client;

  before(async () => {
    stack = await demoStack();
    workDir = await mkdtemp(join(tmpdir(), "faultline-same-record-"));
    const plan = { duration: "2s", baseline: "2s", recovery: "2s" };

    await runFaultlineOk(
      [
        "run",
        "--project",
        stack.project,
        "--only",
        target,
        "--kinds",
        "pause",
        "--duration",
        plan.duration,
        "--baseline",
        plan.baseline,
        "--recovery",
        plan.recovery,
        "--state-dir",
        join(workDir, "cli-state"),
        "--out",
        join(workDir, "cli-report"),
        "--quiet",
      ],
      { timeoutMs: 120_000, killSignal: "SIGINT" },
    );
    fromCli = JSON.parse(await readFile(join(workDir, "cli-report", "report.json"), "utf8")) as ReportData;

    service = new ChaosService({
      runtime: stack.runtime,
      journal: new Journal(join(workDir, "api-state")),
      registry: defaultRegistry(),
      selector: { project: stack.project },
      outDir: join(workDir, "api-reports"),
      defaults: { kinds: ["pause"], durationMs: 30_000, recoveryWaitMs: 10_000 },
      discoverOnStart: false,
    });
    await service.start();
    const started = await service.startExperiment({
      only: [target],
      kinds: ["pause"],
      duration: 2000,
      baseline: 2000,
      recoveryWait: 2000,
    });
    const until = Date.now() + 120_000;
    while (service.getExperiment(started.id).status === "running" && Date.now() < until)
      await new Promise((r) => setTimeout(r, 250));
    const done = service.getExperiment(started.id);
    assert.equal(done.status, "completed", JSON.stringify(done));
    fromApi = JSON.parse(await readFile(service.experimentReport(started.id, "json"), "utf8")) as ReportData;
  });

  after(async () => {
    await service?.shutdown();
    if (stack) {
      for (const c of await stack.runtime.list({ project: stack.project }).catch(() => [])) {
        if (c.state === "paused") await stack.runtime.unpause(c.id).catch(() => undefined);
      }
      await stack.dispose();
    }
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  test("the same record: steps, outcome, graph before and after", () => {
    for (const r of [fromCli.record, fromApi.record]) {
      assert.equal(r.status, "completed");
      assert.deepEqual(
        r.steps.map((s) => `${s.kind} ${s.target} ${s.outcome?.status} ${s.errors.join("; ")}`.trim()),
        [`pause ${target} reverted`],
      );
    }
    const { graphBefore: cliBefore, graphAfter: cliAfter, ...cliRecord } = fromCli.record;
    const { graphBefore: apiBefore, graphAfter: apiAfter, ...apiRecord } = fromApi.record;
    assert.deepEqual(shapeDifferences(apiRecord, cliRecord), []);
    assert.deepEqual(graphKeys(apiBefore), graphKeys(cliBefore));
    assert.deepEqual(graphKeys(apiAfter), graphKeys(cliAfter));
    assert.ok(cliAfter && apiAfter, "both set graphAfter");
  });

  test("the same analysed fault: a steady state before it and recovery watched after it", () => {
    assert.deepEqual(shapeDifferences(fromApi.faults, fromCli.faults), []);
    assert.deepEqual(Object.keys(fromApi).sort(), Object.keys(fromCli).sort());
    for (const report of [fromCli, fromApi]) {
      const [fault] = report.faults;
      assert.ok(fault, "one fault in the report");
      assert.equal(fault.analyzed, true, fault.note ?? "");
      assert.deepEqual(
        report.analysis.notes.filter((n) => /connection/i.test(n)),
        [],
        "TCP connections were counted",
      );
    }
  });
});

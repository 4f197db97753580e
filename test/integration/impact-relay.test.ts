/**
 * Impact through services that say nothing (the relay fixture, test/fixtures/relay): pausing the cache
 * must report the app that uses it (direct), the nginx proxy in front of the app that logs nothing on
 * stdout (from its clients' errors), the client two hops away (transitive, with its path), and nothing
 * unrelated (the database, its bystander client). faultline is told no names: it discovers the stack.
 */
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { ReportData } from "../../src/report/data.js";
import type { FaultReport } from "../../src/report/faults.js";
import { type CliResult, runFaultline } from "../support/cli.js";
import { RELAY_SERVICES as S, relayStack, unpauseAll, type RelayStack } from "../support/relay-stack.js";

describe("pausing the cache behind an app, a silent proxy and a client", { timeout: 300_000 }, () => {
  let stack: RelayStack | undefined;
  let workDir: string;
  let run: CliResult;
  let report: ReportData;
  let step: FaultReport;
  let markdown: string;

  before(async () => {
    stack = await relayStack("i12-relay");
    workDir = await mkdtemp(join(tmpdir(), "faultline-relay-"));
    const out = join(workDir, "report");
    run = await runFaultline(
      [
        "run",
        "--project",
        stack.project,
        "--only",
        S.cache,
        "--kinds",
        "pause",
        "--duration",
        "8s",
        "--baseline",
        "6s",
        "--recovery",
        "6s",
        "--state-dir",
        join(workDir, "state"),
        "--out",
        out,
      ],
      { timeoutMs: 120_000, killSignal: "SIGINT" },
    );
    assert.equal(run.code, 0, `faultline run failed:\n${run.stderr}`);
    report = JSON.parse(await readFile(join(out, "report.json"), "utf8")) as ReportData;
    markdown = await readFile(join(out, "report.md"), "utf8");
    const found = report.faults.find((f) => f.target === S.cache && f.kind === "pause");
    assert.ok(found, `a pause on ${S.cache}: ${report.faults.map((f) => f.target).join(", ")}`);
    assert.equal(found.analyzed, true, found.note ?? "");
    step = found;
  });

  after(async () => {
    if (stack) {
      await unpauseAll(stack);
      await stack.dispose();
    }
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  const impact = (service: string) => {
    const i = step.impacted.find((x) => x.service === service);
    assert.ok(i, `${service} impacted: ${JSON.stringify(step.impacted, null, 2)}`);
    return i;
  };

  test("the app is impacted directly, by its own timeouts", () => {
    const app = impact(S.app);
    assert.equal(app.via, "direct");
    assert.ok(
      app.errors.some((e) => e.class === "timeout" && e.count > 0),
      JSON.stringify(app.errors),
    );
  });

  test("the silent proxy is impacted from its clients' errors, one hop past the app", () => {
    const gate = impact(S.proxy);
    assert.deepEqual(gate.path, [S.cache, S.app, S.proxy]);
    assert.ok(
      gate.clientErrors?.some((e) => e.client === S.client && e.class === "http5xx" && e.count > 0),
      JSON.stringify(gate.clientErrors),
    );
    assert.match(
      markdown,
      new RegExp(`${S.proxy}: clients saw HTTP 5xx errors from ${S.proxy} \\(${S.client}: \\d+\\)`),
    );
  });

  test("the client two hops away is impacted transitively, with its path", () => {
    const client = impact(S.client);
    assert.equal(client.via, "transitive");
    assert.deepEqual(client.path, [S.cache, S.app, S.proxy, S.client]);
    assert.ok(
      client.errors.some((e) => e.peer === S.proxy && e.count > 0),
      JSON.stringify(client.errors),
    );
    assert.match(
      markdown,
      new RegExp(`${S.client} \\(transitive: ${S.cache} → ${S.app} → ${S.proxy} → ${S.client}\\)`),
    );
  });

  test("nothing unrelated: neither the database nor its bystander, and no hidden dependency", () => {
    assert.deepEqual(
      step.impacted.map((i) => i.service).sort(),
      [S.app, S.proxy, S.client].sort(),
      step.impacted.map((i) => `${i.service}: ${i.summary.join("; ")}`).join("\n"),
    );
    assert.deepEqual(step.hiddenEdges, []);
    assert.equal(report.record.steps[0]?.outcome?.status, "reverted");
  });
});

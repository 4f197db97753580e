/**
 * The one-command experiment, end to end, as a user runs it: `faultline run --out DIR` against the demo
 * shop pauses the database, then the client simulator, monitors the stack around each fault and writes
 * the report. Which service is which comes from discovery (kind) and the compose file (depends_on),
 * never from faultline's source: the test checks that faultline found the cascade on its own.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { ServiceProfile } from "../../src/discovery/profile.js";
import { LABELS } from "../../src/docker/types.js";
import type { ReportData } from "../../src/report/data.js";
import type { FaultReport } from "../../src/report/faults.js";
import { type CliResult, runFaultline } from "../support/cli.js";
import { readComposeWiring } from "../support/compose-file.js";
import { demoStack, waitForSteadyState, type DemoStack } from "../support/demo-stack.js";

/** An overrunning command gets SIGINT, as from Ctrl-C, so a `run` still reverts its fault. */
const cli = (args: string[], timeoutMs: number) => runFaultline(args, { timeoutMs, killSignal: "SIGINT" });

describe("faultline run --out: pause the database, then the client", { timeout: 300_000 }, () => {
  let stack: DemoStack;
  let workDir: string;
  let database: string;
  let client: string;
  let web: string;
  let run: CliResult;
  let report: ReportData;

  before(async () => {
    stack = await demoStack();
    workDir = await mkdtemp(join(tmpdir(), "faultline-run-e2e-"));
    const discovered = await cli(
      ["discover", "--project", stack.project, "--format", "json", "--quiet"],
      60_000,
    );
    assert.equal(discovered.code, 0, discovered.stderr);
    const profiles = JSON.parse(discovered.stdout) as ServiceProfile[];
    const ofKind = (kind: string) => {
      const found = profiles.filter((p) => p.classification.kind === kind).map((p) => p.id);
      assert.equal(found.length, 1, `one ${kind} service in ${profiles.map((p) => p.id).join(", ")}`);
      return found[0]!;
    };
    database = ofKind("postgresql");
    client = ofKind("client");
    // The web server: what the client depends on, and what itself depends on the database.
    const wiring = readComposeWiring(stack.composeFile);
    const webs = (wiring.dependsOn.get(client) ?? []).filter((s) =>
      (wiring.dependsOn.get(s) ?? []).includes(database),
    );
    assert.equal(webs.length, 1, `the client's server that uses ${database}: ${webs.join(", ")}`);
    web = webs[0]!;

    const out = join(workDir, "report");
    run = await cli(
      [
        "run",
        "--project",
        stack.project,
        "--only",
        `${database},${client}`,
        "--kinds",
        "pause",
        "--duration",
        "12s",
        "--baseline",
        "8s",
        "--recovery",
        "10s",
        // A limit the stack keeps: proves explicit thresholds reach the analysis without changing it.
        "--threshold",
        "latency_p95_ms<5s",
        "--state-dir",
        join(workDir, "state"),
        "--out",
        out,
      ],
      200_000,
    );
    assert.equal(run.code, 0, `faultline run failed:\n${run.stderr}`);
    report = JSON.parse(await readFile(join(out, "report.json"), "utf8")) as ReportData;
  });

  after(async () => {
    // Leave the shared stack as we found it even when an assertion failed half-way.
    if (stack) {
      for (const c of await stack.runtime.list({ project: stack.project }).catch(() => [])) {
        if (c.state === "paused") await stack.runtime.unpause(c.id).catch(() => undefined);
      }
      await stack.dispose();
    }
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  /** The fault as report.json's `faults[]` contract gives it (docs/report.md). */
  const stepOn = (target: string): FaultReport => {
    assert.ok(Array.isArray(report.faults), "report.json has a top-level faults array");
    const step = report.faults.find((s) => s.target === target && s.kind === "pause");
    assert.ok(step, `a pause step on ${target} in ${report.faults.map((s) => s.target).join(", ")}`);
    assert.equal(step.analyzed, true, step.note ?? "");
    for (const i of step.impacted)
      for (const e of i.errors)
        assert.ok("peer" in e && "count" in e, `error entry shape: ${JSON.stringify(e)}`);
    return step;
  };

  test("writes report.html, report.json and report.md; progress goes to stderr", () => {
    for (const file of ["report.html", "report.json", "report.md"])
      assert.ok(existsSync(join(workDir, "report", file)), `${file} written`);
    assert.match(run.stdout, /report\.html\n/);
    assert.match(run.stderr, /injected: pause/);
    assert.equal(report.record.status, "completed");
    assert.deepEqual(report.analysis.thresholds, ["latency_p95_ms<5s"]);
    assert.deepEqual(
      report.record.steps.map((s) => `${s.target}:${s.outcome?.status}`),
      [`${database}:reverted`, `${client}:reverted`],
      "graph order: the most depended-on first",
    );
  });

  test("pausing the database: the web server times out on it, the client is hit through it", () => {
    const step = stepOn(database);
    const summary = JSON.stringify(step.impacted, null, 2);
    const webImpact = step.impacted.find((i) => i.service === web);
    assert.ok(webImpact, `${web} impacted: ${summary}`);
    assert.equal(webImpact.via, "direct");
    assert.ok(
      webImpact.errors.some((e) => e.class === "timeout" && e.peer === database && e.count > 0),
      `${web} logged timeouts naming ${database}: ${JSON.stringify(webImpact.errors)}`,
    );
    const clientImpact = step.impacted.find((i) => i.service === client);
    assert.ok(clientImpact, `${client} impacted: ${summary}`);
    assert.equal(clientImpact.via, "transitive");
    assert.ok(clientImpact.signals.length > 0);
    assert.ok(
      ["critical", "major"].includes(step.severity),
      `severity ${step.severity}: ${step.severityReason}`,
    );
    assert.equal(
      step.impacted.filter((i) => i.via === "hidden").length,
      0,
      `nothing outside the blast radius: ${summary}`,
    );
    assert.equal(typeof step.recoveredAfterMs, "number", "the stack recovered within the watch");
  });

  test("pausing the client, on which nothing depends, impacts no other service", () => {
    const step = stepOn(client);
    assert.deepEqual(
      step.impacted.map((i) => `${i.service} (${i.via}): ${i.summary.join("; ")}`),
      [],
    );
    assert.equal(step.severity, "none");
  });

  test("no helper containers left and the stack is healthy again", async () => {
    const ids = (await stack.runtime.list({ project: stack.project })).map((c) => c.id);
    const left = (await stack.runtime.helpers.listOwned()).filter((h) => {
      const target = h.labels[LABELS.target] ?? "";
      return target !== "" && ids.some((id) => id.startsWith(target) || target.startsWith(id.slice(0, 12)));
    });
    assert.deepEqual(
      left.map((h) => h.name),
      [],
    );
    await waitForSteadyState(stack.runtime, stack.project, { timeoutMs: 60_000 });
  });
});

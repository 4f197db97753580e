/**
 * `faultline run --out` stopped before its time, as a user sees it: the safety envelope trips (every
 * service down longer than --abort-when-down) -> exit 3; Ctrl-C -> exit 130. Either way the fault is
 * reverted, the report is written with status "aborted", and no helper container is left behind.
 * Runs against its own labelled containers, never the shared demo stack.
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connectDocker } from "../../src/docker/engine.js";
import { LABELS } from "../../src/docker/types.js";
import type { ReportData } from "../../src/report/data.js";
import { removeByLabel, startHttpContainers } from "../fixtures/monitor/http-containers.js";
import { spawnFaultline } from "../support/cli.js";

const docker = connectDocker();
const labels: string[] = [];
const dirs: string[] = [];

after(async () => {
  for (const label of labels) await removeByLabel(label);
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

interface Exit {
  code: number | null;
  stderr: string;
  stdout: string;
  ms: number;
}

/** `faultline run` on one labelled container; `onStderr` sees progress and may signal the child. */
function faultlineRun(
  label: string,
  dir: string,
  extra: string[],
  onStderr?: (text: string, child: ChildProcess) => void,
): Promise<Exit> {
  const started = Date.now();
  const { child, stdout, stderr } = spawnFaultline([
    "run",
    "--label",
    `faultline.test=${label}`,
    "--kinds",
    "pause",
    "--duration",
    "40s",
    "--baseline",
    "1s",
    "--recovery",
    "1s",
    "--interval",
    "250ms",
    "--state-dir",
    join(dir, "state"),
    "--out",
    join(dir, "report"),
    ...extra,
  ]);
  child.stderr!.on("data", () => onStderr?.(stderr(), child));
  const killer = setTimeout(() => child.kill("SIGKILL"), 50_000);
  return new Promise((resolve) => {
    child.on("close", (code) => {
      clearTimeout(killer);
      resolve({ code, stderr: stderr(), stdout: stdout(), ms: Date.now() - started });
    });
  });
}

async function setUp(name: string): Promise<{ label: string; id: string; dir: string }> {
  const label = `run-abort-${name}-${process.pid}`;
  labels.push(label);
  await removeByLabel(label);
  const [id] = await startHttpContainers(label, 1);
  const dir = await mkdtemp(join(tmpdir(), `faultline-${label}-`));
  dirs.push(dir);
  return { label, id: id!, dir };
}

async function assertRevertedAndReported(id: string, dir: string, run: Exit): Promise<ReportData> {
  const info = await docker.inspect(id);
  assert.equal(info.state, "running", "the pause was reverted");
  const left = (await docker.helpers.listOwned()).filter(
    (h) => id.startsWith(h.labels[LABELS.target] ?? "-") || h.networkMode.includes(id),
  );
  assert.deepEqual(
    left.map((h) => h.name),
    [],
    "no helper containers left",
  );
  for (const file of ["report.html", "report.json", "report.md"])
    assert.ok(existsSync(join(dir, "report", file)), `${file} written\n${run.stderr}`);
  const report = JSON.parse(await readFile(join(dir, "report", "report.json"), "utf8")) as ReportData;
  assert.equal(report.record.status, "aborted");
  assert.equal(report.record.steps[0]?.kind, "pause");
  assert.notEqual(report.record.steps[0]?.revertedAt, undefined, "the step records its revert");
  return report;
}

test("the safety envelope trips: exit 3, fault reverted, report written", { timeout: 60_000 }, async () => {
  const { label, id, dir } = await setUp("envelope");
  const run = await faultlineRun(label, dir, ["--abort-when-down", "2s"]);
  assert.equal(run.code, 3, `exit ${run.code}\n${run.stderr}`);
  assert.match(run.stderr, /safety envelope tripped/);
  assert.ok(run.ms < 40_000, `aborted long before the 40 s fault ended (${run.ms} ms)`);
  const report = await assertRevertedAndReported(id, dir, run);
  assert.match(report.record.abortReason ?? "", /down/);
  assert.ok(report.analysis.timeline.some((e) => e.kind === "abort"));
});

test("SIGINT mid-fault: exit 130, fault reverted, report written", { timeout: 60_000 }, async () => {
  const { label, id, dir } = await setUp("sigint");
  let sent = false;
  const run = await faultlineRun(label, dir, ["--abort-when-down", "60s"], (text, child) => {
    if (!sent && /injected: pause/.test(text)) {
      sent = true;
      // A moment inside the fault window, as a user pressing Ctrl-C would be.
      setTimeout(() => child.kill("SIGINT"), 1500);
    }
  });
  assert.ok(sent, `the fault was injected\n${run.stderr}`);
  assert.equal(run.code, 130, `exit ${run.code}\n${run.stderr}`);
  await assertRevertedAndReported(id, dir, run);
});

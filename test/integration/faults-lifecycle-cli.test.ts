/**
 * The `inject` and `run` commands as a user runs them: output, exit codes, and that refused input
 * changes nothing. `run` is given a graph file so the test does not depend on discovery's timing.
 */
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { DependencyGraph } from "../../src/graph/types.js";
import { Journal } from "../../src/run/journal.js";
import { runFaultline } from "../support/cli.js";
import {
  type EchoTarget,
  helpersFor,
  removeProject,
  startEcho,
  state,
  uniqueProject,
} from "../support/lifecycle-targets.js";

const project = uniqueProject("cli");
let stateDir: string;
let graphFile: string;
let echo: EchoTarget;
let backend: EchoTarget;

before(async () => {
  stateDir = await mkdtemp(join(tmpdir(), "faultline-cli-"));
  [echo, backend] = await Promise.all([startEcho(project, "echo"), startEcho(project, "backend")]);
  await startEcho(project, "vault", "no", ["faultline.exclude=true"]);
  const node = (id: string) => ({ id, kind: "tcp" as const, confidence: 1, ports: [], endpoints: [] });
  const graph: DependencyGraph = {
    nodes: [node("echo"), node("backend"), node("vault")],
    edges: [{ from: "echo", to: "backend", confidence: 0.9, evidence: [] }],
    order: [],
  };
  graphFile = join(stateDir, "graph.json");
  await writeFile(graphFile, JSON.stringify(graph));
});

after(async () => {
  await removeProject(project);
  await rm(stateDir, { recursive: true, force: true });
});

const faultline = (...args: string[]) => runFaultline(args, { stateDir, timeoutMs: 90_000 });

async function assertUntouched(): Promise<void> {
  for (const t of [echo, backend]) {
    assert.equal((await state(t.id)).status, "running");
    assert.deepEqual(await helpersFor(t.id), []);
  }
  assert.deepEqual(await new Journal(stateDir).pendingFaults(), []);
}

describe("faultline inject / run", { timeout: 180_000 }, () => {
  test("inject stays in the foreground, says what it injected and when it reverted", async () => {
    const r = await faultline(
      "inject",
      "--project",
      project,
      "--target",
      "echo",
      "--kind",
      "pause",
      "--duration",
      "1s",
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /injected: pause \(freeze\) echo .* for 1s/);
    assert.match(r.stdout, /#1 reverted after/);
    await assertUntouched();
  });

  test("refused input is one clear line, exit 2, and nothing is injected", async () => {
    const cases: [string[], RegExp][] = [
      [["--target", "echo", "--kind", "pause", "--latency", "200ms"], /unknown option "latency"/],
      [["--target", "echo", "--kind", "kill", "--signal", "SIGNOPE"], /not a Linux signal/],
      [["--target", "echo", "--kind", "melt"], /unknown fault kind "melt"/],
      [["--target", "echo", "--kind", "stop", "--duration", "30h"], /24h limit/],
      [
        ["--target", "ghost", "--kind", "pause"],
        /no service or container "ghost".*known: backend, echo, vault/,
      ],
      [
        ["--target", "vault", "--kind", "pause"],
        /"vault" is excluded: it is labelled faultline.exclude=true/,
      ],
    ];
    for (const [args, message] of cases) {
      const r = await faultline("inject", "--project", project, "--duration", "2s", ...args);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, message);
    }
    await assertUntouched();
  });

  test("run --plan: graph order (most depended-on first), exclusions, no change", async () => {
    const r = await faultline(
      "run",
      "--project",
      project,
      "--graph",
      graphFile,
      "--kinds",
      "pause,stop",
      "--duration",
      "2s",
      "--recovery-wait",
      "1s",
      "--plan",
    );
    assert.equal(r.code, 0, r.stderr);
    const steps = r.stdout.split("\n").filter((l) => /^\s+\d+\. /.test(l));
    assert.deepEqual(
      steps.map((l) => l.trim().split(" ").slice(1, 3).join(" ")),
      ["pause backend", "stop backend", "pause echo", "stop echo"],
    );
    assert.match(r.stdout, /skip vault: it is labelled faultline.exclude=true/);
    await assertUntouched();
  });

  test("run --max-blast-radius skips what too much depends on", async () => {
    const r = await faultline(
      "run",
      "--project",
      project,
      "--graph",
      graphFile,
      "--kinds",
      "pause",
      "--max-blast-radius",
      "0",
      "--plan",
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /skip backend: blast radius 1 > 0 \(echo\)/);
  });

  test("run --dry-run prints every engine call and changes nothing", async () => {
    const r = await faultline(
      "run",
      "--project",
      project,
      "--graph",
      graphFile,
      "--kinds",
      "pause,kill",
      "--duration",
      "30s",
      "--recovery-wait",
      "10s",
      "--dry-run",
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /would run: docker pause [0-9a-f]{12}/);
    assert.match(r.stdout, /would run: docker kill --signal SIGKILL [0-9a-f]{12}/);
    assert.match(r.stdout, /would run: docker run -d --label faultline.role=watchdog/);
    await assertUntouched();
  });

  test("run executes the plan one fault at a time and reverts each", async () => {
    const record = join(stateDir, "record.json");
    const r = await faultline(
      "run",
      "--project",
      project,
      "--graph",
      graphFile,
      "--kinds",
      "pause",
      "--duration",
      "1s",
      "--recovery-wait",
      "500ms",
      "--record",
      record,
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /run run-\S+ completed: 2 reverted/);
    const saved = JSON.parse(await readFile(record, "utf8")) as {
      steps: { target: string; outcome: { status: string } }[];
    };
    assert.deepEqual(
      saved.steps.map((s) => `${s.target}:${s.outcome.status}`),
      ["backend:reverted", "echo:reverted"],
    );
    await assertUntouched();
  });
});

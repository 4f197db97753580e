/**
 * Two faultlines on one engine, each serving its own project, never sweep each other's helpers. A real
 * `faultline serve --project B` starts (its start-up sweep runs) while project A has a helper that looks
 * stale from anywhere (an agent past its deadline label, of a run B's journal never saw): it is A's to
 * judge, so it stays. The same helper aimed at B's own container goes, as before.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { connectDocker } from "../../src/docker/engine.js";
import { LABELS } from "../../src/docker/types.js";
import { killHard, spawnFaultline, waitForOutput } from "../support/cli.js";
import { docker } from "../support/docker-cli.js";
import {
  type EchoTarget,
  IMAGE,
  removeProject,
  startEcho,
  uniqueProject,
} from "../support/lifecycle-targets.js";

const runtime = connectDocker();
const projectA = uniqueProject("scopea");
const projectB = uniqueProject("scopeb");
let stateDir: string;
let a: EchoTarget;
let b: EchoTarget;
const helpers: string[] = [];

/** A helper as another faultline's agent would look once past its deadline: running, labelled, stale. */
async function staleAgent(target: EchoTarget, run: string): Promise<string> {
  const id = await runtime.helpers.start({
    image: IMAGE,
    role: "agent",
    cmd: ["sleep", "600"],
    labels: {
      [LABELS.run]: run,
      [LABELS.fault]: `${run}-fault`,
      [LABELS.target]: target.id,
      [LABELS.deadline]: String(Date.now() - 120_000),
    },
    networkMode: `container:${target.id}`,
  });
  helpers.push(id);
  return id;
}

async function exists(id: string): Promise<boolean> {
  return docker("inspect", "-f", "{{.Id}}", id).then(
    () => true,
    () => false,
  );
}

before(async () => {
  stateDir = await mkdtemp(join(tmpdir(), "faultline-scope-"));
  [a, b] = await Promise.all([startEcho(projectA, "web"), startEcho(projectB, "web")]);
});

after(async () => {
  if (helpers.length) await docker("rm", "-f", ...helpers).catch(() => "");
  await removeProject(projectA);
  await removeProject(projectB);
  await rm(stateDir, { recursive: true, force: true });
});

describe("start-up sweep scope", { timeout: 120_000 }, () => {
  test("serve for project B leaves project A's helpers alone and sweeps its own", async () => {
    const ofA = await staleAgent(a, "run-of-another-faultline");
    const ofB = await staleAgent(b, "run-of-a-dead-faultline");
    const serve = spawnFaultline(["serve", "--project", projectB, "--listen", "127.0.0.1:0"], {
      stateDir,
      env: { FAULTLINE_LOG_LEVEL: "warn" },
    });
    try {
      await waitForOutput(serve, "serving", 60_000, "faultline serve to listen (after its sweep)");
      assert.equal(await exists(ofA), true, `project A's helper was swept:\n${serve.output()}`);
      assert.equal(await exists(ofB), false, `project B's own stale helper stayed:\n${serve.output()}`);
      assert.match(serve.output(), /removed agent helper/);
    } finally {
      serve.child.kill("SIGTERM");
      await Promise.race([serve.exited, new Promise((r) => setTimeout(r, 15_000))]);
      await killHard(serve.child);
    }
  });
});

/**
 * Stop-class signals on real containers. A SIGSTOPped process is frozen while the engine still says
 * "running", so a revert that asks only the engine does nothing and reports success. faultline refuses
 * these signals (pause is the fault for freezing), a journal entry written before that (kill with
 * SIGSTOP) is reverted with SIGCONT, and a revert counts as done only when the target's main process is
 * seen running again.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { connectDocker } from "../../src/docker/engine.js";
import type { JournalFaultEntry } from "../../src/faults/fault.js";
import { restoreLifecycle } from "../../src/faults/lifecycle.js";
import { runFaultline } from "../support/cli.js";
import {
  type EchoTarget,
  docker,
  helpersFor,
  probe,
  removeProject,
  startEcho,
  uniqueProject,
  waitFor,
} from "../support/lifecycle-targets.js";

const runtime = connectDocker();
const project = uniqueProject("stopsig");
let stateDir: string;
let echo: EchoTarget;

before(async () => {
  stateDir = await mkdtemp(join(tmpdir(), "faultline-stopsig-"));
  echo = await startEcho(project, "echo");
});

after(async () => {
  await docker("kill", "-s", "CONT", echo.id).catch(() => "");
  await removeProject(project);
  await rm(stateDir, { recursive: true, force: true });
});

/** The kernel's view of the target's main process: R/S/D … or T when stopped by a signal. */
async function processState(id: string): Promise<string> {
  const pid = await docker("inspect", "-f", "{{.State.Pid}}", id);
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0]!;
}

/** docker kill returns once the signal is sent; the process stops when it takes it. */
async function freeze(id: string): Promise<void> {
  await docker("kill", "-s", "STOP", id);
  await waitFor(async () => (await processState(id)) === "T", 5000, "the process to stop");
}

function killEntry(signal: string): JournalFaultEntry {
  return {
    faultId: `legacy-${signal}`,
    runId: "run-legacy",
    kind: "kill",
    target: { service: "echo", containerId: echo.id, containerName: echo.name },
    options: { signal },
    mechanism: "docker-api",
    helperContainerIds: [],
    deadline: Date.now() + 60_000,
    undo: { stateBefore: "running", restartPolicy: "no" },
  };
}

describe("stop-class kill signals", { timeout: 120_000 }, () => {
  test("inject --kind kill --signal SIGSTOP|19|TSTP is refused with the reason, and the target keeps answering", async () => {
    for (const signal of ["SIGSTOP", "19", "TSTP"]) {
      const r = await runFaultline(
        [
          "inject",
          "--project",
          project,
          "--target",
          "echo",
          "--kind",
          "kill",
          "--signal",
          signal,
          "--duration",
          "2s",
        ],
        { stateDir, timeoutMs: 60_000 },
      );
      assert.equal(r.code, 2, `${signal}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, /stops the process without the engine knowing/, signal);
      assert.match(r.stderr, /--kind pause/, signal);
      assert.equal(await processState(echo.id), "S", `${signal}: the target's process is not stopped`);
      assert.equal(await probe(echo.id), "ok");
      assert.deepEqual(await helpersFor(echo.id), []);
    }
  });

  test("a journalled kill with SIGSTOP (written before the refusal) is reverted with SIGCONT, checked on the process", async () => {
    await freeze(echo.id);
    assert.equal(await probe(echo.id), "timeout");
    assert.equal(JSON.parse(await docker("inspect", "-f", "{{json .State.Status}}", echo.id)), "running");
    await restoreLifecycle(killEntry("SIGSTOP"), runtime);
    assert.notEqual(await processState(echo.id), "T");
    assert.equal(await probe(echo.id, 2000), "ok");
  });

  test("a revert that leaves the main process stopped is a failure, not 'reverted'", async () => {
    // A kill fault with an ordinary signal whose target someone froze meanwhile: the engine says running.
    await freeze(echo.id);
    try {
      await assert.rejects(
        restoreLifecycle(killEntry("SIGTERM"), runtime),
        (e: Error & { code?: string }) => {
          assert.equal(e.code, "FAULT_REVERT_FAILED");
          assert.match(e.message, /main process .* is stopped/);
          assert.match(e.message + String((e as { hint?: string }).hint), /docker kill -s CONT/);
          return true;
        },
      );
    } finally {
      await docker("kill", "-s", "CONT", echo.id);
    }
    assert.equal(await probe(echo.id, 2000), "ok");
  });
});

/**
 * faultline killed mid-fault: SIGKILL then `faultline revert` leaves nothing behind; SIGKILL and no
 * restart at all is undone by the watchdog after duration + grace; SIGTERM reverts before exiting.
 * faultline runs as a real child process, exactly as a user starts it.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { WATCHDOG_GRACE_MS } from "../../src/faults/watchdog.js";
import { Journal } from "../../src/run/journal.js";
import { killHard, runFaultlineOk, startInject } from "../support/cli.js";
import {
  type EchoTarget,
  helpersFor,
  probe,
  removeProject,
  startEcho,
  state,
  uniqueProject,
  waitFor,
} from "../support/lifecycle-targets.js";

const project = uniqueProject("crash");
let stateDir: string;
let echo: EchoTarget;

before(async () => {
  stateDir = await mkdtemp(join(tmpdir(), "faultline-crash-"));
  echo = await startEcho(project, "echo");
});

after(async () => {
  await removeProject(project);
  await rm(stateDir, { recursive: true, force: true });
});

/** `faultline inject` on echo, resolved once the fault is in effect. */
const injectOnEcho = (kind: string, duration: string, ...flags: string[]) =>
  startInject({ project, target: "echo", kind, duration, flags }, { stateDir, timeoutMs: 30_000 });

const revertProject = () => runFaultlineOk(["revert", "--project", project], { stateDir, timeoutMs: 60_000 });

async function assertNothingLeft(): Promise<void> {
  const s = await state(echo.id);
  assert.equal(s.status, "running");
  assert.equal(s.paused, false);
  assert.equal(await probe(echo.id), "ok");
  assert.deepEqual(await helpersFor(echo.id), [], "no helper container left");
}

describe("crash recovery", { timeout: 120_000 }, () => {
  test("SIGKILL mid-pause, then `faultline revert --project` restores everything", async () => {
    const { child } = await injectOnEcho("pause", "20s");
    await killHard(child);
    assert.equal((await state(echo.id)).paused, true, "the fault outlived faultline");
    assert.equal((await helpersFor(echo.id)).length, 1, "its watchdog is standing by");
    assert.equal((await new Journal(stateDir).pendingFaults()).length, 1);

    const { stdout } = await revertProject();
    assert.match(stdout, /reverted 1 fault\(s\), removed \d helper\(s\)/);
    await assertNothingLeft();
    assert.deepEqual(await new Journal(stateDir).pendingFaults(), []);
  });

  test("SIGKILL mid-stop and no faultline ever again: the watchdog starts it after duration + grace", async () => {
    const durationMs = 2_000;
    // perl as PID 1 ignores SIGTERM: a short stop timeout keeps the stop itself short.
    const { child } = await injectOnEcho("stop", "2s", "--stop-timeout", "1");
    const killedAt = Date.now();
    await killHard(child);
    assert.equal((await state(echo.id)).status, "exited");
    await waitFor(
      async () => (await state(echo.id)).status === "running" && (await helpersFor(echo.id)).length === 0,
      durationMs + WATCHDOG_GRACE_MS + 10_000,
      "the watchdog to restore the container and remove itself",
    );
    assert.ok(Date.now() - killedAt >= WATCHDOG_GRACE_MS - 1000, "not before the deadline");
    await waitFor(async () => (await probe(echo.id)) === "ok", 5_000, "echo answering");
    await assertNothingLeft();
    // The journal still holds the intent; the next faultline start finds the target restored and closes it.
    const { stdout } = await revertProject();
    assert.match(stdout, /reverted 1 fault/);
    await assertNothingLeft();
  });

  test("SIGTERM mid-fault: faultline reverts, then exits non-zero", async () => {
    const { child, output, exited } = await injectOnEcho("pause", "20s");
    child.kill("SIGTERM");
    const code = await exited;
    assert.equal(code, 143, output());
    assert.match(output(), /reverted/);
    await assertNothingLeft();
    assert.deepEqual(await new Journal(stateDir).pendingFaults(), []);
  });
});

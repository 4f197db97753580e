/**
 * Lifecycle faults on real containers: each fault's effect as a client sees it, its watchdog, and its
 * revert; faultline never undoes a state it did not cause; dry runs change nothing.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { connectDocker } from "../../src/docker/engine.js";
import { defaultRegistry } from "../../src/faults/registry.js";
import { dryRunRuntime } from "../../src/run/dry-run.js";
import { Journal, NULL_JOURNAL } from "../../src/run/journal.js";
import type { RunObserver } from "../../src/run/observer.js";
import type { RunRecord } from "../../src/run/record.js";
import { adHocStep } from "../../src/run/plan.js";
import { runSingleFault } from "../../src/run/runner.js";
import { TargetResolver } from "../../src/run/targeting.js";
import {
  type EchoTarget,
  docker,
  helpersFor,
  probe,
  removeProject,
  startEcho,
  state,
  uniqueProject,
  waitFor,
} from "../support/lifecycle-targets.js";

const runtime = connectDocker();
const registry = defaultRegistry();
const project = uniqueProject("lifecycle");
let stateDir: string;
let journal: Journal;
let echo: EchoTarget;

before(async () => {
  stateDir = await mkdtemp(join(tmpdir(), "faultline-lifecycle-"));
  journal = new Journal(stateDir);
  echo = await startEcho(project, "echo");
});

after(async () => {
  await removeProject(project);
  await rm(stateDir, { recursive: true, force: true });
});

/** Injects through the real runner; `during` sees the fault in effect. */
async function inject(
  kind: string,
  options: Record<string, unknown>,
  durationMs: number,
  during: () => Promise<void>,
): Promise<RunRecord> {
  const resolver = new TargetResolver(runtime, { project });
  const step = adHocStep(
    await resolver.resolveService("echo"),
    registry.parseKind(kind),
    options,
    durationMs,
  );
  let duringError: unknown;
  const observer: RunObserver = {
    async onInjected() {
      await during().catch((e: unknown) => (duringError = e));
    },
  };
  const record = await runSingleFault(step, { runtime, registry, journal, resolver, project, observer });
  if (duringError) throw duringError;
  return record;
}

async function assertRestored(): Promise<void> {
  await waitFor(async () => (await probe(echo.id)) === "ok", 5_000, "echo answering again");
  assert.deepEqual(await helpersFor(echo.id), [], "no helper left");
  assert.deepEqual(await journal.pendingFaults(), [], "nothing pending in the journal");
}

describe("lifecycle faults", { timeout: 120_000 }, () => {
  test("pause freezes the service, a watchdog stands by, revert unfreezes it", async () => {
    const record = await inject("pause", {}, 1500, async () => {
      assert.equal((await state(echo.id)).paused, true);
      assert.equal(await probe(echo.id), "timeout", "a paused server accepts nothing");
      const [watchdog] = await helpersFor(echo.id);
      assert.ok(watchdog, "a watchdog container guards the pause");
      assert.equal(
        await docker("inspect", "-f", '{{index .Config.Labels "faultline.role"}}', watchdog),
        "watchdog",
      );
    });
    assert.deepEqual(record.steps[0]!.outcome, { status: "reverted" });
    assert.equal(record.steps[0]!.mechanism, "docker-api");
    await assertRestored();
  });

  test("stop takes the service down, revert starts it again", async () => {
    await inject("stop", { timeout: 1 }, 1000, async () => {
      assert.equal((await state(echo.id)).status, "exited");
      assert.equal(await probe(echo.id), "refused");
    });
    await assertRestored();
  });

  test("kill with a signal: SIGKILL ends it (exit 137), revert starts it again", async () => {
    await inject("kill", { signal: "KILL" }, 1000, async () => {
      const s = await state(echo.id);
      assert.equal(s.status, "exited");
      assert.equal(s.exitCode, 137);
    });
    await assertRestored();
  });

  test("kill with a signal PID 1 ignores changes nothing, and revert starts nothing", async () => {
    const before = (await state(echo.id)).startedAt;
    await inject("kill", { signal: "SIGUSR2" }, 500, async () => {
      // perl as PID 1 has no handler for SIGUSR2, so the kernel drops it.
      assert.equal((await state(echo.id)).status, "running");
    });
    assert.equal((await state(echo.id)).startedAt, before);
    await assertRestored();
  });

  test("restart restarts it (new start time) and it answers again", async () => {
    const before = (await state(echo.id)).startedAt;
    await inject("restart", { timeout: 1 }, 300, async () => {
      assert.notEqual((await state(echo.id)).startedAt, before);
    });
    await assertRestored();
  });

  test("a container the user paused is not paused again, and not unpaused by faultline", async () => {
    await docker("pause", echo.id);
    try {
      const record = await inject("pause", {}, 500, async () => assert.fail("must not be injected"));
      const outcome = record.steps[0]!.outcome;
      assert.equal(outcome?.status, "injection-failed");
      assert.match(outcome?.status === "injection-failed" ? outcome.error : "", /is paused, not running/);
      assert.equal((await state(echo.id)).paused, true, "still paused by its user");
      assert.deepEqual(await helpersFor(echo.id), []);
    } finally {
      await docker("unpause", echo.id);
    }
    await assertRestored();
  });

  test("a dry run describes the calls and changes nothing", async () => {
    const calls: string[] = [];
    const dry = dryRunRuntime(runtime, (c) => calls.push(c));
    const resolver = new TargetResolver(dry, { project });
    const step = adHocStep(await resolver.resolveService("echo"), "pause", {}, 60_000);
    const started = Date.now();
    const record = await runSingleFault(step, {
      runtime: dry,
      registry,
      journal: NULL_JOURNAL,
      resolver,
      dryRun: true,
    });
    assert.ok(Date.now() - started < 5_000, "a dry run does not wait out the duration");
    assert.equal(record.dryRun, true);
    const short = echo.id.slice(0, 12);
    assert.ok(
      calls.some((c) => c.startsWith("docker run -d --label faultline.role=watchdog")),
      calls.join("\n"),
    );
    assert.ok(calls.includes(`docker pause ${short}`), calls.join("\n"));
    assert.ok(
      calls.some((c) => c.startsWith("docker rm -f dry-run-helper")),
      calls.join("\n"),
    );
    assert.equal((await state(echo.id)).status, "running");
    assert.deepEqual(await helpersFor(echo.id), []);
  });

  test("kill on a container with restart=always: it ends running again, whoever restarts it", async () => {
    const always = await startEcho(project, "phoenix", "always");
    const resolver = new TargetResolver(runtime, { project });
    const step = adHocStep(await resolver.resolveService("phoenix"), "kill", {}, 1500);
    const record = await runSingleFault(step, { runtime, registry, journal, resolver, project });
    assert.deepEqual(record.steps[0]!.outcome, { status: "reverted" });
    const s = JSON.parse(await docker("inspect", "-f", "{{json .}}", always.id)) as {
      RestartCount: number;
      State: { Status: string };
    };
    assert.equal(s.State.Status, "running");
    assert.deepEqual(await helpersFor(always.id), []);
  });
});

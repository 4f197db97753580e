/**
 * faultline SIGKILLed in the middle of a network and a stress fault at once, with no faultline ever again:
 * the helpers' own dead-man switches undo the faults and remove themselves after duration + grace, and the
 * next `faultline revert` finds them undone and closes the journal. (SIGKILL then a faultline start, and
 * the dead-man switch of every other kind: crash-recovery-every-kind.test.ts, table-driven.)
 * faultline runs as a real child process, exactly as a user starts it.
 */
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { after, before, describe, test } from "node:test";
import { showRules } from "../../src/faults/network/agent-runner.js";
import { DEADMAN_GRACE_MS } from "../../src/faults/network/index.js";
import { Journal } from "../../src/run/journal.js";
import { killHard, runFaultlineOk, startInject } from "../support/cli.js";
import { composeLabels } from "../support/docker-cli.js";
import { helpersFor, uniqueProject, waitFor } from "../support/lifecycle-targets.js";
import { NetEnv, docker } from "./fixtures/faults-network/env.js";

interface Rtt {
  medianMs: number;
}

const project = uniqueProject("crashnet");
const env = new NetEnv();
const children = new Set<ChildProcess>();
let stateDir: string;
let server = "";
let client = "";
let stressed = "";
let baselineRttMs = 0;

/** Starts `faultline inject …` and resolves once it printed that the fault is in effect. */
async function injectOn(target: string, kind: string, duration: string, ...flags: string[]) {
  const { child } = await startInject(
    { project, target, kind, duration, flags },
    { stateDir, timeoutMs: 40_000 },
  );
  children.add(child);
  child.on("exit", () => children.delete(child));
  return child;
}

async function revertProject(): Promise<string> {
  const { stdout } = await runFaultlineOk(["revert", "--project", project], { stateDir, timeoutMs: 90_000 });
  return stdout;
}

async function rules(containerId: string): Promise<string> {
  return showRules(env.runtime, containerId);
}

function assertNoRules(dump: string): void {
  assert.ok(!/faultline:|FL-[0-9a-f]{8}/.test(dump), `faultline rules remain:\n${dump}`);
  assert.ok(!/qdisc (tbf|htb|netem)/.test(dump), `faultline qdiscs remain:\n${dump}`);
}

const rtt = () => env.measure<Rtt>(client, "rtt", "server", "6");
const connects = async () =>
  (await env.measure<{ ok: boolean }>(client, "connect", "server", "7000", "1.5")).ok;
const cpuOf = async (id: string) => (await env.runtime.stats(id)).cpuPercent;

/** Nothing of faultline's is left on `target`: no helper in any state, no rule, and it still runs. */
async function assertNothingLeft(target: string, network: boolean): Promise<void> {
  assert.deepEqual(await helpersFor(target), [], "no helper container left (running or exited)");
  assert.equal((await env.runtime.inspect(target)).state, "running");
  if (network) assertNoRules(await rules(target));
}

async function assertBaselineTraffic(): Promise<void> {
  assert.equal(await connects(), true, "the client reaches the server again");
  const now = await rtt();
  assert.ok(now.medianMs < baselineRttMs + 50, `rtt ${now.medianMs} ms (baseline ${baselineRttMs})`);
}

describe("crash recovery of network and stress faults", { timeout: 300_000 }, () => {
  before(async () => {
    stateDir = await mkdtemp(join(tmpdir(), "faultline-crashnet-"));
    await env.setup();
    server = await env.start("server", composeLabels(project, "server"));
    client = await env.start("client", composeLabels(project, "client"), ["sleep", "infinity"]);
    stressed = await env.start("stressed", composeLabels(project, "stressed"), ["sleep", "infinity"]);
    await waitFor(connects, 10_000, "the server answering");
    baselineRttMs = (await rtt()).medianMs;
  });

  after(async () => {
    for (const child of children) child.kill("SIGKILL");
    const helpers = (await Promise.all([server, client, stressed].filter(Boolean).map(helpersFor))).flat();
    if (helpers.length) await docker("rm", "-f", ...helpers).catch(() => "");
    await env.dispose();
    await rm(stateDir, { recursive: true, force: true });
  });

  test("SIGKILL and no faultline ever again: agent and stress helper undo the faults and remove themselves", async () => {
    // Long enough that both are still in effect when the kill lands, even on a loaded machine.
    const durationMs = 8_000;
    const latency = await injectOn("server", "latency", "8s", "--latency", "200ms");
    const cpu = await injectOn("stressed", "cpu", "8s", "--load", "100");
    const killedAt = Date.now();
    await Promise.all([killHard(latency), killHard(cpu)]);
    assert.equal((await helpersFor(server)).length, 1);
    assert.equal((await helpersFor(stressed)).length, 1);

    // stress-ng's --timeout is the fault's duration; the agent's deadline is duration + DEADMAN_GRACE_MS.
    await waitFor(
      async () => (await helpersFor(stressed)).length === 0,
      durationMs + 15_000,
      "the stress helper to end and remove itself",
    );
    await waitFor(
      async () => (await helpersFor(server)).length === 0,
      durationMs + DEADMAN_GRACE_MS + 15_000,
      "the agent to revert and remove itself",
    );
    assert.ok(
      Date.now() - killedAt >= DEADMAN_GRACE_MS - 1_000,
      "the agent held the fault until its deadline",
    );
    // Nothing was left even briefly exited: AutoRemove took both helpers away.
    await assertNothingLeft(server, true);
    await assertNothingLeft(stressed, false);
    await assertBaselineTraffic();
    await waitFor(async () => (await cpuOf(stressed)) < 20, 10_000, "the target's CPU to calm down");

    // The journal still holds both intents; the next start finds them undone and closes them.
    await sleep(200);
    assert.match(await revertProject(), /reverted 2 fault\(s\)/);
    await assertNothingLeft(server, true);
    assert.deepEqual(await new Journal(stateDir).pendingFaults(), []);
  });
});

/**
 * faultline SIGKILLed mid-fault, for every fault kind, table-driven. Each kind has its own target (so the
 * faults run side by side and the whole table costs about what one kind would), all in one network with a
 * client that measures what a user of the target sees.
 *
 * A: SIGKILL, then faultline starts again. Half the kinds are undone by `faultline revert --project`, the
 *    other half by the journal replay any normal `faultline inject` does first. Afterwards: no helper
 *    (agent, stress, watchdog) in any state, no faultline rule or qdisc in the target's namespace, the
 *    target running and unpaused, traffic/CPU/memory back at baseline, the journal closed.
 * B: SIGKILL and no faultline ever again: after duration + grace the dead-man switches (watchdog, the
 *    agent's deadline, stress-ng's timeout) have left the same nothing; the next faultline start (a
 *    normal `faultline run`) then closes the journal.
 * faultline runs as a real child process, exactly as a user starts it.
 */
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { showRules } from "../../src/faults/network/agent-runner.js";
import { DEADMAN_GRACE_MS } from "../../src/faults/network/index.js";
import { WATCHDOG_GRACE_MS } from "../../src/faults/watchdog.js";
import { Journal } from "../../src/run/journal.js";
import { killHard, runFaultline, startInject } from "../support/cli.js";
import { composeLabels } from "../support/docker-cli.js";
import { helpersFor, state as containerState, uniqueProject, waitFor } from "../support/lifecycle-targets.js";
import { NetEnv, docker } from "./fixtures/faults-network/env.js";

type Recovery = "revert" | "replay";

interface Target {
  id: string;
  service: string;
  project: string;
}

interface KindCase {
  kind: string;
  family: "lifecycle" | "network" | "stress";
  /** Which faultline start undoes it in variant A. */
  recovery: Recovery;
  flags: string[];
  /** Variant A, right after the SIGKILL: why the fault is visibly still in effect (checked, not assumed). */
  inEffect: { what: string; check: (t: Target) => Promise<boolean> };
}

const revertProject = uniqueProject("crashall-r");
const replayProject = uniqueProject("crashall-j");
const env = new NetEnv();
const children = new Set<ChildProcess>();
const targets = new Map<string, Target>();
let client = "";
let spare: Target;
/** Round trip from the client to each target before any fault, by target service. */
const baselineRttMs = new Map<string, number>();
let baselineMemory = 0;

const MIB = 1024 ** 2;

const rtt = async (t: Target) =>
  (await env.measure<{ medianMs: number }>(client, "rtt", t.service, "6")).medianMs;
const connects = async (t: Target) =>
  (await env.measure<{ ok: boolean }>(client, "connect", t.service, "7000", "1.5")).ok;
const resolves = async (t: Target) => (await env.measure<{ ok: boolean }>(t.id, "resolve", "client")).ok;
/** The statuses the client gets for a few requests to the target's HTTP port. */
const httpStatuses = async (t: Target) =>
  (
    await env.measure<{ statuses: Record<string, number> }>(
      client,
      "http",
      t.service,
      "7080",
      "3",
      "GET",
      "/",
    )
  ).statuses;
const cpuOf = async (t: Target) => (await env.runtime.stats(t.id)).cpuPercent;
const memoryOf = async (t: Target) => (await env.runtime.stats(t.id)).memoryBytes;
const hasRules = async (t: Target) =>
  /faultline:|FL-[0-9a-f]{8}|qdisc (tbf|htb|netem)/.test(await showRules(env.runtime, t.id));
const startedAtBefore = new Map<string, string>();

const CASES: KindCase[] = [
  {
    kind: "stop",
    family: "lifecycle",
    recovery: "revert",
    // netpeer's python is PID 1 and ignores SIGTERM: a short stop timeout keeps the stop short.
    flags: ["--stop-timeout", "1"],
    inEffect: {
      what: "the target stays stopped",
      check: async (t) => (await containerState(t.id)).status === "exited",
    },
  },
  {
    kind: "kill",
    family: "lifecycle",
    recovery: "replay",
    flags: [],
    inEffect: {
      what: "the target stays dead",
      check: async (t) => (await containerState(t.id)).status === "exited",
    },
  },
  {
    kind: "restart",
    family: "lifecycle",
    recovery: "replay",
    flags: ["--stop-timeout", "1"],
    inEffect: {
      what: "the target was restarted",
      check: async (t) => (await containerState(t.id)).startedAt !== startedAtBefore.get(t.id),
    },
  },
  {
    kind: "pause",
    family: "lifecycle",
    recovery: "revert",
    flags: [],
    inEffect: { what: "the target stays frozen", check: async (t) => (await containerState(t.id)).paused },
  },
  {
    kind: "latency",
    family: "network",
    recovery: "revert",
    flags: ["--latency", "200ms"],
    inEffect: {
      what: "the client sees +200 ms",
      check: async (t) => (await rtt(t)) > baselineRttMs.get(t.service)! + 120,
    },
  },
  {
    kind: "loss",
    family: "network",
    recovery: "replay",
    flags: ["--loss", "40"],
    inEffect: { what: "its rules stay in the namespace", check: hasRules },
  },
  {
    kind: "bandwidth",
    family: "network",
    recovery: "revert",
    flags: ["--rate", "1mbit"],
    inEffect: { what: "its qdisc stays in the namespace", check: hasRules },
  },
  {
    kind: "partition",
    family: "network",
    recovery: "revert",
    flags: ["--peer", "client"],
    inEffect: { what: "the client cannot connect", check: async (t) => !(await connects(t)) },
  },
  {
    kind: "dns",
    family: "network",
    recovery: "replay",
    flags: [],
    inEffect: { what: "the target cannot resolve names", check: async (t) => !(await resolves(t)) },
  },
  {
    kind: "http",
    family: "network",
    recovery: "replay",
    flags: ["--status", "503", "--percent", "100"],
    inEffect: {
      what: "the client gets 503",
      check: async (t) => JSON.stringify(await httpStatuses(t)) === '{"503":3}',
    },
  },
  {
    kind: "cpu",
    family: "stress",
    recovery: "revert",
    flags: ["--load", "100", "--workers", "1"],
    inEffect: {
      what: "the target burns CPU",
      // An idle target shows ~0 %; on a loaded machine one worker gets only its share of a core.
      check: async (t) => waitFor(async () => (await cpuOf(t)) > 10, 15_000, "CPU load").then(() => true),
    },
  },
  {
    kind: "memory",
    family: "stress",
    recovery: "replay",
    flags: ["--bytes", "96m"],
    inEffect: {
      what: "the target holds the memory",
      check: async (t) =>
        waitFor(async () => (await memoryOf(t)) > baselineMemory + 48 * MIB, 8_000, "memory held").then(
          () => true,
        ),
    },
  },
];

const target = (kind: string): Target => targets.get(kind)!;
/** The state a lifecycle fault holds its target in (others leave it running). */
const HELD_STATE: Record<string, string> = { stop: "exited", kill: "exited", pause: "paused" };

const faultline = (stateDir: string, ...args: string[]) =>
  runFaultline(args, { stateDir, timeoutMs: 120_000 });

/** Starts `faultline inject` on the case's target and resolves once it reports the fault in effect. */
async function injectCase(c: KindCase, stateDir: string, duration: string): Promise<ChildProcess> {
  const t = target(c.kind);
  const { child } = await startInject(
    { project: t.project, target: t.service, kind: c.kind, duration, flags: c.flags },
    { stateDir, timeoutMs: 60_000 },
  );
  children.add(child);
  child.on("exit", () => children.delete(child));
  return child;
}

/** Runs `work` over `items`, `width` at a time: enough overlap to be quick, little enough for 2 cores. */
async function inParallel<T>(
  items: readonly T[],
  width: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  const queue = [...items];
  await Promise.all(
    Array.from({ length: width }, async () => {
      for (let item = queue.shift(); item !== undefined; item = queue.shift()) await work(item);
    }),
  );
}

/** Everything a fault of `c` could leave behind is gone, and what the target does is back to normal. */
async function assertNothingLeft(c: KindCase): Promise<void> {
  const t = target(c.kind);
  assert.deepEqual(await helpersFor(t.id), [], "no helper container (agent, stress, watchdog) in any state");
  const s = await containerState(t.id);
  assert.equal(s.status, "running", "the target runs");
  assert.equal(s.paused, false, "the target is not paused");
  if (c.family === "network") {
    const dump = await showRules(env.runtime, t.id);
    assert.ok(!/faultline:|FL-[0-9a-f]{8}/.test(dump), `faultline rules remain:\n${dump}`);
    assert.ok(!/qdisc (tbf|htb|netem)/.test(dump), `faultline qdiscs remain:\n${dump}`);
  }
  await waitFor(() => connects(t), 10_000, `the client reaching ${t.service}`);
  if (c.family === "network") {
    const now = await rtt(t);
    const before_ = baselineRttMs.get(t.service)!;
    assert.ok(now < before_ + 50, `rtt ${now} ms (baseline ${before_})`);
  }
  if (c.kind === "dns") assert.equal(await resolves(t), true, "the target resolves names again");
  if (c.kind === "http") assert.deepEqual(await httpStatuses(t), { "200": 3 }, "the target answers itself");
  if (c.kind === "cpu")
    await waitFor(async () => (await cpuOf(t)) < 20, 10_000, "the target's CPU to calm down");
  if (c.kind === "memory")
    await waitFor(
      async () => (await memoryOf(t)) < baselineMemory + 24 * MIB,
      10_000,
      "the memory to be released",
    );
}

/**
 * Every target runs unpaused and no helper of faultline's aims at any of them (through the API: cheap to
 * poll). Notes in `restoredAt` when each kind's target was first seen restored.
 */
async function everyTargetRestored(restoredAt = new Map<string, number>()): Promise<boolean> {
  const aimed = new Set((await env.runtime.helpers.listOwned()).map((h) => h.labels["faultline.target"]));
  for (const [kind, t] of targets) {
    if (restoredAt.has(kind)) continue;
    if (!aimed.has(t.id) && (await env.runtime.inspect(t.id)).state === "running")
      restoredAt.set(kind, Date.now());
  }
  return restoredAt.size === targets.size;
}

async function pendingOn(stateDir: string, t: Target): Promise<string[]> {
  return (await new Journal(stateDir).pendingFaults())
    .filter((p) => p.entry.target.containerId === t.id)
    .map((p) => p.entry.faultId);
}

before(async () => {
  await env.setup();
  client = await env.start("client", composeLabels(revertProject, "client"), ["sleep", "infinity"]);
  await Promise.all(
    CASES.map(async (c) => {
      const service = `${c.kind}-target`;
      const project = c.recovery === "revert" ? revertProject : replayProject;
      targets.set(c.kind, {
        id: await env.start(service, composeLabels(project, service)),
        service,
        project,
      });
    }),
  );
  spare = {
    id: await env.start("spare", composeLabels(replayProject, "spare")),
    service: "spare",
    project: replayProject,
  };
  await waitFor(
    async () => (await Promise.all([...targets.values()].map(connects))).every(Boolean),
    15_000,
    "every target answering",
  );
  for (const c of CASES.filter((x) => x.family === "network"))
    baselineRttMs.set(target(c.kind).service, await rtt(target(c.kind)));
  baselineMemory = await memoryOf(target("memory"));
});

after(async () => {
  for (const child of children) child.kill("SIGKILL");
  const ids = [...targets.values(), ...(spare ? [spare] : [])].map((t) => t.id);
  const helpers = (await Promise.all(ids.map(helpersFor))).flat();
  if (helpers.length) await docker("rm", "-f", ...helpers).catch(() => "");
  await env.dispose();
});

describe("A: SIGKILL mid-fault, then faultline starts again", { timeout: 240_000 }, () => {
  let revertDir: string;
  let replayDir: string;
  const stillInEffect = new Map<string, { helpers: number; effect: boolean }>();
  const pendingBefore = { revert: 0, replay: 0 };
  let revertRun: { code: number; stdout: string; stderr: string };
  let replayRun: { code: number; stdout: string; stderr: string };

  before(async () => {
    revertDir = await mkdtemp(join(tmpdir(), "faultline-crashall-r-"));
    replayDir = await mkdtemp(join(tmpdir(), "faultline-crashall-j-"));
    for (const t of targets.values()) startedAtBefore.set(t.id, (await containerState(t.id)).startedAt);
    // Stress last: a burning core slows every faultline that starts after it.
    const order = [
      ...CASES.filter((c) => c.family !== "stress"),
      ...CASES.filter((c) => c.family === "stress"),
    ];
    // Every faultline stays alive until all faults are in: a faultline starting while another lies dead
    // would replay the journal and revert that fault before the test gets to.
    const running: ChildProcess[] = [];
    try {
      await inParallel(order, 3, async (c) => {
        running.push(await injectCase(c, c.recovery === "revert" ? revertDir : replayDir, "90s"));
      });
    } finally {
      await Promise.all(running.map(killHard));
    }
    await Promise.all(
      CASES.map(async (c) => {
        const t = target(c.kind);
        const effect = await c.inEffect.check(t).catch(() => false);
        stillInEffect.set(c.kind, { helpers: (await helpersFor(t.id)).length, effect });
      }),
    );
    pendingBefore.revert = (await new Journal(revertDir).pendingFaults()).length;
    pendingBefore.replay = (await new Journal(replayDir).pendingFaults()).length;
    // The two recovery paths, each on its own journal and project.
    revertRun = await faultline(revertDir, "revert", "--project", revertProject);
    replayRun = await faultline(
      replayDir,
      "inject",
      "--project",
      replayProject,
      "--target",
      "spare",
      "--kind",
      "pause",
      "--duration",
      "1s",
    );
  });

  after(async () => {
    await rm(revertDir, { recursive: true, force: true });
    await rm(replayDir, { recursive: true, force: true });
  });

  test("both recovery paths ran cleanly and say what they reverted", () => {
    const revertKinds = CASES.filter((c) => c.recovery === "revert");
    const replayKinds = CASES.filter((c) => c.recovery === "replay");
    assert.deepEqual(
      pendingBefore,
      { revert: revertKinds.length, replay: replayKinds.length },
      "all journalled",
    );
    assert.equal(revertRun.code, 0, revertRun.stderr);
    assert.match(
      revertRun.stdout,
      new RegExp(`reverted ${revertKinds.length} fault\\(s\\), removed \\d+ helper\\(s\\)`),
      revertRun.stdout,
    );
    // A normal inject first replays the journal: one line per fault a dead faultline left in effect.
    assert.equal(replayRun.code, 0, replayRun.stderr);
    for (const c of replayKinds) {
      assert.match(
        replayRun.stderr,
        new RegExp(`reverted ${c.kind} on ${c.kind}-target left by run`),
        replayRun.stderr,
      );
    }
    assert.match(replayRun.stdout, /#1 reverted after/, "then it ran its own fault");
  });

  for (const c of CASES) {
    test(`${c.kind}: in effect after the SIGKILL (${c.inEffect.what}); after \`${c.recovery === "revert" ? "faultline revert --project" : "faultline inject"}\` nothing is left`, async () => {
      const seen = stillInEffect.get(c.kind)!;
      assert.equal(seen.effect, true, `${c.inEffect.what}: the fault outlived faultline`);
      // restart has nothing to hold: the container is already running again.
      assert.equal(seen.helpers, c.kind === "restart" ? 0 : 1, "its helper outlived faultline");
      await assertNothingLeft(c);
      assert.deepEqual(
        await pendingOn(c.recovery === "revert" ? revertDir : replayDir, target(c.kind)),
        [],
        "journal closed",
      );
    });
  }
});

describe("B: SIGKILL mid-fault and no faultline ever again", { timeout: 240_000 }, () => {
  const DURATION_MS = 6_000;
  /**
   * How long each dead-man switch at least holds its fault after faultline died. Its deadline counts from
   * before the fault was applied, and starting a helper on a busy engine takes a while: 3 s of slack.
   */
  const HOLDS_AT_LEAST_MS: Record<KindCase["family"], number> = {
    lifecycle: DURATION_MS + WATCHDOG_GRACE_MS - 3_000,
    network: DURATION_MS + DEADMAN_GRACE_MS - 3_000,
    stress: DURATION_MS - 3_000,
  };
  const killedAt = new Map<string, number>();
  const restoredAt = new Map<string, number>();
  /** One journal per fault: each faultline dies right after injecting, and must not replay another's. */
  const stateDirs = new Map<string, string>();
  const heldAfterKill = new Map<string, { helpers: number; state: string }>();

  before(async () => {
    const order = [
      ...CASES.filter((c) => c.family !== "stress"),
      ...CASES.filter((c) => c.family === "stress"),
    ];
    await inParallel(order, 3, async (c) => {
      const stateDir = await mkdtemp(join(tmpdir(), `faultline-crashall-b-${c.kind}-`));
      stateDirs.set(c.kind, stateDir);
      await killHard(await injectCase(c, stateDir, `${DURATION_MS}ms`));
      killedAt.set(c.kind, Date.now());
      const t = target(c.kind);
      const s = await containerState(t.id);
      heldAfterKill.set(c.kind, {
        helpers: (await helpersFor(t.id)).length,
        state: s.paused ? "paused" : s.status,
      });
    });
    // Watchdogs act at stop timeout + duration + 5 s, agents at duration + 5 s, stress-ng after its duration.
    await waitFor(
      () => everyTargetRestored(restoredAt),
      60_000,
      "every dead-man switch to undo its fault and remove itself",
    );
  });

  after(async () => {
    for (const dir of stateDirs.values()) await rm(dir, { recursive: true, force: true });
  });

  for (const c of CASES) {
    test(`${c.kind}: held after the SIGKILL, undone by its own dead-man switch, nothing left`, async () => {
      const held = heldAfterKill.get(c.kind)!;
      assert.equal(held.helpers, c.kind === "restart" ? 0 : 1, "its dead-man switch was standing by");
      const expected = HELD_STATE[c.kind] ?? "running";
      assert.equal(held.state, expected, "the fault outlived faultline");
      if (c.kind !== "restart") {
        const heldMs = restoredAt.get(c.kind)! - killedAt.get(c.kind)!;
        const floor = HOLDS_AT_LEAST_MS[c.family];
        assert.ok(
          heldMs >= floor,
          `held ${heldMs} ms after the SIGKILL: not undone before its deadline (${floor} ms)`,
        );
      }
      await assertNothingLeft(c);
    });
  }

  test("the next faultline start (a normal `faultline run`) finds the faults undone and closes the journal", async () => {
    // A watchdog's fault and an agent's (its agent gone, the namespace is swept); each run then pauses
    // that same target briefly. One after the other: a faultline starting sweeps helpers past their
    // deadline, and the namespace sweep's probe carries its fault's (past) deadline.
    await inParallel(["stop", "latency"], 1, async (kind) => {
      const stateDir = stateDirs.get(kind)!;
      assert.equal((await new Journal(stateDir).pendingFaults()).length, 1, `${kind}: still journalled`);
      const r = await faultline(
        stateDir,
        "run",
        "--project",
        target(kind).project,
        "--services",
        `${kind}-target`,
        "--kinds",
        "pause",
        "--duration",
        "1s",
        "--recovery-wait",
        "0s",
      );
      assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
      assert.match(r.stderr, new RegExp(`reverted ${kind} on ${kind}-target left by run`), r.stderr);
      assert.deepEqual(await new Journal(stateDir).pendingFaults(), [], `${kind}: journal closed`);
      await assertNothingLeft(CASES.find((c) => c.kind === kind)!);
    });
  });
});

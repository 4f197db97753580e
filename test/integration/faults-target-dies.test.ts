/**
 * A target that dies mid-fault, on the real engine: removed (`docker rm -f`) or killed while faultline
 * holds a fault on it. faultline notices within a second or two instead of holding a fault on nothing
 * until the duration ends, removes its helper (agent, stress helper, watchdog), closes the journal entry,
 * and exits non-zero with one line naming the target and what happened to it.
 * One mechanism each: an agent in the target's namespace (latency), stress-ng in its cgroup (cpu), and a
 * lifecycle fault with its watchdog (stop), side by side on their own targets.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Journal } from "../../src/run/journal.js";
import { startInject } from "../support/cli.js";
import { composeLabels } from "../support/docker-cli.js";
import { helpersFor, uniqueProject } from "../support/lifecycle-targets.js";
import { NetEnv, docker } from "./fixtures/faults-network/env.js";

const project = uniqueProject("dies");
const env = new NetEnv();
const stateDirs: string[] = [];

interface DyingCase {
  kind: string;
  flags: string[];
  /** How the target dies once the fault is in effect. */
  death: "rm -f" | "kill";
  /** What faultline must say about it. */
  message: (name: string) => RegExp;
}

const CASES: DyingCase[] = [
  {
    kind: "latency",
    flags: ["--latency", "200ms"],
    death: "rm -f",
    message: (name) =>
      new RegExp(`target ${name} \\(service latency-target\\) was removed during the latency fault`),
  },
  {
    kind: "cpu",
    flags: ["--load", "50"],
    death: "kill",
    message: (name) =>
      new RegExp(`target ${name} \\(service cpu-target\\) exited \\(code 137\\) during the cpu fault`),
  },
  {
    kind: "stop",
    // netpeer's python is PID 1 and ignores SIGTERM: a short stop timeout keeps the stop short.
    flags: ["--stop-timeout", "1"],
    death: "rm -f",
    message: (name) =>
      new RegExp(`target ${name} \\(service stop-target\\) was removed during the stop fault`),
  },
];

interface Outcome {
  code: number | null;
  output: string;
  /** The target's container name. */
  name: string;
  /** From the target's death to faultline's exit. */
  reactionMs: number;
  helpersWhileHeld: number;
  targetId: string;
  stateDir: string;
}

/** Injects `c` for 60 s, kills its target once it is in effect, and waits for faultline to exit. */
async function injectThenKillTarget(c: DyingCase): Promise<Outcome> {
  const service = `${c.kind}-target`;
  const targetId = await env.start(service, composeLabels(project, service));
  const name = (await docker("inspect", "-f", "{{.Name}}", targetId)).replace(/^\//, "");
  const stateDir = await mkdtemp(join(tmpdir(), `faultline-dies-${c.kind}-`));
  stateDirs.push(stateDir);
  const inject = await startInject(
    { project, target: service, kind: c.kind, duration: "60s", flags: c.flags },
    { stateDir, timeoutMs: 60_000 },
  );
  try {
    const helpersWhileHeld = (await helpersFor(targetId)).length;
    const diedAt = Date.now();
    if (c.death === "rm -f") await docker("rm", "-f", targetId);
    else await docker("kill", targetId);
    let timer: NodeJS.Timeout | undefined;
    const code = await Promise.race([
      inject.exited,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(
              new Error(
                `faultline still holds the ${c.kind} fault 30 s after its target died:\n${inject.output()}`,
              ),
            ),
          30_000,
        );
      }),
    ]).finally(() => clearTimeout(timer));
    return {
      code,
      output: inject.output(),
      name,
      reactionMs: Date.now() - diedAt,
      helpersWhileHeld,
      targetId,
      stateDir,
    };
  } finally {
    inject.child.kill("SIGKILL");
  }
}

describe("a target that dies mid-fault", { timeout: 180_000 }, () => {
  const outcomes = new Map<string, Outcome>();

  before(async () => {
    await env.setup();
    const results = await Promise.all(CASES.map(injectThenKillTarget));
    CASES.forEach((c, i) => outcomes.set(c.kind, results[i]!));
  });

  after(async () => {
    await env.dispose();
    for (const d of stateDirs) await rm(d, { recursive: true, force: true });
  });

  for (const c of CASES) {
    test(`${c.kind}: target ${c.death === "rm -f" ? "removed" : "killed"} → faultline says so, exits 1, leaves nothing`, async (t) => {
      const o = outcomes.get(c.kind)!;
      const text = o.output;
      t.diagnostic(text);
      assert.equal(o.helpersWhileHeld, 1, `its ${c.kind === "stop" ? "watchdog" : "helper"} was in place`);
      assert.equal(o.code, 1, text);
      const errorLines = text.split("\n").filter((l) => l.startsWith("faultline: "));
      assert.equal(errorLines.length, 1, `one error line:\n${text}`);
      assert.match(errorLines[0]!, c.message(o.name));
      assert.ok(
        o.reactionMs < 15_000,
        `noticed ${o.reactionMs} ms after the target died, not at the end of the 60 s`,
      );
      // Nothing of faultline's aims at the dead target, and the journal closed the fault.
      assert.deepEqual(await helpersFor(o.targetId), [], "no helper container left");
      const journal = new Journal(o.stateDir);
      assert.deepEqual(await journal.pendingFaults(), [], "the journal holds nothing pending");
      const records = await journal.records();
      assert.ok(
        records.some((r) => r.type === "reverted"),
        "the fault is marked reverted",
      );
    });
  }
});

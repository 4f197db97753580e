/**
 * Bad fault parameters at the CLI, as a user types them: a negative duration, loss above 100 %, jitter not
 * smaller than the latency, a peer that does not exist. Each is one clear line on stderr, exit 2, and
 * nothing is injected: no helper, no rule in the target's namespace, no journal entry, the target as it was.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { connectDocker } from "../../src/docker/engine.js";
import { showRules } from "../../src/faults/network/agent-runner.js";
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

const project = uniqueProject("refused");
let stateDir: string;
let web: EchoTarget;
let startedAt = "";

const faultline = (...args: string[]) => runFaultline(args, { stateDir, timeoutMs: 60_000 });

const CASES: { what: string; args: string[]; message: RegExp }[] = [
  {
    what: "a negative duration",
    args: ["--kind", "pause", "--duration", "-5s"],
    message: /--duration "-5s" is not a duration/,
  },
  {
    what: "a negative duration given with =",
    args: ["--kind", "latency", "--latency", "100ms", "--duration=-1m"],
    message: /--duration "-1m" is not a duration/,
  },
  {
    what: "loss above 100 %",
    args: ["--kind", "loss", "--loss", "150", "--duration", "5s"],
    message: /loss.*<=\s*100/,
  },
  {
    what: "jitter equal to the latency",
    args: ["--kind", "latency", "--latency", "100ms", "--jitter", "100ms", "--duration", "5s"],
    message: /jitter 100 ms must be smaller than the latency \(100 ms\)/,
  },
  {
    what: "jitter above the latency",
    args: ["--kind", "latency", "--latency", "100ms", "--jitter", "250ms", "--duration", "5s"],
    message: /jitter 250 ms must be smaller than the latency \(100 ms\)/,
  },
  {
    what: "an unknown peer",
    args: ["--kind", "partition", "--peer", "ghost", "--duration", "5s"],
    message: /no service or container "ghost" in project "[^"]+" \(known: web\)/,
  },
];

describe("refused fault parameters at the CLI", { timeout: 120_000 }, () => {
  before(async () => {
    stateDir = await mkdtemp(join(tmpdir(), "faultline-refused-"));
    web = await startEcho(project, "web");
    startedAt = (await state(web.id)).startedAt;
  });

  after(async () => {
    await removeProject(project);
    await rm(stateDir, { recursive: true, force: true });
  });

  test("each is one clear line, exit 2, and nothing is injected", async () => {
    const results = await Promise.all(
      CASES.map(async (c) => ({
        c,
        r: await faultline("inject", "--project", project, "--target", "web", ...c.args),
      })),
    );
    for (const { c, r } of results) {
      assert.equal(r.code, 2, `${c.what}: ${r.stderr}`);
      const lines = r.stderr.split("\n").filter(Boolean);
      assert.equal(lines.length, 1, `${c.what}: exactly one line\n${r.stderr}`);
      assert.match(lines[0]!, /^faultline: /, c.what);
      assert.match(lines[0]!, c.message, c.what);
      assert.doesNotMatch(r.stdout, /injected:/, `${c.what}: nothing was injected`);
    }

    const s = await state(web.id);
    assert.equal(s.status, "running");
    assert.equal(s.paused, false);
    assert.equal(s.startedAt, startedAt, "never stopped or restarted");
    assert.deepEqual(await helpersFor(web.id), [], "no helper was started");
    assert.deepEqual(await new Journal(stateDir).records(), [], "nothing was journalled");
    const rules = await showRules(connectDocker(), web.id);
    assert.ok(
      !/faultline:|FL-[0-9a-f]{8}|qdisc (tbf|htb|netem)/.test(rules),
      `rules in the namespace:\n${rules}`,
    );
  });
});

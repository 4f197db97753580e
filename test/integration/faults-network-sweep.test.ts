/**
 * The journal-less sweep: agents SIGKILLed (their rules stay) and the journal deleted (nothing remembers
 * the rules), then `faultline revert --project P` finds faultline's rules by their marks in every
 * namespace of the project and removes them, and only them: a rule the test added itself stays.
 */
import assert from "node:assert/strict";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { AGENT_IMAGE } from "../../src/images/agent.js";
import type { JournalFaultEntry } from "../../src/faults/fault.js";
import { showRules } from "../../src/faults/network/agent-runner.js";
import { networkFamily } from "../../src/faults/network/index.js";
import { Journal } from "../../src/run/journal.js";
import { runFaultlineOk } from "../support/cli.js";
import { composeLabels } from "../support/docker-cli.js";
import { uniqueProject } from "../support/lifecycle-targets.js";
import { NetEnv, docker, faultlineLeftovers } from "./fixtures/faults-network/env.js";

interface Transfer {
  seconds: number;
}
interface Loss {
  lossPercent: number;
}

const project = uniqueProject("netsweep");
const env = new NetEnv();
const dirs: string[] = [];
let server = "";
let client = "";

/** Rules of the test's own, without faultline's marks (one chain even looks like faultline's). */
const OWN_RULES = [
  "iptables -N FL-custom",
  "iptables -A FL-custom -j RETURN",
  "iptables -A INPUT -p tcp --dport 9 -m comment --comment mine -j FL-custom",
  "tc qdisc add dev lo root handle 1: tbf rate 1gbit burst 32kb latency 50ms",
].join(" && ");

async function stateDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "faultline-netsweep-"));
  dirs.push(dir);
  return dir;
}

describe("journal-less sweep of network rules (integration)", { timeout: 120_000 }, () => {
  before(async () => {
    await env.setup();
    server = await env.start("server", composeLabels(project, "server"));
    client = await env.start("client", composeLabels(project, "client"), ["sleep", "infinity"]);
  });
  after(async () => {
    await env.dispose();
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  test("revert --project removes rules of SIGKILLed agents with the journal gone, and nothing else", async () => {
    const bytes = String(256 * 1024);
    // The faults are journalled for real, in a state dir that is deleted afterwards.
    const dir = await stateDir();
    const journal = new Journal(dir);
    const journalled = new Set<string>();
    const ctx = {
      ...env.ctx(),
      record: async (e: JournalFaultEntry) => {
        if (journalled.has(e.faultId)) await journal.update(e);
        else await journal.intent(e, project);
        journalled.add(e.faultId);
      },
    };
    const target = await env.resolve(server, "server");
    const deps = env.deps({ server, client });
    const bandwidth = await networkFamily.create(
      "bandwidth",
      target,
      { rate: "1mbit", direction: "both" },
      60_000,
      deps,
    );
    const loss = await networkFamily.create("loss", target, { percent: 100, ports: 7001 }, 60_000, deps);
    for (const fault of [bandwidth, loss]) await fault.inject(ctx, new AbortController().signal);
    await docker(
      "run",
      "--rm",
      "--label",
      "faultline.test=network",
      "--network",
      `container:${server}`,
      "--cap-add",
      "NET_ADMIN",
      AGENT_IMAGE,
      "sh",
      "-c",
      OWN_RULES,
    );

    // Abruptly: the agents die without reverting (their AutoRemove takes the containers), and the
    // journal goes too.
    const agents = await env.runtime.helpers.listOwned([`faultline.target=${server}`]);
    assert.equal(agents.length, 2, "one agent per fault");
    await docker("kill", "-s", "KILL", ...agents.map((a) => a.id));
    assert.ok((await readdir(dir)).length > 0, "the faults were journalled");
    await rm(dir, { recursive: true, force: true });
    const before = faultlineLeftovers(await showRules(env.runtime, server));
    for (const mark of [/^faultline:/, /^FL-/, /^qdisc tbf fa/, /^qdisc ingress/, /^flb/])
      assert.ok(
        before.some((l) => mark.test(l)),
        `${mark} left by the killed agents: ${before.join(", ")}`,
      );
    const slow = await env.measure<Transfer>(client, "upload", "server", bytes);
    assert.ok(slow.seconds > 1.5, `the fault is still in effect: upload ${slow.seconds}s`);

    const { stdout, stderr } = await runFaultlineOk(["revert", "--project", project], {
      stateDir: await stateDir(),
      timeoutMs: 90_000,
    });
    console.log(`# ${stdout.trim()}\n# ${stderr.trim().split("\n").join("\n# ")}`);
    assert.match(stdout, /leftover rule\(s\)/, `${stdout}${stderr}`);
    assert.match(stderr, /leftover rule\(s\) from .*server.*'s network namespace/, stderr);

    const rules = await showRules(env.runtime, server);
    assert.deepEqual(faultlineLeftovers(rules), [], `faultline rules remain:\n${rules}`);
    // The test's own rules are untouched.
    assert.match(rules, /:FL-custom/, `own chain kept:\n${rules}`);
    assert.match(rules, /-A INPUT .*--comment mine -j FL-custom/, `own rule kept:\n${rules}`);
    assert.match(rules, /qdisc tbf 1: dev lo root/, `own qdisc kept:\n${rules}`);
    // And the traffic is back to normal.
    const up = await env.measure<Transfer>(client, "upload", "server", bytes);
    const down = await env.measure<Transfer>(client, "bulk", "server", bytes);
    assert.ok(up.seconds < 0.5 && down.seconds < 0.5, `up ${up.seconds}s, down ${down.seconds}s`);
    const udp = await env.measure<Loss>(client, "udploss", "server", "50");
    assert.ok(udp.lossPercent < 5, `udp loss after the sweep ${udp.lossPercent}%`);
    // The client's namespace had nothing of faultline's and keeps what it has.
    assert.deepEqual(faultlineLeftovers(await showRules(env.runtime, client)), []);
  });
});

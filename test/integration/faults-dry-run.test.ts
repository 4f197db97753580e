/**
 * `--dry-run` for every family, as a user runs it: it exits 0, describes the mechanism a real run would
 * use (the agent's tc/iptables commands, stress-ng's command line, the engine calls), and afterwards no
 * helper container exists, no rule is in the target's namespace, no journal was written, and the
 * targets' state is exactly what it was.
 */
import assert from "node:assert/strict";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { showRules } from "../../src/faults/network/agent-runner.js";
import { runFaultline } from "../support/cli.js";
import { composeLabels } from "../support/docker-cli.js";
import { helpersFor, uniqueProject, waitFor } from "../support/lifecycle-targets.js";
import { NetEnv, docker } from "./fixtures/faults-network/env.js";

const project = uniqueProject("dryrun");
const env = new NetEnv();
let stateDir: string;
let server = "";
let client = "";

const faultline = (...args: string[]) => runFaultline(args, { stateDir, timeoutMs: 90_000 });

/** What must not change: running, not paused, not restarted. */
async function snapshot(id: string): Promise<string> {
  return docker(
    "inspect",
    "-f",
    "{{.State.Status}} {{.State.Paused}} {{.State.StartedAt}} {{.RestartCount}}",
    id,
  );
}

function assertNoRules(dump: string): void {
  assert.ok(!/faultline:|FL-[0-9a-f]{8}/.test(dump), `faultline rules present:\n${dump}`);
  assert.ok(!/qdisc (tbf|htb|netem|prio)/.test(dump), `faultline qdiscs present:\n${dump}`);
}

/** Each kind, its flags, and what the described calls must show of its mechanism. */
const CASES: { kind: string; flags: string[]; mechanism: RegExp }[] = [
  {
    kind: "latency",
    flags: ["--latency", "150ms", "--jitter", "10ms"],
    mechanism: /in \S+'s network namespace: (tc qdisc add .*netem delay 150ms|iptables -t nat .*REDIRECT)/,
  },
  {
    kind: "loss",
    flags: ["--loss", "30"],
    mechanism: /in \S+'s network namespace: (tc qdisc add .*netem loss|iptables .*statistic --mode random)/,
  },
  {
    kind: "bandwidth",
    flags: ["--rate", "1mbit"],
    mechanism: /in \S+'s network namespace: tc (qdisc|class) add .*(tbf|htb)/,
  },
  {
    kind: "partition",
    flags: ["--peer", "client"],
    mechanism: /in \S+'s network namespace: iptables -t filter -A \S+ .*-s \d+\.\d+\.\d+\.\d+\/32 -j DROP/,
  },
  { kind: "dns", flags: [], mechanism: /in \S+'s network namespace: iptables .*53 -j REJECT/ },
  {
    kind: "dns",
    flags: ["--dns-mode", "nxdomain", "--dns-name", "client"],
    mechanism:
      /start the DNS responder on \{dnsPort\} \(answers NXDOMAIN\)[\s\S]*-p udp -m udp --dport 53 .*-j REDIRECT --to-ports \{dnsPort\}/,
  },
  {
    kind: "http",
    flags: ["--status", "503", "--percent", "50", "--path", "/orders*"],
    mechanism:
      /ports listening here that answer HTTP[\s\S]*start the HTTP fault proxy on \{inPort\} \(answers selected requests 503[\s\S]*iptables -t nat -A \S+ -p tcp -m tcp --dport \{httpPort\} -j REDIRECT --to-ports \{inPort\}/,
  },
  {
    kind: "cpu",
    flags: ["--load", "80"],
    mechanism: /faultline.role=stress .*stress-ng --cpu 1 --cpu-load 80/,
  },
  {
    kind: "memory",
    flags: ["--bytes", "64m"],
    mechanism: /faultline.role=stress .*stress-ng --vm 1 --vm-bytes/,
  },
  { kind: "stop", flags: [], mechanism: /docker stop -t \d+ [0-9a-f]{12}[\s\S]*docker start [0-9a-f]{12}/ },
  { kind: "pause", flags: [], mechanism: /docker pause [0-9a-f]{12}[\s\S]*docker unpause [0-9a-f]{12}/ },
];

describe("--dry-run describes every call and changes nothing", { timeout: 180_000 }, () => {
  const before_: Record<string, string> = {};

  before(async () => {
    stateDir = await mkdtemp(join(tmpdir(), "faultline-dryrun-"));
    await env.setup();
    server = await env.start("server", composeLabels(project, "server"));
    client = await env.start("client", composeLabels(project, "client"), ["sleep", "infinity"]);
    await waitFor(async () => (await snapshot(server)).startsWith("running"), 10_000, "the server running");
    for (const id of [server, client]) before_[id] = await snapshot(id);
  });

  after(async () => {
    const helpers = (await Promise.all([server, client].filter(Boolean).map(helpersFor))).flat();
    if (helpers.length) await docker("rm", "-f", ...helpers).catch(() => "");
    await env.dispose();
    await rm(stateDir, { recursive: true, force: true });
  });

  async function assertNothingChanged(): Promise<void> {
    for (const id of [server, client]) {
      assert.equal(await snapshot(id), before_[id], "the container's state is unchanged");
      assert.deepEqual(await helpersFor(id), [], "no helper container exists");
    }
    assertNoRules(await showRules(env.runtime, server));
    assert.deepEqual(await readdir(stateDir), [], "a dry run writes no journal");
  }

  test("inject --dry-run, every kind: exit 0 and the mechanism is described", async () => {
    // Two at a time: each is a separate faultline process, and the engine has calls to spare.
    const results: {
      kind: string;
      code: number;
      stdout: string;
      stderr: string;
      mechanism: RegExp;
      ms: number;
    }[] = [];
    const queue = [...CASES];
    const worker = async () => {
      for (let c = queue.shift(); c; c = queue.shift()) {
        const started = Date.now();
        const r = await faultline(
          "inject",
          "--dry-run",
          "--project",
          project,
          "--target",
          "server",
          "--kind",
          c.kind,
          "--duration",
          "20s",
          ...c.flags,
        );
        results.push({ kind: c.kind, mechanism: c.mechanism, ...r, ms: Date.now() - started });
      }
    };
    await Promise.all([worker(), worker()]);
    for (const r of results) {
      const all = `${r.stdout}\n${r.stderr}`;
      assert.equal(r.code, 0, `${r.kind}: ${all}`);
      assert.match(r.stdout, /^dry run: /m, `${r.kind}: ${all}`);
      assert.match(r.stdout, r.mechanism, `${r.kind}: ${all}`);
      assert.doesNotMatch(all, /failed|could not/i, `${r.kind}: ${all}`);
    }
    // Helpers are described with their removal: a real run starts and removes the same containers.
    for (const r of results.filter((x) => /would run: docker run -d/.test(x.stdout))) {
      const started_ = r.stdout.match(/would run: docker run -d /g)?.length ?? 0;
      const removed = r.stdout.match(/would run: docker rm -f /g)?.length ?? 0;
      assert.equal(removed, started_, `${r.kind}: every helper it would start it would remove\n${r.stdout}`);
    }
    // A network fault's agent would revert its own rules on SIGTERM: that is described too.
    const latency = results.find((r) => r.kind === "latency")!;
    assert.match(
      latency.stdout,
      /docker kill --signal SIGTERM[\s\S]*in \S+'s network namespace: (tc qdisc del|fl-agent release-root|iptables -t nat -D)/,
    );
    for (const r of results) {
      assert.ok(r.ms < 20_000, `${r.kind}: a dry run does not wait out the 20 s duration (${r.ms} ms)`);
    }
    await assertNothingChanged();
  });

  test("run --dry-run over the project: every step described, none failed, nothing changed", async () => {
    const r = await faultline(
      "run",
      "--dry-run",
      "--project",
      project,
      "--kinds",
      "latency,loss,cpu,pause",
      "--option",
      "latency.latency=100ms",
      "--option",
      "loss.loss=20",
      "--duration",
      "20s",
    );
    const all = `${r.stdout}\n${r.stderr}`;
    assert.equal(r.code, 0, all);
    assert.match(r.stdout, /run \S+ completed: 8 reverted$/m, all);
    assert.match(r.stdout, /would run: {3}in \S+'s network namespace: (tc|iptables) /, all);
    assert.match(r.stdout, /stress-ng --cpu/, all);
    assert.match(r.stdout, /docker pause [0-9a-f]{12}/, all);
    assert.match(r.stdout, /docker unpause [0-9a-f]{12}/, all);
    await assertNothingChanged();
  });
});

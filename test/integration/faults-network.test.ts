/**
 * Network faults on real containers, measured from the outside by a client container:
 * latency, loss, stacking, bandwidth, partition, dns, each direction, the agent's dead-man switch and
 * crash recovery.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { describeCapabilities, networkCapabilities } from "../../src/faults/network/capabilities.js";
import type { Fault } from "../../src/faults/fault.js";
import { showRules } from "../../src/faults/network/agent-runner.js";
import { networkFamily } from "../../src/faults/network/index.js";
import { InvalidInputError } from "../../src/errors.js";
import { NetEnv, docker, faultlineLeftovers } from "./fixtures/faults-network/env.js";

interface Rtt {
  connectMs: number;
  medianMs: number;
  minMs: number;
}
interface Transfer {
  bytes: number;
  seconds: number;
}
interface Loss {
  lossPercent: number;
}

const env = new NetEnv();
let server = "";
let client = "";

async function assertNoRules(containerId: string, faultId?: string): Promise<void> {
  const rules = await showRules(env.runtime, containerId);
  if (faultId) assert.ok(!rules.includes(faultId), `rules of ${faultId} remain:\n${rules}`);
  else {
    assert.deepEqual(faultlineLeftovers(rules), [], `faultline rules remain:\n${rules}`);
    assert.ok(!/qdisc (tbf|htb|netem)/.test(rules), `faultline qdiscs remain:\n${rules}`);
  }
}

async function inject(
  kind: Parameters<typeof networkFamily.create>[0],
  target: string,
  options: Record<string, unknown>,
  durationMs = 60_000,
) {
  const fault = await networkFamily.create(
    kind,
    await env.resolve(target, target.includes("server") ? "server" : "client"),
    options,
    durationMs,
    env.deps({ server, client }),
  );
  await fault.inject(env.ctx(), new AbortController().signal);
  return fault;
}

async function revertAndCheck(fault: Fault): Promise<void> {
  await fault.revert(env.ctx());
  const agents = await env.runtime.helpers.listOwned([`faultline.fault=${fault.id}`]);
  assert.equal(agents.length, 0, "agent container removed");
}

describe("network faults (integration)", { timeout: 240_000 }, () => {
  before(async () => {
    await env.setup();
    server = await env.start("server");
    client = await env.start("client", [], ["sleep", "infinity"]);
    const caps = await networkCapabilities(env.runtime);
    console.log(`# kernel: ${describeCapabilities(caps)}`);
  });
  after(async () => {
    await env.dispose();
  });

  test("latency on the server delays what it sends; revert restores the baseline", async () => {
    const base = await env.measure<Rtt>(client, "rtt", "server", "10");
    const fault = await inject("latency", server, { latency: "200ms", jitter: "10ms" });
    try {
      assert.ok(fault.mechanism === "delay-proxy" || fault.mechanism === "tc-netem", String(fault.mechanism));
      const during = await env.measure<Rtt>(client, "rtt", "server", "10");
      assert.ok(
        during.medianMs > base.medianMs + 150 && during.medianMs < base.medianMs + 350,
        `rtt ${during.medianMs} ms (baseline ${base.medianMs})`,
      );
    } finally {
      await revertAndCheck(fault);
    }
    const afterRevert = await env.measure<Rtt>(client, "rtt", "server", "10");
    assert.ok(afterRevert.medianMs < base.medianMs + 50, `rtt after revert ${afterRevert.medianMs} ms`);
    await assertNoRules(server);
  });

  test("latency scoped to a peer leaves other traffic alone (outgoing, on the client)", async () => {
    const fault = await inject("latency", client, { latency: "150ms", peers: "server", ports: 7000 });
    try {
      const rtt = await env.measure<Rtt>(client, "rtt", "server", "6");
      // Outgoing on the client: its requests are delayed (the proxy accepts the connect locally at once).
      assert.ok(rtt.medianMs > 120 && rtt.medianMs < 300, `rtt ${rtt.medianMs}`);
      const bulk = await env.measure<{ seconds: number }>(client, "bulk", "server", "1000");
      assert.ok(bulk.seconds < 0.12, `port 7002 is out of scope (${bulk.seconds}s)`);
    } finally {
      await revertAndCheck(fault);
    }
  });

  test("loss and latency stack on the same traffic; each is proven alone and reverts alone", async () => {
    const base = await env.measure<Rtt>(client, "rtt", "server", "10");
    const loss = await inject("loss", server, { percent: 30 });
    const latency = await inject("latency", server, { latency: "150ms" });
    // netem delays UDP too: the probe waits out the latency; the delay proxy is TCP only.
    const udpTimeout = latency.mechanism === "tc-netem" ? "0.4" : "0.04";
    const lossNow = () => env.measure<Loss>(client, "udploss", "server", "150", udpTimeout);
    try {
      assert.equal(loss.mechanism, "iptables-statistic");
      // Only the echo is dropped (the server's way out): ~30 %, measured on UDP where no retransmission hides it.
      const measured = await lossNow();
      assert.ok(measured.lossPercent > 17 && measured.lossPercent < 45, `loss ${measured.lossPercent}%`);
      // Latency on the same lossy TCP path: a lost segment costs a retransmission (>= 200 ms), so the
      // minimum over many samples is a loss-free round trip: it rises by the latency, once.
      const rtt = await env.measure<Rtt>(client, "rtt", "server", "12");
      assert.ok(
        rtt.minMs > base.minMs + 120 && rtt.minMs < base.minMs + 250,
        `min rtt ${rtt.minMs} ms with latency and loss (baseline ${base.minMs})`,
      );
      await revertAndCheck(latency);
      await assertNoRules(server, latency.id);
      const rules = await showRules(env.runtime, server);
      assert.ok(rules.includes(loss.id), "loss still in place after reverting latency alone");
      const lossAlone = await env.measure<Loss>(client, "udploss", "server", "150", "0.04");
      assert.ok(
        lossAlone.lossPercent > 17 && lossAlone.lossPercent < 45,
        `loss alone ${lossAlone.lossPercent}%`,
      );
      const rttAlone = await env.measure<Rtt>(client, "rtt", "server", "12");
      assert.ok(rttAlone.minMs < base.minMs + 40, `latency gone: min rtt ${rttAlone.minMs} ms`);
    } finally {
      await revertAndCheck(latency);
      await revertAndCheck(loss);
    }
    const clean = await env.measure<Loss>(client, "udploss", "server", "100");
    assert.ok(clean.lossPercent < 5, `loss after revert ${clean.lossPercent}%`);
    await assertNoRules(server);
  });

  test("latency --direction in: connections TO the target gain the delay once; revert restores", async () => {
    const base = await env.measure<Rtt>(client, "rtt", "server", "10");
    const fault = await inject("latency", server, { latency: "200ms", direction: "in" });
    try {
      const during = await env.measure<Rtt>(client, "rtt", "server", "10");
      // Once (the request arriving), not twice (a both-ways delay would add ~400 ms).
      assert.ok(
        during.medianMs > base.medianMs + 150 && during.medianMs < base.medianMs + 300,
        `rtt ${during.medianMs} ms (baseline ${base.medianMs}) via ${fault.mechanism}`,
      );
    } finally {
      await revertAndCheck(fault);
    }
    const afterRevert = await env.measure<Rtt>(client, "rtt", "server", "10");
    assert.ok(afterRevert.medianMs < base.medianMs + 50, `rtt after revert ${afterRevert.medianMs} ms`);
    await assertNoRules(server);
  });

  test("bandwidth --direction in shapes what the target receives (ifb), not what it sends", async () => {
    const bytes = String(256 * 1024);
    const fault = await inject("bandwidth", server, { rate: "1mbit", direction: "in" });
    try {
      assert.equal(fault.mechanism, "tc-tbf");
      const rules = await showRules(env.runtime, server);
      assert.match(rules, /qdisc ingress ffff: dev eth0/, "an ingress qdisc on eth0");
      assert.match(rules, /qdisc tbf fa[0-9a-f]{2}: dev flb[0-9a-f]{8} root/, "the tbf on faultline's ifb");
      // 2 Mbit uploaded at 1 Mbit/s: about 2 s; the echo going back is not shaped.
      const up = await env.measure<Transfer>(client, "upload", "server", bytes);
      assert.equal(up.bytes, 256 * 1024);
      assert.ok(up.seconds > 1.5 && up.seconds < 4, `upload took ${up.seconds}s`);
      const down = await env.measure<Transfer>(client, "bulk", "server", bytes);
      assert.ok(down.seconds < 0.5, `download (outgoing for the target) is not shaped: ${down.seconds}s`);
    } finally {
      await revertAndCheck(fault);
    }
    const up = await env.measure<Transfer>(client, "upload", "server", bytes);
    assert.ok(up.seconds < 0.5, `upload after revert ${up.seconds}s`);
    await assertNoRules(server);
  });

  test("a second tc fault in the same direction fails, explained, and leaves the first in effect", async () => {
    const bytes = String(256 * 1024);
    const first = await inject("bandwidth", server, { rate: "1mbit", direction: "in" });
    try {
      await assert.rejects(
        inject("bandwidth", server, { rate: "2mbit", direction: "in" }),
        /already holds this interface's root or ingress qdisc/,
      );
      const rules = await showRules(env.runtime, server);
      assert.match(rules, /qdisc ingress ffff: dev eth0/, `the first fault's ingress stays:\n${rules}`);
      const up = await env.measure<Transfer>(client, "upload", "server", bytes);
      assert.ok(up.seconds > 1.5 && up.seconds < 4, `the first fault still shapes: upload ${up.seconds}s`);
    } finally {
      await revertAndCheck(first);
    }
    await assertNoRules(server);
  });

  test("loss --direction both drops on the way in and on the way out", async () => {
    const fault = await inject("loss", server, { percent: 40, direction: "both" });
    try {
      const rules = await showRules(env.runtime, server);
      assert.match(rules, /-A INPUT .*faultline:/, "hooked on the way in");
      assert.match(rules, /-A OUTPUT .*faultline:/, "hooked on the way out");
      // An echo survives only if both the request (in) and the reply (out) do: 1 - 0.6² = 64 %, where one
      // direction alone would lose 40 %. 300 echoes put 50 % 3.5 σ above one direction and 5 σ below both.
      const measured = await env.measure<Loss>(client, "udploss", "server", "300", "0.04");
      assert.ok(measured.lossPercent > 50 && measured.lossPercent < 77, `loss ${measured.lossPercent}%`);
    } finally {
      await revertAndCheck(fault);
    }
    const clean = await env.measure<Loss>(client, "udploss", "server", "100");
    assert.ok(clean.lossPercent < 5, `loss after revert ${clean.lossPercent}%`);
    await assertNoRules(server);
  });

  test("bandwidth limits a transfer; revert restores speed", async () => {
    const bytes = String(256 * 1024);
    const fault = await inject("bandwidth", server, { rate: "1mbit" });
    try {
      assert.equal(fault.mechanism, "tc-tbf");
      const slow = await env.measure<{ seconds: number }>(client, "bulk", "server", bytes);
      // 2 Mbit at 1 Mbit/s: about 2 s.
      assert.ok(slow.seconds > 1.5 && slow.seconds < 4, `transfer took ${slow.seconds}s`);
    } finally {
      await revertAndCheck(fault);
    }
    const fast = await env.measure<{ seconds: number }>(client, "bulk", "server", bytes);
    assert.ok(fast.seconds < 0.5, `after revert ${fast.seconds}s`);
    await assertNoRules(server);
  });

  test("partition cuts the client from the server", async () => {
    assert.equal((await env.measure<{ ok: boolean }>(client, "connect", "server", "7000")).ok, true);
    const fault = await inject("partition", client, { peers: ["server"] });
    try {
      assert.equal(fault.mechanism, "iptables-drop");
      const blocked = await env.measure<{ ok: boolean }>(client, "connect", "server", "7000", "1.5");
      assert.equal(blocked.ok, false);
    } finally {
      await revertAndCheck(fault);
    }
    assert.equal((await env.measure<{ ok: boolean }>(client, "connect", "server", "7000")).ok, true);
    await assertNoRules(client);
  });

  test("dns failure for one name; other names still resolve", async () => {
    const fault = await inject("dns", client, { name: "server" });
    try {
      assert.equal(fault.mechanism, "dns-block");
      const failed = await env.measure<{ ok: boolean; ms: number }>(client, "resolve", "server");
      assert.equal(failed.ok, false, "server must not resolve");
      const other = await env.measure<{ ok: boolean }>(client, "resolve", "client");
      assert.equal(other.ok, true, "other names still resolve");
    } finally {
      await revertAndCheck(fault);
    }
    assert.equal((await env.measure<{ ok: boolean }>(client, "resolve", "server")).ok, true);
    await assertNoRules(client);
  });

  test("dns modes: NXDOMAIN and SERVFAIL answered for one name, timeout never answered", async () => {
    interface DnsAnswer {
      rcode?: number;
      timeout?: boolean;
      ms: number;
    }
    const query = (name: string, timeout = "2") => env.measure<DnsAnswer>(client, "dnsquery", name, timeout);
    assert.equal((await query("server")).rcode, 0, "the name resolves before any fault");
    for (const [mode, rcode] of [
      ["nxdomain", 3],
      ["servfail", 2],
    ] as const) {
      const fault = await inject("dns", client, { name: "server", mode });
      try {
        assert.equal(fault.mechanism, "dns-responder");
        assert.equal((await query("server")).rcode, rcode, `${mode}: the answer's code`);
        // The lookup a program makes sees it too (getaddrinfo: NXDOMAIN is "not known").
        const lookup = await env.measure<{ ok: boolean; error?: string }>(client, "resolve", "server");
        assert.equal(lookup.ok, false);
        if (mode === "nxdomain") assert.match(lookup.error ?? "", /not known/);
        const other = await query("other-name-unmatched.invalid");
        assert.equal(other.rcode, 3, "an unmatched name still gets the real resolver's answer");
        assert.equal((await env.measure<{ ok: boolean }>(client, "resolve", "client")).ok, true);
      } finally {
        await revertAndCheck(fault);
      }
    }
    const dropped = await inject("dns", client, { name: "server", mode: "timeout" });
    try {
      assert.equal(dropped.mechanism, "dns-block");
      const silent = await query("server", "1.5");
      assert.equal(silent.timeout, true, `no answer (${JSON.stringify(silent)})`);
      assert.equal((await query("client")).rcode, 0, "other names still resolve");
    } finally {
      await revertAndCheck(dropped);
    }
    assert.equal((await query("server")).rcode, 0);
    await assertNoRules(client);
  });

  test("the agent reverts on its own at its deadline (dead-man switch)", async () => {
    const fault = await inject("partition", client, { peers: "server" }, 500);
    const entry = env.journal.find((e) => e.faultId === fault.id)!;
    assert.equal(entry.helperContainerIds.length, 1);
    // Nobody calls revert: faultline "died". Deadline = duration + grace.
    await new Promise((r) => setTimeout(r, Math.max(0, entry.deadline - Date.now()) + 2500));
    await assertNoRules(client, fault.id);
    assert.equal((await env.measure<{ ok: boolean }>(client, "connect", "server", "7000")).ok, true);
    await networkFamily.revertFromEntry(entry, env.runtime);
    assert.equal((await env.runtime.helpers.listOwned([`faultline.fault=${fault.id}`])).length, 0);
  });

  test("revertFromEntry cleans up after an agent that was SIGKILLed", async () => {
    const fault = await inject("loss", server, { percent: 100, direction: "both" });
    const entry = env.journal.find((e) => e.faultId === fault.id)!;
    await docker("kill", "-s", "KILL", entry.helperContainerIds[0]!);
    const rules = await showRules(env.runtime, server);
    assert.ok(rules.includes(fault.id), "a SIGKILLed agent leaves its rules");
    await networkFamily.revertFromEntry(entry, env.runtime);
    await assertNoRules(server);
    assert.equal((await env.runtime.helpers.listOwned([`faultline.fault=${fault.id}`])).length, 0);
  });

  test("revertFromEntry cleans up tc rules (both directions) after an agent that was SIGKILLed", async () => {
    const bytes = String(256 * 1024);
    const fault = await inject("bandwidth", server, { rate: "1mbit", direction: "both" });
    const entry = env.journal.find((e) => e.faultId === fault.id)!;
    await docker("kill", "-s", "KILL", entry.helperContainerIds[0]!);
    const left = faultlineLeftovers(await showRules(env.runtime, server));
    assert.ok(left.some((l) => l.startsWith("flb")) && left.includes("qdisc ingress"), `left: ${left}`);
    await networkFamily.revertFromEntry(entry, env.runtime);
    await assertNoRules(server);
    assert.equal((await env.runtime.helpers.listOwned([`faultline.fault=${fault.id}`])).length, 0);
    const up = await env.measure<Transfer>(client, "upload", "server", bytes);
    const down = await env.measure<Transfer>(client, "bulk", "server", bytes);
    assert.ok(
      up.seconds < 0.5 && down.seconds < 0.5,
      `after cleanup: up ${up.seconds}s, down ${down.seconds}s`,
    );
  });

  test("invalid options are rejected before anything is injected", async () => {
    const target = await env.resolve(server, "server");
    const deps = env.deps({ server, client });
    await assert.rejects(
      networkFamily.create("latency", target, { latency: "100ms", jitter: "200ms" }, 10_000, deps),
      InvalidInputError,
    );
    await assert.rejects(
      networkFamily.create("loss", target, { percent: 0 }, 10_000, deps),
      InvalidInputError,
    );
    await assert.rejects(
      networkFamily.create("bandwidth", target, { rate: "fast" }, 10_000, deps),
      InvalidInputError,
    );
    await assert.rejects(
      networkFamily.create("partition", target, { peers: "no-such-service-xyz" }, 10_000, deps),
    );
    assert.equal((await env.runtime.helpers.listOwned([`faultline.target=${target.containerId}`])).length, 0);
  });

  test("netem latency (only where the kernel has sch_netem)", async (t) => {
    const caps = await networkCapabilities(env.runtime);
    if (!caps.netem) {
      t.skip(`kernel has no sch_netem (${describeCapabilities(caps)}); latency uses the delay proxy instead`);
      return;
    }
    const fault = await inject("latency", server, { latency: "100ms" });
    try {
      assert.equal(fault.mechanism, "tc-netem");
      const rtt = await env.measure<Rtt>(client, "rtt", "server", "6");
      assert.ok(rtt.medianMs > 80 && rtt.medianMs < 250, `rtt ${rtt.medianMs}`);
    } finally {
      await revertAndCheck(fault);
    }
  });
});

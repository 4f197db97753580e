/**
 * HTTP faults on real containers, measured from a client container over keep-alive connections: the
 * status mix of an abort within a statistical bound, the median of a delay, filters (method, path,
 * header) leaving other requests alone byte for byte on the same connection, outbound faults on one
 * named peer only, port detection, and nothing left in the namespace after revert.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Fault } from "../../src/faults/fault.js";
import { showRules } from "../../src/faults/network/agent-runner.js";
import { networkFamily } from "../../src/faults/network/index.js";
import { NetEnv, faultlineLeftovers } from "./fixtures/faults-network/env.js";

interface HttpRun {
  statuses: Record<string, number>;
  medianMs: number;
  minMs: number;
  connects: number;
}
interface HttpCheck {
  echoOk: boolean;
  chunkedOk: boolean;
  middleStatus: number | null;
  sameConnection: boolean;
  connects: number;
}

const env = new NetEnv();
let server = "";
let other = "";
let client = "";

const http = (from: string, host: string, n: number, method: string, path: string, header?: string) =>
  env.measure<HttpRun>(from, "http", host, "7080", String(n), method, path, ...(header ? [header] : []));

async function inject(target: string, service: string, options: Record<string, unknown>): Promise<Fault> {
  const fault = await networkFamily.create(
    "http",
    await env.resolve(target, service),
    options,
    60_000,
    env.deps({ server, other, client }),
  );
  await fault.inject(env.ctx(), new AbortController().signal);
  return fault;
}

async function revert(fault: Fault, container: string): Promise<void> {
  await fault.revert(env.ctx());
  assert.equal((await env.runtime.helpers.listOwned([`faultline.fault=${fault.id}`])).length, 0);
  const rules = await showRules(env.runtime, container);
  assert.deepEqual(faultlineLeftovers(rules), [], `faultline rules remain:\n${rules}`);
}

describe("http faults (integration)", { timeout: 240_000 }, () => {
  before(async () => {
    await env.setup();
    server = await env.start("server");
    other = await env.start("other");
    client = await env.start("client", [], ["sleep", "infinity"]);
  });
  after(async () => {
    await env.dispose();
  });

  test("abort: 503 for a share of requests within a statistical bound, keep-alive kept", async () => {
    const fault = await inject(server, "server", { status: 503, percent: 30 });
    try {
      assert.equal(fault.mechanism, "http-proxy");
      // The port was found by the agent: the only one of 7000/7002/7080 that answers HTTP.
      assert.match(fault.describe(), /answer 503 to 30% of all requests to server:7080 \(incoming\)/);
      assert.deepEqual(fault.journalEntry().options.httpPorts, [7080]);
      const run = await http(client, "server", 400, "GET", "/items");
      const aborted = run.statuses["503"] ?? 0;
      assert.equal(aborted + (run.statuses["200"] ?? 0), 400, JSON.stringify(run.statuses));
      // Binomial(400, 0.3): sigma 9.2; 4 sigma either side.
      assert.ok(aborted > 83 && aborted < 157, `${aborted} of 400 aborted`);
      assert.equal(run.connects, 1, "aborted or not, every request went over one connection");
    } finally {
      await revert(fault, server);
    }
    const clean = await http(client, "server", 50, "GET", "/items");
    assert.deepEqual(clean.statuses, { "200": 50 });
  });

  test("delay: selected requests gain the delay (median), others on the same server do not", async () => {
    const base = await http(client, "server", 10, "GET", "/fast");
    const fault = await inject(server, "server", { delay: "200ms", jitter: "20ms", path: "/slow*" });
    try {
      const slow = await http(client, "server", 12, "GET", "/slow/1");
      assert.ok(
        slow.medianMs > base.medianMs + 170 && slow.medianMs < base.medianMs + 260,
        `delayed median ${slow.medianMs} ms (baseline ${base.medianMs})`,
      );
      assert.deepEqual(slow.statuses, { "200": 12 }, "a delay alone answers nothing itself");
      const fast = await http(client, "server", 12, "GET", "/fast");
      assert.ok(fast.medianMs < base.medianMs + 30, `unselected median ${fast.medianMs} ms`);
    } finally {
      await revert(fault, server);
    }
  });

  test("filters: only the selected method, path and header are aborted; the rest passes byte for byte", async () => {
    const fault = await inject(server, "server", {
      status: 503,
      method: "GET",
      path: "/orders*",
      header: "X-Test: chaos-*",
    });
    try {
      const selected = await http(client, "server", 20, "GET", "/orders/7", "X-Test: chaos-1");
      assert.deepEqual(selected.statuses, { "503": 20 });
      for (const [method, path, header] of [
        ["GET", "/orders/7", "X-Test: calm"],
        ["GET", "/orders/7", undefined],
        ["DELETE", "/orders/7", "X-Test: chaos-1"],
        ["GET", "/items", "X-Test: chaos-1"],
      ] as const) {
        const run = await http(client, "server", 5, method, path, header);
        assert.deepEqual(run.statuses, { "200": 5 }, `${method} ${path} ${header ?? ""}`);
      }
      // Keep-alive through the proxy: a chunked upload, an aborted request and a chunked download on one
      // connection, which the server sees as one connection too; the bodies arrive byte for byte.
      const check = await env.measure<HttpCheck>(
        client,
        "httpcheck",
        "server",
        "7080",
        "/orders/8",
        "X-Test: chaos-2",
      );
      assert.deepEqual(check, {
        echoOk: true,
        chunkedOk: true,
        middleStatus: 503,
        sameConnection: true,
        connects: 1,
      });
    } finally {
      await revert(fault, server);
    }
  });

  test("outbound: the target's calls to the named peer only", async () => {
    const fault = await inject(client, "client", { status: 502, direction: "out", peer: "server" });
    try {
      assert.match(fault.describe(), /answer 502 to all requests client makes to server:7080 \(outgoing\)/);
      const toPeer = await http(client, "server", 10, "GET", "/x");
      assert.deepEqual(toPeer.statuses, { "502": 10 });
      const toOther = await http(client, "other", 10, "GET", "/x");
      assert.deepEqual(toOther.statuses, { "200": 10 });
      // Inbound traffic of the peer itself (from another client) is not this fault's.
      const direct = await http(other, "server", 5, "GET", "/x");
      assert.deepEqual(direct.statuses, { "200": 5 });
    } finally {
      await revert(fault, client);
    }
    assert.deepEqual((await http(client, "server", 5, "GET", "/x")).statuses, { "200": 5 });
  });

  test("a target with no HTTP port is refused before anything stays in place", async () => {
    const fault = await networkFamily.create(
      "http",
      await env.resolve(server, "server"),
      { status: 503, port: 7000 },
      60_000,
      env.deps({ server }),
    );
    // Port 7000 is given, not detected: the fault goes in (the proxy passes non-HTTP bytes through).
    await fault.inject(env.ctx(), new AbortController().signal);
    try {
      const rtt = await env.measure<{ medianMs: number }>(client, "rtt", "server", "3");
      assert.ok(rtt.medianMs < 50, `the echo protocol passes through the HTTP proxy (${rtt.medianMs} ms)`);
    } finally {
      await revert(fault, server);
    }
    const silent = await env.start("silent", [], ["sleep", "infinity"]);
    const refused = await networkFamily.create(
      "http",
      await env.resolve(silent, "silent"),
      { status: 503 },
      60_000,
      env.deps({}),
    );
    await assert.rejects(
      refused.inject(env.ctx(), new AbortController().signal),
      /no port answering HTTP listening in this namespace: name the port/,
    );
    assert.equal((await env.runtime.helpers.listOwned([`faultline.fault=${refused.id}`])).length, 0);
    assert.deepEqual(faultlineLeftovers(await showRules(env.runtime, silent)), []);
  });
});

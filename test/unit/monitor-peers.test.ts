/**
 * The peer map follows containers that come back with new addresses: the directory itself (pure), and
 * the monitor feeding it from the inspects it already makes (a function-level fake engine).
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import type { ServiceProfile } from "../../src/discovery/profile.js";
import { sparseContainerInfo } from "../../src/docker/types.js";
import { Monitor, type MonitorRuntime } from "../../src/monitor/monitor.js";
import { peerResolver } from "../../src/monitor/peers.js";
import type { ServiceSample } from "../../src/monitor/types.js";
import { addressedProfile } from "../support/profile-fixtures.js";

const profile = (id: string, ip: string): ServiceProfile => addressedProfile(id, ip);

describe("peer directory", () => {
  test("a new address resolves to its service; the old one stays until another service claims it", () => {
    const peers = peerResolver([profile("web", "172.20.0.4"), profile("store", "172.20.0.3")]);
    assert.equal(peers.resolveAddress("172.20.0.9"), undefined);
    assert.equal(peers.updateAddresses("store", ["172.20.0.9"]), true);
    assert.equal(peers.resolveAddress("172.20.0.9"), "store");
    assert.equal(peers.resolveAddress("172.20.0.3"), "store", "clients may still dial the old one");
    assert.equal(peers.updateAddresses("store", ["172.20.0.9"]), false, "nothing new");
    // The engine gave the old address to another container.
    assert.equal(peers.updateAddresses("web", ["172.20.0.3"]), true);
    assert.equal(peers.resolveAddress("172.20.0.3"), "web");
    assert.equal(peers.resolveAddress("172.20.0.4"), "web");
    assert.equal(peers.isKnownName("172.20.0.9"), true);
  });
  test("a service restarted in a loop keeps a bounded history of addresses", () => {
    const peers = peerResolver([profile("store", "10.0.0.1")]);
    for (let i = 2; i <= 100; i++) peers.updateAddresses("store", [`10.0.0.${i}`]);
    assert.equal(peers.resolveAddress("10.0.0.100"), "store");
    assert.equal(peers.resolveAddress("10.0.0.93"), "store");
    assert.equal(peers.resolveAddress("10.0.0.1"), undefined, "the oldest are forgotten");
  });
  test("names are unaffected", () => {
    const peers = peerResolver([profile("store", "10.0.0.1")]);
    peers.updateAddresses("store", ["10.0.0.2"]);
    assert.equal(peers.resolve("stack-store-1"), "store");
    assert.equal(peers.resolveAddress("store.stack_default"), "store");
  });
});

/**
 * A fake engine: inspect answers from `ips` (the container's address now), follow hands each
 * container's line callback to the test. Nothing else is called (stats off, no endpoints).
 */
function fakeEngine(ips: Map<string, string>) {
  const inspects = new Map<string, number>();
  const emit = new Map<string, (line: string) => void>();
  const runtime = {
    list: () => Promise.resolve([]),
    inspect: (id: string) => {
      inspects.set(id, (inspects.get(id) ?? 0) + 1);
      const ip = ips.get(id) ?? "";
      return Promise.resolve(
        sparseContainerInfo({
          id,
          name: id,
          image: "x",
          state: ip ? "running" : "exited",
          networks: [{ name: "stack_default", networkId: "n", ip, aliases: [] }],
        }),
      );
    },
    tail: () => Promise.resolve([]),
    follow: (id: string, onLine: (line: string, stream: "stdout" | "stderr") => void, signal: AbortSignal) =>
      new Promise<void>((resolve) => {
        emit.set(id, (line) => onLine(line, "stderr"));
        signal.addEventListener("abort", () => resolve(), { once: true });
      }),
    stats: () => Promise.reject(new Error("not asked")),
  } satisfies MonitorRuntime;
  return { runtime, inspects, emit };
}

async function until(what: string, ok: () => boolean, ms = 3000): Promise<void> {
  const end = performance.now() + ms;
  while (!ok()) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const peersOf = (samples: readonly ServiceSample[], service: string) =>
  samples.filter((s) => s.service === service).flatMap((s) => s.logs?.peers ?? []);

describe("monitor: peers after a restart with a new address", () => {
  test("lines naming the container's new IP are attributed once an inspect has seen it", async () => {
    const ips = new Map([
      ["web-cid", "172.20.0.4"],
      ["store-cid", "172.20.0.3"],
    ]);
    const engine = fakeEngine(ips);
    const monitor = new Monitor(
      engine.runtime,
      [profile("web", "172.20.0.4"), profile("store", "172.20.0.3")],
      {
        intervalMs: 50,
        collectStats: false,
        logs: { records: { flushAfterMs: 20 } },
      },
    );
    await monitor.start();
    try {
      await until("web's log follower", () => engine.emit.has("web-cid"));
      const webLine = engine.emit.get("web-cid")!;
      // Stopped (no address), then started again with another one, as a fault's restart may leave it.
      ips.set("store-cid", "");
      let seen = engine.inspects.get("store-cid") ?? 0;
      await until("an inspect of the stopped store", () => (engine.inspects.get("store-cid") ?? 0) > seen);
      webLine("dial tcp 172.20.0.3:5432: connect: connection refused");
      ips.set("store-cid", "172.20.0.9");
      seen = engine.inspects.get("store-cid") ?? 0;
      // Two inspects: the tick that ran the second has finished the first's sample.
      await until("the restarted store's inspect", () => (engine.inspects.get("store-cid") ?? 0) > seen + 1);
      webLine("dial tcp 172.20.0.9:5432: i/o timeout");
      await until("web's timeout counted", () =>
        peersOf(monitor.samples(), "web").some((p) => p.class === "timeout"),
      );
    } finally {
      await monitor.stop();
    }
    assert.deepEqual(
      peersOf(monitor.samples(), "web"),
      [
        { class: "refused", peer: "store", count: 1 },
        { class: "timeout", peer: "store", count: 1 },
      ],
      "the old address while stopped and the new one after the restart both name the store",
    );
  });
});

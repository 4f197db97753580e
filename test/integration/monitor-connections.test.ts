/**
 * The monitor's per-service figures from a real engine on the demo shop: established TCP connection
 * counts (through the host's /proc and through the helper-container fallback, which reads the whole
 * stack with ONE helper run), and CPU, memory and network rates from the engine's stats.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { discoverServices } from "../../src/discovery/discover.js";
import type { ServiceProfile } from "../../src/discovery/profile.js";
import type { ContainerInfo, DockerRuntime } from "../../src/docker/types.js";
import { connectionCounter, type ConnectionSource } from "../../src/monitor/connections.js";
import { Monitor } from "../../src/monitor/monitor.js";
import { DEMO_SERVICES, demoStack, type DemoStack } from "../support/demo-stack.js";

describe("monitor figures from a real engine (demo shop)", { timeout: 240_000 }, () => {
  let stack: DemoStack;
  let profiles: ServiceProfile[];
  let running: ContainerInfo[];
  const idOf = (service: string): string => {
    const p = profiles.find((x) => x.compose?.service === service);
    assert.ok(p, `a profile for ${service}: ${profiles.map((x) => x.id).join(", ")}`);
    return p.id;
  };

  before(async () => {
    stack = await demoStack();
    profiles = await discoverServices(stack.runtime, { project: stack.project }, { probe: false });
    running = (await stack.runtime.list({ project: stack.project })).filter((c) => c.state === "running");
  });

  after(async () => {
    await stack?.dispose();
  });

  /** Every service's count from one counter, asked for all services at once as the monitor does. */
  async function countAll(runtime: DockerRuntime, source: ConnectionSource, maxAgeMs?: number) {
    const choice = await connectionCounter(profiles, running, { runtime, source, maxAgeMs });
    if (!choice.counter) return { choice, counts: new Map<string, number | undefined>() };
    const signal = new AbortController().signal;
    const counts = new Map(
      await Promise.all(
        profiles.map(async (p) => {
          const info = await stack.runtime.inspect(p.containerId);
          return [p.id, await choice.counter!(p, signal, info)] as const;
        }),
      ),
    );
    return { choice, counts };
  }

  function assertWebConnections(counts: Map<string, number | undefined>) {
    const summary = JSON.stringify(Object.fromEntries(counts));
    // The web server keeps pooled connections to both stores; each store's only client is the web server.
    assert.ok((counts.get(idOf(DEMO_SERVICES.web)) ?? 0) >= 2, `web server connections: ${summary}`);
    assert.ok((counts.get(idOf(DEMO_SERVICES.database)) ?? 0) >= 1, `database connections: ${summary}`);
    assert.ok((counts.get(idOf(DEMO_SERVICES.cache)) ?? 0) >= 1, `cache connections: ${summary}`);
  }

  test("through one helper container: web server <-> database and cache, one helper run for all", async () => {
    let helperRuns = 0;
    const counting: DockerRuntime = {
      ...stack.runtime,
      helpers: {
        ...stack.runtime.helpers,
        run: (spec, options) => {
          helperRuns++;
          return stack.runtime.helpers.run(spec, options);
        },
      },
    };
    // Readings never reused across calls: the round itself must share one run between the services.
    const { choice, counts } = await countAll(counting, "helper", 0);
    assert.equal(choice.via, "helper", choice.reason);
    assertWebConnections(counts);
    assert.equal(helperRuns, 2, "one run to check the helper works, then ONE for all services at once");
    const leftovers = await stack.runtime.helpers.listOwned(["faultline.probe=sockets"]);
    assert.deepEqual(
      leftovers.filter((c) => c.state === "running"),
      [],
      "no helper left running",
    );
  });

  test("through the host's /proc, where faultline shares the host's PID namespace", async (t) => {
    const { choice, counts } = await countAll(stack.runtime, "host");
    if (!choice.counter) {
      t.skip(`host /proc not usable here: ${choice.reason}`);
      return;
    }
    assert.equal(choice.via, "host-proc");
    assertWebConnections(counts);
  });

  test("the monitor's samples carry connections, CPU, memory and network rates", async () => {
    const choice = await connectionCounter(profiles, running, { runtime: stack.runtime });
    assert.ok(choice.counter, choice.reason);
    const monitor = new Monitor(stack.runtime, profiles, {
      intervalMs: 500,
      countConnections: choice.counter,
      envelope: { allDownForMs: 60_000 },
    });
    try {
      await monitor.start();
      await sleep(2_500);
    } finally {
      await monitor.stop();
    }
    const web = monitor.data().samples.filter((s) => s.service === idOf(DEMO_SERVICES.web));
    assert.ok(web.length >= 3, `samples: ${web.length}`);
    const last = web.at(-1)!;
    const shown = JSON.stringify(last);
    assert.ok((last.connections ?? 0) >= 2, `connections: ${shown}`);
    assert.equal(typeof last.cpuPercent, "number", `cpuPercent: ${shown}`);
    assert.ok((last.memoryBytes ?? 0) > 1024 * 1024, `memoryBytes: ${shown}`);
    // The client's traffic flows through the web server: bytes in and out every second.
    assert.ok(
      web.some((s) => (s.netRxBytesPerSec ?? 0) > 0),
      `rx: ${JSON.stringify(web)}`,
    );
    assert.ok(
      web.some((s) => (s.netTxBytesPerSec ?? 0) > 0),
      `tx: ${JSON.stringify(web)}`,
    );
  });
});

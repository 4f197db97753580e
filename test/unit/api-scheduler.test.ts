import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  assertCronExpression,
  optionsForKind,
  pickChaosFault,
  seededRandom,
} from "../../src/api/scheduler.js";
import type { DependencyGraph } from "../../src/graph/types.js";
import { orderForTesting } from "../../src/graph/order.js";
import { container } from "../support/containers.js";

function svc(service: string, labels: Record<string, string> = {}, state: "running" | "exited" = "running") {
  return container(`shop-${service}-1`, {
    labels: { "com.docker.compose.service": service, ...labels },
    compose: { project: "shop", service },
    state,
  });
}

/** web -> api -> db, api -> cache, worker -> db */
function shopGraph(): DependencyGraph {
  const node = (id: string) => ({ id, kind: "tcp" as const, confidence: 1, ports: [], endpoints: [] });
  const edge = (from: string, to: string) => ({ from, to, confidence: 0.9, evidence: [] });
  const graph: DependencyGraph = {
    nodes: ["web", "api", "db", "cache", "worker"].map(node),
    edges: [edge("web", "api"), edge("api", "db"), edge("api", "cache"), edge("worker", "db")],
    order: [],
  };
  return { ...graph, order: orderForTesting(graph, "leaves-first") };
}

const containers = ["web", "api", "db", "cache", "worker"].map((s) => svc(s));

function ticks(n: number, input: Omit<Parameters<typeof pickChaosFault>[0], "visited">) {
  let visited = new Set<string>();
  const picks: string[] = [];
  for (let i = 0; i < n; i++) {
    const r = pickChaosFault({ ...input, visited });
    if ("skip" in r) {
      picks.push(`skip: ${r.skip}`);
      continue;
    }
    visited = r.visited;
    picks.push(`${r.pick.kind} ${r.pick.service}`);
  }
  return picks;
}

describe("chaos scheduler: picking one fault per tick", () => {
  test("successive ticks go through the graph's order, most depended-on first, then start over", () => {
    const graph = shopGraph();
    const picks = ticks(7, { containers, graph, kinds: ["pause"], rng: seededRandom(1) });
    assert.deepEqual(
      picks.slice(0, 5),
      graph.order.map((s) => `pause ${s}`),
    );
    assert.equal(picks[0], "pause db");
    assert.deepEqual(picks.slice(5), [`pause ${graph.order[0]}`, `pause ${graph.order[1]}`]);
  });

  test("the kind is drawn with the injected generator: same seed, same kinds", () => {
    const input = { containers, graph: shopGraph(), kinds: ["pause", "stop", "kill"] as const };
    const a = ticks(10, { ...input, kinds: [...input.kinds], rng: seededRandom(42) });
    const b = ticks(10, { ...input, kinds: [...input.kinds], rng: seededRandom(42) });
    assert.deepEqual(a, b);
    assert.ok(new Set(a.map((p) => p.split(" ")[0])).size > 1, `expected a mix of kinds: ${a.join(", ")}`);
    const always = ticks(3, { ...input, kinds: ["stop"], rng: () => 0.999999 });
    assert.ok(always.every((p) => p.startsWith("stop ")));
  });

  test("never picks excluded, faultline-owned, self or stopped containers", () => {
    const scoped = [
      svc("web"),
      svc("api", { "faultline.exclude": "true" }),
      svc("db", { "faultline.owned": "true" }),
      svc("cache", {}, "exited"),
      { ...svc("worker"), id: `abcdef123456${"0".repeat(52)}` },
    ];
    const picks = ticks(4, {
      containers: scoped,
      graph: shopGraph(),
      kinds: ["pause"],
      selfContainerId: "abcdef123456",
      rng: Math.random,
    });
    assert.deepEqual(picks, ["pause web", "pause web", "pause web", "pause web"]);
    const r = pickChaosFault({
      containers: scoped,
      graph: shopGraph(),
      kinds: ["pause"],
      selfContainerId: "abcdef123456",
      visited: new Set(),
      rng: Math.random,
    });
    assert.deepEqual(r.excluded.map((e) => e.service).sort(), ["api", "cache", "db", "worker"]);
  });

  test("respects the blast-radius cap", () => {
    // db reaches api, web, worker (3); api reaches web (1); cache reaches api, web (2).
    const picks = ticks(6, {
      containers,
      graph: shopGraph(),
      kinds: ["pause"],
      maxBlastRadius: 1,
      rng: Math.random,
    });
    assert.ok(!picks.some((p) => p.endsWith(" db") || p.endsWith(" cache")), picks.join(", "));
    assert.deepEqual(new Set(picks.map((p) => p.split(" ")[1])), new Set(["api", "web", "worker"]));
  });

  test("skips the tick while a fault is in effect, or when nothing may be faulted", () => {
    const busy = pickChaosFault({
      containers,
      graph: shopGraph(),
      kinds: ["pause"],
      visited: new Set(),
      busy: "a fault is in effect",
      rng: Math.random,
    });
    assert.deepEqual(busy, { skip: "a fault is in effect", excluded: [] });
    const none = pickChaosFault({
      containers: [svc("api", { "faultline.exclude": "true" })],
      kinds: ["pause"],
      visited: new Set(),
      rng: Math.random,
    });
    assert.ok("skip" in none && /no service/.test(none.skip));
  });

  test("without a graph, services come alphabetically", () => {
    assert.deepEqual(ticks(3, { containers, kinds: ["pause"], rng: Math.random }), [
      "pause api",
      "pause cache",
      "pause db",
    ]);
  });

  test("kinds that need a value get a default; user options override it", () => {
    assert.deepEqual(optionsForKind("pause"), {});
    assert.equal(optionsForKind("latency").latency, "200ms");
    assert.equal(optionsForKind("latency", { latency: { latency: "1s" } }).latency, "1s");
  });

  test("cron expressions are validated, seconds field allowed", () => {
    assert.equal(assertCronExpression("*/5 * * * *"), "*/5 * * * *");
    assert.equal(assertCronExpression("* * * * * *"), "* * * * * *");
    assert.throws(() => assertCronExpression("every minute"), /not a cron expression/);
  });
});

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  blastRadii,
  blastRadius,
  findCycles,
  orderForTesting,
  shuffle,
  stronglyConnectedComponents,
} from "../../src/graph/order.js";
import type { DependencyGraph } from "../../src/graph/types.js";
import { TargetNotFoundError } from "../../src/errors.js";

/** A graph from "a->b" strings; "a->b@0.3" sets the confidence. */
function g(ids: string[], edges: string[]): DependencyGraph {
  return {
    nodes: ids.map((id) => ({ id, kind: "unknown", confidence: 1, ports: [], endpoints: [] })),
    edges: edges.map((s) => {
      const [pair, conf] = s.split("@");
      const [from, to] = pair!.split("->");
      return { from: from!, to: to!, confidence: conf ? Number(conf) : 0.9, evidence: [] };
    }),
    order: [],
  };
}

const shop = g(
  ["client", "web", "redis", "postgres", "metrics"],
  ["client->web", "web->redis", "web->postgres", "client->postgres"],
);

describe("orderForTesting", () => {
  test("leaves-first: most depended-on first, dependencies before dependents", () => {
    // postgres has 2 transitive dependents (web, client), redis 2 as well -> id; web 1; metrics/client 0.
    assert.deepEqual(orderForTesting(shop, "leaves-first"), [
      "postgres",
      "redis",
      "web",
      "client",
      "metrics",
    ]);
  });

  test("roots-first: entry points first, servers last", () => {
    assert.deepEqual(orderForTesting(shop, "roots-first"), ["client", "web", "metrics", "postgres", "redis"]);
  });

  test("random is a seeded permutation", () => {
    const a = orderForTesting(shop, "random", 42);
    assert.deepEqual(a, orderForTesting(shop, "random", 42));
    assert.deepEqual([...a].sort(), [...shop.nodes.map((n) => n.id)].sort());
    const seen = new Set<string>();
    for (let seed = 1; seed < 30; seed++) seen.add(orderForTesting(shop, "random", seed).join());
    assert.ok(seen.size > 5);
  });

  test("edges below the threshold do not order", () => {
    const weak = g(["a", "b"], ["b->a@0.3"]);
    assert.deepEqual(orderForTesting(weak, "leaves-first"), ["a", "b"]);
    assert.deepEqual(orderForTesting(weak, "leaves-first", undefined, 0.2), ["a", "b"]);
    const weak2 = g(["a", "b"], ["a->b@0.3"]);
    assert.deepEqual(orderForTesting(weak2, "leaves-first"), ["a", "b"]);
    assert.deepEqual(orderForTesting(weak2, "leaves-first", undefined, 0.2), ["b", "a"]);
  });

  test("cycles neither hang nor drop nodes; a loop is placed together after what it needs", () => {
    const cyclic = g(["front", "a", "b", "c", "db"], ["front->a", "a->b", "b->c", "c->a", "c->db"]);
    const order = orderForTesting(cyclic, "leaves-first");
    assert.equal(order.length, 5);
    assert.equal(order[0], "db");
    assert.deepEqual(order.slice(1, 4).sort(), ["a", "b", "c"]);
    assert.equal(order[4], "front");
    assert.deepEqual(findCycles(cyclic), [["a", "b", "c"]]);
    const mutual = g(["x", "y"], ["x->y", "y->x"]);
    assert.deepEqual(orderForTesting(mutual, "leaves-first"), ["x", "y"]);
    assert.deepEqual(orderForTesting(mutual, "roots-first"), ["x", "y"]);
  });

  test("a long chain (deeper than any recursion limit) orders in linear-ish time", () => {
    const n = 20_000;
    const ids = Array.from({ length: n }, (_, i) => `s${String(i).padStart(5, "0")}`);
    const chain = g(
      ids,
      ids.slice(1).map((id, i) => `${id}->${ids[i]}`),
    );
    const components = stronglyConnectedComponents(
      ids,
      new Map(ids.map((id, i) => [id, new Set(i ? [ids[i - 1]!] : [])])),
    );
    assert.equal(components.length, n);
    const small = g(
      ids.slice(0, 2000),
      ids.slice(1, 2000).map((id, i) => `${id}->${ids[i]}`),
    );
    assert.deepEqual(orderForTesting(small, "leaves-first"), ids.slice(0, 2000));
    void chain;
  });
});

describe("blastRadius", () => {
  test("transitive dependents of a datastore", () => {
    assert.deepEqual(blastRadius(shop, "redis"), ["client", "web"]);
    assert.deepEqual(blastRadius(shop, "postgres"), ["client", "web"]);
    assert.deepEqual(blastRadius(shop, "client"), []);
    assert.deepEqual(blastRadius(shop, "metrics"), []);
  });

  test("threshold applies; cycles include the other loop members", () => {
    const graph = g(["a", "b", "c"], ["a->b", "b->a", "c->a@0.4"]);
    assert.deepEqual(blastRadius(graph, "a"), ["b"]);
    assert.deepEqual(blastRadius(graph, "a", 0.3), ["b", "c"]);
    assert.deepEqual(blastRadii(graph).get("b"), ["a"]);
  });

  test("unknown id is a typed error naming the known ones", () => {
    assert.throws(
      () => blastRadius(shop, "nope"),
      (e: unknown) => e instanceof TargetNotFoundError && /client/.test(e.toUserLine()),
    );
  });
});

test("shuffle is a permutation", () => {
  const ids = ["a", "b", "c", "d", "e"];
  assert.deepEqual([...shuffle(ids, 7)].sort(), ids);
});

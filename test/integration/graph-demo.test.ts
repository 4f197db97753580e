/**
 * `faultline graph` and `faultline discover` as users run them (child processes) against the demo shop.
 * The expected wiring comes from the compose file's depends_on, not from faultline, and faultline sees
 * nothing of it: compose depends_on is not a label the engine exposes.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import type { DependencyGraph } from "../../src/graph/types.js";
import { runFaultline } from "../support/cli.js";
import { readComposeWiring } from "../support/compose-file.js";
import { demoStack, type DemoStack } from "../support/demo-stack.js";

const cli = (args: string[]) => runFaultline(args, { timeoutMs: 120_000 });

/** Transitive dependents of `id` in a set of "from->to" edges, sorted. */
function dependentsOf(id: string, edges: Set<string>): string[] {
  const found = new Set<string>();
  const stack = [id];
  while (stack.length) {
    const target = stack.pop()!;
    for (const edge of edges) {
      const [from, to] = edge.split("->") as [string, string];
      if (to === target && !found.has(from)) {
        found.add(from);
        stack.push(from);
      }
    }
  }
  return [...found].sort();
}

describe("graph of the demo shop", () => {
  let stack: DemoStack;
  let graph: DependencyGraph;
  let expected: Set<string>;
  let stores: string[];
  let clients: string[];

  before(async () => {
    stack = await demoStack();
    const wiring = readComposeWiring(stack.composeFile);
    expected = new Set([...wiring.dependsOn].flatMap(([from, tos]) => tos.map((to) => `${from}->${to}`)));
    stores = wiring.services.filter((s) => wiring.dependsOn.get(s)!.length === 0);
    clients = wiring.services.filter((s) => ![...wiring.dependsOn.values()].some((tos) => tos.includes(s)));
    const result = await cli(["graph", "--format", "json", "--project", stack.project]);
    assert.equal(result.code, 0, result.stderr);
    graph = JSON.parse(result.stdout) as DependencyGraph;
  });

  after(async () => {
    await stack?.dispose();
  });

  test("finds exactly the intended wiring at confidence >= 0.5", () => {
    const strong = new Set(graph.edges.filter((e) => e.confidence >= 0.5).map((e) => `${e.from}->${e.to}`));
    assert.deepEqual([...strong].sort(), [...expected].sort(), JSON.stringify(graph.edges, null, 2));
    assert.deepEqual(
      graph.nodes.map((n) => n.id).sort(),
      [...new Set([...expected].flatMap((e) => e.split("->")))].sort(),
    );
  });

  test("every edge carries evidence and the served port", () => {
    for (const e of graph.edges.filter((x) => x.confidence >= 0.5)) {
      assert.ok(e.evidence.length > 0);
      assert.ok(e.port !== undefined, `${e.from}->${e.to} has a port`);
      assert.ok(graph.nodes.find((n) => n.id === e.to)!.ports.some((p) => p.port === e.port));
    }
  });

  test("orders datastores before the web tier before the client", () => {
    const pos = new Map(graph.order.map((id, i) => [id, i]));
    assert.equal(graph.order.length, graph.nodes.length);
    for (const edge of expected) {
      const [from, to] = edge.split("->") as [string, string];
      assert.ok(pos.get(to)! < pos.get(from)!, `${to} before ${from} in ${graph.order.join(", ")}`);
    }
    assert.deepEqual(graph.order.slice(0, stores.length).sort(), [...stores].sort());
    assert.deepEqual(graph.order.slice(-clients.length).sort(), [...clients].sort());
  });

  test("table format shows blast radius; mermaid format is a flowchart", async () => {
    const table = await cli(["graph", "--project", stack.project, "--quiet"]);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /BLAST RADIUS/);
    for (const store of stores) {
      const hurt = dependentsOf(store, expected);
      assert.match(table.stdout, new RegExp(`^${store}\\s.*\\s${hurt.length}: ${hurt.join(", ")}$`, "m"));
    }
    const mermaid = await cli(["graph", "--project", stack.project, "--format", "mermaid", "--quiet"]);
    assert.equal(mermaid.code, 0, mermaid.stderr);
    assert.match(mermaid.stdout, /^graph LR\n/);
  });

  test("discover prints profiles as JSON with secrets masked", async () => {
    const result = await cli(["discover", "--project", stack.project, "--format", "json", "--quiet"]);
    assert.equal(result.code, 0, result.stderr);
    const profiles = JSON.parse(result.stdout) as { id: string }[];
    assert.deepEqual(
      profiles.map((p) => p.id).sort(),
      [...new Set([...expected].flatMap((e) => e.split("->")))].sort(),
    );
    // The compose file holds a database password in a URL: it must never be printed.
    const composePassword = /:\/\/[^:/@\s]+:([^@\s]+)@/.exec(
      (await import("node:fs")).readFileSync(stack.composeFile, "utf8"),
    )?.[1];
    if (composePassword) assert.ok(!result.stdout.includes(composePassword), "password leaked");
  });
});

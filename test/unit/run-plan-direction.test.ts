import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { pickChaosFault, seededRandom } from "../../src/api/chaos-targets.js";
import { parseNetworkOptions } from "../../src/faults/network/options.js";
import type { DependencyGraph } from "../../src/graph/types.js";
import { planExperiment, servesOthers, withPlannedDefaults } from "../../src/run/plan.js";
import { container } from "../support/containers.js";

const svc = (service: string) =>
  container(`shop-${service}-1`, {
    labels: { "com.docker.compose.service": service },
    compose: { project: "shop", service },
  });

/** web -> db; "metrics" listens on a port nobody is known to use; "batch" neither listens nor serves. */
const graph: DependencyGraph = {
  nodes: [
    { id: "web", kind: "http", confidence: 1, ports: [], endpoints: [] },
    { id: "db", kind: "tcp", confidence: 1, ports: [], endpoints: [] },
    {
      id: "metrics",
      kind: "http",
      confidence: 1,
      ports: [{ port: 9100, protocol: "tcp", source: "listen" }],
      endpoints: [],
    },
    { id: "batch", kind: "unknown", confidence: 1, ports: [], endpoints: [] },
  ],
  edges: [{ from: "web", to: "db", confidence: 0.9, evidence: [] }],
  order: ["db", "metrics", "web", "batch"],
};
const containers = ["web", "db", "metrics", "batch"].map(svc);

describe("planned network faults on servers make their clients feel them", () => {
  test("servers: dependents or listening ports; without a graph nothing is assumed", () => {
    assert.equal(servesOthers("db", graph), true);
    assert.equal(servesOthers("metrics", graph), true);
    assert.equal(servesOthers("web", graph), false);
    assert.equal(servesOthers("batch", graph), false);
    assert.equal(servesOthers("db", undefined), false);
  });

  test("latency and loss go on what reaches a server, bandwidth both ways; other kinds keep theirs", () => {
    const plan = planExperiment({
      containers,
      graph,
      kinds: ["latency", "loss", "bandwidth", "partition", "dns", "pause"],
      options: { latency: { latency: "500ms" }, loss: { percent: 5 }, bandwidth: { rate: "1mbit" } },
      durationMs: 1000,
      recoveryWaitMs: 0,
    });
    const direction = (service: string, kind: string) =>
      plan.steps.find((s) => s.service === service && s.kind === kind)!.options.direction;
    assert.equal(direction("db", "latency"), "in");
    assert.equal(direction("db", "loss"), "in");
    assert.equal(direction("db", "bandwidth"), "both");
    assert.equal(direction("metrics", "latency"), "in");
    for (const kind of ["partition", "dns", "pause"]) assert.equal(direction("db", kind), undefined, kind);
    // A pure client keeps the family default (outgoing).
    assert.equal(direction("web", "latency"), undefined);
    assert.match(
      plan.steps.find((s) => s.service === "db" && s.kind === "latency")!.description,
      /direction=in/,
    );
    // The completed options are still valid network options.
    assert.equal(parseNetworkOptions("latency", { latency: "500ms", direction: "in" }).direction, "in");
  });

  test("a direction the user chose is never changed", () => {
    assert.deepEqual(withPlannedDefaults("latency", { latency: "1s", direction: "out" }, true), {
      latency: "1s",
      direction: "out",
    });
    const plan = planExperiment({
      containers,
      graph,
      kinds: ["latency"],
      options: { latency: { latency: "1s", direction: "both" } },
      durationMs: 1000,
      recoveryWaitMs: 0,
    });
    assert.ok(plan.steps.every((s) => s.options.direction === "both"));
  });

  test("the chaos scheduler injects with the planner's completed options", () => {
    const r = pickChaosFault({
      containers,
      graph,
      kinds: ["latency"],
      kindOptions: { latency: { latency: "300ms" } },
      exclude: graph.order.filter((s) => s !== "db"),
      rng: seededRandom(3),
    });
    assert.ok("pick" in r);
    assert.equal(r.pick.service, "db");
    assert.deepEqual(r.pick.options, { latency: "300ms", jitter: "20ms", direction: "in" });
    const client = pickChaosFault({
      containers,
      graph,
      kinds: ["latency"],
      exclude: graph.order.filter((s) => s !== "web"),
      rng: seededRandom(3),
    });
    assert.ok("pick" in client);
    assert.equal(client.pick.service, "web");
    assert.equal(client.pick.options.direction, undefined);
  });
});

describe("planned http faults go where discovery saw HTTP", () => {
  test("the ports that answered HTTP are filled in; a service with none is skipped, saying why", () => {
    const web: DependencyGraph = {
      ...graph,
      nodes: graph.nodes.map((n) =>
        n.id === "web"
          ? {
              ...n,
              ports: [
                { port: 8080, protocol: "tcp", service: "http", source: "listen" },
                { port: 9090, protocol: "tcp", service: "grpc", source: "listen" },
              ],
            }
          : n,
      ),
    };
    const plan = planExperiment({
      containers,
      graph: web,
      kinds: ["http", "pause"],
      options: { http: { status: 503 } },
      durationMs: 1000,
      recoveryWaitMs: 0,
    });
    const http = plan.steps.filter((s) => s.kind === "http");
    assert.deepEqual(
      http.map((s) => [s.service, s.options.port]),
      [["web", [8080]]],
    );
    assert.ok(
      plan.steps.some((s) => s.service === "db" && s.kind === "pause"),
      "other kinds still run",
    );
    assert.deepEqual(
      plan.excluded.find((e) => e.service === "db"),
      { service: "db", reason: "http: discovery found no port of it answering HTTP" },
    );
    const given = planExperiment({
      containers,
      graph: web,
      kinds: ["http"],
      options: { http: { status: 503, port: 81 } },
      durationMs: 1000,
      recoveryWaitMs: 0,
    });
    assert.equal(given.steps.length, 4, "a port the user named is never second-guessed");
  });
});

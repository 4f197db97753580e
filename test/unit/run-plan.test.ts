import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { DependencyGraph } from "../../src/graph/types.js";
import { formatPlan, planExperiment, type PlanRequest } from "../../src/run/plan.js";
import { container } from "../support/containers.js";

const svc = (service: string, extra = {}) =>
  container(`shop-${service}-1`, { compose: { project: "shop", service }, ...extra });

/** web -> api -> db, api -> cache; order most depended-on first. */
const graph: DependencyGraph = {
  nodes: ["web", "api", "db", "cache"].map((id) => ({
    id,
    kind: "http" as const,
    confidence: 1,
    ports: [],
    endpoints: [],
  })),
  edges: [
    { from: "web", to: "api", confidence: 0.9, evidence: [] },
    { from: "api", to: "db", confidence: 0.9, evidence: [] },
    { from: "api", to: "cache", confidence: 0.9, evidence: [] },
  ],
  order: ["db", "cache", "api", "web"],
};

const base: PlanRequest = {
  containers: [svc("web"), svc("api"), svc("db"), svc("cache")],
  graph,
  kinds: ["pause"],
  durationMs: 5000,
  recoveryWaitMs: 2000,
};

describe("planExperiment", () => {
  test("follows the graph order, one fault at a time, kinds per service", () => {
    const plan = planExperiment({ ...base, kinds: ["pause", "stop"] });
    assert.deepEqual(
      plan.steps.map((s) => `${s.kind}:${s.service}`),
      ["pause:db", "stop:db", "pause:cache", "stop:cache", "pause:api", "stop:api", "pause:web", "stop:web"],
    );
    assert.equal(plan.estimatedMs, 8 * 5000 + 7 * 2000);
    assert.deepEqual(plan.steps[0]!.blastRadius, ["api", "web"]);
  });

  test("services outside the graph come last, alphabetically", () => {
    const plan = planExperiment({ ...base, containers: [...base.containers, svc("zeta"), svc("alpha")] });
    assert.deepEqual(plan.order, ["db", "cache", "api", "web", "alpha", "zeta"]);
  });

  test("without a graph: alphabetical", () => {
    assert.deepEqual(planExperiment({ ...base, graph: undefined }).order, ["api", "cache", "db", "web"]);
  });

  test("exclusions: label, faultline's own, not running, blast radius", () => {
    const plan = planExperiment({
      ...base,
      containers: [
        svc("web"),
        svc("api", { state: "exited" }),
        svc("db", { labels: { "faultline.exclude": "true" } }),
        svc("cache"),
        svc("agent", { labels: { "faultline.owned": "true" } }),
      ],
      maxBlastRadius: 1,
    });
    assert.deepEqual(plan.order, ["web"]);
    const reasons = Object.fromEntries(plan.excluded.map((e) => [e.service, e.reason]));
    assert.match(reasons.db!, /faultline.exclude/);
    assert.match(reasons.api!, /not running \(exited\)/);
    assert.match(reasons.cache!, /blast radius 2 > 1/);
    assert.match(reasons.agent!, /faultline's own/);
  });

  test("--services and --label narrow the scope; an unknown service is an error", () => {
    const labelled = [svc("web", { labels: { tier: "front" } }), svc("api"), svc("db")];
    assert.deepEqual(planExperiment({ ...base, services: ["web", "db"] }).order, ["db", "web"]);
    assert.deepEqual(planExperiment({ ...base, containers: labelled, labels: ["tier=front"] }).order, [
      "web",
    ]);
    assert.throws(() => planExperiment({ ...base, services: ["nope"] }), /no service "nope"/);
  });

  test("per-kind options reach the steps; no kinds is an error", () => {
    const plan = planExperiment({ ...base, kinds: ["kill"], options: { kill: { signal: "SIGTERM" } } });
    assert.deepEqual(plan.steps[0]!.options, { signal: "SIGTERM" });
    assert.match(plan.steps[0]!.description, /kill db \(signal=SIGTERM\) for 5s/);
    assert.throws(() => planExperiment({ ...base, kinds: [] }), /no fault kinds/);
  });

  test("formatPlan lists steps and skips", () => {
    const text = formatPlan(planExperiment({ ...base, maxBlastRadius: 0 }));
    assert.match(text, /1 step\(s\)/);
    assert.match(text, /1\. pause web for 5s -> shop-web-1/);
    assert.match(text, /skip db: blast radius 2 > 0/);
  });
});

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { analyzeRun } from "../../src/analysis/impact.js";
import type { DependencyGraph } from "../../src/graph/types.js";
import type { ServiceSample } from "../../src/monitor/types.js";
import { faultReports } from "../../src/report/faults.js";
import { renderMarkdown } from "../../src/report/markdown.js";
import { effects, recordRun, type Effect } from "../fixtures/monitor/series.js";

/** mailer (a client two hops out) -> storefront (a proxy that logs nothing) -> sessions -> cache; batch -> db. */
function proxiedGraph(): DependencyGraph {
  const edge = (from: string, to: string, port: number) => ({
    from,
    to,
    port,
    confidence: 0.9,
    evidence: [{ source: "connection" as const, detail: `${from} -> ${to}:${port}` }],
  });
  const node = (id: string, kind: DependencyGraph["nodes"][number]["kind"]) => ({
    id,
    kind,
    confidence: 0.9,
    ports: [],
    endpoints: [],
  });
  return {
    nodes: [
      node("mailer", "worker"),
      node("storefront", "http"),
      node("sessions", "http"),
      node("cache", "redis"),
      node("db", "postgresql"),
      node("batch", "worker"),
    ],
    edges: [
      edge("mailer", "storefront", 80),
      edge("storefront", "sessions", 8080),
      edge("sessions", "cache", 6379),
      edge("batch", "db", 5432),
    ],
    order: ["cache", "db", "sessions", "storefront", "mailer", "batch"],
  };
}

const http5xxTo =
  (peer: string, perTick = 2): Effect =>
  () => ({
    logs: {
      lines: 6,
      errors: perTick,
      byClass: { http5xx: perTick },
      peers: [{ class: "http5xx", peer, count: perTick }],
      dropped: 0,
    },
  });

const silent: Effect = (_i, phase) =>
  phase === "during" ? { logs: { lines: 0, errors: 0, byClass: {}, peers: [], dropped: 0 } } : undefined;

describe("impact through services that say nothing", () => {
  const run = () =>
    recordRun(
      [
        {
          id: "f1",
          target: "cache",
          kind: "pause",
          effects: {
            cache: effects.paused(),
            sessions: effects.timeoutsTo("cache", 4, 10),
            // The proxy's own log is elsewhere: it shows nothing; its client saw its 5xx.
            mailer: (i, phase) => (phase === "during" ? http5xxTo("storefront")(i, phase) : undefined),
          },
        },
      ],
      { graph: proxiedGraph() },
    );

  test("a silent proxy is impacted from its clients' errors; the client two hops out, with the path", () => {
    const { record, data } = run();
    const step = analyzeRun(record, data).steps[0]!;
    const byName = new Map(step.impacted.map((i) => [i.service, i]));
    assert.deepEqual([...byName.keys()].sort(), ["mailer", "sessions", "storefront"]);
    assert.equal(byName.get("sessions")?.via, "direct");
    const proxy = byName.get("storefront")!;
    assert.equal(proxy.via, "transitive");
    assert.deepEqual(proxy.path, ["cache", "sessions", "storefront"]);
    assert.deepEqual(proxy.clientErrors, [{ client: "mailer", class: "http5xx", count: 20 }]);
    assert.ok(
      step.summary.includes("storefront: clients saw HTTP 5xx errors from storefront (mailer: 20)"),
      step.summary.join("\n"),
    );
    const client = byName.get("mailer")!;
    assert.equal(client.via, "transitive");
    assert.deepEqual(client.path, ["cache", "sessions", "storefront", "mailer"]);
    assert.deepEqual(step.hiddenEdges, [], "impact from clients adds no coincident edges");
    assert.deepEqual(step.confirmedEdges.map((e) => `${e.from}->${e.to}`).sort(), [
      "mailer->storefront",
      "sessions->cache",
      "storefront->sessions",
    ]);
  });

  test("a server's errors naming its own client are neither a hidden edge nor that client's impact", () => {
    const { record, data } = recordRun(
      [
        {
          id: "f1",
          target: "cache",
          kind: "pause",
          effects: {
            cache: effects.paused(),
            // Broken pipes to the proxy that gave up waiting, as a server logs them.
            sessions: effects.timeoutsTo("storefront", 4, 10),
          },
        },
      ],
      { graph: proxiedGraph() },
    );
    const step = analyzeRun(record, data).steps[0]!;
    assert.deepEqual(
      step.impacted.map((i) => i.service),
      ["sessions"],
    );
    assert.deepEqual(step.hiddenEdges, []);
  });

  test("report.md shows the path with arrows and no HTML entities", () => {
    const recorded = run();
    const md = renderMarkdown({
      record: recorded.record,
      analysis: analyzeRun(recorded.record, recorded.data),
    });
    assert.match(md, /mailer \(transitive: cache → sessions → storefront → mailer\)/);
    assert.doesNotMatch(md, /&gt;|&lt;|&#39;|&quot;|&amp;/);
  });

  test("report.json's faults carry the path and the clients' errors, client → server", () => {
    const { record, data } = run();
    const fault = faultReports(analyzeRun(record, data).steps)[0]!;
    const proxy = fault.impacted.find((i) => i.service === "storefront")!;
    assert.deepEqual(proxy.path, ["cache", "sessions", "storefront"]);
    assert.deepEqual(proxy.clientErrors, [{ client: "mailer", class: "http5xx", count: 20 }]);
  });

  test("an edge whose client was not seen working is 'not observed', not resilient", () => {
    const { record, data } = recordRun(
      [{ id: "f1", target: "db", kind: "pause", effects: { db: effects.paused() } }],
      {
        graph: proxiedGraph(),
      },
    );
    for (const s of data.samples) if (s.service === "batch") neverWrites(s);
    const step = analyzeRun(record, data).steps[0]!;
    // batch wrote nothing in its baseline either: nothing was seen, nothing deviated.
    assert.deepEqual(step.impacted, []);
    assert.deepEqual(step.resilientEdges, []);
    assert.deepEqual(
      step.unobservedEdges?.map((e) => `${e.from}->${e.to}`),
      ["batch->db"],
    );
  });

  test("a client that keeps its traffic going makes the edge resilient", () => {
    const { record, data } = recordRun(
      [{ id: "f1", target: "db", kind: "pause", effects: { db: effects.paused() } }],
      {
        graph: proxiedGraph(),
      },
    );
    const step = analyzeRun(record, data).steps[0]!;
    assert.deepEqual(
      step.resilientEdges.map((e) => `${e.from}->${e.to}`),
      ["batch->db"],
    );
    assert.deepEqual(step.unobservedEdges, []);
  });

  test("a pure stall (its own line rate falls to zero, no error) is impact", () => {
    const { record, data } = recordRun(
      [{ id: "f1", target: "db", kind: "pause", effects: { db: effects.paused(), batch: silent } }],
      { graph: proxiedGraph() },
    );
    const step = analyzeRun(record, data).steps[0]!;
    const batch = step.impacted.find((i) => i.service === "batch");
    assert.ok(batch, JSON.stringify(step.impacted.map((i) => i.service)));
    assert.equal(batch.via, "direct");
    assert.ok(batch.signals.some((g) => g.metric === "throughput.logLines"));
    assert.match(batch.summary.join("\n"), /stalled: log lines [\d.]+\/s -> 0\/s/);
    assert.equal(batch.recoveredAfterMs, 0);
    assert.equal(step.severity, "major");
  });
});

/** A service that never writes a line (baseline included). */
function neverWrites(s: ServiceSample): void {
  s.logs = { lines: 0, errors: 0, byClass: {}, peers: [], dropped: 0 };
}

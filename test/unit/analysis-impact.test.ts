import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { analyzeRun } from "../../src/analysis/impact.js";
import { effects, recordRun } from "../fixtures/monitor/series.js";

describe("impact analysis on recorded samples", () => {
  test("pausing cache: sessions (direct) times out, storefront (transitive) fails probes; edges confirmed", () => {
    const { record, data } = recordRun([
      {
        id: "f1",
        target: "cache",
        kind: "pause",
        effects: {
          cache: effects.paused(),
          sessions: effects.timeoutsTo("cache", 4, 10),
          storefront: effects.both(effects.timeoutsTo("sessions", 3, 10), effects.failingProbes(10)),
        },
      },
    ]);
    const a = analyzeRun(record, data);
    const step = a.steps[0]!;
    assert.equal(step.analyzed, true);
    assert.deepEqual(step.expected, ["sessions", "storefront"]);
    const byName = new Map(step.impacted.map((i) => [i.service, i]));
    assert.equal(byName.get("sessions")?.via, "direct");
    assert.equal(byName.get("storefront")?.via, "transitive");
    assert.equal(byName.has("db"), false);
    assert.equal(byName.has("batch"), false);
    assert.deepEqual(byName.get("sessions")?.errors, [{ class: "timeout", peer: "cache", count: 40 }]);
    assert.ok(
      step.summary.includes("sessions: timeouts on Redis calls to cache (40 in 20 s)"),
      step.summary.join("\n"),
    );
    assert.ok(
      step.summary.some((l) => l.startsWith("storefront: timeouts on HTTP calls to sessions (30 in")),
    );
    assert.ok(step.targetImpact?.down, "the paused target is down");
    assert.deepEqual(step.confirmedEdges.map((e) => `${e.from}->${e.to}`).sort(), [
      "sessions->cache",
      "storefront->sessions",
    ]);
    assert.deepEqual(step.hiddenEdges, []);
    // storefront stopped answering entirely: a cascade, critical by rule.
    assert.equal(step.severity, "critical");
    assert.match(step.severityReason, /storefront went down \(no HTTP probe succeeded\)/);
    assert.equal(step.recoveredAfterMs, 0);
  });

  test("a fault on a service nothing depends on impacts nobody else", () => {
    const { record, data } = recordRun([
      { id: "f1", target: "batch", kind: "stop", effects: { batch: effects.stopped() } },
    ]);
    const step = analyzeRun(record, data).steps[0]!;
    assert.deepEqual(step.expected, []);
    assert.deepEqual(step.impacted, []);
    assert.equal(step.severity, "none");
    assert.equal(step.targetImpact?.down, true);
    assert.equal(step.targetImpact?.recoveredAfterMs, 0);
    assert.deepEqual(step.resilientEdges, []);
  });

  test("impact without an edge is a hidden dependency, added to graphAfter with impact evidence", () => {
    const { record, data } = recordRun([
      {
        id: "f1",
        target: "cache",
        kind: "stop",
        effects: {
          cache: effects.stopped(),
          sessions: effects.refusedTo("cache"),
          mailer: effects.refusedTo("cache", 2, 8),
        },
      },
    ]);
    const a = analyzeRun(record, data);
    const step = a.steps[0]!;
    const mailer = step.impacted.find((i) => i.service === "mailer");
    assert.equal(mailer?.via, "hidden");
    assert.deepEqual(
      step.hiddenEdges.map((e) => `${e.from}->${e.to}`),
      ["mailer->cache"],
    );
    const edge = a.graphAfter?.edges.find((e) => e.from === "mailer" && e.to === "cache");
    assert.ok(edge);
    assert.equal(edge.evidence[0]?.source, "impact");
    assert.equal(edge.confidence, 0.8);
    assert.equal(a.graphAfter?.edges.length, record.graphBefore!.edges.length + 1);
    // storefront depends on sessions (impacted) but showed nothing: resilient.
    assert.ok(step.resilientEdges.some((e) => e.from === "storefront" && e.to === "sessions"));
    assert.equal(step.severity, "major");
  });

  test("a server of the target that deviates is impact along a known edge, never a hidden dependency", () => {
    // Latency on storefront resets its connections: db (which storefront calls) logs resets naming nobody.
    const resetsFromClients = (i: number) =>
      i < 10 ? { logs: { lines: 10, errors: 2, byClass: { refused: 2 }, peers: [], dropped: 0 } } : undefined;
    const { record, data } = recordRun([
      {
        id: "f1",
        target: "storefront",
        kind: "latency",
        effects: { storefront: effects.slowProbes(900), db: resetsFromClients, cache: resetsFromClients },
      },
    ]);
    const a = analyzeRun(record, data);
    const step = a.steps[0]!;
    const byName = new Map(step.impacted.map((i) => [i.service, i]));
    assert.equal(byName.get("db")?.via, "direct");
    assert.equal(byName.get("db")?.side, "dependency");
    // storefront -> sessions -> cache: cache is reached through sessions.
    assert.equal(byName.get("cache")?.via, "transitive");
    assert.equal(byName.get("cache")?.side, "dependency");
    assert.deepEqual(step.hiddenEdges, []);
    assert.equal(a.graphAfter?.edges.length, record.graphBefore!.edges.length);
  });

  test("resilient edges: direct dependents that showed no impact", () => {
    const { record, data } = recordRun([
      { id: "f1", target: "db", kind: "pause", effects: { db: effects.paused() } },
    ]);
    const step = analyzeRun(record, data).steps[0]!;
    assert.deepEqual(step.resilientEdges.map((e) => `${e.from}->${e.to}`).sort(), [
      "batch->db",
      "storefront->db",
    ]);
    assert.equal(step.severity, "none");
  });

  test("latency only on a dependent is minor; a dependent going down is critical; no recovery is critical", () => {
    const { record, data } = recordRun([
      { id: "lat", target: "cache", kind: "latency", effects: { sessions: effects.slowProbes(400) } },
      {
        id: "down",
        target: "cache",
        kind: "stop",
        effects: { cache: effects.stopped(), sessions: effects.stopped() },
      },
      {
        id: "stuck",
        target: "db",
        kind: "stop",
        effects: { db: effects.stopped(), batch: effects.forever(effects.refusedTo("db")) },
      },
    ]);
    const [lat, down, stuck] = analyzeRun(record, data).steps;
    assert.equal(lat!.severity, "minor");
    assert.equal(lat!.impacted[0]?.signals[0]?.metric, "probe.p95Ms");
    assert.equal(lat!.impacted[0]?.recoveredAfterMs, 0);
    assert.equal(down!.severity, "critical");
    assert.match(down!.severityReason, /sessions went down/);
    assert.equal(stuck!.severity, "critical");
    assert.equal(stuck!.recoveredAfterMs, null);
    assert.match(stuck!.severityReason, /batch had not recovered/);
  });

  test("memory that settles higher (a warm cache) does not hold back recovery; resources alone still decide it", () => {
    const warmCache = effects.forever(() => ({ memoryBytes: 300 * 1024 * 1024 }));
    const { record, data } = recordRun([
      {
        id: "timeouts-and-memory",
        target: "cache",
        kind: "pause",
        effects: {
          sessions: (i, phase) => ({ ...effects.timeoutsTo("cache")(i, phase), ...warmCache(i, phase) }),
        },
      },
      { id: "only-memory", target: "cache", kind: "pause", effects: { sessions: warmCache } },
    ]);
    const [withTimeouts, onlyMemory] = analyzeRun(record, data).steps;
    const sessions = withTimeouts!.impacted.find((i) => i.service === "sessions")!;
    assert.ok(
      sessions.signals.some((g) => g.metric === "memoryBytes"),
      "the higher memory is still reported",
    );
    assert.equal(sessions.recoveredAfterMs, 0, "recovered once the timeouts stopped");
    assert.notEqual(withTimeouts!.severity, "critical");
    // Nothing but memory deviated: then memory decides, and it never came back.
    assert.equal(onlyMemory!.impacted.find((i) => i.service === "sessions")?.recoveredAfterMs, null);
  });

  test("a container removed a tick after its probes failed is described as removed", () => {
    const probesFail = effects.paused();
    const { record, data } = recordRun([
      {
        id: "rm",
        target: "db",
        kind: "kill",
        effects: {
          // First down tick: still listed as running, only the probes fail; then the engine says gone.
          db: (i, phase) =>
            i === 0
              ? { ...probesFail(0, "during"), state: "running" }
              : phase === "during"
                ? { gone: true, inspectError: "no such container", state: undefined, probes: undefined }
                : undefined,
        },
      },
    ]);
    const step = analyzeRun(record, data).steps[0]!;
    const down = step.targetImpact?.signals.find((g) => g.metric === "down");
    assert.equal(down?.text, "container removed");
    assert.equal(down?.firstAtMs, 0, "the time is still the first tick that was down");
  });

  test("recovery time is measured from the revert", () => {
    const { record, data } = recordRun([
      {
        id: "f1",
        target: "cache",
        kind: "pause",
        duringTicks: 5,
        afterTicks: 10,
        // Errors continue 3 ticks past the revert (reconnect back-off), then stop.
        effects: { cache: effects.paused(), sessions: effects.timeoutsTo("cache", 5, 8) },
      },
    ]);
    const step = analyzeRun(record, data).steps[0]!;
    const sessions = step.impacted.find((i) => i.service === "sessions")!;
    assert.equal(sessions.recoveredAfterMs, 3000);
    assert.equal(sessions.firstDeviationMs, 0);
    assert.equal(step.recoveredAfterMs, 3000);
  });

  test("steps without monitoring data are reported, not guessed", () => {
    const { record, data } = recordRun([{ id: "f1", target: "db", kind: "pause", effects: {} }]);
    record.steps.push({
      ...record.steps[0]!,
      faultId: "f2",
      outcome: { status: "injection-failed", error: "x" },
    });
    const a = analyzeRun(record, data);
    assert.equal(a.steps[1]!.analyzed, false);
    assert.match(a.steps[1]!.note ?? "", /no monitoring data/);
  });

  test("timeline orders injections, deviations and recoveries", () => {
    const { record, data } = recordRun([
      {
        id: "f1",
        target: "cache",
        kind: "pause",
        effects: { cache: effects.paused(), sessions: effects.timeoutsTo("cache") },
      },
    ]);
    const a = analyzeRun(record, data);
    const kinds = a.timeline.map((e) => e.kind);
    assert.equal(kinds[0], "inject");
    assert.ok(kinds.includes("deviation") && kinds.includes("recovery") && kinds.includes("revert"));
    const sorted = [...a.timeline].sort((x, y) => x.at.localeCompare(y.at));
    assert.deepEqual(a.timeline, sorted);
  });
});

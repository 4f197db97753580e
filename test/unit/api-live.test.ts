/**
 * The live page without a browser: its view model (Mermaid text with the faulted services in the
 * `faulted` class, faults in effect, hurt services, timeline, schedule), the signals' arithmetic, and
 * its routes through a real HTTP server on 127.0.0.1 — the page and assets open with a CSP, the data
 * behind the token, the event stream pushing snapshots and ending when the service stops.
 */
import assert from "node:assert/strict";
import type { Server } from "node:http";
import { after, before, describe, test } from "node:test";
import { createApp } from "../../src/api/app.js";
import type { ExperimentView } from "../../src/api/experiments.js";
import type { FaultView } from "../../src/api/faults.js";
import { LIVE_PAGE_CSP } from "../../src/api/live/routes.js";
import { signalFrom } from "../../src/api/live/signals.js";
import {
  buildLiveSnapshot,
  faultsInEffect,
  FAULTED_CLASS,
  hurtServices,
  liveMermaid,
  type LiveSnapshot,
} from "../../src/api/live/view.js";
import type { ScheduleStatus } from "../../src/api/scheduler.js";
import { closeServer, listen } from "../../src/api/server.js";
import type { ApiService } from "../../src/api/service.js";
import type { DependencyGraph } from "../../src/graph/types.js";
import type { ProbeResult } from "../../src/monitor/http-probe.js";

const graph: DependencyGraph = {
  nodes: [
    { id: "web", kind: "http", confidence: 1, ports: [], endpoints: [] },
    { id: "api", kind: "http", confidence: 1, ports: [], endpoints: [] },
    { id: "db", kind: "postgresql", confidence: 1, ports: [], endpoints: [] },
    { id: "end", kind: "redis", confidence: 1, ports: [], endpoints: [] },
  ],
  edges: [
    { from: "web", to: "api", confidence: 0.9, evidence: [] },
    { from: "api", to: "db", confidence: 0.9, evidence: [] },
    { from: "api", to: "end", confidence: 0.9, evidence: [] },
  ],
  order: ["db", "end", "api", "web"],
};

function fault(target: string, id = `f-${target}`): FaultView {
  return {
    id,
    source: "api",
    runId: `run-${id}`,
    state: "active",
    faultId: id,
    kind: "pause",
    target,
    containerId: "c1",
    options: {},
    description: `pause ${target}`,
    requestedAt: new Date(0).toISOString(),
    injectedAt: new Date(1000).toISOString(),
    revertDueAt: new Date(31_000).toISOString(),
    durationMs: 30_000,
    errors: [],
  };
}

function run(id: string, overrides: Partial<ExperimentView> = {}): ExperimentView {
  return {
    id,
    status: "completed",
    startedAt: new Date(0).toISOString(),
    endedAt: new Date(5000).toISOString(),
    progress: { done: 1, total: 1 },
    plan: { steps: [], excluded: [], estimatedMs: 0 },
    record: {
      runId: id,
      startedAt: new Date(0).toISOString(),
      status: "completed",
      dryRun: false,
      steps: [],
    },
    ...overrides,
  };
}

const schedule: ScheduleStatus = {
  schedule: "*/30 * * * * *",
  kinds: ["pause"],
  running: true,
  paused: true,
  pausedReason: "halted through the API",
  nextTick: new Date(60_000).toISOString(),
  window: { open: true, windows: [] },
  pacing: { maxConcurrent: 1, injectedToday: 1, inEffect: 0 },
  lastFaults: [{ at: new Date(2000).toISOString(), outcome: "injected", service: "db", kind: "pause" }],
  ticks: [],
};

describe("live view model", () => {
  test("the map is the graph's Mermaid with the faulted services in the faulted class", () => {
    const text = liveMermaid(graph, ["db", "end"]);
    assert.match(text, /^graph LR\n/);
    assert.match(text, new RegExp(`\\n  classDef ${FAULTED_CLASS} fill:#fecaca`));
    assert.match(text, new RegExp(`\\n  class svc_db,svc_end ${FAULTED_CLASS}\\n$`));
    // A service named like a Mermaid keyword does not break the syntax: ids are generated.
    assert.ok(!/\bclass end\b/.test(text));
    const plain = liveMermaid(graph, []);
    assert.ok(!plain.includes(FAULTED_CLASS), "nothing highlighted without faults");
    assert.ok(!liveMermaid(graph, ["ghost"]).includes(`class `), "an unknown service is not drawn");
  });

  test("faults in effect: the fault list's, plus injected, unreverted steps of running experiments", () => {
    const running = run("exp-1", {
      status: "running",
      record: {
        runId: "exp-1",
        startedAt: new Date(0).toISOString(),
        status: "running",
        dryRun: false,
        steps: [
          { ...fault("api", "s1"), revertedAt: new Date(2000).toISOString() },
          { ...fault("web", "s2") },
          { ...fault("db", "f-db") },
        ],
      },
    });
    const done = run("exp-0", { record: { ...running.record, status: "completed" }, status: "completed" });
    const faults = faultsInEffect([fault("db")], [running, done]);
    assert.deepEqual(
      faults.map((f) => [f.id, f.target, f.source]),
      [
        ["f-db", "db", "api"],
        ["s2", "web", "experiment"],
      ],
    );
  });

  test("the services a fault hurts: the target, then its callers nearest first, each once", () => {
    assert.deepEqual(hurtServices(graph, ["db"]), [
      { service: "db", role: "target" },
      { service: "api", role: "caller" },
      { service: "web", role: "caller" },
    ]);
    assert.deepEqual(
      hurtServices(graph, ["db", "end"]).map((h) => h.service),
      ["db", "end", "api", "web"],
    );
    assert.deepEqual(hurtServices(graph, ["web"]), [{ service: "web", role: "target" }]);
  });

  test("a snapshot: map, faulted, schedule state and next tick, timeline with severities and reports", () => {
    const s: LiveSnapshot = buildLiveSnapshot({
      now: new Date(10_000),
      graph,
      discoveredAt: new Date(0).toISOString(),
      faults: { active: [fault("db")] },
      experiments: [
        run("r2", {
          report: { html: "/api/experiments/r2/report.html", json: "/api/experiments/r2/report.json" },
          history: {
            id: "r2",
            source: "schedule",
            startedAt: new Date(0).toISOString(),
            status: "ok",
            targets: ["db"],
            kinds: ["pause"],
            severity: "major",
            impacted: [],
          },
        }),
        run("r1", {
          report: { html: "/api/experiments/r1/report.html", json: "/api/experiments/r1/report.json" },
          history: {
            id: "r1",
            source: "api",
            startedAt: new Date(0).toISOString(),
            status: "ok",
            targets: ["api"],
            kinds: ["latency"],
            impacted: [],
            reportsPrunedAt: new Date(9000).toISOString(),
          },
        }),
      ],
      schedule,
      signals: [{ service: "db", role: "target", probes: 4, errorRate: 0.5, p95Ms: 2000 }],
      signalsSource: "probes",
    });
    assert.equal(s.at, new Date(10_000).toISOString());
    assert.deepEqual(s.faulted, ["db"]);
    assert.ok("mermaid" in s.map && s.map.mermaid.includes(`class svc_db ${FAULTED_CLASS}`));
    assert.deepEqual("nodes" in s.map && s.map.nodes, ["web", "api", "db", "end"]);
    assert.deepEqual(s.schedule, {
      configured: true,
      schedule: "*/30 * * * * *",
      running: true,
      paused: true,
      pausedReason: "halted through the API",
      nextTick: new Date(60_000).toISOString(),
      windowOpen: true,
      kinds: ["pause"],
      lastFault: { at: new Date(2000).toISOString(), service: "db", kind: "pause" },
    });
    assert.equal(s.runs[0]!.severity, "major");
    assert.equal(s.runs[0]!.source, "schedule");
    assert.equal(s.runs[0]!.report?.html, "/api/experiments/r2/report.html");
    assert.equal(s.runs[1]!.report, undefined, "no link to pruned report files");
    assert.deepEqual(s.runs[1]!.targets, ["api"]);
  });

  test("without a graph yet the map is pending, and without a schedule it says so", () => {
    const s = buildLiveSnapshot({
      now: new Date(0),
      graphPending: "discovering",
      faults: { active: [] },
      experiments: [],
      signals: [],
      signalsSource: "",
    });
    assert.deepEqual(s.map, { pending: "discovering" });
    assert.deepEqual(s.schedule, { configured: false });
    assert.deepEqual(s.runs, []);
  });

  test("signals: failed probes over all, p95 with timeouts at their timeout, a note without probes", () => {
    const r = (outcome: ProbeResult["outcome"], latencyMs: number): ProbeResult => ({
      url: "http://x/",
      outcome,
      latencyMs,
    });
    const results = [
      r("ok", 10),
      r("ok", 12),
      r("client-error", 5),
      r("server-error", 30),
      r("timeout", 2000),
      r("failure", 1),
      ...Array.from({ length: 14 }, () => r("ok", 11)),
    ];
    const s = signalFrom({ service: "api", role: "caller" }, results);
    assert.equal(s.probes, 20);
    assert.equal(s.errorRate, 3 / 20);
    assert.equal(s.p95Ms, 30);
    assert.deepEqual(signalFrom({ service: "db", role: "target" }, [], "no HTTP endpoint discovered"), {
      service: "db",
      role: "target",
      probes: 0,
      note: "no HTTP endpoint discovered",
    });
  });
});

const TOKEN = "0123456789abcdef0123456789abcdef";

function fakeService(state: { active: FaultView[] }): ApiService {
  const refuse = () => {
    throw new Error("not used by the live page");
  };
  return {
    health: () => ({ status: "ok", activeFaults: state.active.length, scope: { project: "shop" } }),
    services: async () => ({ services: [], discoveredAt: new Date(0).toISOString() }),
    discover: refuse,
    graph: async () => graph,
    injectFault: refuse,
    listFaults: () => ({ active: state.active, recent: [] }),
    getFault: refuse,
    revertFault: refuse,
    startExperiment: refuse,
    startExperimentDocument: refuse,
    listExperiments: () => [],
    getExperiment: refuse,
    cancelExperiment: refuse,
    experimentReport: refuse,
    schedule: () => schedule,
    pauseSchedule: refuse,
    resumeSchedule: refuse,
    halt: refuse,
    metrics: async () => ({ contentType: "text/plain", body: "" }),
    prometheusTargets: async () => [],
  };
}

describe("live page routes", () => {
  const state: { active: FaultView[] } = { active: [] };
  const stopping = new AbortController();
  let server: Server;
  let base: string;

  before(async () => {
    const app = createApp(fakeService(state), {
      apiToken: TOKEN,
      live: { shutdown: stopping.signal, pushIntervalMs: 50 },
    });
    ({ server, url: base } = await listen(app, { host: "127.0.0.1", port: 0 }));
  });
  after(async () => {
    stopping.abort();
    await closeServer(server);
  });

  const get = (path: string, token?: string) =>
    fetch(`${base}${path}`, {
      headers: token ? { authorization: `Bearer ${token}` } : {},
      signal: AbortSignal.timeout(5000),
    });

  test("the page and its assets load without a token, with a CSP and no data in them", async () => {
    const page = await get("/");
    assert.equal(page.status, 200);
    assert.match(page.headers.get("content-type") ?? "", /^text\/html/);
    assert.equal(page.headers.get("content-security-policy"), LIVE_PAGE_CSP);
    assert.match(LIVE_PAGE_CSP, /script-src 'self'(;|$)/, "no inline or eval scripts");
    assert.match(LIVE_PAGE_CSP, /connect-src 'self'/);
    const html = await page.text();
    assert.match(html, /<script src="\/assets\/mermaid.min.js"/);
    assert.ok(!html.includes("<script>"), "no inline script");
    for (const name of ["web", "api", "db"]) assert.ok(!html.includes(`>${name}<`), "no data in the page");
    for (const asset of ["/assets/live.js", "/assets/live.css", "/assets/mermaid.min.js"]) {
      const res = await get(asset);
      assert.equal(res.status, 200, asset);
      assert.equal(res.headers.get("x-content-type-options"), "nosniff");
      assert.ok((await res.text()).length > 100, asset);
    }
    const js = await get("/assets/live.js");
    assert.match(js.headers.get("content-type") ?? "", /^text\/javascript/);
    // Other paths under /assets are not open.
    assert.equal((await get("/assets/other.js")).status, 401);
  });

  test("the data needs the token", async () => {
    assert.equal((await get("/api/live")).status, 401);
    assert.equal((await get("/api/live/events")).status, 401);
    assert.equal((await get("/api/live", "wrong-token-of-some-length")).status, 401);
    const ok = await get("/api/live", TOKEN);
    assert.equal(ok.status, 200);
    const s = (await ok.json()) as LiveSnapshot;
    assert.deepEqual(s.faulted, []);
    assert.equal(s.schedule.paused, true);
  });

  test("the event stream pushes a snapshot, then a new one when a fault comes, and ends on shutdown", async () => {
    const res = await fetch(`${base}/api/live/events`, {
      headers: { authorization: `Bearer ${TOKEN}` },
      signal: AbortSignal.timeout(10_000),
    });
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /^text\/event-stream/);
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    const next = async (): Promise<LiveSnapshot> => {
      for (;;) {
        const cut = buffer.indexOf("\n\n");
        if (cut >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          const data = block.split("\n").find((l) => l.startsWith("data: "));
          if (block.startsWith("event: snapshot") && data) return JSON.parse(data.slice(6)) as LiveSnapshot;
          continue;
        }
        const { value, done } = await reader.read();
        if (done) throw new Error("stream ended");
        buffer += decoder.decode(value, { stream: true });
      }
    };
    const first = await next();
    assert.deepEqual(first.faulted, []);
    state.active = [fault("db")];
    const second = await next();
    assert.deepEqual(second.faulted, ["db"]);
    assert.equal(second.faults[0]!.target, "db");
    stopping.abort();
    for (;;) {
      const { done } = await reader.read();
      if (done) break;
    }
  });
});

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import type { RunAnalysis, StepAnalysis } from "../../src/analysis/types.js";
import { authorizationHeader, integrationsConfig } from "../../src/integrations/config.js";
import { evidenceFrom, logSearchBody, scaledCounts } from "../../src/integrations/elasticsearch.js";
import { mergeEvidence, seriesSignal, type ServiceEvidence } from "../../src/integrations/evidence.js";
import { annotationTags } from "../../src/integrations/grafana.js";
import { createIntegrations } from "../../src/integrations/index.js";
import { FaultlineMetrics, METRIC_NAMES } from "../../src/integrations/metrics.js";
import { parseEnvelope, parseMatrix } from "../../src/integrations/prometheus-client.js";
import {
  pickMetricNames,
  serviceMatcher,
  serviceQueries,
  upSignal,
} from "../../src/integrations/prometheus-evidence.js";
import { prometheusSdTargets } from "../../src/integrations/prometheus-sd.js";
import type { StepContext } from "../../src/run/observer.js";
import type { FaultStep } from "../../src/run/record.js";
import { makeProfile } from "../support/profile-fixtures.js";

describe("integrations config", () => {
  test("nothing set: nothing active, no problems", () => {
    const c = integrationsConfig({});
    assert.deepEqual(c, { problems: [] });
    const i = createIntegrations({
      env: {},
      log: { warn: () => undefined, info: () => undefined, debug: () => undefined },
    });
    assert.deepEqual(i.active, []);
    assert.deepEqual(i.observers, []);
  });

  test("grafana needs a token or user+password; URLs are normalised", () => {
    const c = integrationsConfig({ GRAFANA_URL: "http://grafana:3000/", GRAFANA_TOKEN: "t" });
    assert.deepEqual(c.grafana, {
      url: "http://grafana:3000",
      auth: { kind: "bearer", token: "t" },
      timeoutMs: 5000,
    });
    const basic = integrationsConfig({
      GRAFANA_URL: "http://g:3000",
      GRAFANA_USER: "u",
      GRAFANA_PASSWORD: "p",
    });
    assert.equal(basic.grafana?.auth.kind, "basic");
    const none = integrationsConfig({ GRAFANA_URL: "http://g:3000" });
    assert.equal(none.grafana, undefined);
    assert.match(none.problems[0]!, /GRAFANA_TOKEN/);
  });

  test("bad settings disable the back-end with a reason, never echo credentials", () => {
    const c = integrationsConfig({
      PROMETHEUS_URL: "ftp://x",
      ELASTICSEARCH_URL: "http://user:pw@es:9200",
      GRAFANA_URL: "http://g",
      GRAFANA_TOKEN: "t",
      FAULTLINE_INTEGRATION_TIMEOUT_MS: "soon",
    });
    assert.equal(c.prometheus, undefined);
    assert.equal(c.elasticsearch, undefined);
    assert.equal(c.grafana?.timeoutMs, 5000);
    assert.equal(c.problems.length, 3);
    assert.ok(!c.problems.join(" ").includes("pw"));
    const label = integrationsConfig({ PROMETHEUS_URL: "http://p:9090", PROMETHEUS_SERVICE_LABEL: "a-b" });
    assert.equal(label.prometheus, undefined);
  });

  test("prometheus and elasticsearch defaults", () => {
    const c = integrationsConfig({ PROMETHEUS_URL: "http://p:9090", ELASTICSEARCH_URL: "http://es:9200" });
    assert.deepEqual(c.prometheus, {
      url: "http://p:9090",
      timeoutMs: 5000,
      serviceLabel: "service",
      rateWindow: "30s",
    });
    assert.deepEqual(c.elasticsearch, {
      url: "http://es:9200",
      timeoutMs: 5000,
      index: "faultline-logs-*",
      maxLines: 500,
    });
  });

  test("authorization headers", () => {
    assert.deepEqual(authorizationHeader({ kind: "bearer", token: "x" }), { authorization: "Bearer x" });
    assert.deepEqual(authorizationHeader({ kind: "basic", user: "a", password: "b" }), {
      authorization: `Basic ${Buffer.from("a:b").toString("base64")}`,
    });
    assert.deepEqual(authorizationHeader(undefined), {});
  });
});

describe("prometheus http_sd document", () => {
  test("one group per service and metrics path, on the preferred network", () => {
    const api = makeProfile("api", {
      project: "shop",
      networks: { shop_front: "10.0.1.5", shop_back: "10.0.2.5" },
      endpoints: [
        { port: 8080, path: "/metrics", status: 200, latencyMs: 2, prometheus: true },
        { port: 9100, path: "/metrics", status: 200, latencyMs: 2, prometheus: true },
        { port: 8080, path: "/health", status: 200, latencyMs: 2 },
      ],
    });
    const db = makeProfile("db", { project: "shop", networks: { shop_back: "10.0.2.9" }, ports: [5432] });
    const helper = makeProfile("agent", {
      networks: { shop_back: "10.0.2.20" },
      endpoints: [{ port: 1, path: "/metrics", status: 200, latencyMs: 1, prometheus: true }],
    });
    helper.labels["faultline.owned"] = "true";
    assert.deepEqual(prometheusSdTargets([api, db, helper], { networks: ["shop_back"] }), [
      {
        targets: ["10.0.2.5:8080", "10.0.2.5:9100"],
        labels: {
          __metrics_path__: "/metrics",
          service: "api",
          container: "shop-api-1",
          compose_project: "shop",
        },
      },
    ]);
    assert.equal(prometheusSdTargets([api])[0]!.targets[0], "10.0.1.5:8080");
  });
});

describe("prometheus queries", () => {
  test("metric names are recognised by convention", () => {
    assert.deepEqual(
      pickMetricNames([
        "up",
        "process_cpu_seconds_total",
        "http_request_duration_seconds_bucket",
        "http_request_duration_seconds_count",
        "http_requests_total",
      ]),
      {
        requestCounter: "http_requests_total",
        latencyHistogram: { name: "http_request_duration_seconds_bucket", unit: "seconds" },
      },
    );
    assert.deepEqual(pickMetricNames(["app_latency_ms_bucket", "app_latency_ms_count"]), {
      latencyHistogram: { name: "app_latency_ms_bucket", unit: "milliseconds" },
      requestCounter: "app_latency_ms_count",
    });
    assert.deepEqual(
      pickMetricNames(["rpc_duration_seconds_bucket", "rpc_duration_seconds_count"]).requestCounter,
      "rpc_duration_seconds_count",
    );
    assert.deepEqual(pickMetricNames(["up", "go_goroutines"]), {});
  });

  test("selectors escape the service name; queries follow what the service exports", () => {
    const sel = serviceMatcher("service", 'we"ird');
    assert.equal(sel, 'service="we\\"ird"');
    const q = serviceQueries(
      'service="api"',
      {
        requestCounter: "http_requests_total",
        statusLabel: "code",
        latencyHistogram: { name: "h_seconds_bucket", unit: "seconds" },
      },
      "30s",
    );
    assert.equal(q.up, 'min(up{service="api"})');
    assert.deepEqual(
      q.series.map((s) => s.metric.key),
      ["prometheus.requestRate", "prometheus.errorRatio", "prometheus.p95Ms"],
    );
    assert.match(q.series[1]!.expr, /code=~"5\.\."/);
    assert.match(q.series[2]!.expr, /\* 1000$/);
    assert.deepEqual(serviceQueries("x", {}, "30s").series, []);
  });

  test("the API envelope: data, errors, NaN dropped", () => {
    const m = parseMatrix(
      parseEnvelope({
        status: "success",
        data: {
          resultType: "matrix",
          result: [
            {
              metric: {},
              values: [
                [1, "1"],
                [2, "NaN"],
                [3, "2.5"],
              ],
            },
          ],
        },
      }),
    );
    assert.deepEqual(m[0]!.points, [
      [1000, 1],
      [3000, 2.5],
    ]);
    assert.throws(
      () => parseEnvelope({ status: "error", errorType: "bad_data", error: "parse error" }),
      /bad_data: parse error/,
    );
    assert.throws(() => parseEnvelope("<html>"), /not a Prometheus API envelope/);
    assert.throws(() => parseMatrix({ resultType: "vector", result: [] }), /matrix/);
  });
});

describe("series deviation", () => {
  const latency = {
    key: "prometheus.p95Ms",
    label: "latency p95",
    unit: "ms",
    category: "latency" as const,
    direction: "up" as const,
    floor: (m: number) => Math.max(25, 0.5 * m),
  };
  const series = (values: number[]) => values.map((v, i): [number, number] => [i * 1000, v]);

  test("a sustained rise after the injection is a signal; its end is the recovery", () => {
    const pts = series([10, 11, 10, 12, 10, 300, 310, 320, 11, 10]);
    const r = seriesSignal(latency, pts, 5000, 8000)!;
    assert.equal(r.signal.metric, "prometheus.p95Ms");
    assert.equal(r.signal.baseline, 10);
    assert.equal(r.signal.observed, 320);
    assert.equal(r.signal.firstAtMs, 0);
    assert.equal(r.recoveredAt, 8000);
  });

  test("noise, a drop on an up-only metric, or no baseline: no signal", () => {
    assert.equal(seriesSignal(latency, series([10, 12, 11, 10, 12, 14, 11, 13]), 5000, 7000), undefined);
    assert.equal(seriesSignal(latency, series([100, 100, 100, 1, 1, 1]), 3000, 5000), undefined);
    assert.equal(seriesSignal(latency, series([10, 500, 500]), 1000, 3000), undefined);
  });

  test("up: a failed scrape after a healthy baseline is down", () => {
    const r = upSignal(series([1, 1, 1, 0, 0, 1]), 3000)!;
    assert.equal(r.signal.metric, "prometheus.up");
    assert.equal(r.recoveredAt, 5000);
    assert.equal(upSignal(series([0, 0, 0, 0]), 2000), undefined);
    assert.equal(upSignal(series([1, 1, 1, 1]), 2000), undefined);
    assert.equal(upSignal(series([1, 1, 0]), 2000)?.recoveredAt, undefined);
  });
});

describe("merging external evidence into the analysis", () => {
  const step = (extra: Partial<StepAnalysis> = {}): StepAnalysis => ({
    faultId: "f1",
    target: "db",
    kind: "pause",
    description: "pause db",
    outcome: "reverted",
    analyzed: true,
    severity: "minor",
    severityReason: "only latency/resource deviations (api)",
    expected: ["api", "web"],
    impacted: [
      {
        service: "api",
        via: "direct",
        signals: [
          {
            metric: "probe.p95Ms",
            category: "latency",
            baseline: 5,
            observed: 900,
            firstAtMs: 1000,
            text: "HTTP probe p95 5 ms -> 900 ms",
          },
        ],
        errors: [],
        firstDeviationMs: 1000,
        recoveredAfterMs: 2000,
        down: false,
        unhealthy: false,
        restarted: false,
        summary: ["api: HTTP probe p95 5 ms -> 900 ms"],
      },
    ],
    confirmedEdges: [],
    hiddenEdges: [],
    resilientEdges: [],
    recoveredAfterMs: 2000,
    summary: ["db: container paused", "api: HTTP probe p95 5 ms -> 900 ms"],
    charts: [],
    ...extra,
  });
  const analysis = (s: StepAnalysis): RunAnalysis => ({
    version: 1,
    runId: "r",
    generatedAt: "",
    intervalMs: 1000,
    severityRule: [],
    steps: [s],
    hiddenEdges: [],
    graphAfter: {
      nodes: [],
      edges: [{ from: "api", to: "db", confidence: 0.9, evidence: [] }],
      order: [],
    } as unknown as RunAnalysis["graphAfter"],
    timeline: [],
    examples: [],
    notes: [],
  });
  const ev = (service: string, extra: Partial<ServiceEvidence> = {}): ServiceEvidence => ({
    service,
    source: "prometheus",
    signals: [
      {
        metric: "prometheus.errorRatio",
        category: "error",
        baseline: 0,
        observed: 0.5,
        firstAtMs: 2000,
        text: "5xx ratio 0% -> 50%",
      },
    ],
    errors: [],
    down: false,
    firstDeviationMs: 2000,
    recoveredAfterMs: 1000,
    windowSeconds: 20,
    ...extra,
  });

  test("signals join an impacted service and raise the severity", () => {
    const merged = mergeEvidence(analysis(step()), [{ faultId: "f1", services: [ev("api")], notes: [] }]);
    const s = merged.steps[0]!;
    assert.equal(s.impacted.length, 1);
    assert.deepEqual(
      s.impacted[0]!.signals.map((g) => g.metric),
      ["probe.p95Ms", "prometheus.errorRatio"],
    );
    assert.equal(s.impacted[0]!.via, "direct");
    assert.equal(s.severity, "major");
    assert.match(s.severityReason, /prometheus/);
    assert.ok(s.impacted[0]!.summary.some((l) => l.includes("[prometheus]")));
  });

  test("a service only the back-end saw is added with its place in the graph", () => {
    const merged = mergeEvidence(analysis(step()), [
      {
        faultId: "f1",
        services: [
          ev("web", { source: "elasticsearch", errors: [{ class: "timeout", peer: "api", count: 12 }] }),
          ev("batch"),
        ],
        notes: ["prometheus: no data for x"],
      },
    ]);
    const s = merged.steps[0]!;
    assert.deepEqual(
      s.impacted.map((i) => [i.service, i.via]),
      [
        ["api", "direct"],
        ["batch", "hidden"],
        ["web", "transitive"],
      ],
    );
    assert.ok(s.summary.some((l) => l.includes("web: timeouts talking to api (12 in 20 s) [elasticsearch]")));
    assert.match(s.note!, /no data for x/);
    assert.deepEqual(merged.notes, ["prometheus: no data for x"]);
  });

  test("severity never drops; the target's own evidence is the target's", () => {
    const critical = step({ severity: "critical", severityReason: "web went down" });
    const merged = mergeEvidence(analysis(critical), [
      { faultId: "f1", services: [ev("db", { down: true })], notes: [] },
    ]);
    const s = merged.steps[0]!;
    assert.equal(s.severity, "critical");
    assert.equal(s.severityReason, "web went down");
    assert.equal(s.targetImpact?.down, true);
    assert.equal(s.impacted.length, 1);
  });

  test("no evidence: the same analysis", () => {
    const a = analysis(step());
    assert.deepEqual(mergeEvidence(a, []), a);
  });
});

describe("elasticsearch queries and counts", () => {
  test("the search body filters by time and container", () => {
    const body = logSearchBody({ id: "abc", name: "shop-api-1" }, { from: 0, to: 1000 }, 50);
    assert.equal(body.size, 50);
    assert.equal(body.track_total_hits, true);
    const filter = (body.query as { bool: { filter: unknown[] } }).bool.filter;
    assert.deepEqual(filter[0], {
      range: {
        "@timestamp": {
          gte: "1970-01-01T00:00:00.000Z",
          lt: "1970-01-01T00:00:01.000Z",
          format: "strict_date_optional_time",
        },
      },
    });
    assert.deepEqual(filter[1], {
      bool: {
        should: [
          { match_phrase: { "container.id": "abc" } },
          { match_phrase: { "container.name": "shop-api-1" } },
        ],
        minimum_should_match: 1,
      },
    });
  });

  test("a sample is scaled to the total; the monitor's error rule applies", () => {
    const logs = (lines: number, total: number, byClass: Record<string, number>) => ({
      summary: { lines, errors: 0, byClass, peers: [], dropped: 0 },
      examples: [],
      total,
    });
    assert.deepEqual(scaledCounts(logs(10, 40, { timeout: 5 })), { timeout: 20 });
    const ev = evidenceFrom(
      "api",
      logs(10, 10, { error: 1 }),
      logs(10, 40, { timeout: 5 }),
      { from: 0, to: 60_000 },
      { from: 60_000, to: 80_000 },
      60_000,
    )!;
    assert.deepEqual(ev.errors, [{ class: "timeout", count: 20 }]);
    assert.match(ev.signals[0]!.text, /classified 10 of 40 lines/);
    // The same rate as in the baseline is not a deviation.
    assert.equal(
      evidenceFrom(
        "api",
        logs(60, 60, { error: 60 }),
        logs(20, 20, { error: 20 }),
        { from: 0, to: 60_000 },
        { from: 60_000, to: 80_000 },
        60_000,
      ),
      undefined,
    );
  });
});

describe("faultline's own metrics and annotation tags", () => {
  const step = (outcome?: FaultStep["outcome"]): StepContext => ({
    index: 0,
    planned: {} as StepContext["planned"],
    step: {
      faultId: "f1",
      kind: "kill",
      target: "api",
      containerId: "c",
      options: {},
      description: "",
      requestedAt: "",
      durationMs: 1,
      errors: [],
      ...(outcome ? { outcome } : {}),
    },
  });

  test("faults active goes up on injection and down at the step's end", async () => {
    const m = new FaultlineMetrics();
    m.onRunStart();
    m.onInjected(step());
    assert.match((await m.text()).body, /faultline_faults_active\{kind="kill",target="api"\} 1/);
    m.onStepEnd(step({ status: "reverted" }));
    const text = (await m.text()).body;
    assert.match(text, /faultline_faults_active\{kind="kill",target="api"\} 0/);
    assert.match(text, /faultline_faults_injected_total\{kind="kill",target="api"\} 1/);
    assert.match(text, /faultline_faults_ended_total\{kind="kill",target="api",outcome="reverted"\} 1/);
    m.onRunEnd({ runId: "r", startedAt: "", status: "completed", dryRun: false, steps: [] });
    assert.match((await m.text()).body, /faultline_runs_ended_total\{status="completed"\} 1/);
  });

  test("annotation tags", () => {
    assert.deepEqual(annotationTags({ kind: "latency", target: "db" }, "run-1"), [
      "faultline",
      "latency",
      "db",
      "run-1",
    ]);
  });

  test("the dashboard is valid JSON, uses the provisioned data sources and faultline's metric names", () => {
    const dash = JSON.parse(readFileSync("grafana/dashboards/faultline.json", "utf8")) as {
      uid: string;
      panels: { datasource: { uid: string }; targets: { expr?: string }[] }[];
      annotations: { list: { target?: { tags?: string[] } }[] };
    };
    const provisioned = readFileSync("grafana/provisioning/datasources/faultline.yml", "utf8");
    for (const p of dash.panels)
      assert.ok(provisioned.includes(`uid: ${p.datasource.uid}`), p.datasource.uid);
    const exprs = dash.panels.flatMap((p) => p.targets.map((t) => t.expr ?? "")).join("\n");
    assert.ok(exprs.includes(METRIC_NAMES.faultsActive) && exprs.includes(METRIC_NAMES.faultsInjected));
    assert.ok(dash.annotations.list.some((a) => a.target?.tags?.includes("faultline")));
  });
});

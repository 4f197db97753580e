import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { describe, test } from "node:test";
import { InvalidInputError } from "../../src/errors.js";
import { compileExperiment } from "../../src/experiments/compile.js";
import { experimentJsonSchema } from "../../src/experiments/document.js";
import { documentToYaml, planToDocument } from "../../src/experiments/from-plan.js";
import { parseExperiment } from "../../src/experiments/load.js";
import { experimentVerdict } from "../../src/experiments/verdict.js";
import type { RunAnalysis, StepAnalysis } from "../../src/analysis/types.js";
import type { DependencyGraph } from "../../src/graph/types.js";
import type { RunRecord } from "../../src/run/record.js";
import { container } from "../support/containers.js";

const svc = (service: string, labels: Record<string, string> = {}) =>
  container(`shop-${service}-1`, {
    labels: { "com.docker.compose.service": service, ...labels },
    compose: { project: "shop", service },
  });
const containers = [svc("web", { tier: "front" }), svc("db"), svc("cache"), svc("worker")];
const graph: DependencyGraph = {
  nodes: [
    {
      id: "web",
      kind: "http",
      confidence: 1,
      ports: [{ port: 8080, protocol: "tcp", service: "http", source: "listen" }],
      endpoints: [],
    },
    { id: "db", kind: "postgresql", confidence: 1, ports: [], endpoints: [] },
    { id: "cache", kind: "redis", confidence: 1, ports: [], endpoints: [] },
    { id: "worker", kind: "worker", confidence: 1, ports: [], endpoints: [] },
  ],
  edges: [
    { from: "web", to: "db", confidence: 0.9, evidence: [] },
    { from: "web", to: "cache", confidence: 0.9, evidence: [] },
    { from: "worker", to: "db", confidence: 0.9, evidence: [] },
  ],
  order: ["db", "cache", "web", "worker"],
};

const head = "title: t\nscope:\n  project: shop\n";
const load = (body: string) => parseExperiment(head + body, "x.yaml");
const compile = (body: string, extra: Partial<Parameters<typeof compileExperiment>[0]> = {}) =>
  compileExperiment({ ...load(body), containers, graph, selfContainerId: undefined, ...extra });
const failsAt = (fn: () => unknown, message: RegExp) =>
  assert.throws(fn, (e: unknown) => e instanceof InvalidInputError && message.test(e.message));

describe("experiment documents: reading", () => {
  const bad: [string, string, RegExp][] = [
    [
      "an unknown top-level key",
      "colour: red\nmethod:\n  - wait: 1s\n",
      /^x\.yaml:4:1: colour: unknown key "colour"$/,
    ],
    [
      "an unknown key in a step",
      "method:\n  - wait: 1s\n    extra: 2\n",
      /^x\.yaml:6:5: method\[0\]\.extra: unknown key "extra"$/,
    ],
    [
      "a missing target",
      "method:\n  - fault: { kind: pause, duration: 5s }\n",
      /^x\.yaml:5:\d+: method\[0\]\.fault\.target: missing/,
    ],
    [
      "a bad percentage",
      "method:\n  - fault:\n      target: web\n      kind: http\n      options: { status: 503, percent: 150 }\n      duration: 5s\n",
      /^x\.yaml:8:31: method\[0\]\.fault\.options\.percent: .*<=100/,
    ],
    [
      "an invalid path glob",
      "method:\n  - fault: { target: web, kind: http, duration: 5s, options: { delay: 1s, path: '/a]' } }\n",
      /^x\.yaml:5:\d+: method\[0\]\.fault\.options\.path: path "\/a\]" is not a valid glob/,
    ],
    [
      "a duration that is not one",
      "method:\n  - wait: soon\n",
      /^x\.yaml:5:\d+: method\[0\]\.wait: .*not a duration/,
    ],
    [
      "a threshold that does not parse",
      "steadyState:\n  thresholds: [fast]\nmethod:\n  - wait: 1s\n",
      /^x\.yaml:5:\d+: steadyState\.thresholds\[0\]: /,
    ],
    [
      "an unknown kind",
      "method:\n  - fault: { target: web, kind: melt, duration: 5s }\n",
      /method\[0\]\.fault\.kind: /,
    ],
    [
      "after outside a scenario",
      "method:\n  - fault: { target: web, kind: pause, duration: 5s, after: 1s }\n",
      /method\[0\]\.fault\.after: "after" places a fault inside a scenario/,
    ],
    ["a YAML syntax error", "method: [\n", /^x\.yaml:\d+:\d+: not valid YAML or JSON/],
  ];
  for (const [name, body, message] of bad)
    test(`refuses ${name}, in one line`, () => failsAt(() => load(body), message));

  test("refuses a document without a scope: an experiment never runs on every container", () =>
    failsAt(
      () => parseExperiment("title: t\nmethod:\n  - wait: 1s\n", "x.yaml"),
      /^x\.yaml:1:1: scope: missing/,
    ));

  test("JSON reads as well as YAML, with positions", () => {
    const json = JSON.stringify(
      { title: "t", scope: { project: "shop" }, method: [{ wait: "1s", x: 1 }] },
      null,
      2,
    );
    failsAt(() => parseExperiment(json, "x.json"), /^x\.json:\d+:\d+: method\[0\]\.x: unknown key "x"$/);
  });

  test("the published JSON Schema is the schema's (run `npm run schema` after changing it)", async () => {
    const published = JSON.parse(
      await readFile(new URL("../../docs/experiment.schema.json", import.meta.url), "utf8"),
    );
    assert.deepEqual(published, JSON.parse(JSON.stringify(experimentJsonSchema())));
  });
});

describe("experiment documents: on the stack", () => {
  test("targets by name, label, discovered kind and most depended-on; planner defaults applied", () => {
    const c = compile(`targets:
  front: { label: tier=front }
  store: { kind: redis }
  hub: { mostDependedOn: true }
method:
  - fault: { target: front, kind: http, options: { status: 503 }, duration: 5s }
  - fault: { target: store, kind: pause, duration: 5s }
  - fault: { target: hub, kind: latency, options: { latency: 100ms }, duration: 5s }
  - fault: { target: worker, kind: pause, duration: 5s }
`);
    assert.deepEqual(
      c.steps.map((s) => [s.service, s.kind]),
      [
        ["web", "http"],
        ["cache", "pause"],
        ["db", "latency"],
        ["worker", "pause"],
      ],
    );
    assert.deepEqual(c.steps[0]!.options.port, [8080], "the port discovery saw answering HTTP");
    assert.equal(c.steps[2]!.options.direction, "in", "a server feels latency on what reaches it");
    assert.deepEqual(c.steps[2]!.blastRadius.sort(), ["web", "worker"]);
  });

  test("scenarios start together; waits and probes go before what follows them", () => {
    const c = compile(`steadyState: { baseline: 2s }
rollback: { recovery: 3s }
method:
  - probe: { target: web, path: /health }
  - wait: 4s
  - scenario:
      title: both
      faults:
        - { target: db, kind: pause, duration: 5s }
        - { target: cache, kind: pause, duration: 5s, after: 2s }
  - wait: 1s
  - probe: { target: web, expect: [200, 204] }
`);
    assert.deepEqual(
      c.steps.map((s) => [
        s.service,
        s.scenario?.id,
        s.scenario?.offsetMs,
        s.waitBeforeMs,
        s.probesBefore?.length,
      ]),
      [
        ["db", "scenario-3", 0, 4000, 1],
        ["cache", "scenario-3", 2000, undefined, undefined],
      ],
    );
    assert.equal(c.steps[0]!.probesBefore![0]!.description, "GET web:8080/health");
    assert.equal(c.finalWaitMs, 1000);
    assert.equal(c.finalProbes[0]!.description, "GET web:8080/ expecting 200 or 204");
    // wait 4 + (baseline 2 + scenario 7 + recovery 3) + trailing wait 1.
    assert.equal(c.estimatedMs, 17_000);
  });

  test("what the stack refuses is one line naming where", () => {
    failsAt(
      () => compile("method:\n  - fault: { target: nope, kind: pause, duration: 5s }\n"),
      /^x\.yaml:5:\d+: method\[0\]\.fault\.target: no service "nope" in scope/,
    );
    failsAt(
      () => compile("method:\n  - fault: { target: { kind: kafka }, kind: pause, duration: 5s }\n"),
      /discovery found no service of kind "kafka"/,
    );
    failsAt(
      () =>
        compile(
          "safety: { maxBlastRadius: 1 }\nmethod:\n  - fault: { target: db, kind: pause, duration: 5s }\n",
        ),
      /method\[0\]\.fault\.target: db's blast radius is 2 .* above safety\.maxBlastRadius 1/,
    );
    failsAt(
      () =>
        compile(
          "safety: { maxDuration: 10s }\nmethod:\n  - fault: { target: db, kind: pause, duration: 5s }\n",
        ),
      /safety\.maxDuration: the experiment would take about 25s/,
    );
    failsAt(
      () =>
        compile(
          "steadyState: { thresholds: ['ghost:error_rate<1'] }\nmethod:\n  - wait: 1s\n  - fault: { target: db, kind: pause, duration: 1s }\n",
        ),
      /steadyState\.thresholds\[0\]: threshold ghost:error_rate<1 names "ghost", not in scope/,
    );
    const excluded = containers.map((c) =>
      c.compose?.service === "db" ? { ...c, labels: { ...c.labels, "faultline.exclude": "true" } } : c,
    );
    failsAt(
      () =>
        compile("method:\n  - fault: { target: db, kind: pause, duration: 5s }\n", { containers: excluded }),
      /db may not be targeted: it is labelled faultline\.exclude=true/,
    );
  });

  test("plan --save writes a document that reads back to the same plan", () => {
    const c = compile(
      "method:\n  - fault: { target: db, kind: pause, duration: 5s }\n  - fault: { target: cache, kind: loss, options: { percent: 10 }, duration: 5s }\n",
    );
    const document = planToDocument({
      plan: {
        steps: c.steps,
        excluded: [],
        order: ["db", "cache"],
        durationMs: 5000,
        recoveryWaitMs: 3000,
        estimatedMs: 0,
      },
      scope: { project: "shop" },
      baselineMs: 2000,
      thresholds: ["error_rate<1/s"],
    });
    const again = compileExperiment({
      ...parseExperiment(documentToYaml(document), "plan.yaml"),
      containers,
      graph,
    });
    assert.deepEqual(
      again.steps.map((s) => [s.service, s.kind, s.options, s.durationMs]),
      c.steps.map((s) => [s.service, s.kind, s.options, s.durationMs]),
    );
    assert.equal(again.recoveryMs, 3000);
  });
});

describe("experiment verdicts", () => {
  const record = (extra: Partial<RunRecord> = {}): RunRecord => ({
    runId: "r",
    startedAt: "",
    status: "completed",
    dryRun: false,
    steps: [],
    graphBefore: graph,
    ...extra,
  });
  const step = (impact: Partial<StepAnalysis>): StepAnalysis =>
    ({
      faultId: "f",
      target: "db",
      kind: "pause",
      description: "pause db",
      impacted: [],
      ...impact,
    }) as StepAnalysis;
  const analysis = (steps: StepAnalysis[]) => ({ steps }) as RunAnalysis;
  const signal = (metric: string, category: "latency" | "resource") => ({
    metric,
    category,
    baseline: 1,
    observed: 9,
    firstAtMs: 2000,
    text: `${metric} 1 -> 9`,
  });
  const web = (signals: ReturnType<typeof signal>[]) => ({
    service: "web",
    signals,
    errors: [],
    firstDeviationMs: 0,
    recoveredAfterMs: 0,
    down: false,
    unhealthy: false,
    restarted: false,
    summary: [],
    via: "direct" as const,
  });

  test("held when nothing the hypothesis names deviated", () => {
    const v = experimentVerdict({
      title: "t",
      record: record(),
      analysis: analysis([step({ impacted: [web([signal("cpuPercent", "resource")])] })]),
      learned: "entry-points",
    });
    assert.equal(v.held, true);
    assert.match(v.summary, /^hypothesis held/);
  });

  test("a breached threshold, a learned deviation of an entry point, a failed probe and an abort each say where", () => {
    const v = experimentVerdict({
      title: "t",
      record: record({
        status: "aborted",
        abortReason: "the hypothesis deviated",
        probes: [
          {
            where: "method[2]",
            description: "GET web:8080/",
            url: "u",
            at: "",
            ok: false,
            status: 503,
            latencyMs: 1,
          },
        ],
      }),
      analysis: analysis([
        step({
          impacted: [
            web([signal("threshold:web:latency_p95_ms<500", "latency"), signal("probe.p95Ms", "latency")]),
          ],
        }),
      ]),
      learned: "entry-points",
    });
    assert.equal(v.held, false);
    assert.deepEqual(
      v.findings.map((f) => [f.where, f.text.replace(/,.*$/, "")]),
      [
        ["pause db", "web threshold:web:latency_p95_ms<500 1 -> 9"],
        ["pause db", "web probe.p95Ms 1 -> 9 (learned steady state)"],
        ["method[2]", "probe GET web:8080/ failed: status 503"],
        ["the run", "stopped early: the hypothesis deviated"],
      ],
    );
    assert.match(v.summary, /^hypothesis did not hold: pause db: web threshold:.* \(and 3 more\)$/);
    const notLearned = experimentVerdict({
      title: "t",
      record: record(),
      analysis: analysis([step({ impacted: [web([signal("probe.p95Ms", "latency")])] })]),
      learned: "none",
    });
    assert.equal(notLearned.held, true, "a learned deviation counts only where the document says so");
  });
});

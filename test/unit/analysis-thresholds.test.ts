/** Explicit steady-state thresholds: the grammar, its errors, and breaches counted as deviations. */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { analyzeRun } from "../../src/analysis/impact.js";
import { checkThresholdServices, parseThreshold, parseThresholds } from "../../src/analysis/thresholds.js";
import { experimentBody, parseBody } from "../../src/api/schemas.js";
import { monitoringOptions } from "../../src/cli/commands/run.js";
import { InvalidInputError } from "../../src/errors.js";
import { renderHtml } from "../../src/report/html.js";
import { renderMarkdown } from "../../src/report/markdown.js";
import { effects, recordRun } from "../fixtures/monitor/series.js";

describe("threshold grammar", () => {
  test("metric<value with units, optional service, <= inclusive", () => {
    assert.deepEqual(parseThreshold("latency_p95_ms<500"), {
      text: "latency_p95_ms<500",
      metric: "latency_p95_ms",
      limit: 500,
      inclusive: false,
    });
    assert.equal(parseThreshold("latency_p95_ms < 0.5s").limit, 500);
    assert.equal(parseThreshold("latency_p50_ms<250ms").limit, 250);
    assert.equal(parseThreshold("error_rate<0.5/s").limit, 0.5);
    assert.equal(parseThreshold("error_rate<30/m").limit, 0.5);
    assert.equal(parseThreshold("http_status_5xx_ratio<0.05").limit, 0.05);
    assert.equal(parseThreshold("http_status_5xx_ratio<5%").limit, 0.05);
    assert.equal(parseThreshold("cpu_percent<=80%").inclusive, true);
    assert.deepEqual(parseThreshold("my-web.1:probe_failure_ratio<0.2"), {
      text: "my-web.1:probe_failure_ratio<0.2",
      service: "my-web.1",
      metric: "probe_failure_ratio",
      limit: 0.2,
      inclusive: false,
    });
    assert.equal(parseThresholds(["error_rate<1", "error_rate < 1"]).length, 1, "duplicates folded");
  });

  test("bad thresholds are refused with the grammar in the hint", () => {
    const bad = [
      "latency<500",
      "latency_p95_ms>500",
      "latency_p95_ms=500",
      "latency_p95_ms<fast",
      "latency_p95_ms<500/s",
      "http_status_5xx_ratio<1.5",
      "error_rate<-1",
      "error_rate",
      ":error_rate<1",
      "",
    ];
    for (const text of bad)
      assert.throws(
        () => parseThreshold(text),
        (e: unknown) =>
          e instanceof InvalidInputError &&
          e.message.startsWith(`bad threshold "${text}"`) &&
          /\[service:\]metric<value/.test(e.hint ?? ""),
        text,
      );
    assert.throws(() => parseThreshold("latency_p95_ms>500"), /upper limit/);
    assert.throws(() => parseThreshold("p99<5"), /unknown metric "p99"/);
  });

  test("a threshold naming a service not in scope is refused", () => {
    const ts = parseThresholds(["web:error_rate<1", "latency_p95_ms<500"]);
    assert.doesNotThrow(() => checkThresholdServices(ts, ["web", "db"]));
    assert.throws(() => checkThresholdServices(ts, ["api", "db"]), /"web:error_rate<1" names no service/);
  });

  test("run --threshold: parsed with the monitoring options, refused without --out or when malformed", () => {
    const base = { baseline: "8s", interval: "1s", abortWhenDown: "15s", envelopeFor: "10s" };
    const m = monitoringOptions({
      ...base,
      out: "r",
      threshold: ["latency_p95_ms<500", "db:error_rate<1/s"],
    });
    assert.deepEqual(
      m?.thresholds?.map((t) => t.text),
      ["latency_p95_ms<500", "db:error_rate<1/s"],
    );
    assert.equal(monitoringOptions({ ...base, out: "r" })?.thresholds, undefined);
    assert.throws(
      () => monitoringOptions({ ...base, threshold: ["error_rate<1"] }),
      /--threshold needs --out/,
    );
    assert.throws(
      () => monitoringOptions({ ...base, out: "r", threshold: ["error_rate>1"] }),
      InvalidInputError,
    );
  });

  test("the API's experiment body takes thresholds and refuses bad ones with a 400", () => {
    const body = parseBody(experimentBody, { thresholds: ["latency_p95_ms<500"] }, "experiment request");
    assert.deepEqual(
      body.thresholds?.map((t) => t.text),
      ["latency_p95_ms<500"],
    );
    assert.throws(
      () => parseBody(experimentBody, { thresholds: ["latency_p95_ms>500"] }, "experiment request"),
      (e: unknown) => e instanceof InvalidInputError && /bad threshold/.test(e.message),
    );
    assert.throws(
      () => parseBody(experimentBody, { thresholds: "x<1" }, "experiment request"),
      InvalidInputError,
    );
  });
});

describe("thresholds in the analysis", () => {
  // storefront's probes slow down to 300 ms: within the learned noise floor? No, but a 1 s limit is
  // not breached, a 200 ms one is.
  const run = () =>
    recordRun([
      {
        id: "f1",
        target: "db",
        kind: "pause",
        effects: { db: effects.paused(), storefront: effects.slowProbes(300, 4) },
      },
    ]);

  test("a breach counts as a deviation with a signal naming the threshold", () => {
    const { record, data } = run();
    const thresholds = parseThresholds(["storefront:latency_p95_ms<200"]);
    const a = analyzeRun(record, data, { thresholds });
    assert.deepEqual(a.thresholds, ["storefront:latency_p95_ms<200"]);
    const storefront = a.steps[0]!.impacted.find((i) => i.service === "storefront");
    assert.ok(storefront, JSON.stringify(a.steps[0]!.impacted));
    const signal = storefront.signals.find((g) => g.metric === "threshold:storefront:latency_p95_ms<200");
    assert.ok(signal, JSON.stringify(storefront.signals));
    assert.equal(signal.category, "latency");
    assert.equal(signal.observed, 300);
    assert.equal(signal.firstAtMs, 0);
    assert.match(signal.text, /breached threshold storefront:latency_p95_ms<200: 300 ms on 4 of 20 ticks/);
    assert.equal(storefront.recoveredAfterMs, 0);
    // Every report names the thresholds the run was judged by.
    assert.match(
      renderHtml({ record, analysis: a }, ""),
      /learned from the baseline; explicit thresholds: storefront:latency_p95_ms&lt;200/,
    );
    assert.match(
      renderMarkdown({ record, analysis: a }),
      /steady state: learned from the baseline; explicit thresholds: storefront:latency\\_p95\\_ms<200/,
    );
  });

  test("a limit that holds adds nothing; a threshold for another service does not apply", () => {
    const { record, data } = run();
    const lenient = analyzeRun(record, data, { thresholds: parseThresholds(["latency_p95_ms<1000"]) });
    const baselineOnly = analyzeRun(record, data);
    const metrics = (a: typeof lenient) =>
      a.steps[0]!.impacted.flatMap((i) => i.signals.map((g) => `${i.service}:${g.metric}`));
    assert.deepEqual(metrics(lenient), metrics(baselineOnly));
    const other = analyzeRun(record, data, { thresholds: parseThresholds(["sessions:latency_p95_ms<200"]) });
    assert.deepEqual(metrics(other), metrics(baselineOnly));
  });

  test("an error-rate threshold turns a quiet error trickle into a major finding", () => {
    // Two error lines a tick for three ticks: below the learned "3× the baseline" rule? No — but a
    // service whose contract is "no errors" should say so: error_rate<1/s catches it.
    const { record, data } = recordRun([
      {
        id: "f1",
        target: "db",
        kind: "pause",
        effects: { db: effects.paused(), batch: effects.refusedTo("db", 1, 2) },
      },
    ]);
    const without = analyzeRun(record, data).steps[0]!;
    assert.equal(
      without.impacted.some((i) => i.service === "batch"),
      false,
      "two lines are below the learned minimum",
    );
    const step = analyzeRun(record, data, { thresholds: parseThresholds(["batch:error_rate<=0.5/s"]) })
      .steps[0]!;
    const batch = step.impacted.find((i) => i.service === "batch");
    assert.ok(batch, JSON.stringify(step.impacted));
    assert.equal(batch.via, "direct");
    assert.ok(
      batch.signals.some((g) => g.metric === "threshold:batch:error_rate<=0.5/s" && g.category === "error"),
    );
    assert.equal(step.severity, "major");
  });

  test("a threshold the steady state already breached is reported, not blamed on the fault", () => {
    const { record, data } = run();
    // Every service idles at 3-5 % CPU: cpu_percent<1 is outside the steady state before any fault.
    const step = analyzeRun(record, data, { thresholds: parseThresholds(["cpu_percent<1"]) }).steps[0]!;
    const baselineOnly = analyzeRun(record, data).steps[0]!;
    assert.deepEqual(
      step.impacted.map((i) => i.service),
      baselineOnly.impacted.map((i) => i.service),
    );
    assert.equal(step.severity, baselineOnly.severity);
    assert.ok(
      step.summary.some((l) =>
        /^batch: threshold cpu_percent<1 was already breached before the fault \(median \d(\.\d+)?%\); not counted as impact$/.test(
          l,
        ),
      ),
      step.summary.join("\n"),
    );
  });
});

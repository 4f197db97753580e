/**
 * What the monitor could not keep must not read as "no impact": faults whose window lost samples to
 * the memory bound are not analysed (and say why), and error counts of a log flood are lower bounds.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { analyzeRun } from "../../src/analysis/impact.js";
import { evictOldest } from "../../src/monitor/monitor.js";
import { renderHtml } from "../../src/report/html.js";
import { renderMarkdown } from "../../src/report/markdown.js";
import { faultReports } from "../../src/report/faults.js";
import { effects, recordRun, SERVICES } from "../fixtures/monitor/series.js";

const twoFaults = () =>
  recordRun([
    {
      id: "f1",
      target: "cache",
      kind: "pause",
      effects: { cache: effects.paused(), sessions: effects.timeoutsTo("cache") },
    },
    {
      id: "f2",
      target: "cache",
      kind: "stop",
      effects: { cache: effects.stopped(), sessions: effects.timeoutsTo("cache") },
    },
  ]);

describe("the sample memory bound", () => {
  test("evictOldest drops the oldest samples and says through which t", () => {
    const samples = [0, 0, 1000, 1000, 2000].map((t, i) => ({
      service: `s${i}`,
      phase: "baseline" as const,
      at: t,
      t,
    }));
    assert.deepEqual(evictOldest(samples, 10), { dropped: 0, throughT: -Infinity });
    assert.deepEqual(evictOldest(samples, 2), { dropped: 3, throughT: 1000 });
    assert.deepEqual(
      samples.map((s) => s.t),
      [1000, 2000],
    );
  });

  test("a fault whose window lost samples is not analysed, with the reason in every report", () => {
    const { record, data } = twoFaults();
    const intact = analyzeRun(record, data);
    assert.equal(intact.steps[0]!.severity, "major", "the first fault hurt sessions");

    // Keep a little less than the second fault's 30 ticks: the first is gone entirely, the second
    // lost its first baseline tick.
    const bounded = { ...data, samples: [...data.samples] };
    const evicted = evictOldest(bounded.samples, 29 * SERVICES.length);
    const lost = analyzeRun(record, { ...bounded, droppedThroughT: evicted.throughT });
    for (const step of lost.steps) {
      assert.equal(step.analyzed, false, step.faultId);
      assert.equal(step.severity, "none");
      assert.match(step.note ?? "", /memory bound \(maxSamples\) dropped samples of this fault's window/);
      assert.equal(step.recoveredAfterMs, null);
    }

    // Enough room for the whole second fault: only the first is lost.
    const roomy = { ...data, samples: [...data.samples] };
    const partly = evictOldest(roomy.samples, 30 * SERVICES.length);
    const half = analyzeRun(record, { ...roomy, droppedThroughT: partly.throughT });
    assert.deepEqual(
      half.steps.map((s) => s.analyzed),
      [false, true],
    );
    assert.equal(half.steps[1]!.severity, intact.steps[1]!.severity);

    const source = { record, analysis: half };
    const html = renderHtml(source, "");
    assert.match(html, /<p class="warn not-analysed">not analysed: the monitor&#39;s memory bound/);
    assert.match(html, /<span class="sev" style="background:#e2e8f0">not analysed<\/span>/);
    assert.match(
      renderMarkdown(source),
      /\*\*not analysed\*\* — not analysed: the monitor.{1,6}s memory bound.*\| — \|$/m,
    );
    const [first] = faultReports(half.steps);
    assert.equal(first!.analyzed, false);
    assert.equal(first!.recoveredAfterMs, null);
    assert.match(first!.note ?? "", /memory bound/);
  });
});

describe("log floods beyond the classification budget", () => {
  // sessions logs 2 000 lines a tick during the fault; 200 are classified, 40 of them timeouts.
  const flood = () =>
    recordRun([
      {
        id: "f1",
        target: "cache",
        kind: "pause",
        effects: {
          cache: effects.paused(),
          sessions: (i) =>
            i < 10
              ? {
                  logs: {
                    lines: 2000,
                    errors: 40,
                    byClass: { timeout: 40 },
                    peers: [{ class: "timeout", peer: "cache", count: 40 }],
                    dropped: 1800,
                  },
                }
              : undefined,
        },
      },
    ]);

  test("error counts are flagged as lower bounds, the rate is estimated, every report says so", () => {
    const { record, data } = flood();
    const step = analyzeRun(record, data).steps[0]!;
    assert.deepEqual(step.unclassifiedLines, [{ service: "sessions", lines: 18_000 }]);
    const sessions = step.impacted.find((i) => i.service === "sessions")!;
    assert.equal(sessions.unclassifiedLines, 18_000);
    assert.deepEqual(sessions.errors, [{ class: "timeout", peer: "cache", count: 400, lowerBound: true }]);
    const signal = sessions.signals.find((g) => g.metric === "logs.timeout")!;
    // 400 classified in 20 s, extrapolated ×10: 200/s.
    assert.equal(signal.observed, 200);
    assert.match(signal.text, /estimated: 18000 lines not classified/);
    assert.ok(
      step.summary.some((l) =>
        l.startsWith("sessions: error counts are lower bounds: 18000 lines not classified"),
      ),
      step.summary.join("\n"),
    );
    const analysis = analyzeRun(record, data);
    const html = renderHtml({ record, analysis }, "");
    assert.match(html, /sessions: error counts are lower bounds: 18000 lines not classified/);
    assert.match(html, /timeout → cache: ≥ 400/);
    assert.match(
      renderMarkdown({ record, analysis }),
      /error counts are lower bounds: 18000 lines not classified/,
    );
    const [f] = faultReports(analysis.steps);
    assert.deepEqual(f!.unclassifiedLines, [{ service: "sessions", lines: 18_000 }]);
    assert.equal(f!.impacted.find((i) => i.service === "sessions")!.errors[0]!.lowerBound, true);
  });

  test("a flood with no more errors than its baseline is not a finding", () => {
    // The same flood before and during the fault: classified shares are equal, so nothing deviates.
    const { record, data } = flood();
    for (const s of data.samples)
      if (s.service === "sessions" && s.phase === "baseline")
        s.logs = {
          lines: 2000,
          errors: 40,
          byClass: { timeout: 40 },
          peers: [{ class: "timeout", peer: "cache", count: 40 }],
          dropped: 1800,
        };
    const step = analyzeRun(record, data).steps[0]!;
    assert.equal(
      step.impacted.some((i) => i.service === "sessions"),
      false,
      JSON.stringify(step.impacted),
    );
    assert.deepEqual(step.unclassifiedLines, [{ service: "sessions", lines: 18_000 }], "still flagged");
  });
});

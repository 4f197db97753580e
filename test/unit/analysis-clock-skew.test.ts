/**
 * Clock skew: wall-clock stamps (`at`) that go backwards or jump between samples must not change the
 * analysis, which measures intervals on the monitor's monotonic clock (`t`) only.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { analyzeRun } from "../../src/analysis/impact.js";
import type { MonitorData } from "../../src/monitor/types.js";
import { effects, recordRun } from "../fixtures/monitor/series.js";

const now = () => new Date("2026-01-01T12:00:00.000Z");

function run() {
  return recordRun([
    {
      id: "f1",
      target: "cache",
      kind: "pause",
      effects: { cache: effects.paused(), sessions: effects.timeoutsTo("cache") },
    },
  ]);
}

/** NTP steps the host clock back an hour mid-run, then forward a day; ticks also arrive out of wall order. */
function skew(data: MonitorData): MonitorData {
  const jump = (at: number, i: number) =>
    i % 7 === 3 ? at - 3_600_000 : i % 11 === 5 ? at + 86_400_000 : at - (i % 3) * 1500;
  return {
    ...data,
    samples: data.samples.map((s, i) => ({ ...s, at: jump(s.at, i) })),
    marks: data.marks.map((m, i) => ({ ...m, at: jump(m.at, i + 1) })),
  };
}

function numbers(value: unknown, path = "", out: [string, number][] = []): [string, number][] {
  if (typeof value === "number") out.push([path, value]);
  else if (Array.isArray(value)) value.forEach((v, i) => numbers(v, `${path}[${i}]`, out));
  else if (value && typeof value === "object")
    for (const [k, v] of Object.entries(value)) numbers(v, `${path}.${k}`, out);
  return out;
}

test("skewed wall-clock stamps leave the analysis unchanged", () => {
  const { record, data } = run();
  const straight = analyzeRun(record, data, { now });
  const skewed = analyzeRun(record, skew(data), { now });
  assert.deepEqual(skewed, straight);
  const step = skewed.steps[0]!;
  assert.equal(step.targetImpact?.down, true);
  assert.deepEqual(
    step.impacted.map((i) => `${i.service} ${i.via}`),
    ["sessions direct"],
  );
});

test("no negative durations, no NaN or Infinity anywhere in a skewed run's analysis", () => {
  const { record, data } = run();
  const analysis = analyzeRun(record, skew(data), { now });
  for (const [path, n] of numbers(analysis)) assert.ok(Number.isFinite(n), `${path} is ${n}`);
  const step = analysis.steps[0]!;
  for (const i of [step.targetImpact!, ...step.impacted]) {
    assert.ok(
      i.recoveredAfterMs === null || i.recoveredAfterMs >= 0,
      `${i.service} recovered ${i.recoveredAfterMs}`,
    );
    assert.ok(i.firstDeviationMs >= -data.intervalMs, `${i.service} first deviation ${i.firstDeviationMs}`);
  }
  assert.ok(step.recoveredAfterMs === null || step.recoveredAfterMs >= 0);
  for (const c of step.charts) {
    assert.ok(c.faultEndMs > c.faultStartMs, `${c.service} ${c.metric} window`);
    const xs = c.points.map((p) => p[0]);
    assert.deepEqual(
      xs,
      [...xs].sort((a, b) => a - b),
      `${c.service} ${c.metric} points in time order`,
    );
  }
});

test("samples delivered out of order (a slow tick finishing late) are analysed in monotonic order", () => {
  const { record, data } = run();
  const shuffled = { ...data, samples: [...data.samples].reverse() };
  const a = analyzeRun(record, data, { now });
  const b = analyzeRun(record, shuffled, { now });
  assert.deepEqual(
    b.steps.map((s) => [
      s.severity,
      s.targetImpact?.firstDeviationMs,
      s.recoveredAfterMs,
      s.impacted.map((i) => i.service),
    ]),
    a.steps.map((s) => [
      s.severity,
      s.targetImpact?.firstDeviationMs,
      s.recoveredAfterMs,
      s.impacted.map((i) => i.service),
    ]),
  );
});

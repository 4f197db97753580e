/** The safety envelope fed recorded ticks: which limits trip, when, and what they say. */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { estimatedErrorLines, SafetyEnvelope, type EnvelopeOptions } from "../../src/monitor/envelope.js";
import type { ServiceSample } from "../../src/monitor/types.js";
import { effects, recordRun, type StepScript } from "../fixtures/monitor/series.js";

/** Feeds a recorded run tick by tick; returns the monotonic t (ms after injection) and reason of the first trip. */
function firstTrip(
  script: StepScript,
  options: EnvelopeOptions,
): { afterInjectMs: number; reason: string } | undefined {
  const { data } = recordRun([script]);
  const injectT = data.marks.find((m) => m.phase === "during")!.t;
  const ticks = new Map<number, ServiceSample[]>();
  for (const s of data.samples) ticks.set(s.t, [...(ticks.get(s.t) ?? []), s]);
  const envelope = new SafetyEnvelope(options);
  for (const [t, tick] of [...ticks].sort((a, b) => a[0] - b[0])) {
    const reason = envelope.check(tick, t, data.intervalMs / 1000);
    if (reason) return { afterInjectMs: t - injectT, reason };
  }
  return undefined;
}

describe("safety envelope on recorded samples", () => {
  const probesFail = (ticks: number): StepScript => ({
    id: "f1",
    target: "db",
    kind: "pause",
    effects: {
      db: effects.paused(),
      storefront: effects.failingProbes(ticks),
      sessions: effects.failingProbes(ticks),
    },
  });

  test("the probe-failure limit trips once most probes have failed for long enough", () => {
    const trip = firstTrip(probesFail(10), { maxProbeFailureRatio: 0.5, probeFailureForMs: 3000 });
    assert.ok(trip, "tripped");
    // Violated from the first fault tick; held 3 s by the fourth.
    assert.equal(trip.afterInjectMs, 3000);
    assert.match(trip.reason, /^100% of HTTP probes failing for 3 s$/);
  });

  test("a shorter burst than the hold time, or a ratio at the limit, does not trip it", () => {
    assert.equal(firstTrip(probesFail(3), { maxProbeFailureRatio: 0.5, probeFailureForMs: 3000 }), undefined);
    const half: StepScript = {
      id: "f1",
      target: "sessions",
      kind: "pause",
      effects: { sessions: effects.failingProbes(10) },
    };
    assert.equal(firstTrip(half, { maxProbeFailureRatio: 0.5, probeFailureForMs: 1000 }), undefined);
    assert.ok(firstTrip(half, { maxProbeFailureRatio: 0.4, probeFailureForMs: 1000 }));
  });

  test("without the option the same failures never trip it", () => {
    assert.equal(firstTrip(probesFail(10), { allDownForMs: 60_000 }), undefined);
  });

  test("the error-rate limit counts a flood's unclassified lines as estimated errors", () => {
    // 1 000 lines a tick, 100 classified of which 50 errors: the classified count says 50/s, the
    // estimate 500/s.
    const flood: StepScript = {
      id: "f1",
      target: "db",
      kind: "pause",
      effects: {
        batch: () => ({
          logs: { lines: 1000, errors: 50, byClass: { error: 50 }, peers: [], dropped: 900 },
        }),
      },
    };
    const trip = firstTrip(flood, { maxErrorsPerSecond: 200, errorRateForMs: 2000 });
    assert.ok(trip, "tripped on the estimate");
    assert.match(
      trip.reason,
      /error logs above 200\/s \(now 500(\.\d)?\/s, estimated: 900 lines not classified\) for 2 s/,
    );
    assert.equal(estimatedErrorLines({ lines: 1000, errors: 50, dropped: 900 }), 500);
    assert.equal(estimatedErrorLines({ lines: 10, errors: 3, dropped: 0 }), 3);
    assert.equal(estimatedErrorLines({ lines: 10, errors: 0, dropped: 10 }), 0);
  });
});

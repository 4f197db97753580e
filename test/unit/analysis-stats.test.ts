import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { cliffMagnitude, cliffsDelta, mad, median, robustZ } from "../../src/analysis/stats.js";
import { severityOf } from "../../src/analysis/severity.js";
import type { ServiceImpact } from "../../src/analysis/types.js";

describe("robust statistics", () => {
  test("median and MAD ignore an outlier", () => {
    assert.equal(median([1, 2, 3, 4, 1000]), 3);
    assert.equal(median([1, 2, 3, 4]), 2.5);
    assert.equal(mad([1, 2, 3, 4, 1000]), 1);
  });
  test("robust z uses the floor when the baseline is flat", () => {
    assert.equal(robustZ(10, [0, 0, 0, 0], 2), 5);
    assert.ok(Math.abs(robustZ(12, [8, 10, 12, 10, 9], 0.1) - 2 / 1.4826) < 1e-9);
  });
  test("Cliff's delta", () => {
    assert.equal(cliffsDelta([1, 2, 3], [4, 5, 6]), 1);
    assert.equal(cliffsDelta([4, 5, 6], [1, 2, 3]), -1);
    assert.equal(cliffsDelta([1, 2, 3], [1, 2, 3]), 0);
    assert.equal(cliffMagnitude(0.5), "large");
    assert.equal(cliffMagnitude(0.2), "small");
  });
});

const impact = (service: string, over: Partial<ServiceImpact> = {}): ServiceImpact => ({
  service,
  signals: [],
  errors: [],
  firstDeviationMs: 0,
  recoveredAfterMs: 0,
  down: false,
  unhealthy: false,
  restarted: false,
  summary: [],
  ...over,
});

describe("severity rule", () => {
  const userFacing = new Set(["web"]);
  test("user-facing probe failures above half are critical", () => {
    const web = impact("web", {
      signals: [
        {
          metric: "probe.failureRatio",
          category: "error",
          baseline: 0,
          observed: 0.75,
          firstAtMs: 0,
          text: "",
        },
      ],
    });
    assert.equal(severityOf({ impacted: [web], userFacing }).severity, "critical");
    const api = impact("api", { signals: [{ ...web.signals[0]! }] });
    assert.equal(severityOf({ impacted: [api], userFacing }).severity, "major");
  });
  test("target alone: none, unless it never recovered", () => {
    assert.equal(
      severityOf({ targetImpact: impact("db", { down: true }), impacted: [], userFacing }).severity,
      "none",
    );
    assert.equal(
      severityOf({ targetImpact: impact("db", { recoveredAfterMs: null }), impacted: [], userFacing })
        .severity,
      "critical",
    );
  });
  test("restart and unhealthy of a dependent are critical", () => {
    assert.equal(
      severityOf({ impacted: [impact("a", { restarted: true })], userFacing }).severity,
      "critical",
    );
    assert.equal(
      severityOf({ impacted: [impact("a", { unhealthy: true })], userFacing }).severity,
      "critical",
    );
  });
});

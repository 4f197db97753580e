/**
 * Every duration and count a request can carry has an upper bound: a body, a fault's options or a plan
 * past it is a 400-class InvalidInputError naming the field and the limit, refused before anything runs.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { experimentBody, injectFaultBody, parseBody } from "../../src/api/schemas.js";
import { parseLifecycleOptions } from "../../src/faults/lifecycle-options.js";
import { parseNetworkOptions } from "../../src/faults/network/options.js";
import { parseStressOptions } from "../../src/faults/stress/options.js";
import { planExperiment } from "../../src/run/plan.js";
import { container } from "../support/containers.js";

const many = (n: number, make: (i: number) => unknown = (i) => `s${i}`) =>
  Array.from({ length: n }, (_, i) => make(i));

function refused(what: string, run: () => unknown, message: RegExp): void {
  assert.throws(run, (e: Error & { code?: string }) => {
    assert.equal(e.code, "INVALID_INPUT", `${what}: ${e.message}`);
    assert.match(e.message, message, what);
    return true;
  });
}

describe("bounded request bodies", () => {
  test("experiment durations: recoveryWait and duration have upper bounds, as numbers and as text", () => {
    const experiment = (body: unknown) => () => parseBody(experimentBody, body, "experiment request");
    refused("recoveryWait 1e15", experiment({ recoveryWait: 1e15 }), /"recoveryWait": .*at most 1h/);
    refused("recoveryWait 100000h", experiment({ recoveryWait: "100000h" }), /"recoveryWait": .*at most 1h/);
    refused("recoveryWait 2h", experiment({ recoveryWait: "2h" }), /"recoveryWait"/);
    refused("duration 1e15", experiment({ duration: 1e15 }), /"duration": .*at most 24h/);
    refused("duration 25h", experiment({ duration: "25h" }), /"duration": .*at most 24h/);
    refused("duration -1", experiment({ duration: -1 }), /"duration"/);
    refused("duration 1.5", experiment({ duration: 1.5 }), /"duration"/);
    // At the bounds: accepted.
    const ok = parseBody(experimentBody, { recoveryWait: "1h", duration: "24h" }, "experiment request");
    assert.equal(ok.recoveryWait, 3_600_000);
    assert.equal(ok.duration, 86_400_000);
  });

  test("fault durations are bounded in the body already", () => {
    const fault = (duration: unknown) => () =>
      parseBody(injectFaultBody, { target: "api", kind: "pause", duration }, "fault request");
    refused("1e15", fault(1e15), /"duration": .*at most 24h/);
    refused("999999h", fault("999999h"), /"duration": .*at most 24h/);
    refused("Number.MAX_VALUE", fault(Number.MAX_VALUE), /"duration"/);
  });

  test("lists and option maps have upper bounds", () => {
    const experiment = (body: unknown) => () => parseBody(experimentBody, body, "experiment request");
    refused("only x1000", experiment({ only: many(1000) }), /"only"/);
    refused("kinds x1000", experiment({ kinds: many(1000, () => "pause") }), /"kinds"/);
    refused(
      "options x1000 kinds",
      experiment({ options: Object.fromEntries(many(1000).map((k) => [k, {}])) }),
      /"options"/,
    );
    refused(
      "options x1000 keys",
      experiment({ options: { pause: Object.fromEntries(many(1000).map((k) => [k, 1])) } }),
      /"options.pause"/,
    );
    refused(
      "thresholds x1000",
      experiment({ thresholds: many(1000, () => "latency_p95_ms<500") }),
      /"thresholds"/,
    );
    refused(
      "fault options x1000 keys",
      () =>
        parseBody(
          injectFaultBody,
          { target: "api", kind: "pause", options: Object.fromEntries(many(1000).map((k) => [k, 1])) },
          "fault request",
        ),
      /"options"/,
    );
  });
});

describe("bounded fault options", () => {
  test("network faults: at most 64 ports, peers and DNS names", () => {
    refused(
      "1000 ports",
      () => parseNetworkOptions("latency", { latency: "10ms", port: many(1000, (i) => i + 1) }),
      /port/,
    );
    refused(
      "1000 ports as text",
      () => parseNetworkOptions("loss", { loss: 5, ports: many(1000, (i) => i + 1).join(",") }),
      /ports/,
    );
    refused("1000 peers", () => parseNetworkOptions("partition", { peer: many(1000) }), /peer/);
    refused("1000 names", () => parseNetworkOptions("dns", { names: many(1000, (i) => `n${i}`) }), /names/);
    assert.equal(
      parseNetworkOptions("latency", { latency: "10ms", port: many(64, (i) => i + 1) }).ports.length,
      64,
    );
  });

  test("memory stress: bytes at most 64g", () => {
    refused("1000000g", () => parseStressOptions("memory", { bytes: "1000000g" }, 10_000), /at most 64g/);
    refused("1e20", () => parseStressOptions("memory", { bytes: 1e20 }, 10_000), /at most 64g/);
    assert.equal(parseStressOptions("memory", { bytes: "64g" }, 10_000).bytes, 64 * 1024 ** 3);
  });

  test("lifecycle faults: the stop timeout stays bounded", () => {
    refused("timeout 1e15", () => parseLifecycleOptions("stop", { timeout: 1e15 }, 10_000), /timeout/);
  });
});

describe("bounded plans", () => {
  test("the planner refuses a recovery wait or fault duration past its bound (CLI run and serve too)", () => {
    const request = {
      containers: [container("shop-web-1", { compose: { project: "shop", service: "web" } })],
      kinds: ["pause" as const],
      durationMs: 5000,
      recoveryWaitMs: 1000,
    };
    refused(
      "recovery 1e15",
      () => planExperiment({ ...request, recoveryWaitMs: 1e15 }),
      /recovery wait .*at most 1h/,
    );
    refused(
      "recovery NaN",
      () => planExperiment({ ...request, recoveryWaitMs: Number.NaN }),
      /recovery wait/,
    );
    refused("duration 1e15", () => planExperiment({ ...request, durationMs: 1e15 }), /24h/);
    assert.equal(planExperiment({ ...request, recoveryWaitMs: 3_600_000 }).steps.length, 1);
  });
});

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { InvalidInputError } from "../../src/errors.js";
import { normalizeSignal, parseLifecycleOptions } from "../../src/faults/lifecycle-options.js";
import { describeLifecycle } from "../../src/faults/lifecycle.js";

describe("normalizeSignal", () => {
  for (const [input, expected] of [
    ["SIGKILL", "SIGKILL"],
    ["kill", "SIGKILL"],
    ["sigterm", "SIGTERM"],
    [" HUP ", "SIGHUP"],
    ["9", "SIGKILL"],
    [15, "SIGTERM"],
    ["SIGIOT", "SIGABRT"],
    ["usr1", "SIGUSR1"],
  ] as const) {
    test(`${JSON.stringify(input)} -> ${expected}`, () => assert.equal(normalizeSignal(input), expected));
  }
  for (const bad of ["SIGFOO", "", "0", "32", "64", "-9", "KILL9", "SIG"]) {
    test(`rejects ${JSON.stringify(bad)}`, () =>
      assert.throws(() => normalizeSignal(bad), InvalidInputError));
  }
});

describe("parseLifecycleOptions", () => {
  test("fills defaults", () => {
    assert.deepEqual(parseLifecycleOptions("kill", {}, 1000), { signal: "SIGKILL" });
    assert.deepEqual(parseLifecycleOptions("stop", {}, 1000), { timeout: 10 });
    assert.deepEqual(parseLifecycleOptions("pause", {}, 1000), {});
  });

  test("normalises the signal and coerces CLI strings", () => {
    assert.deepEqual(parseLifecycleOptions("kill", { signal: "term" }, 1000), { signal: "SIGTERM" });
    assert.deepEqual(parseLifecycleOptions("stop", { timeout: "3" }, 1000), { timeout: 3 });
  });

  test("refuses a bad signal with the signal named", () => {
    assert.throws(
      () => parseLifecycleOptions("kill", { signal: "SIGNOPE" }, 1000),
      (e: Error) => {
        assert.ok(e instanceof InvalidInputError);
        assert.match(e.message, /SIGNOPE/);
        return true;
      },
    );
  });

  test("refuses options of another kind by name", () => {
    assert.throws(
      () => parseLifecycleOptions("pause", { latency: "200ms" }, 1000),
      (e: Error) => {
        assert.ok(e instanceof InvalidInputError);
        assert.match(e.message, /unknown option "latency"/);
        return true;
      },
    );
    assert.throws(() => parseLifecycleOptions("stop", { signal: "KILL" }, 1000), /unknown option "signal"/);
  });

  test("refuses negative, absurd and non-finite durations", () => {
    assert.throws(() => parseLifecycleOptions("pause", {}, -1), InvalidInputError);
    assert.throws(() => parseLifecycleOptions("pause", {}, 25 * 3_600_000), /24h/);
    assert.throws(() => parseLifecycleOptions("pause", {}, Number.NaN), InvalidInputError);
    assert.doesNotThrow(() => parseLifecycleOptions("restart", {}, 0));
  });

  test("refuses a stop timeout out of range", () => {
    assert.throws(() => parseLifecycleOptions("stop", { timeout: -1 }, 1000), InvalidInputError);
    assert.throws(() => parseLifecycleOptions("stop", { timeout: "soon" }, 1000), InvalidInputError);
  });

  test("refuses an unknown kind", () => {
    assert.throws(() => parseLifecycleOptions("explode" as "stop", {}, 1000), /not a lifecycle fault/);
  });
});

test("describeLifecycle says what will happen and how it is undone", () => {
  const target = { service: "db", containerId: "c1", containerName: "shop-db-1" };
  assert.equal(
    describeLifecycle("pause", {}, target, 5000),
    "pause (freeze) db (shop-db-1) for 5s, then unpause it",
  );
  assert.match(
    describeLifecycle("kill", { signal: "SIGTERM" }, target, 2000),
    /kill db \(shop-db-1\) with SIGTERM for 2s/,
  );
});

describe("stop-class kill signals", () => {
  test("SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU (by name or number) are refused, pointing at pause", () => {
    for (const signal of ["SIGSTOP", "stop", "19", 19, "SIGTSTP", "20", "ttin", 21, "SIGTTOU", "22"]) {
      assert.throws(
        () => parseLifecycleOptions("kill", { signal }, 1000),
        (e: Error) =>
          e instanceof InvalidInputError &&
          /stops the process without the engine knowing/.test(e.message) &&
          /--kind pause/.test(e.message),
        String(signal),
      );
    }
    // Other signals, SIGCONT included, stay allowed.
    assert.deepEqual(parseLifecycleOptions("kill", { signal: "SIGCONT" }, 1000), { signal: "SIGCONT" });
    assert.deepEqual(parseLifecycleOptions("kill", { signal: 18 }, 1000), { signal: "SIGCONT" });
  });
});

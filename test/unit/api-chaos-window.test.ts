import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  assertTimeZone,
  isWindowOpen,
  localTime,
  pacingVerdict,
  parseWindow,
  windowState,
  type PacingRules,
} from "../../src/api/chaos-window.js";
import { InvalidInputError } from "../../src/errors.js";

const at = (iso: string) => new Date(iso);
const rome = parseWindow("Mon-Fri 09:00-17:00 Europe/Rome");

describe("chaos windows: days and hours in a time zone", () => {
  test("Mon-Fri 09:00-17:00 Europe/Rome opens on Rome's clock, in winter and in summer time", () => {
    assert.deepEqual([...rome.days].sort(), [1, 2, 3, 4, 5]);
    // Winter: Rome is UTC+1. Friday 2026-01-09.
    assert.equal(isWindowOpen(rome, at("2026-01-09T07:59:00Z")), false);
    assert.equal(isWindowOpen(rome, at("2026-01-09T08:00:00Z")), true);
    assert.equal(isWindowOpen(rome, at("2026-01-09T15:59:00Z")), true);
    assert.equal(isWindowOpen(rome, at("2026-01-09T16:00:00Z")), false);
    // Summer: UTC+2. Monday 2026-07-06 08:30 UTC is 10:30 in Rome; 07:30 UTC is 09:30.
    assert.equal(isWindowOpen(rome, at("2026-07-06T06:59:00Z")), false);
    assert.equal(isWindowOpen(rome, at("2026-07-06T07:30:00Z")), true);
    // Saturday noon in Rome.
    assert.equal(isWindowOpen(rome, at("2026-01-10T11:00:00Z")), false);
  });

  test("the day is the zone's: 23:30 UTC Sunday is already Monday in Tokyo", () => {
    const tokyo = parseWindow("Mon 08:00-09:00 Asia/Tokyo");
    assert.equal(localTime(at("2026-01-11T23:30:00Z"), "Asia/Tokyo").day, 1);
    assert.equal(isWindowOpen(tokyo, at("2026-01-11T23:30:00Z")), true);
    assert.equal(isWindowOpen(tokyo, at("2026-01-12T23:30:00Z")), false);
  });

  test("lists, wrapping ranges, every day, past midnight and UTC by default", () => {
    assert.deepEqual([...parseWindow("Mon,Wed,fri 10:00-11:00").days].sort(), [1, 3, 5]);
    assert.deepEqual([...parseWindow("Fri-Mon 10:00-11:00").days].sort(), [0, 1, 5, 6]);
    const night = parseWindow("* 22:00-02:00");
    assert.equal(night.timeZone, "UTC");
    assert.equal(isWindowOpen(night, at("2026-01-09T23:00:00Z")), true);
    assert.equal(isWindowOpen(night, at("2026-01-10T01:59:00Z")), true);
    assert.equal(isWindowOpen(night, at("2026-01-10T02:00:00Z")), false);
    // Friday night's window runs into Saturday morning, not Sunday's.
    const friNight = parseWindow("Fri 22:00-02:00");
    assert.equal(isWindowOpen(friNight, at("2026-01-10T01:00:00Z")), true);
    assert.equal(isWindowOpen(friNight, at("2026-01-11T01:00:00Z")), false);
    assert.equal(isWindowOpen(parseWindow("* 00:00-24:00"), at("2026-01-10T23:59:00Z")), true);
  });

  test("bad windows and unknown time zones are typed errors saying what to write", () => {
    for (const bad of [
      "weekdays",
      "Mon-Fri 9-17 Europe/Rome",
      "Mon-Fry 09:00-17:00",
      "Mon-Fri 09:00-25:00",
      "Mon-Fri 09:00-09:00",
      "Mon-Fri 09:00-17:00 Europe/Atlantis",
      "Mon-Fri 09:00-17:00 Europe/Rome extra",
    ]) {
      assert.throws(
        () => parseWindow(bad),
        (e: unknown) => e instanceof InvalidInputError && e.exitCode === 2 && e.message.includes(bad),
        bad,
      );
    }
    assert.throws(() => assertTimeZone("Mars/Olympus"), /not a known time zone/);
    assert.equal(assertTimeZone("UTC"), "UTC");
  });

  test("window state says which window is open and the local time there", () => {
    const state = windowState([rome], at("2026-01-09T08:30:00Z"));
    assert.deepEqual(state, {
      open: true,
      windows: [{ window: rome.text, open: true, localTime: "Fri 09:30 Europe/Rome" }],
    });
    assert.equal(windowState([], at("2026-01-10T08:30:00Z")).open, true);
  });
});

describe("chaos pacing: gap, concurrency, daily cap", () => {
  const noon = at("2026-01-09T11:00:00Z");
  const rules: PacingRules = { windows: [rome], minGapMs: 600_000, maxConcurrent: 2, dailyCap: 3 };

  test("inside the window with nothing in effect and nothing recent: allowed", () => {
    assert.deepEqual(pacingVerdict(rules, { now: noon, inEffect: 0, injectedAt: [] }), { allowed: true });
  });

  test("outside the window: held, naming the window", () => {
    const v = pacingVerdict(rules, { now: at("2026-01-10T11:00:00Z"), inEffect: 0, injectedAt: [] });
    assert.deepEqual(v, { allowed: false, reason: `outside the allowed window (${rome.text})` });
  });

  test("at most N at once (default 1)", () => {
    assert.match(
      (pacingVerdict(rules, { now: noon, inEffect: 2, injectedAt: [] }) as { reason: string }).reason,
      /2 fault\(s\) in effect \(at most 2 at once\)/,
    );
    assert.equal(pacingVerdict({ windows: [] }, { now: noon, inEffect: 1, injectedAt: [] }).allowed, false);
    assert.equal(pacingVerdict(rules, { now: noon, inEffect: 1, injectedAt: [] }).allowed, true);
  });

  test("the minimum gap counts from the last injection", () => {
    const recent = [at("2026-01-09T10:55:00Z")];
    const v = pacingVerdict(rules, { now: noon, inEffect: 0, injectedAt: recent });
    assert.equal(v.allowed, false);
    assert.match((v as { reason: string }).reason, /5m ago \(at least 10m between faults\)/);
    assert.equal(
      pacingVerdict(rules, { now: noon, inEffect: 0, injectedAt: [at("2026-01-09T10:50:00Z")] }).allowed,
      true,
    );
  });

  test("the daily cap counts the zone's day: yesterday evening in Rome does not count", () => {
    const today = [at("2026-01-09T08:00:00Z"), at("2026-01-09T09:00:00Z"), at("2026-01-09T10:00:00Z")];
    const v = pacingVerdict(rules, { now: noon, inEffect: 0, injectedAt: today });
    assert.deepEqual(v, { allowed: false, reason: "the daily cap is reached (3 of 3 today)" });
    // 23:30 UTC on the 8th is 00:30 on the 9th in Rome; 22:30 UTC is still the 8th.
    const edge = [at("2026-01-08T22:30:00Z"), at("2026-01-09T08:00:00Z"), at("2026-01-09T09:00:00Z")];
    assert.equal(pacingVerdict(rules, { now: noon, inEffect: 0, injectedAt: edge }).allowed, true);
    const edge2 = [at("2026-01-08T23:30:00Z"), at("2026-01-09T08:00:00Z"), at("2026-01-09T09:00:00Z")];
    assert.equal(pacingVerdict(rules, { now: noon, inEffect: 0, injectedAt: edge2 }).allowed, false);
  });
});

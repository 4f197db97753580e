import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { extractLogMentions, isBinaryLine, mentionOf } from "../../src/discovery/log-mentions.js";

const known = new Set(["ledger", "sessions"]);

describe("mentionOf", () => {
  test("URLs reduced to scheme://host:port, credentials masked", () => {
    assert.equal(mentionOf("http://api:8080/v1/items?x=1", known), "http://api:8080");
    assert.equal(mentionOf("postgres://u:pw@ledger:5432/db", known), "postgres://ledger:5432");
  });
  test("IPs, host:port of known or dotted hosts", () => {
    assert.equal(mentionOf("172.18.0.3:5432", known), "172.18.0.3:5432");
    assert.equal(mentionOf("10.1.2.3,", known), "10.1.2.3");
    assert.equal(mentionOf("ledger:5432", known), "ledger:5432");
    assert.equal(mentionOf("db.internal:3306", known), "db.internal:3306");
    assert.equal(mentionOf("sessions.", known), "sessions");
  });
  test("not file:line, times, unknown words or bind addresses", () => {
    for (const t of ["app.py:42", "12:49:17", "attempt:3", "retrying", "0.0.0.0", "Main.java:10", "v1.2.3"]) {
      assert.equal(mentionOf(t, known), undefined, t);
    }
  });
});

describe("extractLogMentions", () => {
  test("counts, orders by frequency, caps", () => {
    const lines = [
      "connecting to ledger:5432 (attempt 1)",
      "connected to ledger:5432",
      'upstream: "http://172.18.0.4:8000/api", host: "localhost:8080"',
      "\u001b[32mINFO\u001b[0m cache sessions ready",
    ];
    const r = extractLogMentions(lines, { knownHosts: known });
    assert.deepEqual(r.mentions, ["ledger:5432", "http://172.18.0.4:8000", "localhost:8080", "sessions"]);
    assert.deepEqual(extractLogMentions(lines, { knownHosts: known, maxMentions: 1 }).mentions, [
      "ledger:5432",
    ]);
  });
  test("binary junk and huge lines neither crash nor hang", () => {
    // What the engine hands over for binary output: bytes decoded as UTF-8.
    const junk = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 37) % 256)).toString("utf8");
    const huge = `${"x".repeat(1_000_000)} ledger:5432`;
    const started = Date.now();
    const r = extractLogMentions([junk, huge, "to 10.0.0.1"], { knownHosts: known });
    assert.ok(Date.now() - started < 2000);
    assert.equal(r.binaryLines, 1);
    assert.deepEqual(r.mentions, ["10.0.0.1"]);
    assert.ok(isBinaryLine("\u0000\u0001\u0002abc"));
    assert.ok(!isBinaryLine("plain text\twith tab"));
  });
});

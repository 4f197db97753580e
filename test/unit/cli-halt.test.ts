import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { formatHaltReport, haltUrl } from "../../src/cli/commands/halt.js";
import { InvalidInputError } from "../../src/errors.js";

describe("faultline halt", () => {
  test("the halt endpoint is resolved under the base URL, a path prefix kept", () => {
    assert.equal(haltUrl("http://127.0.0.1:8080").href, "http://127.0.0.1:8080/api/halt");
    assert.equal(
      haltUrl("https://chaos.example/faultline/").href,
      "https://chaos.example/faultline/api/halt",
    );
    assert.equal(haltUrl("http://h:1/faultline").href, "http://h:1/faultline/api/halt");
  });

  test("anything but an http(s) URL is bad input", () => {
    assert.throws(() => haltUrl("127.0.0.1:8080"), InvalidInputError);
    assert.throws(() => haltUrl("not a url"), InvalidInputError);
    assert.throws(() => haltUrl("file:///tmp/x"), /not http/);
  });

  test("the report says what was paused and reverted", () => {
    const report = { paused: true, reverted: [], revertedFromJournal: [], failed: [], durationMs: 12 };
    assert.equal(formatHaltReport(report), "schedule paused; no fault was in effect in 12 ms");
    assert.equal(
      formatHaltReport({
        ...report,
        paused: false,
        reverted: [{} as never, {} as never],
        revertedFromJournal: [{ faultId: "f", kind: "pause", target: "db" }],
      }),
      "no schedule running; reverted 3 fault(s) (1 from the journal) in 12 ms",
    );
  });
});

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  parseChoice,
  parseFraction,
  parseInteger,
  parseLabelSelector,
  parseProjectName,
  resolveScope,
} from "../../src/cli/options.js";
import { describeProgress } from "../../src/cli/progress.js";
import { InvalidInputError } from "../../src/errors.js";

const invalid = (fn: () => unknown, pattern: RegExp) =>
  assert.throws(
    fn,
    (e: unknown) => e instanceof InvalidInputError && e.exitCode === 2 && pattern.test(e.toUserLine()),
  );

describe("scope options", () => {
  test("label selectors: key=value and bare key pass, malformed ones fail with a hint", () => {
    assert.equal(parseLabelSelector("com.example.tier=backend"), "com.example.tier=backend");
    assert.equal(parseLabelSelector("app"), "app");
    assert.equal(parseLabelSelector("a=b=c"), "a=b=c");
    invalid(() => parseLabelSelector("=x"), /bad --label "=x".*key=value/);
    invalid(() => parseLabelSelector("bad key=1"), /bad --label/);
    invalid(() => parseLabelSelector("k="), /value is empty/);
    invalid(() => parseLabelSelector("k=a\nb"), /control characters/);
  });

  test("project names follow compose's rules", () => {
    assert.equal(parseProjectName("shop_demo-1"), "shop_demo-1");
    invalid(() => parseProjectName("Shop"), /bad --project "Shop"/);
    invalid(() => parseProjectName("a b"), /bad --project/);
  });

  test("a scope is built from project and labels; none at all warns", () => {
    assert.deepEqual(resolveScope({ project: "shop", label: ["tier=web"] }), {
      selector: { project: "shop", labels: ["tier=web"] },
    });
    assert.deepEqual(resolveScope({ label: ["x"] }).selector, { labels: ["x"] });
    const open = resolveScope({ label: [] });
    assert.deepEqual(open.selector, {});
    assert.match(open.warning!, /every running container/);
  });
});

describe("value options", () => {
  test("choices", () => {
    assert.equal(parseChoice("json", ["json", "table"] as const, "--format"), "json");
    invalid(
      () => parseChoice("yaml", ["json", "table"] as const, "--format"),
      /unknown --format "yaml" \(use one of: json, table\)/,
    );
  });

  test("fractions and integers", () => {
    assert.equal(parseFraction("0.5", "--min-confidence"), 0.5);
    assert.equal(parseFraction("1", "--min-confidence"), 1);
    for (const bad of ["", "1.5", "-0.1", "abc", "NaN"])
      invalid(() => parseFraction(bad, "--min-confidence"), /between 0 and 1/);
    assert.equal(parseInteger("42", "--seed"), 42);
    invalid(() => parseInteger("4.2", "--seed"), /whole number/);
  });
});

test("progress events of any shape become one line", () => {
  assert.equal(describeProgress("listing"), "listing");
  assert.equal(describeProgress({ message: "probing redis" }), "probing redis");
  assert.equal(describeProgress({ phase: "logs", done: 3, total: 5 }), "logs 3/5");
});

/**
 * The layers of src/ read straight down: a module imports only from its own floor or the floors below
 * (README, Layout). The experiment sequence (src/run/experiment.ts) sits above the monitor, the analysis
 * and the report it drives; the rest of src/run (record, journal, plan, runner …) sits below them, since
 * they all read the run record.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), "../../src");

/** Lowest first; a module belongs to the first floor whose prefix its path (under src/) starts with. */
const FLOORS: readonly (readonly string[])[] = [
  ["errors.ts", "util/"],
  ["docker/"],
  ["images/"],
  ["discovery/"],
  ["graph/"],
  ["faults/"],
  ["run/"],
  ["monitor/"],
  ["analysis/"],
  ["report/"],
  ["integrations/"],
  ["history/"],
  ["run/experiment.ts"],
  ["experiments/"],
  ["api/"],
  ["cli/"],
];

function floorOf(path: string): number {
  let best = -1;
  let bestLength = -1;
  FLOORS.forEach((prefixes, floor) => {
    for (const p of prefixes)
      if (path.startsWith(p) && p.length > bestLength) {
        best = floor;
        bestLength = p.length;
      }
  });
  return best;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory()
      ? sourceFiles(join(dir, e.name))
      : e.name.endsWith(".ts")
        ? [relative(SRC, join(dir, e.name))]
        : [],
  );
}

/** Relative imports of a module (static, re-exports and dynamic), as paths under src/. */
function importsOf(file: string): string[] {
  const text = readFileSync(join(SRC, file), "utf8");
  const specifiers = [...text.matchAll(/(?:from\s+|import\s*\(\s*|import\s+)["'](\.{1,2}\/[^"']+)["']/g)].map(
    (m) => m[1]!,
  );
  return specifiers.map((s) => relative(SRC, resolve(SRC, dirname(file), s)).replace(/\.js$/, ".ts"));
}

test("every module of src/ has a floor", () => {
  assert.deepEqual(
    sourceFiles(SRC).filter((f) => floorOf(f) < 0),
    [],
  );
});

test("no import reaches up a floor", () => {
  const upward: string[] = [];
  for (const file of sourceFiles(SRC)) {
    for (const target of importsOf(file)) {
      if (floorOf(target) > floorOf(file)) upward.push(`${file} -> ${target}`);
    }
  }
  assert.deepEqual(upward, []);
});

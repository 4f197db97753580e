import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { findPackageRoot } from "../../src/images/root.js";

const tree = mkdtempSync(join(tmpdir(), "faultline-root-"));
after(() => rmSync(tree, { recursive: true, force: true }));

test("finds faultline's package.json from compiled output, skipping other packages' manifests", () => {
  writeFileSync(join(tree, "package.json"), JSON.stringify({ name: "faultline" }));
  const nested = join(tree, "dist", "src", "images");
  mkdirSync(nested, { recursive: true });
  writeFileSync(join(tree, "dist", "package.json"), JSON.stringify({ name: "something-else" }));
  writeFileSync(join(tree, "dist", "src", "package.json"), "not json");
  assert.equal(findPackageRoot(nested), tree);
});

test("from the sources it finds the repository root", () => {
  assert.ok(existsSync(join(findPackageRoot(), "examples", "shop", "docker-compose.yml")));
});

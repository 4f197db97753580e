import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, test } from "node:test";
import { isFaultlineError } from "../../src/errors.js";
import {
  DEMO_COMPOSE_FILE,
  IMAGE_CATALOG,
  type ImageSpec,
  isFaultlineOwned,
  isNotableBuildLine,
  planBuilds,
  selectImages,
} from "../../src/images/catalog.js";
import { findPackageRoot } from "../../src/images/root.js";

const spec = (name: string, group: ImageSpec["group"] = "demo"): ImageSpec => ({
  name,
  tag: `test/${name}:latest`,
  contextDir: `ctx/${name}`,
  group,
  description: name,
});
const catalog = [spec("agent", "agent"), spec("db"), spec("web"), spec("client")];

describe("selectImages", () => {
  test("everything when nothing is named", () => {
    assert.deepEqual(
      selectImages(catalog).map((s) => s.name),
      ["agent", "db", "web", "client"],
    );
  });

  test("by name or group, in catalog order", () => {
    assert.deepEqual(
      selectImages(catalog, ["client", "db"]).map((s) => s.name),
      ["db", "client"],
    );
    assert.deepEqual(
      selectImages(catalog, ["demo"]).map((s) => s.name),
      ["db", "web", "client"],
    );
    assert.deepEqual(
      selectImages(catalog, ["agent", "web"]).map((s) => s.name),
      ["agent", "web"],
    );
  });

  test("unknown names are an input error that lists the known ones", () => {
    assert.throws(
      () => selectImages(catalog, ["web", "nope"]),
      (e: unknown) =>
        isFaultlineError(e) &&
        e.exitCode === 2 &&
        /"nope"/.test(e.message) &&
        /agent, db, web, client/.test(e.hint ?? ""),
    );
  });
});

describe("planBuilds", () => {
  test("builds only the missing images", () => {
    const plan = planBuilds(catalog, new Set(["test/db:latest", "test/agent:latest"]), false);
    assert.deepEqual(
      plan.build.map((s) => s.name),
      ["web", "client"],
    );
    assert.deepEqual(
      plan.present.map((s) => s.name),
      ["agent", "db"],
    );
  });

  test("force rebuilds all of them", () => {
    const plan = planBuilds(catalog, new Set(catalog.map((s) => s.tag)), true);
    assert.equal(plan.build.length, catalog.length);
    assert.equal(plan.present.length, 0);
  });
});

test("only the agent's containers count as faultline's own; the demo shop's are targets", () => {
  assert.equal(isFaultlineOwned(spec("agent", "agent")), true);
  assert.equal(isFaultlineOwned(spec("web")), false);
});

test("build output worth showing: RUN steps and failures, not apt's chatter", () => {
  assert.equal(isNotableBuildLine("Step 3/10 : RUN apt-get update"), true);
  assert.equal(isNotableBuildLine("Step 4/10 : COPY app.py /app/app.py"), false);
  assert.equal(isNotableBuildLine("E: Unable to locate package foo; error"), true);
  assert.equal(isNotableBuildLine("Get:1 http://mirror.example/debian bookworm InRelease [151 kB]"), false);
  assert.equal(isNotableBuildLine("Setting up python3 (3.11.2-1+b1) ..."), false);
});

describe("the real catalog", () => {
  const root = findPackageRoot();

  test("names and tags are unique, and every context holds a Dockerfile", () => {
    assert.equal(new Set(IMAGE_CATALOG.map((s) => s.name)).size, IMAGE_CATALOG.length);
    assert.equal(new Set(IMAGE_CATALOG.map((s) => s.tag)).size, IMAGE_CATALOG.length);
    for (const s of IMAGE_CATALOG) {
      assert.ok(
        existsSync(resolve(root, s.contextDir, "Dockerfile")),
        `${s.name}: ${s.contextDir}/Dockerfile`,
      );
    }
  });

  test("the demo compose file uses exactly the catalog's demo images, each with a build context", () => {
    const composeText = readFileSync(join(root, DEMO_COMPOSE_FILE), "utf8");
    const images = [...composeText.matchAll(/^\s+image:\s*(\S+)\s*$/gm)].map((m) => m[1]).sort();
    const demo = IMAGE_CATALOG.filter((s) => s.group === "demo");
    assert.deepEqual(images, demo.map((s) => s.tag).sort());
    for (const s of demo) {
      const dir = s.contextDir.replace(/^examples\/shop\//, "./");
      assert.match(
        composeText,
        new RegExp(`^\\s+build:\\s*${dir.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}\\s*$`, "m"),
      );
    }
  });
});

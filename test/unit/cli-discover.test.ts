import { test } from "node:test";
import assert from "node:assert/strict";
import { renderProfilesTable } from "../../src/cli/commands/discover.js";
import { maskProfile } from "../../src/discovery/mask.js";
import { makeProfile, threeTierStack, urlRef } from "../support/profile-fixtures.js";

test("maskProfile masks secret env values, URL passwords and secrets in log mentions", () => {
  const p = makeProfile("api", { project: "p", logMentions: ["postgres://app:hunter2@db:5432/x"] });
  p.env = { DB_PASSWORD: "hunter2", DATABASE_URL: "postgres://app:hunter2@db:5432/x", MODE: "prod" };
  p.envReferences = [
    { ...urlRef("DATABASE_URL", "postgres://app:pw@db:5432/x"), value: "postgres://app:hunter2@db:5432/x" },
  ];
  p.command = ["server", "--token=hunter2"];
  const masked = JSON.stringify(maskProfile(p));
  assert.ok(!masked.includes("hunter2"), masked);
  assert.equal(maskProfile(p).env.MODE, "prod");
  assert.equal(maskProfile(p).env.DATABASE_URL, "postgres://app:****@db:5432/x");
});

test("profile table has one row per service, sorted, with kind, ports and references", () => {
  const text = renderProfilesTable(threeTierStack());
  const lines = text.trim().split("\n");
  assert.match(lines[0]!, /^SERVICE\s+KIND\s+STATE\s+PORTS/);
  assert.deepEqual(
    lines.slice(1).map((l) => l.split(/\s+/)[0]),
    ["gateway", "kv", "ledger", "storefront"],
  );
  assert.match(text, /gateway\s+http \(0\.90\)\s+running\s+8000\/tcp\s+-\s+kv:6379, ledger:5432\s+3/);
});

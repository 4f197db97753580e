/**
 * Logs that would sink a naive reader: one 32 MB line, megabytes of binary garbage, a flood of lines.
 * Discovery reads each within its byte cap and time bound and says what it cut.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { promisify } from "node:util";
import { connectDocker } from "../../src/docker/engine.js";
import { discoverServices } from "../../src/discovery/discover.js";
import type { ServiceProfile } from "../../src/discovery/profile.js";

const run = promisify(execFile);
const IMAGE = "debian:bookworm-slim";
const LABEL = `faultline.test=discovery-logs-${randomBytes(4).toString("hex")}`;
const suffix = LABEL.slice(-8);

/** Each writes its logs, then "ready", then idles. */
const WRITERS: Record<string, string> = {
  longline: "head -c 33554432 /dev/zero | tr '\\0' a; echo; echo ready",
  binary: "head -c 4194304 /dev/urandom; echo; echo ready",
  flood: "yes 'GET /api/items 200 3ms peer=10.0.0.7' | head -c 16777216; echo; echo ready",
};

describe("discovery on containers with huge, binary and endless logs", { timeout: 180_000 }, () => {
  const runtime = connectDocker();
  const names = Object.keys(WRITERS).map((w) => `fl-logs-${w}-${suffix}`);
  const nameOf = (writer: string) => `fl-logs-${writer}-${suffix}`;
  let profiles: ServiceProfile[] = [];
  let elapsedMs = 0;
  let heapGrowth = 0;

  before(async () => {
    await Promise.all(
      Object.entries(WRITERS).map(([writer, script]) =>
        run("docker", [
          "run",
          "-d",
          "--name",
          nameOf(writer),
          "--label",
          LABEL,
          IMAGE,
          "sh",
          "-c",
          `${script}; exec sleep infinity`,
        ]),
      ),
    );
    const deadline = Date.now() + 60_000;
    for (const name of names) {
      for (;;) {
        const { stdout } = await run("docker", ["logs", "--tail", "1", name], {
          maxBuffer: 64 * 1024 * 1024,
        });
        if (stdout.trim() === "ready") break;
        assert.ok(Date.now() < deadline, `${name} did not finish writing its logs`);
        await new Promise((r) => setTimeout(r, 300));
      }
    }
    global.gc?.();
    const heapBefore = process.memoryUsage().heapUsed;
    const started = Date.now();
    profiles = await discoverServices(runtime, { labels: [LABEL] }, { probe: false });
    elapsedMs = Date.now() - started;
    heapGrowth = process.memoryUsage().heapUsed - heapBefore;
  });
  after(async () => {
    await run("docker", ["rm", "-f", ...names]).catch(() => undefined);
  });

  const profile = (writer: string) => {
    const p = profiles.find((x) => x.containerName === nameOf(writer));
    assert.ok(p, `no profile for ${writer}`);
    return p;
  };

  test("all three are profiled, in bounded time and memory", () => {
    assert.equal(profiles.length, 3);
    assert.ok(elapsedMs < 10_000, `discovery took ${elapsedMs} ms`);
    // The engine would send over 3 MB for the long line's last 200 chunks; the reader keeps far less.
    assert.ok(heapGrowth < 48 * 1024 * 1024, `heap grew by ${heapGrowth} bytes`);
  });

  test("the endless line: reading stops at the byte cap, and the profile says so", () => {
    const notes = profile("longline").notes;
    const cap = notes.map((n) => /^logs truncated: reading stopped after (\d+) bytes/.exec(n)).find(Boolean);
    assert.ok(cap, notes.join("; "));
    assert.ok(Number(cap[1]) <= 512 * 1024, cap[0]);
    assert.ok(
      notes.some((n) => /^logs truncated: \d+ line\(s\) longer than 2000 bytes cut$/.test(n)),
      notes.join("; "),
    );
  });

  test("binary garbage is read, counted and noted as binary", () => {
    const notes = profile("binary").notes;
    assert.ok(
      notes.some((n) => /^logs binary: \d+ line\(s\) are not text$/.test(n)),
      notes.join("; "),
    );
  });

  test("a flood of ordinary lines is just the last lines: nothing to note", () => {
    const notes = profile("flood").notes;
    assert.ok(!notes.some((n) => n.startsWith("logs ")), notes.join("; "));
  });

  test("the time bound aborts the request itself", async () => {
    const started = Date.now();
    const bounded = await discoverServices(runtime, { labels: [LABEL] }, { probe: false, logTimeoutMs: 1 });
    assert.ok(Date.now() - started < 5_000, `took ${Date.now() - started} ms`);
    assert.equal(bounded.length, 3);
    for (const p of bounded) {
      assert.ok(
        p.notes.includes("logs unreadable: not read within 1 ms"),
        `${p.containerName}: ${p.notes.join("; ")}`,
      );
    }
  });
});

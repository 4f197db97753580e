/**
 * The last-resort socket source, forced (socketSource "scan"): a TCP connect scan of one container that
 * serves memcached and Redis, with Redis's port silently dropped by iptables (a port that hangs). The scan
 * finds what accepts, skips what hangs within its bound, and the profile says where its ports came from.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { connectDocker } from "../../src/docker/engine.js";
import { discoverServices } from "../../src/discovery/discover.js";
import type { ServiceProfile } from "../../src/discovery/profile.js";
import { AGENT_IMAGE, ensureAgentImage } from "../../src/images/agent.js";

const run = promisify(execFile);
/** The image of discovery-protocols.test.ts (same tag: built once, by whichever test runs first). */
const IMAGE = "faultline-test/protocols:2";
const CONTEXT = fileURLToPath(new URL("../fixtures/protocols", import.meta.url));
const LABEL = `faultline.test=discovery-scan-${randomBytes(4).toString("hex")}`;
const NAME = `fl-scan-${LABEL.slice(-8)}`;

describe("discovery through the connect-scan fallback", { timeout: 180_000 }, () => {
  const runtime = connectDocker();
  let viaScan: ServiceProfile | undefined;
  let viaProc: ServiceProfile | undefined;
  let scanMs = 0;

  before(async () => {
    if (!(await runtime.images.exists(IMAGE))) await runtime.images.build(CONTEXT, IMAGE);
    await ensureAgentImage(runtime);
    await run("docker", [
      "run",
      "-d",
      "--name",
      NAME,
      "--label",
      LABEL,
      "--entrypoint",
      "sh",
      IMAGE,
      "-c",
      "memcached -u nobody -l 0.0.0.0 -d && exec redis-server --bind 0.0.0.0 --protected-mode no",
    ]);
    // Redis's port drops every packet: connecting to it hangs instead of being refused.
    const drop = ["-A", "INPUT", "-p", "tcp", "--dport", "6379", "-j", "DROP"];
    const inNetns = ["run", "--rm", "--network", `container:${NAME}`, "--cap-add", "NET_ADMIN"];
    await run("docker", [...inNetns, "--entrypoint", "iptables", AGENT_IMAGE, ...drop]).catch(() =>
      run("docker", [...inNetns, "--entrypoint", "iptables-legacy", AGENT_IMAGE, ...drop]),
    );
    // Wait (bounded) until both servers listen, as the socket table shows.
    const deadline = Date.now() + 30_000;
    for (;;) {
      [viaProc] = await discoverServices(runtime, { labels: [LABEL] }, { logLines: 0 });
      const listening = viaProc?.ports.filter((p) => p.source !== "declared").map((p) => p.port) ?? [];
      if ((listening.includes(6379) && listening.includes(11211)) || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 300));
    }
    const started = Date.now();
    [viaScan] = await discoverServices(runtime, { labels: [LABEL] }, { socketSource: "scan", logLines: 0 });
    scanMs = Date.now() - started;
  });
  after(async () => {
    await run("docker", ["rm", "-f", NAME]).catch(() => undefined);
  });

  test("the socket table (host /proc) sees both servers", () => {
    const listening = viaProc?.ports.filter((p) => p.source !== "declared").map((p) => p.port);
    assert.deepEqual(listening, [6379, 11211]);
  });

  test("the scan finds the port that accepts, probes it, and skips the one that hangs, in bounded time", () => {
    assert.ok(viaScan, "profiled");
    assert.deepEqual(
      viaScan.ports.map((p) => `${p.port}/${p.protocol} ${p.source} ${p.probe?.protocol ?? "-"}`),
      ["11211/tcp listening memcached"],
    );
    assert.equal(viaScan.classification.kind, "memcached");
    assert.deepEqual(viaScan.connections, [], "a scan sees no connections");
    assert.ok(scanMs < 8_000, `discovery via scan took ${scanMs} ms`);
  });

  test("the profile says its ports came from a connect scan", () => {
    assert.ok(
      viaScan?.notes.some((n) => /socket table unreadable: listening ports from a TCP connect scan/.test(n)),
      viaScan?.notes.join("; "),
    );
  });
});

/**
 * `--deep` against a real server none of faultline's probes speak: dnsmasq answering DNS over TCP on a
 * non-standard port (the client speaks first, in binary). Plain discovery leaves the port unidentified;
 * --deep runs `nmap -sV` from the agent image in the container's network namespace and records its verdict.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { discoverServices } from "../../src/discovery/discover.js";
import type { ServiceProfile } from "../../src/discovery/profile.js";
import { connectDocker } from "../../src/docker/engine.js";
import { ensureAgentImage } from "../../src/images/agent.js";

const run = promisify(execFile);
const IMAGE = "faultline-test/deep:1";
const CONTEXT = fileURLToPath(new URL("../fixtures/deep", import.meta.url));
const TAG = randomBytes(4).toString("hex");
const LABEL = `faultline.test=discovery-deep-${TAG}`;
const NAME = `fl-deep-dns-${TAG}`;
// In nmap's DNS probe port list, so `--version-light` still sends it; no faultline probe hints at it.
const PORT = 5520;

describe("discovery --deep: nmap identifies what the probes cannot", { timeout: 600_000 }, () => {
  const runtime = connectDocker();

  before(async () => {
    // The agent image is rebuilt only when images/agent changed; the fixture image is built once.
    await ensureAgentImage(runtime);
    if (!(await runtime.images.exists(IMAGE))) await runtime.images.build(CONTEXT, IMAGE);
    await run("docker", ["run", "-d", "--name", NAME, "--label", LABEL, IMAGE, `--port=${PORT}`]);
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      const [p] = await discoverServices(runtime, { labels: [LABEL] }, { probe: false, logLines: 0 });
      if (p?.ports.some((x) => x.port === PORT && x.source !== "declared")) return;
      await new Promise((r) => setTimeout(r, 500));
    }
    throw new Error(`dnsmasq in ${NAME} never listened on ${PORT}`);
  });

  after(async () => {
    await run("docker", ["rm", "-f", NAME]).catch(() => undefined);
  });

  const portOf = (profiles: ServiceProfile[]) => {
    const p = profiles.find((x) => x.containerName === NAME);
    assert.ok(p, `a profile for ${NAME}`);
    const port = p.ports.find((x) => x.port === PORT && x.protocol === "tcp");
    assert.ok(port, `tcp/${PORT} in ${JSON.stringify(p.ports)}`);
    return { profile: p, port };
  };

  test("without --deep the port is listening but unidentified", { timeout: 30_000 }, async () => {
    const { profile, port } = portOf(await discoverServices(runtime, { labels: [LABEL] }, { logLines: 0 }));
    assert.ok(!port.probe || port.probe.protocol === "unknown", JSON.stringify(port.probe));
    assert.ok(
      profile.notes.some((n) => n.startsWith(`port ${PORT}:`)),
      `a note on why: ${JSON.stringify(profile.notes)}`,
    );
  });

  test("with --deep nmap -sV names it (dnsmasq), bounded in time", { timeout: 60_000 }, async () => {
    const started = Date.now();
    const progress: string[] = [];
    const profiles = await discoverServices(
      runtime,
      { labels: [LABEL] },
      { deep: true, logLines: 0, nmapTimeoutMs: 40_000, onProgress: (m) => progress.push(m) },
    );
    const elapsed = Date.now() - started;
    const { profile, port } = portOf(profiles);
    assert.equal(
      port.probe?.via,
      "nmap",
      `${JSON.stringify(port.probe)}; notes ${JSON.stringify(profile.notes)}`,
    );
    assert.notEqual(port.probe?.protocol, "unknown");
    assert.match(port.probe?.detail ?? "", /^nmap domain dnsmasq/);
    assert.ok(
      progress.some((m) => m.includes("--deep: nmap -sV on 1 unidentified port")),
      progress.join("\n"),
    );
    assert.ok(elapsed < 45_000, `deep discovery took ${elapsed} ms`);
    const left = (await runtime.helpers.listOwned()).filter((h) =>
      h.networkMode.includes(profile.containerId),
    );
    assert.deepEqual(
      left.map((h) => h.name),
      [],
      "the nmap helper was removed",
    );
  });
});

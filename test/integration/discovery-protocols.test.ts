/**
 * Probes and classification against real servers from Debian packages (image faultline-test/protocols,
 * built once from test/fixtures/protocols): memcached, Mosquitto (MQTT), MariaDB, NATS, Exim (SMTP)
 * and a Redis on a non-standard port. MongoDB, Kafka, Elasticsearch, RabbitMQ and gRPC servers are not
 * installable here; their matchers are unit-tested on documented wire formats.
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

const run = promisify(execFile);
const IMAGE = "faultline-test/protocols:latest";
const CONTEXT = fileURLToPath(new URL("../fixtures/protocols", import.meta.url));
const LABEL = `faultline.test=discovery-${randomBytes(4).toString("hex")}`;

const SERVERS: { name: string; args: string[]; port: number; protocol: string; kind: string }[] = [
  { name: "memcached", args: ["memcached"], port: 11211, protocol: "memcached", kind: "memcached" },
  { name: "mosquitto", args: ["mosquitto"], port: 1883, protocol: "mqtt", kind: "mqtt" },
  { name: "mariadb", args: ["mariadb"], port: 3306, protocol: "mysql", kind: "mysql" },
  { name: "nats", args: ["nats"], port: 4222, protocol: "nats", kind: "nats" },
  { name: "smtp", args: ["smtp"], port: 25, protocol: "smtp", kind: "smtp" },
  { name: "kv", args: ["redis", "7777"], port: 7777, protocol: "redis", kind: "redis" },
];

describe("discovery on real protocol servers", () => {
  const runtime = connectDocker();
  let profiles: ServiceProfile[] = [];
  const names = SERVERS.map((s) => `fl-disc-${s.name}-${LABEL.slice(-8)}`);

  before(async () => {
    if (!(await runtime.images.exists(IMAGE))) await runtime.images.build(CONTEXT, IMAGE);
    await Promise.all(
      SERVERS.map((s, i) =>
        run("docker", ["run", "-d", "--name", names[i]!, "--label", LABEL, IMAGE, ...s.args]),
      ),
    );
    // Servers need a moment to listen (MariaDB the longest): poll until every expected port is open.
    const deadline = Date.now() + 60_000;
    for (;;) {
      profiles = await discoverServices(runtime, { labels: [LABEL] }, { probe: false, logLines: 0 });
      const ready = SERVERS.every((s, i) =>
        profiles
          .find((p) => p.containerName === names[i])
          ?.ports.some((p) => p.port === s.port && p.source !== "declared"),
      );
      if (ready || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 1000));
    }
    profiles = await discoverServices(runtime, { labels: [LABEL] });
  });
  after(async () => {
    await run("docker", ["rm", "-f", ...names]).catch(() => undefined);
  });

  for (const [i, s] of SERVERS.entries()) {
    test(`${s.name}: ${s.protocol} on ${s.port}, classified ${s.kind}`, () => {
      const p = profiles.find((x) => x.containerName === names[i]);
      assert.ok(p, `no profile for ${names[i]}`);
      const port = p.ports.find((x) => x.port === s.port);
      assert.equal(port?.probe?.protocol, s.protocol, JSON.stringify(p.ports));
      assert.equal(port?.source, "listening");
      assert.equal(p.classification.kind, s.kind, JSON.stringify(p.classification.signals));
      assert.ok(p.classification.confidence >= 0.8);
    });
  }

  test("the image name says nothing: the redis on 7777 is recognised by its reply", () => {
    const p = profiles.find((x) => x.containerName === names[SERVERS.findIndex((s) => s.name === "kv")]);
    assert.ok(p?.classification.signals.some((s) => s.source === "probe" && s.kind === "redis"));
    assert.ok(!p?.classification.signals.some((s) => s.source === "image"));
  });

  test("a container that stops mid-way is a note, not a crash", async () => {
    const victim = names[0]!;
    const pending = discoverServices(runtime, { labels: [LABEL] }, { probeTimeoutMs: 500 });
    await run("docker", ["kill", victim]).catch(() => undefined);
    const result = await pending;
    assert.ok(result.length >= SERVERS.length - 1);
  });
});

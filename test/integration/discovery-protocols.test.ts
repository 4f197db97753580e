/**
 * Probes and classification against real servers from Debian packages (image faultline-test/protocols,
 * built once from test/fixtures/protocols): memcached, Mosquitto (MQTT), MariaDB, NATS, Exim (SMTP),
 * RabbitMQ (AMQP), a gRPC server (python3-grpcio) and a Redis on a non-standard port. MongoDB, Kafka and
 * Elasticsearch have no Debian package; their matchers are unit-tested on documented wire formats.
 * Also: containers that stop or are removed while discovery runs are kept and marked, not dropped.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFile, execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { connectDocker } from "../../src/docker/engine.js";
import { discoverServices } from "../../src/discovery/discover.js";
import type { ServiceProfile } from "../../src/discovery/profile.js";
import { buildGraph } from "../../src/graph/build.js";
import { renderGraphTable } from "../../src/graph/render-table.js";

const run = promisify(execFile);
/** Bump with test/fixtures/protocols: the image is built only when this tag is missing. */
const IMAGE = "faultline-test/protocols:2";
const CONTEXT = fileURLToPath(new URL("../fixtures/protocols", import.meta.url));
const LABEL = `faultline.test=discovery-${randomBytes(4).toString("hex")}`;

const SERVERS: { name: string; args: string[]; port: number; protocol: string; kind: string }[] = [
  { name: "memcached", args: ["memcached"], port: 11211, protocol: "memcached", kind: "memcached" },
  { name: "mosquitto", args: ["mosquitto"], port: 1883, protocol: "mqtt", kind: "mqtt" },
  { name: "mariadb", args: ["mariadb"], port: 3306, protocol: "mysql", kind: "mysql" },
  { name: "nats", args: ["nats"], port: 4222, protocol: "nats", kind: "nats" },
  { name: "smtp", args: ["smtp"], port: 25, protocol: "smtp", kind: "smtp" },
  { name: "kv", args: ["redis", "7777"], port: 7777, protocol: "redis", kind: "redis" },
  { name: "rabbitmq", args: ["rabbitmq"], port: 5672, protocol: "amqp", kind: "rabbitmq" },
  { name: "grpc", args: ["grpc"], port: 50051, protocol: "grpc", kind: "grpc" },
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
    // Servers need a moment to listen (RabbitMQ and MariaDB the longest): poll until every port is open.
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

  test("containers that stop or are removed mid-way are kept and marked, not dropped", async () => {
    const killed = names[0]!;
    const removed = names[1]!;
    const started = Date.now();
    // Right after the listing, synchronously: nothing of the profiling has run yet, deterministically.
    const result = await discoverServices(
      runtime,
      { labels: [LABEL] },
      {
        probeTimeoutMs: 500,
        onProgress: (m) => {
          if (!/^found \d+ container/.test(m)) return;
          execFileSync("docker", ["kill", killed], { stdio: "ignore" });
          execFileSync("docker", ["rm", "-f", removed], { stdio: "ignore" });
        },
      },
    );
    assert.equal(result.length, SERVERS.length, result.map((p) => p.containerName).join(", "));
    const k = result.find((p) => p.containerName === killed);
    assert.ok(k, "the killed container is still profiled");
    assert.equal(k.state, "exited");
    assert.deepEqual(k.stateChange, { from: "running", to: "exited", exitCode: 137 });
    assert.ok(
      k.notes.some((n) => /^exited \(exit code 137\) during discovery \(was running when listed\)/.test(n)),
      k.notes.join("; "),
    );
    const r = result.find((p) => p.containerName === removed);
    assert.ok(r, "the removed container is still profiled");
    assert.equal(r.state, "gone");
    assert.deepEqual(r.stateChange, { from: "running", to: "gone" });
    assert.ok(
      r.notes.some((n) => /^removed during discovery/.test(n)),
      r.notes.join("; "),
    );
    for (const p of result.filter((x) => x !== k && x !== r)) {
      assert.equal(p.state, "running", p.containerName);
      assert.equal(p.stateChange, undefined, p.containerName);
    }
    assert.ok(Date.now() - started < 30_000, `took ${Date.now() - started} ms`);

    // The graph keeps them as nodes that say so.
    const graph = buildGraph(result);
    const node = (name: string) =>
      graph.nodes.find((n) => n.id === result.find((p) => p.containerName === name)?.id);
    assert.equal(node(killed)?.state, "exited");
    assert.equal(node(removed)?.state, "gone");
    assert.equal(node(names[2]!)?.state, undefined);
    assert.match(
      renderGraphTable(graph),
      /^NOT RUNNING: .*\(exited\).*\(gone\)|^NOT RUNNING: .*\(gone\).*\(exited\)/m,
    );
  });
});

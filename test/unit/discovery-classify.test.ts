import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  classify,
  commandKind,
  kindFromName,
  type ClassificationInput,
} from "../../src/discovery/classify.js";
import { classifyLogLines } from "../../src/discovery/log-classifier.js";
import type { PortProfile } from "../../src/discovery/profile.js";

const port = (
  p: number,
  probe?: NonNullable<PortProfile["probe"]>["protocol"],
  detail = "",
): PortProfile => ({
  port: p,
  protocol: "tcp",
  source: "listening",
  ...(probe ? { probe: { protocol: probe, detail, latencyMs: 1, via: "probe" as const } } : {}),
});
const input = (over: Partial<ClassificationInput>): ClassificationInput => ({
  ports: [],
  image: "app:latest",
  command: [],
  connections: [],
  envReferences: [],
  ...over,
});

describe("names", () => {
  test("image names of servers, not of tools around them", () => {
    assert.equal(kindFromName("postgres:16"), "postgresql");
    assert.equal(kindFromName("registry.example.com/bitnami/postgresql:16-debian-12"), "postgresql");
    assert.equal(kindFromName("eclipse-mosquitto:2"), "mqtt");
    assert.equal(kindFromName("prometheuscommunity/postgres-exporter:v0.15.0"), undefined);
    assert.equal(kindFromName("oliver006/redis_exporter"), undefined);
    assert.equal(kindFromName("mongo-express"), undefined);
    assert.equal(kindFromName("redis/redisinsight"), undefined);
    assert.equal(kindFromName("python:3.12-slim"), undefined);
  });
  test("commands skip shells and wrappers", () => {
    assert.equal(commandKind(["docker-entrypoint.sh", "postgres", "-c", "fsync=off"]), "postgresql");
    assert.equal(commandKind(["sh", "-c", "exec redis-server --port 7777"]), "redis");
    assert.equal(commandKind(["redis-cli", "-h", "cache", "monitor"]), undefined);
    assert.equal(commandKind(["python3", "-m", "http.server", "8000"]), "http");
  });
});

describe("classify", () => {
  test("a redis on a non-standard port, in an image named after the app", () => {
    const c = classify(input({ ports: [port(7777, "redis", "+PONG")], image: "shop/session-store:1" }));
    assert.equal(c.kind, "redis");
    assert.ok(c.confidence >= 0.9);
  });
  test("an exporter whose image says postgres is the HTTP service it is", () => {
    const c = classify(
      input({
        ports: [port(9187, "http", "HTTP/1.1 200")],
        image: "prometheuscommunity/postgres-exporter",
        connections: [
          {
            localAddress: "10.0.0.2",
            localPort: 40000,
            remoteAddress: "10.0.0.3",
            remotePort: 5432,
            state: "established",
            direction: "outbound",
          },
        ],
      }),
    );
    assert.equal(c.kind, "http");
  });
  test("a web app with connections to datastores stays http", () => {
    const c = classify(
      input({
        ports: [port(8080, "http", "HTTP/1.1 200")],
        connections: [
          {
            localAddress: "10.0.0.2",
            localPort: 40000,
            remoteAddress: "10.0.0.3",
            remotePort: 5432,
            state: "established",
            direction: "outbound",
          },
          {
            localAddress: "10.0.0.2",
            localPort: 40001,
            remoteAddress: "10.0.0.4",
            remotePort: 6379,
            state: "established",
            direction: "outbound",
          },
        ],
      }),
    );
    assert.equal(c.kind, "http");
  });
  test("a broker with a management HTTP port is the broker", () => {
    const c = classify(
      input({ ports: [port(5672, "amqp"), port(15672, "http")], image: "rabbitmq:3-management" }),
    );
    assert.equal(c.kind, "rabbitmq");
  });
  test("probe beats a misleading image name", () => {
    const c = classify(
      input({ ports: [port(6379, "memcached", "VERSION 1.6")], image: "redis-lookalike/redis:7" }),
    );
    assert.equal(c.kind, "memcached");
  });
  test("no listening port: client when it calls web ports or URLs, worker otherwise", () => {
    const client = classify(
      input({
        envReferences: [
          {
            variable: "TARGET_URL",
            value: "http://web:8080",
            host: "web",
            port: 8080,
            scheme: "http",
            form: "url",
          },
        ],
      }),
    );
    assert.equal(client.kind, "client");
    const worker = classify(
      input({
        connections: [
          {
            localAddress: "10.0.0.5",
            localPort: 41000,
            remoteAddress: "10.0.0.6",
            remotePort: 5672,
            state: "established",
            direction: "outbound",
          },
        ],
      }),
    );
    assert.equal(worker.kind, "worker");
  });
  test("listens but nothing recognised: tcp; nothing at all: unknown", () => {
    assert.equal(classify(input({ ports: [port(12345)] })).kind, "tcp");
    assert.deepEqual(classify(input({})), { kind: "unknown", confidence: 0, signals: [] });
  });
  test("well-known port and logs without a probe give a lower confidence", () => {
    const c = classify(
      input({
        ports: [port(5432)],
        logVerdict: { kind: "postgresql", label: "postgresql", share: 1, votingLines: 5 },
      }),
    );
    assert.equal(c.kind, "postgresql");
    assert.ok(c.confidence < 0.9);
    assert.deepEqual(c.signals.map((s) => s.source).sort(), ["log", "port"]);
  });
});

describe("signal priority: probe replies, then ports, then the image name, then log patterns", () => {
  const logsSay = (kind: "mysql" | "redis" | "postgresql") => ({
    kind,
    label: kind,
    share: 1,
    votingLines: 20,
  });
  test("the weights are in that order", async () => {
    const { WEIGHTS } = await import("../../src/discovery/classify.js");
    assert.ok(WEIGHTS.probe > WEIGHTS.port && WEIGHTS.port > WEIGHTS.image && WEIGHTS.image > WEIGHTS.log);
  });
  test("a probe reply outweighs port, image and logs together saying something else", () => {
    const c = classify(
      input({
        ports: [port(5432, "redis", "+PONG")],
        image: "postgres:16",
        logVerdict: logsSay("postgresql"),
      }),
    );
    assert.equal(c.kind, "redis");
  });
  test("a listening well-known port outweighs the image name", () => {
    const c = classify(input({ ports: [port(6379)], image: "mysql:8" }));
    assert.equal(c.kind, "redis", JSON.stringify(c.signals));
  });
  test("the image name outweighs log patterns", () => {
    const c = classify(input({ image: "mariadb:11", logVerdict: logsSay("redis") }));
    assert.equal(c.kind, "mysql", JSON.stringify(c.signals));
  });
  test("a port outweighs log patterns", () => {
    const c = classify(input({ ports: [port(3306)], logVerdict: logsSay("postgresql") }));
    assert.equal(c.kind, "mysql", JSON.stringify(c.signals));
  });
});

describe("log classifier (held-out lines, not in the corpus)", () => {
  const cases: [string, string[]][] = [
    [
      "postgresql",
      [
        "2025-01-07 08:00:00.001 UTC [1] LOG:  starting PostgreSQL 16.2 on aarch64-unknown-linux-musl, compiled by gcc (Alpine 13.2.1) 13.2.1, 64-bit",
        '2025-01-07 08:00:00.010 UTC [1] LOG:  listening on IPv4 address "0.0.0.0", port 5432',
        "2025-01-07 08:00:00.100 UTC [1] LOG:  database system is ready to accept connections",
        '2025-01-07 08:05:00.100 UTC [40] FATAL:  role "reporting" does not exist',
      ],
    ],
    [
      "redis",
      [
        "7:C 07 Jan 2025 08:00:00.000 * oO0OoO0OoO0Oo Redis is starting oO0OoO0OoO0Oo",
        "7:M 07 Jan 2025 08:00:00.002 * Server initialized",
        "7:M 07 Jan 2025 08:00:00.003 * Ready to accept connections tcp",
        "7:M 07 Jan 2025 09:00:00.000 * 100 changes in 300 seconds. Saving...",
      ],
    ],
    [
      "mysql",
      [
        "2025-01-07  8:00:00 0 [Note] InnoDB: Initializing buffer pool, total size = 128.000MiB, chunk size = 2.000MiB",
        "2025-01-07  8:00:01 0 [Note] mariadbd: ready for connections.",
        "2025-01-07  8:00:02 5 [Warning] Access denied for user 'app'@'10.0.0.9' (using password: YES)",
      ],
    ],
    [
      "http",
      [
        '10.0.0.9 - - [07/Jan/2025:08:00:00 +0000] "GET /index.html HTTP/1.1" 200 615 "-" "Wget"',
        '10.0.0.9 - - [07/Jan/2025:08:00:01 +0000] "POST /login HTTP/1.1" 302 0 "-" "Mozilla/5.0"',
        '10.0.0.9 - - [07/Jan/2025:08:00:02 +0000] "GET /missing HTTP/1.1" 404 153 "-" "curl/8.5.0"',
      ],
    ],
  ];
  for (const [kind, lines] of cases) {
    test(kind, () => assert.equal(classifyLogLines(lines)?.kind, kind));
  }
  test("generic application output gives no verdict", () => {
    const v = classifyLogLines([
      "processing batch 17 of 40",
      "retrying in 5 seconds after timeout",
      "batch complete: 40 items ok, 0 errors",
    ]);
    assert.equal(v, undefined);
  });
  test("no lines, binary or huge lines: no verdict, no crash", () => {
    assert.equal(classifyLogLines([]), undefined);
    assert.equal(classifyLogLines(["\u0000\u0001\ufffd\ufffd", "x".repeat(100_000)]), undefined);
  });
});

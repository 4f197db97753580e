/**
 * Probe matchers on real reply bytes. Replies in test/fixtures/discovery/replies.json were captured from
 * real servers (Debian bookworm packages and the demo stack). MongoDB, Kafka, AMQP, Elasticsearch and
 * gRPC cannot run here: their replies are built from the documented wire formats.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { amqpProbe } from "../../src/discovery/probes/amqp.js";
import { genericBannerProbe, smtpProbe } from "../../src/discovery/probes/banner.js";
import { BANNER_PROBES, REQUEST_PROBES, firstMatch, planProbes } from "../../src/discovery/probes/catalog.js";
import { httpProbe } from "../../src/discovery/probes/http.js";
import { frame, grpcHealthRequest, http2Probe, parseFrames } from "../../src/discovery/probes/http2.js";
import {
  KAFKA_CORRELATION_ID,
  kafkaApiVersionsRequest,
  kafkaProbe,
} from "../../src/discovery/probes/kafka.js";
import { memcachedProbe } from "../../src/discovery/probes/memcached.js";
import { MONGO_REQUEST_ID, mongoHelloMessage, mongodbProbe } from "../../src/discovery/probes/mongodb.js";
import { mqttConnectPacket, mqttProbe } from "../../src/discovery/probes/mqtt.js";
import { mysqlProbe } from "../../src/discovery/probes/mysql.js";
import { natsProbe } from "../../src/discovery/probes/nats.js";
import { postgresqlProbe } from "../../src/discovery/probes/postgresql.js";
import { redisProbe } from "../../src/discovery/probes/redis.js";

const fixtures = JSON.parse(
  readFileSync(fileURLToPath(new URL("../fixtures/discovery/replies.json", import.meta.url)), "utf8"),
) as Record<string, { hex: string }>;
const real = (name: string) => Buffer.from(fixtures[name]!.hex, "hex");
const ALL = [...REQUEST_PROBES, ...BANNER_PROBES];

describe("matchers on replies captured from real servers", () => {
  const cases: [string, string, RegExp][] = [
    ["redis", "redis", /^\+PONG$/],
    ["postgresql", "postgresql", /SSLRequest -> N/],
    ["memcached", "memcached", /^VERSION 1\.6\.18$/],
    ["mqtt", "mqtt", /CONNACK rc=0/],
    ["mysqlGreeting", "mysql", /10\.11\.19-MariaDB/],
    ["mysqlError", "mysql", /^ERR 1130 Host/],
    ["nats", "nats", /version 2\.9\.10/],
    ["smtp", "smtp", /ESMTP Exim/],
    ["http", "http", /^HTTP\/1\.1 404 storefront/],
  ];
  for (const [fixture, protocol, detail] of cases) {
    test(`${fixture} -> ${protocol}`, () => {
      const matches = ALL.map((p) => [p.name, p.match(real(fixture))] as const).filter(([, m]) => m);
      const own = matches.find(([, m]) => m?.protocol === protocol);
      assert.ok(own, `no probe matched ${fixture}`);
      assert.match(own[1]!.detail, detail);
      // No other specific probe claims it (the generic banner may also accept readable text).
      const others = matches.filter(([name, m]) => m?.protocol !== protocol && name !== "banner");
      assert.deepEqual(others, []);
    });
  }
});

describe("matchers on documented wire formats", () => {
  test("MongoDB OP_MSG hello reply", () => {
    const req = mongoHelloMessage();
    assert.equal(req.readInt32LE(0), req.length);
    assert.equal(req.readInt32LE(12), 2013);
    const doc = Buffer.concat([
      Buffer.from([0x08]),
      Buffer.from("isWritablePrimary\0"),
      Buffer.from([1]),
      Buffer.from([0x10]),
      Buffer.from("maxWireVersion\0"),
      int32le(21),
      Buffer.from([0x01]),
      Buffer.from("ok\0"),
      Buffer.from([0, 0, 0, 0, 0, 0, 0xf0, 0x3f]),
      Buffer.from([0]),
    ]);
    const bson = Buffer.concat([int32le(doc.length + 4), doc]);
    const body = Buffer.concat([int32le(0), Buffer.from([0]), bson]);
    const reply = Buffer.concat([
      int32le(16 + body.length),
      int32le(7),
      int32le(MONGO_REQUEST_ID),
      int32le(2013),
      body,
    ]);
    assert.deepEqual(mongodbProbe.match(reply), {
      protocol: "mongodb",
      detail: "hello reply maxWireVersion=21",
    });
    assert.ok(mongodbProbe.complete?.(reply));
    const wrongId = Buffer.from(reply);
    wrongId.writeInt32LE(99, 8);
    assert.equal(mongodbProbe.match(wrongId), undefined);
  });

  test("Kafka ApiVersions v0 response", () => {
    const req = kafkaApiVersionsRequest();
    assert.equal(req.readInt32BE(0), req.length - 4);
    assert.equal(req.readInt16BE(4), 18);
    const apis = Buffer.alloc(3 * 6);
    [
      [0, 0, 9],
      [1, 0, 13],
      [18, 0, 3],
    ].forEach(([k, min, max], i) => {
      apis.writeInt16BE(k!, i * 6);
      apis.writeInt16BE(min!, i * 6 + 2);
      apis.writeInt16BE(max!, i * 6 + 4);
    });
    const body = Buffer.concat([int32be(KAFKA_CORRELATION_ID), Buffer.from([0, 0]), int32be(3), apis]);
    const reply = Buffer.concat([int32be(body.length), body]);
    assert.deepEqual(kafkaProbe.match(reply), { protocol: "kafka", detail: "ApiVersions error=0 apis=3" });
    assert.equal(kafkaProbe.match(real("redis")), undefined);
  });

  test("AMQP Connection.Start and protocol-header replies", () => {
    const props = Buffer.concat([
      Buffer.from([7]),
      Buffer.from("product"),
      Buffer.from("S"),
      int32be(8),
      Buffer.from("RabbitMQ"),
    ]);
    const args = Buffer.concat([Buffer.from([0, 9]), int32be(props.length), props]);
    const payload = Buffer.concat([Buffer.from([0, 10, 0, 10]), args]);
    const reply = Buffer.concat([
      Buffer.from([1, 0, 0]),
      int32be(payload.length),
      payload,
      Buffer.from([0xce]),
    ]);
    assert.deepEqual(amqpProbe.match(reply), { protocol: "amqp", detail: "Connection.Start 0-9 RabbitMQ" });
    assert.equal(amqpProbe.match(Buffer.from("AMQP\x00\x00\x09\x01", "latin1"))?.protocol, "amqp");
    assert.equal(amqpProbe.match(real("http")), undefined);
  });

  test("Elasticsearch GET / (cluster_name + tagline) and the product header", () => {
    const body = JSON.stringify({
      name: "es01",
      cluster_name: "docker-cluster",
      version: { number: "8.13.0", lucene_version: "9.10.0" },
      tagline: "You Know, for Search",
    });
    const reply = Buffer.from(
      `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body}`,
    );
    assert.deepEqual(httpProbe.match(reply), {
      protocol: "elasticsearch",
      detail: "HTTP/1.1 200 cluster_name=docker-cluster",
    });
    const unauthorised = Buffer.from(
      "HTTP/1.1 401 Unauthorized\r\nX-elastic-product: Elasticsearch\r\ncontent-length: 0\r\n\r\n",
    );
    assert.equal(httpProbe.match(unauthorised)?.protocol, "elasticsearch");
    assert.ok(httpProbe.complete?.(reply));
  });

  test("HTTP/2 server preface; gRPC trailers-only answer", () => {
    const req = grpcHealthRequest();
    assert.ok(req.subarray(0, 24).toString() === "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
    assert.deepEqual(
      parseFrames(req.subarray(24)).map((f) => f.type),
      [4, 1, 0],
    );
    const settings = frame(4, 0, 0, Buffer.from([0, 3, 0, 0, 0, 100]));
    const ack = frame(4, 1, 0, Buffer.alloc(0));
    assert.equal(http2Probe.match(Buffer.concat([settings, ack]))?.protocol, "http2");
    // :status 200 (0x88) with END_STREAM|END_HEADERS: what gRPC servers send for an unimplemented method.
    const trailersOnly = frame(
      1,
      0x5,
      1,
      Buffer.from([0x88, 0x40, 0x8a, 0x9a, 0xca, 0xc8, 0xb2, 0x12, 0x34, 0xda, 0x8f, 0x01, 0x31]),
    );
    assert.equal(http2Probe.match(Buffer.concat([settings, trailersOnly]))?.protocol, "grpc");
    assert.ok(http2Probe.complete?.(Buffer.concat([settings, trailersOnly])));
    assert.equal(http2Probe.match(real("http")), undefined);
  });

  test("PostgreSQL ErrorResponse, MQTT CONNECT shape", () => {
    const err = Buffer.from(
      "E\x00\x00\x00\x50SFATAL\x00VFATAL\x00C0A000\x00Munsupported frontend protocol\x00\x00",
      "latin1",
    );
    assert.equal(postgresqlProbe.match(err)?.protocol, "postgresql");
    const connect = mqttConnectPacket();
    assert.equal(connect[0], 0x10);
    assert.equal(connect[1], connect.length - 2);
    assert.equal(mqttProbe.match(Buffer.from([0x20, 0x02, 0x00, 0x05]))?.detail, "CONNACK rc=5");
  });
});

describe("look-alikes are not claimed", () => {
  test("a single 'N' is postgres only as a whole reply", () => {
    assert.equal(postgresqlProbe.match(Buffer.from("NO")), undefined);
  });
  test("redis errors that are not redis-specific", () => {
    assert.equal(redisProbe.match(Buffer.from("-ERR unknown command\r\n")), undefined);
    assert.equal(redisProbe.match(Buffer.from("-NOAUTH Authentication required.\r\n"))?.protocol, "redis");
  });
  test("a text banner that is not SMTP, and binary that is no banner", () => {
    assert.equal(smtpProbe.match(Buffer.from("220 ProFTPD Server ready.\r\n")), undefined);
    assert.equal(
      genericBannerProbe.match(Buffer.from("SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n"))?.detail,
      "SSH-2.0-OpenSSH_9.2p1 Debian-2",
    );
    assert.equal(genericBannerProbe.match(Buffer.from([0, 1, 2, 3, 0xff, 0xfe, 7, 8])), undefined);
  });
  test("memcached VERSION vs an HTTP reply, NATS vs other JSON", () => {
    assert.equal(memcachedProbe.match(real("http")), undefined);
    assert.equal(natsProbe.match(Buffer.from('INFO {"foo":1}\r\n')), undefined);
    assert.equal(mysqlProbe.match(real("smtp")), undefined);
  });
  test("firstMatch keeps catalogue order", () => {
    assert.equal(firstMatch(BANNER_PROBES, real("smtp"))?.protocol, "smtp");
    assert.equal(firstMatch(BANNER_PROBES, real("nats"))?.protocol, "nats");
  });
});

describe("planProbes", () => {
  test("a hinted request protocol goes alone first", () => {
    const plan = planProbes(6379);
    assert.equal(plan[0]?.kind, "request");
    assert.deepEqual(
      plan[0]?.probes.map((p) => p.name),
      ["redis"],
    );
    assert.equal(plan[1]?.kind, "banner");
    assert.ok(!plan[2]?.probes.some((p) => p.name === "redis"));
  });
  test("banner ports and unknown ports listen first, then try everything", () => {
    for (const port of [3306, 25, 4222, 12345]) {
      const plan = planProbes(port);
      assert.equal(plan[0]?.kind, "banner", String(port));
      assert.equal(plan[1]?.probes.length, REQUEST_PROBES.length);
    }
  });
});

function int32le(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32LE(n);
  return b;
}
function int32be(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
}

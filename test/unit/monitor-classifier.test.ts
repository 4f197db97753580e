import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { classifyLine, looksBinary } from "../../src/monitor/log-classifier.js";
import { LogCounter } from "../../src/monitor/log-counter.js";
import { SafetyEnvelope } from "../../src/monitor/envelope.js";
import { peerResolver } from "../../src/monitor/peers.js";
import type { ServiceProfile } from "../../src/discovery/profile.js";
import type { ServiceSample } from "../../src/monitor/types.js";

const profile = (id: string, ip: string, aliases: string[] = []): ServiceProfile =>
  ({
    id,
    containerId: `${id}-cid`,
    containerName: `shop-${id}-1`,
    compose: { project: "shop", service: id },
    hostname: `${id}host`,
    networks: [{ name: "shop_default", networkId: "n", ip, aliases }],
    endpoints: [],
  }) as unknown as ServiceProfile;

const peers = peerResolver([
  profile("cache", "172.18.0.3", ["redis"]),
  profile("sessions", "172.18.0.4"),
  profile("db", "172.18.0.5"),
]);

describe("log line classification", () => {
  const cases: [string, string, string?][] = [
    ["ERROR timeout calling http://sessions:8080/api/session after 2000ms", "timeout", "sessions"],
    [
      "redis.exceptions.ConnectionError: Error 111 connecting to cache:6379. Connection refused.",
      "refused",
      "cache",
    ],
    ["Error: connect ECONNREFUSED 172.18.0.5:5432", "refused", "db"],
    [
      'psycopg2.OperationalError: could not translate host name "db" to address: Name or service not known',
      "dns",
      "db",
    ],
    ['172.18.0.9 - - [01/Jan/2026 10:00:00] "GET /checkout HTTP/1.1" 503 -', "http5xx"],
    ['172.18.0.9 - - [01/Jan/2026 10:00:00] "GET /checkout HTTP/1.1" 200 512', "none"],
    ['FATAL:  password authentication failed for user "shop"', "auth"],
    ["WRONGPASS invalid username-password pair", "auth"],
    ["Fatal JavaScript heap out of memory", "oom"],
    ["Traceback (most recent call last):", "crash"],
    ['  File "/app/server.py", line 42, in handle', "crash"],
    ["    at Socket.emit (node:events:517:28)", "crash"],
    ["upstream request failed: read ETIMEDOUT 10.1.2.3:9000", "timeout", "10.1.2.3:9000"],
    ["WARNING something odd but fine", "none"],
    ["INFO processed 12 jobs with 0 errors", "none"],
    ["2026-01-01 ERROR unexpected condition in worker", "error"],
    ["stderr is closed, nothing to see", "none"],
    ["GET /api/session 200 took 500ms", "none"],
  ];
  for (const [line, cls, peer] of cases) {
    test(`${cls}${peer ? ` -> ${peer}` : ""}: ${line.slice(0, 60)}`, () => {
      const c = classifyLine(line, peers, "storefront");
      assert.equal(c.class, cls);
      if (peer) assert.equal(c.peer, peer);
    });
  }
  test("a service never names itself as the peer", () => {
    assert.equal(classifyLine("timeout talking to cache:6379", peers, "cache").peer, undefined);
  });
  test("binary junk is not classified", () => {
    const junk = String.fromCharCode(...Array.from({ length: 200 }, (_, i) => (i * 37) % 32));
    assert.equal(looksBinary(junk), true);
    assert.equal(classifyLine(`${junk} error`, peers).class, "none");
  });
});

describe("log counter", () => {
  test("memory stays bounded under a flood; counts survive, classification is budgeted", () => {
    const counter = new LogCounter("storefront", peers, { classifyBudget: 100 });
    const before = process.memoryUsage().heapUsed;
    const long = `ERROR timeout calling http://sessions:8080/ ${"x".repeat(3000)}`;
    for (let i = 0; i < 100_000; i++) counter.add(i % 2 ? long : `junk ${i}`);
    const s = counter.drain();
    assert.equal(s.lines, 100_000);
    assert.equal(s.dropped, 100_000 - 100);
    assert.equal(s.byClass.timeout, 50);
    assert.deepEqual(s.peers, [{ class: "timeout", peer: "sessions", count: 50 }]);
    assert.ok(counter.exampleLines().length <= 2);
    assert.ok(counter.exampleLines()[0]!.line.length < 420);
    assert.ok(process.memoryUsage().heapUsed - before < 50 * 1024 * 1024);
    assert.equal(counter.drain().lines, 0);
  });
  test("examples are masked", () => {
    const counter = new LogCounter("api", peers);
    counter.add("ERROR login failed password=hunter2 url=postgres://shop:s3cret@db/shop");
    const line = counter.exampleLines()[0]!.line;
    assert.doesNotMatch(line, /hunter2|s3cret/);
  });
});

describe("safety envelope", () => {
  const sample = (service: string, over: Partial<ServiceSample> = {}): ServiceSample =>
    ({ service, phase: "during", at: 0, t: 0, state: "running", health: "none", ...over }) as ServiceSample;
  test("all services down for long enough aborts; one up resets", () => {
    const env = new SafetyEnvelope({ allDownForMs: 3000 });
    const down = [sample("a", { state: "exited" }), sample("b", { health: "unhealthy" })];
    assert.equal(env.check(down, 0, 1), undefined);
    assert.equal(env.check(down, 2000, 1), undefined);
    assert.equal(env.check([down[0]!, sample("b")], 2500, 1), undefined);
    assert.equal(env.check(down, 3000, 1), undefined);
    assert.match(env.check(down, 6000, 1) ?? "", /all 2 services down/);
  });
  test("error rate above the limit for N s aborts", () => {
    const env = new SafetyEnvelope({ maxErrorsPerSecond: 10, errorRateForMs: 2000 });
    const noisy = [sample("a", { logs: { lines: 50, errors: 30, byClass: {}, peers: [], dropped: 0 } })];
    assert.equal(env.check(noisy, 0, 1), undefined);
    assert.match(env.check(noisy, 2000, 1) ?? "", /error logs above 10\/s/);
  });
});

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { classifyLine, looksBinary } from "../../src/monitor/log-classifier.js";
import { LogCounter } from "../../src/monitor/log-counter.js";
import { groupLogRecords } from "../../src/monitor/log-records.js";
import { SafetyEnvelope } from "../../src/monitor/envelope.js";
import { peerResolver } from "../../src/monitor/peers.js";
import type { ServiceProfile } from "../../src/discovery/profile.js";
import type { ServiceSample } from "../../src/monitor/types.js";
import { addressedProfile } from "../support/profile-fixtures.js";

const profile = (id: string, ip: string, aliases: string[] = []): ServiceProfile =>
  addressedProfile(id, ip, { project: "shop", aliases });

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
    // A frame alone says where, not what: the record it belongs to is classified (monitor-log-records).
    ['  File "/app/server.py", line 42, in handle', "none"],
    ["    at Socket.emit (node:events:517:28)", "none"],
    ["upstream request failed: read ETIMEDOUT 10.1.2.3:9000", "timeout", "10.1.2.3:9000"],
    ["WARNING something odd but fine", "none"],
    ["INFO processed 12 jobs with 0 errors", "none"],
    ["2026-01-01 ERROR unexpected condition in worker", "error"],
    ["stderr is closed, nothing to see", "none"],
    ["GET /api/session 200 took 500ms", "none"],
    // A client's own request lines: status 5xx, and 000 (curl's "no answer").
    ["GET http://sessions:8080/api/session -> 502", "http5xx", "sessions"],
    ["GET http://sessions:8080/api/session -> 000", "error", "sessions"],
    ["GET http://sessions:8080/api/session -> 200", "none"],
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

describe("raw driver and server lines: class and peer", () => {
  // A web app ("web", 172.20.0.4) with a database, a cache and a client; names chosen to be unhelpful.
  const stack = peerResolver([
    profile("web", "172.20.0.4"),
    profile("store", "172.20.0.3"),
    profile("kv", "172.20.0.2"),
    profile("buyer", "172.21.0.5"),
    profile("backend", "172.20.0.7"),
  ]);
  const cases: [string, string, string | undefined][] = [
    // psycopg2 / libpq
    [
      'psycopg2.OperationalError: connection to server at "store" (172.20.0.3), port 5432 failed: timeout expired',
      "timeout",
      "store",
    ],
    [
      'psycopg2.OperationalError: connection to server at "store" (172.20.0.3), port 5432 failed: Connection refused',
      "refused",
      "store",
    ],
    [
      'psycopg2.OperationalError: could not translate host name "store" to address: Temporary failure in name resolution',
      "dns",
      "store",
    ],
    // the IP alone is enough: it maps to the service that has it
    [
      "psycopg2.OperationalError: connection to server at 172.20.0.3, port 5432 failed: timeout expired",
      "timeout",
      "store",
    ],
    ["psycopg2.OperationalError: server closed the connection unexpectedly", "refused", undefined],
    ["TimeoutError: query to store:5432 got no answer within 2.0s", "timeout", "store"],
    // redis-py
    ["redis.exceptions.TimeoutError: Timeout reading from socket", "timeout", undefined],
    ["redis.exceptions.TimeoutError: Timeout connecting to server", "timeout", undefined],
    [
      "cache redis://kv:6379/0 unavailable, reading from the database: redis.exceptions.TimeoutError: Timeout reading from socket",
      "timeout",
      "kv",
    ],
    [
      "redis.exceptions.ConnectionError: Error 111 connecting to kv:6379. Connection refused.",
      "refused",
      "kv",
    ],
    [
      "redis.exceptions.ConnectionError: Error -3 connecting to kv:6379. Temporary failure in name resolution.",
      "dns",
      "kv",
    ],
    ["ConnectionRefusedError: [Errno 111] Connection refused", "refused", undefined],
    ["urllib.error.URLError: <urlopen error [Errno 111] Connection refused>", "refused", undefined],
    ["http.client.RemoteDisconnected: Remote end closed connection without response", "refused", undefined],
    ["socket.gaierror: [Errno -2] Name or service not known", "dns", undefined],
    [
      "POST http://web:8080/api/orders failed after 3004ms: TimeoutError: timed out",
      "timeout",
      "web-as-peer",
    ],
    [
      "GET http://web:8080/api/products failed after 2011ms: urllib.error.HTTPError: HTTP Error 504: Gateway Timeout",
      "http5xx",
      "web-as-peer",
    ],
    // Node.js
    ["Error: connect ECONNREFUSED 172.20.0.3:5432", "refused", "store"],
    ["Error: connect ETIMEDOUT 172.20.0.2:6379", "timeout", "kv"],
    ["Error: getaddrinfo ENOTFOUND store", "dns", "store"],
    ["Error: getaddrinfo EAI_AGAIN kv", "dns", "kv"],
    ["Error: read ECONNRESET", "refused", undefined],
    // Java
    ["java.net.SocketTimeoutException: Read timed out", "timeout", undefined],
    ["Caused by: java.net.SocketTimeoutException: connect timed out", "timeout", undefined],
    ["java.net.ConnectException: Connection refused (Connection refused)", "refused", undefined],
    ["java.net.UnknownHostException: store: Name or service not known", "dns", "store"],
    ["HikariPool-1 - Connection is not available, request timed out after 30000ms.", "timeout", undefined],
    // Go
    ["dial tcp 172.20.0.3:5432: i/o timeout", "timeout", "store"],
    ["read tcp 172.20.0.4:51234->172.20.0.2:6379: i/o timeout", "timeout", "kv"],
    ["dial tcp 172.20.0.3:5432: connect: connection refused", "refused", "store"],
    ["dial tcp: lookup store on 127.0.0.11:53: no such host", "dns", "store"],
    ['Get "http://backend.shop_back:8080/api": context deadline exceeded', "timeout", "backend"],
    // nginx: the client is the caller, the upstream is the peer
    [
      '2026/03/10 12:00:00 [error] 29#29: *7 upstream timed out (110: Connection timed out) while reading response header from upstream, client: 172.21.0.5, server: _, request: "GET /api HTTP/1.1", upstream: "http://172.20.0.7:8080/api", host: "localhost"',
      "timeout",
      "backend",
    ],
    [
      '2026/03/10 12:00:00 [error] 29#29: *9 connect() failed (111: Connection refused) while connecting to upstream, client: 172.21.0.5, server: _, request: "GET / HTTP/1.1", upstream: "http://172.20.0.7:8080/", host: "localhost"',
      "refused",
      "backend",
    ],
    // access logs: a 5xx is an error, but the address in front is the client, never the peer
    [
      '172.21.0.5 - - [10/Mar/2026:12:00:00 +0000] "GET /api HTTP/1.1" 504 167 "-" "curl/7.88.1"',
      "http5xx",
      undefined,
    ],
    [
      '2026-03-10 12:00:00,123 INFO [web.access] 172.21.0.5 - - [10/Mar/2026 12:00:00] "GET /api/products HTTP/1.1" 504 31',
      "http5xx",
      undefined,
    ],
    [
      '2026-03-10 12:00:00,123 INFO [web.access] 172.21.0.5 - - [10/Mar/2026 12:00:00] "GET /api/products HTTP/1.1" 200 512',
      "none",
      undefined,
    ],
    ['level=error msg="upstream failed" client_ip=172.21.0.5 err="read ECONNRESET"', "refused", undefined],
    // steady-state summaries are not errors
    ["last 10s: ok=30 failed=0", "none", undefined],
    ["processed 12 requests, 0 failed", "none", undefined],
  ];
  for (const [line, cls, peer] of cases) {
    test(`${cls}${peer ? ` -> ${peer}` : ""}: ${line.slice(0, 70)}`, () => {
      // Client lines are read as the client ("buyer") would write them; the rest as the web app.
      const self = peer === "web-as-peer" ? "buyer" : "web";
      const c = classifyLine(line, stack, self);
      assert.equal(c.class, cls);
      assert.equal(c.peer, peer === "web-as-peer" ? "web" : peer, `peer of: ${line}`);
    });
  }
  test("a traceback is one record: its last line carries the class and the peer, its frames nothing", () => {
    const lines = [
      "Traceback (most recent call last):",
      '  File "/app/app.py", line 160, in query',
      "    conn = self._connect()",
      '  File "/usr/lib/python3/dist-packages/psycopg2/__init__.py", line 122, in connect',
      "    conn = _connect(dsn, connection_factory=connection_factory, **kwasync)",
      'psycopg2.OperationalError: connection to server at "store" (172.20.0.3), port 5432 failed: timeout expired',
    ];
    const records = groupLogRecords(lines, stack, "web");
    assert.equal(records.length, 1);
    assert.equal(records[0]!.class, "timeout");
    assert.equal(records[0]!.peer, "store");
    assert.equal(records[0]!.lines, lines.length);
    // Each line alone: the header still reads as a stack trace, a frame names neither class nor peer.
    assert.equal(classifyLine(lines[0]!, stack, "web").class, "crash");
    assert.deepEqual(classifyLine(lines[1]!, stack, "web"), { class: "none" });
    assert.deepEqual(classifyLine(lines.at(-1)!, stack, "web"), { class: "timeout", peer: "store" });
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
    counter.drain(); // the record ends at the drain (no next line says it is complete)
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

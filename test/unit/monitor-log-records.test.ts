/**
 * Multi-line log records: a stack trace is one record, classified once by its most specific cause.
 * The traces are real output (Python 3.11, OpenJDK 17, Node.js 20 captured on this machine; the Go
 * panics as the Go runtime prints them), with addresses and paths moved into the stack below.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import type { ServiceProfile } from "../../src/discovery/profile.js";
import { LogCounter } from "../../src/monitor/log-counter.js";
import { groupLogRecords } from "../../src/monitor/log-records.js";
import { peerResolver } from "../../src/monitor/peers.js";
import { addressedProfile } from "../support/profile-fixtures.js";

const profile = (id: string, ip: string): ServiceProfile => addressedProfile(id, ip);

// A web app ("web") with a database ("store") and a cache ("kv"); names chosen to be unhelpful.
const stack = peerResolver([
  profile("web", "172.20.0.4"),
  profile("store", "172.20.0.3"),
  profile("kv", "172.20.0.2"),
]);

const group = (lines: string[]) => groupLogRecords(lines, stack, "web");

/** Python's logging.exception around a query to a paused database (psycopg2's last line). */
const PYTHON_TIMEOUT = [
  "2026-12-02 12:05:14,962 ERROR [web] Exception on /api/orders [POST]",
  "Traceback (most recent call last):",
  '  File "/app/app.py", line 357, in _dispatch',
  "    status, payload = action()",
  '  File "/app/app.py", line 160, in query',
  "    conn = psycopg2.connect(DATABASE_URL, connect_timeout=TIMEOUT)",
  '  File "/usr/lib/python3/dist-packages/psycopg2/__init__.py", line 122, in connect',
  "    conn = _connect(dsn, connection_factory=connection_factory, **kwasync)",
  'psycopg2.OperationalError: connection to server at "store" (172.20.0.3), port 5432 failed: timeout expired',
];

/** A chained traceback: the cache refused, the app raised its own error from it. */
const PYTHON_CHAINED = [
  "2026-12-02 12:05:14,964 ERROR [web] Exception on /api/cart [GET]",
  "Traceback (most recent call last):",
  '  File "/app/app.py", line 15, in get_cart',
  '    socket.create_connection(("kv", 6379), timeout=1)',
  '  File "/usr/lib/python3.11/socket.py", line 851, in create_connection',
  "    raise exceptions[0]",
  '  File "/usr/lib/python3.11/socket.py", line 836, in create_connection',
  "    sock.connect(sa)",
  "ConnectionRefusedError: [Errno 111] Connection refused",
  "",
  "The above exception was the direct cause of the following exception:",
  "",
  "Traceback (most recent call last):",
  '  File "/app/app.py", line 17, in get_cart',
  '    raise RuntimeError("could not reach the cache at kv:6379") from e',
  "RuntimeError: could not reach the cache at kv:6379",
];

/** A bug: the final exception names no cause, and a source line mentions a timeout it is not about. */
const PYTHON_BUG = [
  "2026-12-02 12:05:14,965 ERROR [web] Exception on /api/products [GET]",
  "Traceback (most recent call last):",
  '  File "/app/app.py", line 21, in products',
  '    rows = fetch(timeout=TIMEOUT)["customer"]',
  "           ~~~~~~~~~~~~~~~~~~~~~~^^^^^^^^^^^^",
  "KeyError: 'customer'",
];

/** logback's message line, then the exception with a Caused by (OpenJDK 17 output). */
const JAVA_TIMEOUT = [
  "2026-03-10 12:00:00.123 ERROR 1 --- [nio-8080-exec-1] o.a.c.c.C.[.[.[/].[dispatcherServlet]    : Servlet.service() for servlet [dispatcherServlet] threw exception",
  "java.lang.IllegalStateException: Unable to acquire JDBC Connection",
  "\tat shop.Repo.find(Repo.java:4)",
  "\tat shop.Main.main(Main.java:7)",
  "Caused by: java.net.SocketTimeoutException: Read timed out",
  "\tat java.base/sun.nio.ch.NioSocketImpl.timedRead(NioSocketImpl.java:288)",
  "\tat java.base/sun.nio.ch.NioSocketImpl.implRead(NioSocketImpl.java:314)",
  "\tat java.base/sun.nio.ch.NioSocketImpl.read(NioSocketImpl.java:355)",
  "\tat java.base/sun.nio.ch.NioSocketImpl$1.read(NioSocketImpl.java:808)",
  "\tat java.base/java.net.Socket$SocketInputStream.read(Socket.java:966)",
  "\tat shop.Repo.read(Repo.java:3)",
  "\t... 2 more",
];

/** PgJDBC names the host in one Caused by, the refusal in the next. */
const JAVA_REFUSED = [
  "2026-03-10 12:00:02.500 ERROR 1 --- [nio-8080-exec-3] c.z.h.p.HikariPool : HikariPool-1 - Exception during pool initialization.",
  "org.postgresql.util.PSQLException: Connection to store:5432 refused. Check that the hostname and port are correct and that the postmaster is accepting TCP/IP connections.",
  "\tat org.postgresql.core.v3.ConnectionFactoryImpl.openConnectionImpl(ConnectionFactoryImpl.java:319)",
  "\tat org.postgresql.Driver.makeConnection(Driver.java:434)",
  "Caused by: java.net.ConnectException: Connection refused",
  "\tat java.base/sun.nio.ch.Net.pollConnect(Native Method)",
  "\tat java.base/sun.nio.ch.Net.pollConnectNow(Net.java:672)",
  "\t... 12 common frames omitted",
];

/** An uncaught exception ends the main thread (OpenJDK 17 output). */
const JAVA_DIED = [
  'Exception in thread "main" java.lang.IllegalStateException: Unable to acquire JDBC Connection',
  "\tat shop.Repo.find(Repo.java:4)",
  "\tat shop.Main.main(Main.java:12)",
  "Caused by: java.net.ConnectException: Connection refused",
  "\tat java.base/sun.nio.ch.Net.pollConnect(Native Method)",
  "\tat java.base/java.net.Socket.connect(Socket.java:633)",
  "\t... 2 more",
];

/** console.error("request failed", err), then the same error uncaught (Node.js 20 output). */
const NODE = [
  "request failed Error: connect ECONNREFUSED 172.20.0.3:5432",
  "    at TCPConnectWrap.afterConnect [as oncomplete] (node:net:1611:16) {",
  "  errno: -111,",
  "  code: 'ECONNREFUSED',",
  "  syscall: 'connect',",
  "  address: '172.20.0.3',",
  "  port: 5432",
  "}",
  "/app/server.js:3",
  's.on("error", (e) => { console.error("request failed", e); throw e; });',
  "                                                           ^",
  "",
  "Error: connect ECONNREFUSED 172.20.0.3:5432",
  "    at TCPConnectWrap.afterConnect [as oncomplete] (node:net:1611:16) {",
  "  errno: -111,",
  "  code: 'ECONNREFUSED',",
  "  syscall: 'connect',",
  "  address: '172.20.0.3',",
  "  port: 5432",
  "}",
  "",
  "Node.js v20.20.2",
];

/** A nil dereference: the process died (go run adds the exit status). */
const GO_PANIC = [
  "panic: runtime error: invalid memory address or nil pointer dereference",
  "[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x48f4a6]",
  "",
  "goroutine 1 [running]:",
  "main.(*Store).Get(...)",
  "\t/app/store.go:21",
  "main.main()",
  "\t/app/main.go:14 +0x26",
  "exit status 2",
];

/** A panic on a failed dial, in a handler goroutine. */
const GO_PANIC_DIAL = [
  "panic: dial tcp 172.20.0.3:5432: connect: connection refused",
  "",
  "goroutine 34 [running]:",
  "main.mustConnect({0xc000014090, 0xe})",
  "\t/app/db.go:18 +0x1e5",
  "net/http.HandlerFunc.ServeHTTP(0xc000120000?, {0x7a1e48?, 0xc00014c000?}, 0x0?)",
  "\t/usr/local/go/src/net/http/server.go:2136 +0x29",
  "created by net/http.(*Server).Serve in goroutine 1",
  "\t/usr/local/go/src/net/http/server.go:3086 +0x5cb",
];

describe("multi-line records: one per trace, by its most specific cause", () => {
  test("Python: a traceback ending in a driver timeout is one timeout naming the database, not a crash", () => {
    const records = group(PYTHON_TIMEOUT);
    assert.equal(records.length, 1);
    assert.equal(records[0]!.class, "timeout");
    assert.equal(records[0]!.peer, "store");
    assert.equal(records[0]!.lines, PYTHON_TIMEOUT.length);
    assert.equal(records[0]!.first, PYTHON_TIMEOUT[0]);
    assert.equal(records[0]!.deciding, PYTHON_TIMEOUT.at(-1));
  });
  test("a framework's 'uncaught exception' for one request is no crash: the trace's cause decides", () => {
    const lines = [
      "2026-12-02 12:05:14,962 ERROR [web] Uncaught exception in handler for GET /api/orders",
      ...PYTHON_TIMEOUT.slice(1),
    ];
    assert.deepEqual(
      group(lines).map((r) => [r.class, r.peer]),
      [["timeout", "store"]],
    );
    assert.equal(group([lines[0]!])[0]!.class, "error");
  });
  test("Python: a chained traceback is one record; the refusal beats the app's own error", () => {
    const records = group(PYTHON_CHAINED);
    assert.deepEqual(
      records.map((r) => [r.class, r.peer, r.lines]),
      [["refused", "kv", PYTHON_CHAINED.length]],
    );
  });
  test("Python: a trace whose final exception names no cause is a crash; source lines are not read", () => {
    const records = group(PYTHON_BUG);
    assert.deepEqual(
      records.map((r) => [r.class, r.lines]),
      [["crash", PYTHON_BUG.length]],
    );
  });
  test("Java: logback's line, the exception and its Caused by are one timeout record", () => {
    const records = group(JAVA_TIMEOUT);
    assert.deepEqual(
      records.map((r) => [r.class, r.lines]),
      [["timeout", JAVA_TIMEOUT.length]],
    );
    assert.equal(records[0]!.deciding, "Caused by: java.net.SocketTimeoutException: Read timed out");
  });
  test("Java: the host named in one line and the refusal in a Caused by make one refused record to it", () => {
    const records = group(JAVA_REFUSED);
    assert.deepEqual(
      records.map((r) => [r.class, r.peer, r.lines]),
      [["refused", "store", JAVA_REFUSED.length]],
    );
  });
  test("Java: an uncaught exception ending the thread is a crash, whatever it was caused by", () => {
    const records = group(JAVA_DIED);
    assert.deepEqual(
      records.map((r) => [r.class, r.lines]),
      [["crash", JAVA_DIED.length]],
    );
  });
  test("Node.js: a logged error and the uncaught report are one refused record each, to the database", () => {
    const records = group(NODE);
    assert.deepEqual(
      records.map((r) => [r.class, r.peer]),
      [
        ["refused", "store"],
        ["refused", "store"],
        ["none", undefined],
      ],
    );
    assert.deepEqual(
      records.map((r) => r.lines),
      [8, 13, 1],
    );
  });
  test("Go: a panic with its goroutine dump is one crash record", () => {
    const records = group(GO_PANIC);
    assert.deepEqual(
      records.map((r) => [r.class, r.lines]),
      [["crash", GO_PANIC.length]],
    );
  });
  test("Go: a panic on a refused dial is still a crash, attributed to the peer it names", () => {
    const records = group(GO_PANIC_DIAL);
    assert.deepEqual(
      records.map((r) => [r.class, r.peer, r.lines]),
      [["crash", "store", GO_PANIC_DIAL.length]],
    );
  });
  test("records end where the next log line starts", () => {
    const info = "2026-12-02 12:05:15,000 INFO [web] served 12 requests";
    const lines = [
      ...PYTHON_TIMEOUT,
      info,
      ...JAVA_TIMEOUT,
      ...PYTHON_BUG,
      "2026-03-10 12:00:01.000  INFO 1 --- [main] c.e.Shop : still serving",
      ...GO_PANIC,
    ];
    assert.deepEqual(
      group(lines).map((r) => r.class),
      ["timeout", "none", "timeout", "crash", "none", "crash"],
    );
  });
  test("exception lines no frames follow stay records of their own (no lookahead merges them)", () => {
    const lines = [
      "redis.exceptions.TimeoutError: Timeout reading from socket",
      "redis.exceptions.TimeoutError: Timeout reading from socket",
      "2026-12-02 12:05:14,962 ERROR [web] request failed",
      "redis.exceptions.ConnectionError: Error 111 connecting to kv:6379. Connection refused.",
      "redis.exceptions.TimeoutError: Timeout reading from socket",
    ];
    assert.deepEqual(
      group(lines).map((r) => [r.class, r.lines]),
      [
        ["timeout", 1],
        ["timeout", 1],
        ["error", 1],
        ["refused", 1],
        ["timeout", 1],
      ],
    );
  });
  test("single lines classify as before, indented continuation lines join them", () => {
    const lines = [
      "ERROR timeout calling http://kv:6379",
      "WARNING something odd but fine",
      "could not connect to server: Connection refused",
      '\tIs the server running on host "store" (172.20.0.3) and accepting',
      "\tTCP/IP connections on port 5432?",
    ];
    assert.deepEqual(
      group(lines).map((r) => [r.class, r.peer, r.lines]),
      [
        ["timeout", "kv", 1],
        ["none", undefined, 1],
        ["refused", "store", 3],
      ],
    );
  });
});

describe("memory bounds: lines per record and the flush timeout", () => {
  test("a record absorbs at most maxLines; the frames after it are a tail, never counted as a crash", () => {
    const lines = [
      "java.lang.StackOverflowError",
      ...Array.from({ length: 1000 }, () => "\tat shop.Loop.go(Loop.java:7)"),
    ];
    const records = groupLogRecords(lines, stack, "web", { maxLines: 100 });
    assert.equal(records.length, 11);
    assert.deepEqual(records[0], { class: "crash", lines: 100, first: lines[0], at: 0 });
    assert.ok(records.slice(1).every((r) => r.class === "none"));
    assert.equal(
      records.reduce((n, r) => n + r.lines, 0),
      lines.length,
    );
  });

  test("the counter holds a record being written across a drain, then counts it whole", () => {
    let now = 0;
    const counter = new LogCounter("web", stack, { now: () => now, records: { flushAfterMs: 250 } });
    const [head, ...rest] = PYTHON_TIMEOUT;
    counter.add(head!);
    now = 100;
    const first = counter.drain({ holdOpenRecord: true });
    assert.deepEqual([first.lines, first.errors], [1, 0], "still being written: not counted yet");
    for (const line of rest) counter.add(line);
    now = 1100;
    const second = counter.drain({ holdOpenRecord: true });
    assert.deepEqual(
      [second.lines, second.errors, second.byClass, second.peers],
      [rest.length, 1, { timeout: 1 }, [{ class: "timeout", peer: "store", count: 1 }]],
    );
    assert.equal(
      counter.exampleLines()[0]!.line,
      `${PYTHON_TIMEOUT[0]}\n…\n${PYTHON_TIMEOUT.at(-1)}`,
      "the example shows the message and the cause, not the frames",
    );
  });

  test("a record is not held past maxOpenMs even while lines keep coming", () => {
    let now = 0;
    const counter = new LogCounter("web", stack, {
      now: () => now,
      records: { flushAfterMs: 250, maxOpenMs: 1000 },
    });
    counter.add("java.lang.IllegalStateException: boom");
    for (now = 100; now <= 1500; now += 100) {
      counter.add("\tat shop.Loop.go(Loop.java:7)");
      const s = counter.drain({ holdOpenRecord: true });
      if (now < 1000) assert.equal(s.errors, 0, `held at ${now} ms`);
      else if (now === 1000) assert.deepEqual(s.byClass, { crash: 1 }, "flushed once open for 1 s");
      else assert.equal(s.errors, 0, "the frames after it are a tail, not another crash");
    }
  });

  test("a pause longer than the flush timeout ends the record; a drain without hold ends it too", () => {
    let now = 0;
    const counter = new LogCounter("web", stack, { now: () => now, records: { flushAfterMs: 250 } });
    counter.add("Traceback (most recent call last):");
    now = 1000;
    counter.add('  File "/app/app.py", line 160, in query');
    counter.add("TimeoutError: timed out");
    const s = counter.drain();
    assert.deepEqual(
      [s.lines, s.byClass],
      [3, { crash: 1, timeout: 1 }],
      "the header alone was a trace with no cause; the late tail names its own",
    );
  });

  test("a flood of frames stays within the classify budget and keeps no lines", () => {
    const counter = new LogCounter("web", stack, { classifyBudget: 1000 });
    const before = process.memoryUsage().heapUsed;
    for (let i = 0; i < 50_000; i++) {
      if (i % 500 === 0) counter.add("java.lang.IllegalStateException: boom");
      else counter.add(`\tat shop.Loop.go${"x".repeat(3000)}(Loop.java:${i})`);
    }
    const s = counter.drain();
    assert.equal(s.lines, 50_000);
    assert.equal(s.dropped, 49_000);
    assert.deepEqual(s.byClass, { crash: 2 });
    assert.ok(process.memoryUsage().heapUsed - before < 50 * 1024 * 1024);
  });
});

/**
 * The demo shop is what every other integration test stands on: prove it is up, healthy, carrying traffic,
 * wired over two networks, and that its cache and database are the real servers speaking their protocols.
 */
import assert from "node:assert/strict";
import { connect } from "node:net";
import { after, before, describe, test } from "node:test";
import {
  type DemoStack,
  DEMO_SERVICES,
  DEMO_WEB_PORT,
  apiRequestCount,
  containerIp,
  demoStack,
  fetchText,
  serviceContainer,
  steadyStateTiming,
  sumCounter,
} from "../support/demo-stack.js";

/** Writes `request`, collects the answer until `enough(answer)` or the peer closes; bounded by `timeoutMs`. */
function exchange(
  host: string,
  port: number,
  request: Buffer,
  enough: (answer: Buffer) => boolean,
  timeoutMs = 5_000,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    let answer = Buffer.alloc(0);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(
        new Error(`no full answer from ${host}:${port} within ${timeoutMs} ms (got ${answer.length} bytes)`),
      );
    }, timeoutMs);
    const finish = (error?: Error) => {
      clearTimeout(timer);
      socket.destroy();
      if (error) reject(error);
      else resolve(answer);
    };
    socket.on("connect", () => socket.write(request));
    socket.on("data", (chunk: Buffer) => {
      answer = Buffer.concat([answer, chunk]);
      if (enough(answer)) finish();
    });
    socket.on("end", () => finish());
    socket.on("error", (e) => finish(e));
  });
}

/** A PostgreSQL protocol 3.0 StartupMessage. */
function startupMessage(params: Record<string, string>): Buffer {
  const body = Buffer.concat([
    ...Object.entries(params).flatMap(([k, v]) => [Buffer.from(`${k}\0`), Buffer.from(`${v}\0`)]),
    Buffer.from([0]),
  ]);
  const header = Buffer.alloc(8);
  header.writeInt32BE(8 + body.length, 0);
  header.writeInt32BE(196608, 4); // 3 << 16: protocol 3.0
  return Buffer.concat([header, body]);
}

describe("demo stack (examples/shop)", { timeout: 240_000 }, () => {
  let stack: DemoStack;

  before(async () => {
    stack = await demoStack();
  });

  after(async () => {
    await stack?.dispose();
  });

  test("every service runs and is healthy", async () => {
    const containers = await stack.runtime.list({ project: stack.project });
    for (const service of Object.values(DEMO_SERVICES)) {
      const c = containers.find((x) => x.compose?.service === service);
      assert.ok(c, `${service} has a container`);
      assert.equal(c.state, "running", `${service} runs`);
      assert.equal(c.health.status, "healthy", `${service} is healthy`);
      assert.ok(c.health.test.length > 0, `${service} has a healthcheck`);
      assert.equal(c.labels["faultline.owned"], undefined, `${service} is a target, not faultline's own`);
    }
  });

  test("steady state (all healthy, traffic flowing) within 60 s of compose up, by container timestamps", async () => {
    const t = await steadyStateTiming(stack.project);
    const detail = `healthy after ${((t.healthyAt - t.upAt) / 1000).toFixed(1)} s, traffic after ${((t.trafficAt - t.upAt) / 1000).toFixed(1)} s`;
    assert.ok(t.healthyAt > t.upAt && t.trafficAt > t.upAt, detail);
    assert.ok(t.seconds < 60, `steady state took ${t.seconds.toFixed(1)} s: ${detail}`);
  });

  test("client and server are on a front network, server and its dependencies on a back one", async () => {
    const networksOf = async (service: string) =>
      (await serviceContainer(stack.runtime, stack.project, service)).networks.map((n) => n.name).sort();
    const web = await networksOf(DEMO_SERVICES.web);
    const client = await networksOf(DEMO_SERVICES.client);
    const cache = await networksOf(DEMO_SERVICES.cache);
    const database = await networksOf(DEMO_SERVICES.database);
    assert.equal(web.length, 2);
    assert.deepEqual(
      client.filter((n) => web.includes(n)),
      client,
    );
    assert.deepEqual(cache, database);
    assert.ok(cache.every((n) => web.includes(n)) && !cache.some((n) => client.includes(n)));
  });

  test("client traffic flows: the web service's request counter grows", async () => {
    const web = await serviceContainer(stack.runtime, stack.project, DEMO_SERVICES.web);
    const ip = containerIp(web);
    const health = await fetchText(`http://${ip}:${DEMO_WEB_PORT}/health`);
    assert.equal(health.status, 200);
    const first = await apiRequestCount(ip);
    await new Promise((r) => setTimeout(r, 2_500));
    const second = await apiRequestCount(ip);
    assert.ok(second > first, `API requests grew from ${first} to ${second}`);
    const { body } = await fetchText(`http://${ip}:${DEMO_WEB_PORT}/metrics`);
    assert.match(body, /^# TYPE http_requests_total counter$/m);
    assert.ok(sumCounter(body, "http_requests_total", (l) => l.status === "200") > 0);
    const ready = await fetchText(`http://${ip}:${DEMO_WEB_PORT}/ready`);
    assert.equal(ready.status, 200, `ready: ${ready.body}`);
  });

  test("the cache is a real Redis server", async () => {
    const cache = await serviceContainer(stack.runtime, stack.project, DEMO_SERVICES.cache);
    const ip = containerIp(cache);
    const pong = await exchange(ip, 6379, Buffer.from("PING\r\n"), (a) => a.includes("\r\n"));
    assert.equal(pong.toString(), "+PONG\r\n");
    const info = await exchange(ip, 6379, Buffer.from("INFO server\r\n"), (a) =>
      /redis_version:\S+/.test(a.toString()),
    );
    assert.match(info.toString(), /redis_version:\d+\.\d+/);
  });

  test("the database is a real PostgreSQL server asking for a SCRAM password", async () => {
    const database = await serviceContainer(stack.runtime, stack.project, DEMO_SERVICES.database);
    const answer = await exchange(
      containerIp(database),
      5432,
      startupMessage({ user: "shop", database: "shop" }),
      (a) => a.length >= 5 && a.length >= 1 + a.readInt32BE(1),
    );
    assert.equal(String.fromCharCode(answer[0]!), "R", "an Authentication message");
    assert.equal(answer.readInt32BE(5), 10, "AuthenticationSASL");
    assert.match(answer.subarray(9).toString(), /SCRAM-SHA-256/);
  });
});

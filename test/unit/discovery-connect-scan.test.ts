/**
 * The connect-scan fallback against real sockets on 127.0.0.1: a listening port, a closed one, and one
 * that hangs (a listener whose accept queue is full, so the kernel drops further SYNs).
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { createServer, Socket, type AddressInfo, type Server } from "node:net";
import { connectScan, tcpConnects } from "../../src/discovery/sockets/connect-scan.js";

const HOST = "127.0.0.1";
const TIMEOUT_MS = 300;

/**
 * A child process that listens with a backlog of 1 and then blocks its event loop for good: nothing is
 * ever accepted, so once its queue is full, connecting hangs.
 */
const FROZEN_LISTENER = `
const server = require("node:net").createServer();
server.listen({ port: 0, host: "127.0.0.1", backlog: 1 }, () => {
  process.stdout.write(server.address().port + "\\n");
  setTimeout(() => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0), 20);
});`;

function listen(server: Server): Promise<number> {
  return new Promise((r) => server.listen(0, HOST, () => r((server.address() as AddressInfo).port)));
}

function connectOnce(port: number, timeoutMs: number): Promise<Socket | undefined> {
  return new Promise((resolve) => {
    const s = new Socket();
    const timer = setTimeout(() => {
      s.destroy();
      resolve(undefined);
    }, timeoutMs);
    s.once("connect", () => {
      clearTimeout(timer);
      resolve(s);
    });
    s.once("error", () => {
      clearTimeout(timer);
      resolve(undefined);
    });
    s.connect(port, HOST);
  });
}

describe("connect scan on 127.0.0.1", () => {
  let open: Server;
  let openPort = 0;
  let closedPort = 0;
  let hangingPort = 0;
  let frozen: ChildProcess;
  const fillers: Socket[] = [];

  before(async () => {
    open = createServer((s) => s.on("error", () => undefined).end());
    openPort = await listen(open);
    const closed = createServer();
    closedPort = await listen(closed);
    await new Promise((r) => closed.close(r));

    frozen = spawn(process.execPath, ["-e", FROZEN_LISTENER], { stdio: ["ignore", "pipe", "inherit"] });
    hangingPort = await new Promise<number>((resolve, reject) => {
      frozen.stdout!.once("data", (d: Buffer) => resolve(Number(d.toString().trim())));
      frozen.once("exit", (code) => reject(new Error(`frozen listener exited (${code})`)));
    });
    await new Promise((r) => setTimeout(r, 100));
    // Fill the accept queue: connections complete until it is full, then they hang.
    for (let i = 0; i < 16; i++) {
      const s = await connectOnce(hangingPort, 200);
      if (!s) break;
      fillers.push(s);
    }
    assert.ok(fillers.length >= 1 && fillers.length < 16, `filled with ${fillers.length} connections`);
  });
  after(() => {
    for (const s of fillers) s.destroy();
    frozen?.kill("SIGKILL");
    open?.close();
  });

  test("tcpConnects: open yes, closed no at once, hanging no within the bound", async () => {
    assert.equal(await tcpConnects(HOST, openPort, TIMEOUT_MS), true);
    let started = Date.now();
    assert.equal(await tcpConnects(HOST, closedPort, TIMEOUT_MS), false);
    assert.ok(Date.now() - started < TIMEOUT_MS / 2, `refusal took ${Date.now() - started} ms`);
    started = Date.now();
    assert.equal(await tcpConnects(HOST, hangingPort, TIMEOUT_MS), false);
    const took = Date.now() - started;
    assert.ok(took >= TIMEOUT_MS - 20 && took < TIMEOUT_MS + 200, `hang cut after ${took} ms`);
  });

  test("connectScan: finds the listener among the common ports, not the closed or hanging one, bounded", async () => {
    const started = Date.now();
    const found = await connectScan(HOST, [openPort, closedPort, hangingPort], {
      timeoutMs: TIMEOUT_MS,
      concurrency: 32,
    });
    const took = Date.now() - started;
    assert.ok(found.includes(openPort), found.join(","));
    assert.ok(!found.includes(closedPort), found.join(","));
    assert.ok(!found.includes(hangingPort), found.join(","));
    assert.deepEqual(
      found,
      [...found].sort((a, b) => a - b),
    );
    // About 50 ports, 32 at a time, each bounded: two rounds of the timeout at most, plus slack.
    assert.ok(took < 2 * TIMEOUT_MS + 400, `scan took ${took} ms`);
  });
});

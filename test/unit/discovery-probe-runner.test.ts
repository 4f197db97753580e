/** The probe runner against small servers on 127.0.0.1: verdicts, and bounds when servers misbehave. */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createServer as createH2Server, type Http2Server } from "node:http2";
import { createServer as createHttpServer, type Server as HttpServer } from "node:http";
import { createServer, type AddressInfo, type Server, type Socket } from "node:net";
import { exchange, identifyPort } from "../../src/discovery/probes/runner.js";

const opts = { probeTimeoutMs: 400, bannerMs: 200, budgetMs: 2500 };

function listen(server: Server | HttpServer | Http2Server): Promise<number> {
  return new Promise((r) => server.listen(0, "127.0.0.1", () => r((server.address() as AddressInfo).port)));
}

describe("identifyPort", () => {
  const sockets = new Set<Socket>();
  const track = (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
    s.on("error", () => undefined);
  };
  let silent: Server, junk: Server, redisLike: Server, http: HttpServer, h2: Http2Server, grpc: Http2Server;
  const ports: Record<string, number> = {};
  before(async () => {
    silent = createServer(track); // accepts, never answers
    junk = createServer((s) => {
      track(s);
      s.write(Buffer.from([0x00, 0xff, 0x13, 0x37, 0x02]));
    });
    redisLike = createServer((s) => {
      track(s);
      s.on("data", (d) => {
        if (d.toString().includes("PING")) s.write("+PONG\r\n");
        else s.destroy();
      });
    });
    http = createHttpServer((_req, res) => res.writeHead(200, { server: "test" }).end("ok"));
    h2 = createH2Server((_req, res) => res.writeHead(404).end());
    grpc = createH2Server();
    grpc.on("stream", (stream) => {
      stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
      stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "12" }));
      stream.end();
    });
    for (const [name, s] of Object.entries({ silent, junk, redisLike, http, h2, grpc }))
      ports[name] = await listen(s);
  });
  after(() => {
    for (const s of sockets) s.destroy();
    http.closeAllConnections();
    for (const s of [silent, junk, redisLike, http, h2, grpc]) s.close();
  });

  test("redis protocol on an unusual port", async () => {
    const r = await identifyPort("127.0.0.1", ports.redisLike!, opts);
    assert.equal(r.match?.protocol, "redis");
  });
  test("HTTP/1.1", async () => {
    const r = await identifyPort("127.0.0.1", ports.http!, opts);
    assert.equal(r.match?.protocol, "http");
    assert.match(r.match?.detail ?? "", /HTTP\/1\.1 200 test/);
  });
  test("h2c prior knowledge and gRPC", async () => {
    assert.equal((await identifyPort("127.0.0.1", ports.h2!, opts)).match?.protocol, "http2");
    assert.equal((await identifyPort("127.0.0.1", ports.grpc!, opts)).match?.protocol, "grpc");
  });
  test("a server that never answers is bounded, noted, and recorded as unknown: no reply", async () => {
    const started = Date.now();
    const r = await identifyPort("127.0.0.1", ports.silent!, opts);
    assert.ok(Date.now() - started < opts.budgetMs + 500, `took ${Date.now() - started} ms`);
    assert.equal(r.match?.protocol, "unknown", JSON.stringify(r));
    assert.match(r.match?.reason ?? "", /^no reply within \d+ ms$/);
    const waited = Number(/(\d+) ms/.exec(r.match?.reason ?? "")?.[1]);
    assert.ok(waited >= opts.bannerMs - 50 && waited <= opts.budgetMs + 100, `waited ${waited} ms`);
    assert.ok(
      r.notes.some((n) => /no probe recognised|stopped/.test(n)),
      r.notes.join("; "),
    );
  });
  test("binary greeting: unknown, with a hex excerpt and the reason", async () => {
    const r = await identifyPort("127.0.0.1", ports.junk!, opts);
    assert.equal(r.match?.protocol, "unknown");
    assert.match(r.match?.detail ?? "", /speaks first/);
    assert.equal(r.match?.reason, "unrecognised binary greeting");
  });
  test("binary replies to every request: unknown, unrecognised binary reply", async () => {
    const garbage = createServer((s) => {
      track(s);
      s.on("data", () => s.write(Buffer.from([0xde, 0xad, 0xbe, 0xef, 0x00, 0x01, 0x02, 0x03])));
    });
    const port = await listen(garbage);
    const r = await identifyPort("127.0.0.1", port, opts);
    garbage.close();
    assert.equal(r.match?.protocol, "unknown", JSON.stringify(r));
    assert.equal(r.match?.reason, "unrecognised binary reply");
    assert.match(r.match?.detail ?? "", /deadbeef/);
  });
  test("a server that hangs up at once without a word: unknown, closed without a reply", async () => {
    const rude = createServer((s) => s.destroy());
    const port = await listen(rude);
    const r = await identifyPort("127.0.0.1", port, opts);
    rude.close();
    assert.equal(r.match?.protocol, "unknown", JSON.stringify(r));
    assert.equal(r.match?.reason, "closed without a reply");
  });
  test("closed port: a note, quickly", async () => {
    const closed = createServer();
    const port = await listen(closed);
    closed.close();
    const r = await identifyPort("127.0.0.1", port, opts);
    assert.equal(r.match, undefined);
    assert.match(r.notes[0] ?? "", /cannot connect/);
  });
  test("exchange keeps at most 64 KiB of a flood", async () => {
    const flood = createServer((s) => {
      track(s);
      const chunk = Buffer.alloc(16 * 1024, 0x41);
      const push = () => {
        while (!s.destroyed && s.write(chunk));
      };
      s.on("drain", push);
      push();
    });
    const port = await listen(flood);
    const r = await exchange("127.0.0.1", port, undefined, { timeoutMs: 1000 });
    flood.close();
    assert.ok(r.data.length <= 96 * 1024 && r.data.length >= 64 * 1024, String(r.data.length));
  });
});

import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { isPrometheusText, scanHttpEndpoints } from "../../src/discovery/http-endpoints.js";
import { nmapVerdict, parseNmapXml } from "../../src/discovery/nmap.js";

describe("isPrometheusText", () => {
  test("by content type or by content", () => {
    assert.ok(isPrometheusText("text/plain; version=0.0.4; charset=utf-8", ""));
    assert.ok(
      isPrometheusText("text/plain", '# HELP up Up.\n# TYPE up gauge\nup 1\nreqs_total{code="200"} 12\n'),
    );
    assert.ok(!isPrometheusText("application/json", '{"status":"ok"}'));
    assert.ok(!isPrometheusText("text/plain", "# TYPE is a comment here\nhello world\n"));
  });
});

describe("scanHttpEndpoints against a local server", () => {
  let server: Server;
  let port = 0;
  before(async () => {
    server = createServer((req, res) => {
      if (req.url === "/health")
        return res.writeHead(200, { "content-type": "application/json" }).end('{"ok":true}');
      if (req.url === "/metrics")
        return res.writeHead(200, { "content-type": "text/plain" }).end("# TYPE hits counter\nhits 3\n");
      if (req.url === "/ready") return res.writeHead(503).end();
      if (req.url === "/status") return undefined; // hangs: must be bounded
      return res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    port = (server.address() as AddressInfo).port;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });
  test("reports answering paths with status, type and Prometheus flag; hanging paths are bounded", async () => {
    const started = Date.now();
    const endpoints = await scanHttpEndpoints("127.0.0.1", port, { timeoutMs: 300, concurrency: 4 });
    assert.ok(Date.now() - started < 2000);
    assert.deepEqual(
      endpoints.map((e) => `${e.path} ${e.status} ${e.contentType ?? "-"} ${e.prometheus ?? "-"}`),
      ["/health 200 application/json -", "/ready 503 - -", "/metrics 200 text/plain true"],
    );
  });
});

describe("scanHttpEndpoints on a server that is slow once", () => {
  let server: Server;
  let port = 0;
  let metricsAsked = 0;
  before(async () => {
    server = createServer((req, res) => {
      if (req.url === "/health") return res.writeHead(200).end("ok");
      if (req.url === "/metrics") {
        // The first answer comes too late (a busy worker); the second is prompt.
        const delay = ++metricsAsked === 1 ? 600 : 0;
        setTimeout(
          () => res.writeHead(200, { "content-type": "text/plain" }).end("# TYPE up gauge\nup 1\n"),
          delay,
        );
        return undefined;
      }
      return res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    port = (server.address() as AddressInfo).port;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });
  test("a path that timed out while others answered is asked once more", async () => {
    const endpoints = await scanHttpEndpoints("127.0.0.1", port, { timeoutMs: 300, concurrency: 4 });
    assert.deepEqual(
      endpoints.map((e) => `${e.path} ${e.status} ${e.prometheus ?? "-"}`),
      ["/health 200 -", "/metrics 200 true"],
    );
    assert.equal(metricsAsked, 2);
  });
});

describe("nmap -oX parsing", () => {
  const xml = `<?xml version="1.0"?><nmaprun><host><ports>
<port protocol="tcp" portid="7001"><state state="open" reason="syn-ack"/><service name="redis" product="Redis key-value store" version="7.0.15" method="probed" conf="10"/></port>
<port protocol="tcp" portid="9200"><state state="open"/><service name="http" product="Elasticsearch REST API" version="8.13.0" method="probed"/></port>
<port protocol="tcp" portid="4444"><state state="open"/><service name="krb524?" method="table"/></port>
<port protocol="tcp" portid="5555"><state state="closed"/></port>
</ports></host></nmaprun>`;
  test("ports, states and services", () => {
    const services = parseNmapXml(xml);
    assert.equal(services.length, 4);
    assert.deepEqual(
      services.map((s) => `${s.port} ${s.state} ${s.name}`),
      ["7001 open redis", "9200 open http", "4444 open krb524?", "5555 closed unknown"],
    );
    assert.deepEqual(
      services.map((s) => nmapVerdict(s).protocol),
      ["redis", "elasticsearch", "unknown", "unknown"],
    );
    assert.equal(nmapVerdict(services[0]!).detail, "nmap redis Redis key-value store 7.0.15");
  });
});

/**
 * Elasticsearch log evidence against Elasticsearch's documented _search contract. Elasticsearch
 * cannot be installed here (not in Debian, no image pulls), so a local HTTP server on 127.0.0.1 answers
 * the real @elastic/elasticsearch client: it sends the `x-elastic-product: Elasticsearch` header the
 * client's product check requires, and evaluates the parts of the query faultline sends (range on
 * @timestamp, match_phrase on container.id / container.name, size, sort, track_total_hits) over the
 * documents Logstash would have indexed.
 */
import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import type { ElasticsearchConfig } from "../../src/integrations/config.js";
import { elasticClient, elasticEvidence, ElasticLogSource } from "../../src/integrations/elasticsearch.js";
import type { RunRecord } from "../../src/run/record.js";
import { makeProfile } from "../support/profile-fixtures.js";

interface Doc {
  "@timestamp": string;
  message: string;
  container: { id: string };
  stream: string;
}

const T0 = Date.parse("2025-01-01T10:00:00.000Z");
const at = (s: number) => new Date(T0 + s * 1000).toISOString();

const storefront = makeProfile("storefront", { project: "shop", networks: { shop_default: "172.30.0.5" } });
const sessions = makeProfile("sessions", { project: "shop", networks: { shop_default: "172.30.0.6" } });

function docs(): Doc[] {
  const out: Doc[] = [];
  const line = (c: string, s: number, message: string) =>
    out.push({ "@timestamp": at(s), message: `${message}\n`, container: { id: c }, stream: "stdout" });
  // Baseline (60 s before the injection at T0+60): access logs, one harmless warning.
  for (let s = 0; s < 60; s += 2) line(storefront.containerId, s, `GET /cart 200 ${s}ms`);
  line(storefront.containerId, 30, "WARN slow query took 120ms");
  // Fault window (T0+60 .. T0+90): storefront times out talking to sessions.
  for (let s = 60; s < 90; s++)
    line(storefront.containerId, s, "GET /cart failed: upstream sessions:8080 timed out after 2000ms");
  for (let s = 60; s < 90; s += 3) line(sessions.containerId, s, "GC pause 3ms");
  return out;
}

interface Received {
  method: string;
  path: string;
  contentType: string;
  body: Record<string, unknown>;
}

function fakeElasticsearch(opts: { productHeader?: boolean } = {}) {
  const received: Received[] = [];
  const all = docs();
  const server = createServer((req, res) => {
    void readBody(req).then((raw) => {
      const url = new URL(req.url ?? "/", "http://x");
      const body = raw ? (JSON.parse(raw) as Record<string, unknown>) : {};
      received.push({
        method: req.method ?? "",
        path: url.pathname,
        contentType: String(req.headers["content-type"]),
        body,
      });
      if (opts.productHeader !== false) res.setHeader("x-elastic-product", "Elasticsearch");
      res.setHeader("content-type", "application/vnd.elasticsearch+json;compatible-with=8");
      if (!/^\/[^/]+\/_search$/.test(url.pathname) || req.method !== "POST") {
        res.statusCode = 404;
        res.end(JSON.stringify({ error: { type: "unsupported", reason: url.pathname }, status: 404 }));
        return;
      }
      const hits = search(all, body);
      res.end(
        JSON.stringify({
          took: 1,
          timed_out: false,
          _shards: { total: 1, successful: 1, skipped: 0, failed: 0 },
          hits: {
            total: { value: hits.total, relation: "eq" },
            max_score: null,
            hits: hits.page.map((d, i) => ({
              _index: "faultline-logs-2025.01.01",
              _id: String(i),
              _score: null,
              _source: d,
              sort: [Date.parse(d["@timestamp"])],
            })),
          },
        }),
      );
    });
  });
  return { server, received };
}

/** The subset of the query DSL faultline sends, evaluated like Elasticsearch would. */
function search(all: Doc[], body: Record<string, unknown>): { total: number; page: Doc[] } {
  type Filter = Record<string, Record<string, unknown>>;
  const filters = ((body.query as { bool: { filter: Filter[] } }).bool.filter ?? []) as Filter[];
  let docsLeft = all;
  for (const f of filters) {
    if (f.range) {
      const r = f.range["@timestamp"] as { gte: string; lt: string };
      docsLeft = docsLeft.filter((d) => d["@timestamp"] >= r.gte && d["@timestamp"] < r.lt);
    } else if (f.bool) {
      const should = (f.bool as { should: { match_phrase: Record<string, string> }[] }).should;
      docsLeft = docsLeft.filter((d) =>
        should.some(({ match_phrase }) =>
          Object.entries(match_phrase).some(([field, v]) => field === "container.id" && d.container.id === v),
        ),
      );
    }
  }
  const sorted = [...docsLeft].sort((a, b) => a["@timestamp"].localeCompare(b["@timestamp"]));
  return { total: sorted.length, page: sorted.slice(0, Number(body.size ?? 10)) };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let s = "";
    req.on("data", (d: Buffer) => (s += d.toString()));
    req.on("end", () => resolve(s));
  });
}

const record: RunRecord = {
  runId: "r1",
  startedAt: at(0),
  status: "completed",
  dryRun: false,
  steps: [
    {
      faultId: "f1",
      kind: "latency",
      target: "sessions",
      containerId: sessions.containerId,
      options: {},
      description: "add 2s latency on sessions",
      requestedAt: at(60),
      injectedAt: at(60),
      revertedAt: at(85),
      durationMs: 25_000,
      errors: [],
    },
  ],
};

describe("elasticsearch log evidence (Elasticsearch _search contract)", () => {
  const servers: Server[] = [];
  let url = "";
  let fake: ReturnType<typeof fakeElasticsearch>;
  before(async () => {
    fake = fakeElasticsearch();
    servers.push(fake.server);
    await new Promise<void>((r) => fake.server.listen(0, "127.0.0.1", r));
    url = `http://127.0.0.1:${(fake.server.address() as AddressInfo).port}`;
  });
  after(() => servers.forEach((s) => s.close()));

  const config = (u: string, maxLines = 500): ElasticsearchConfig => ({
    url: u,
    timeoutMs: 2000,
    index: "faultline-logs-*",
    maxLines,
  });

  test("error lines around a fault are classified like the Docker log follower's", async () => {
    const client = elasticClient(config(url));
    try {
      const source = new ElasticLogSource(client, config(url), [storefront, sessions]);
      const [step] = await elasticEvidence(source, record, [storefront, sessions], {
        now: () => T0 + 120_000,
      });
      assert.deepEqual(step!.notes, []);
      assert.deepEqual(
        step!.services.map((s) => s.service),
        ["storefront"],
      );
      const ev = step!.services[0]!;
      assert.equal(ev.source, "elasticsearch");
      assert.deepEqual(
        ev.signals.map((s) => s.metric),
        ["elasticsearch.logs.timeout"],
      );
      // Peers resolve to service ids through the same resolver the monitor uses.
      assert.deepEqual(ev.errors, [{ class: "timeout", peer: "sessions", count: 30 }]);
      assert.equal(ev.firstDeviationMs, 0);
    } finally {
      await client.close();
    }
    const search = fake.received.find((r) => r.path.endsWith("/_search"))!;
    assert.equal(search.method, "POST");
    assert.equal(decodeURIComponent(search.path), "/faultline-logs-*/_search");
    assert.match(search.contentType, /application\/(vnd\.elasticsearch\+)?json/);
  });

  test("a capped sample is scaled to the window's total and says so", async () => {
    const client = elasticClient(config(url, 10));
    try {
      const source = new ElasticLogSource(client, config(url, 10), [storefront, sessions]);
      const [step] = await elasticEvidence(source, record, [storefront], { now: () => T0 + 120_000 });
      const signal = step!.services[0]!.signals[0]!;
      assert.match(signal.text, /classified 10 of 30 lines/);
      assert.equal(
        step!.services[0]!.errors.reduce((n, e) => n + e.count, 0),
        30,
      );
    } finally {
      await client.close();
    }
  });

  test("a server that is not Elasticsearch (no product header) is a note, not a crash", async () => {
    const impostor = fakeElasticsearch({ productHeader: false });
    servers.push(impostor.server);
    await new Promise<void>((r) => impostor.server.listen(0, "127.0.0.1", r));
    const u = `http://127.0.0.1:${(impostor.server.address() as AddressInfo).port}`;
    const client = elasticClient(config(u));
    try {
      const source = new ElasticLogSource(client, config(u), [storefront]);
      const [step] = await elasticEvidence(source, record, [storefront], { now: () => T0 + 120_000 });
      assert.equal(step!.services.length, 0);
      assert.match(step!.notes[0]!, /storefront.*not Elasticsearch|product/i);
    } finally {
      await client.close();
    }
  });
});

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { buildGraph, EVIDENCE_WEIGHTS } from "../../src/graph/build.js";
import type { DependencyGraph, GraphEdge } from "../../src/graph/types.js";
import { established, hostRef, makeProfile, threeTierStack, urlRef } from "../support/profile-fixtures.js";

function edge(graph: DependencyGraph, from: string, to: string): GraphEdge | undefined {
  return graph.edges.find((e) => e.from === from && e.to === to);
}

function strongEdges(graph: DependencyGraph, min = 0.5): string[] {
  return graph.edges.filter((e) => e.confidence >= min).map((e) => `${e.from}->${e.to}`);
}

describe("buildGraph: 3-tier stack", () => {
  const graph = buildGraph(threeTierStack());

  test("finds exactly the client -> web -> stores wiring", () => {
    assert.deepEqual(strongEdges(graph).sort(), ["gateway->kv", "gateway->ledger", "storefront->gateway"]);
    assert.equal(graph.edges.length, 3, "no weak extra edges either");
  });

  test("edges combine connection, env, dns and network evidence with high confidence", () => {
    const e = edge(graph, "gateway", "ledger")!;
    assert.equal(e.port, 5432);
    assert.ok(e.confidence > 0.95, `confidence ${e.confidence}`);
    const sources = new Set(e.evidence.map((v) => v.source));
    for (const s of ["connection", "env", "dns", "network"]) assert.ok(sources.has(s as never), s);
    assert.ok(e.evidence.every((v) => !v.detail.includes("secret")));
  });

  test("server-side sockets and access-log addresses point the right way", () => {
    // kv only sees 172.21.0.4:51234 on its :6379; ledger logs the gateway's address.
    assert.equal(edge(graph, "kv", "gateway"), undefined);
    assert.equal(edge(graph, "ledger", "gateway"), undefined);
    assert.equal(edge(graph, "gateway", "storefront"), undefined);
  });

  test("nodes carry kind, confidence and ports; order puts stores first", () => {
    const kv = graph.nodes.find((n) => n.id === "kv")!;
    assert.equal(kv.kind, "redis");
    assert.deepEqual(kv.ports, [{ port: 6379, protocol: "tcp", source: "listening" }]);
    assert.deepEqual(graph.order, ["kv", "ledger", "gateway", "storefront"]);
  });

  test("confidences are in [0,1] and the output is deterministic", () => {
    for (const e of graph.edges) assert.ok(e.confidence >= 0 && e.confidence <= 1);
    assert.deepEqual(buildGraph([...threeTierStack()].reverse()), graph);
  });
});

describe("buildGraph: single kinds of evidence", () => {
  const net = (ip: string) => ({ app_default: ip });

  test("a service referenced only by env is an edge above the threshold", () => {
    const graph = buildGraph([
      makeProfile("worker", {
        project: "app",
        networks: net("10.0.0.2"),
        env: [hostRef("QUEUE_HOST", "mq", 5672)],
      }),
      makeProfile("mq", { project: "app", kind: "rabbitmq", ports: [5672], networks: net("10.0.0.3") }),
    ]);
    const e = edge(graph, "worker", "mq")!;
    assert.ok(e.confidence >= 0.5 && e.confidence < 0.9, `confidence ${e.confidence}`);
    assert.equal(e.port, 5672);
    assert.deepEqual(
      e.evidence.map((v) => v.source),
      ["env", "dns", "network"],
    );
  });

  test("a log-only mention is an edge below the default threshold", () => {
    const graph = buildGraph([
      makeProfile("reporter", { project: "app", networks: net("10.0.0.2"), logMentions: ["archive:9000"] }),
      makeProfile("archive", { project: "app", ports: [9000], networks: net("10.0.0.3") }),
    ]);
    const e = edge(graph, "reporter", "archive")!;
    assert.ok(e.confidence > 0 && e.confidence < 0.5, `confidence ${e.confidence}`);
    assert.deepEqual(graph.order, ["archive", "reporter"].sort());
  });

  test("env beats logs: env+log confidence > env alone > log alone", () => {
    const mk = (env: boolean, log: boolean) =>
      edge(
        buildGraph([
          makeProfile("a", {
            project: "p",
            networks: net("10.0.0.2"),
            env: env ? [hostRef("B_HOST", "b", 80)] : [],
            logMentions: log ? ["b:80"] : [],
          }),
          makeProfile("b", { project: "p", ports: [80], networks: net("10.0.0.3") }),
        ]),
        "a",
        "b",
      )!.confidence;
    assert.ok(mk(true, true) > mk(true, false));
    assert.ok(mk(true, false) > mk(false, true));
  });

  test("a connection-only edge (no names anywhere) is strong and has the served port", () => {
    const graph = buildGraph([
      makeProfile("poller", {
        networks: net("10.0.0.2"),
        connections: [established("10.0.0.2:45000", "10.0.0.9:11211")],
      }),
      makeProfile("blob", { kind: "memcached", ports: [11211], networks: net("10.0.0.9") }),
    ]);
    const e = edge(graph, "poller", "blob")!;
    assert.ok(e.confidence >= EVIDENCE_WEIGHTS.connectionClientSide, `confidence ${e.confidence}`);
    assert.equal(e.port, 11211);
    assert.equal(e.evidence[0]!.source, "connection");
  });

  test("a connection seen only on the server side still points client -> server", () => {
    const graph = buildGraph([
      makeProfile("poller", { networks: net("10.0.0.2") }),
      makeProfile("blob", {
        ports: [11211],
        networks: net("10.0.0.9"),
        connections: [established("10.0.0.9:11211", "::ffff:10.0.0.2:45000".replace("::ffff:", ""))],
      }),
    ]);
    assert.deepEqual(strongEdges(graph), ["poller->blob"]);
  });

  test("sharing a network alone never makes an edge", () => {
    const graph = buildGraph([
      makeProfile("a", { project: "p", ports: [80], networks: net("10.0.0.2") }),
      makeProfile("b", { project: "p", ports: [81], networks: net("10.0.0.3") }),
      makeProfile("c", { project: "p", networks: net("10.0.0.4") }),
    ]);
    assert.deepEqual(graph.edges, []);
    assert.equal(graph.order.length, 3);
  });

  test("an edge between services on no common network is penalised and flagged", () => {
    const both = (netB: string) =>
      buildGraph([
        makeProfile("a", { project: "p", networks: { front: "10.1.0.2" }, env: [hostRef("B", "b", 80)] }),
        makeProfile("b", { project: "p", ports: [80], networks: { [netB]: "10.2.0.3" } }),
      ]);
    const isolated = edge(both("back"), "a", "b")!;
    const shared = edge(both("front"), "a", "b")!;
    assert.ok(isolated.confidence < shared.confidence);
    assert.ok(
      isolated.evidence.some((v) => v.source === "network" && v.detail.startsWith("no shared network")),
    );
  });

  test("self references and loopback never make edges", () => {
    const graph = buildGraph([
      makeProfile("api", {
        project: "p",
        ports: [8080],
        networks: net("10.0.0.2"),
        env: [hostRef("SELF", "api", 8080), urlRef("LOCAL", "http://localhost:8080/")],
        connections: [
          established("10.0.0.2:50000", "10.0.0.2:8080"),
          established("127.0.0.1:50001", "127.0.0.1:8080"),
        ],
        logMentions: ["api:8080", "127.0.0.1:8080"],
      }),
    ]);
    assert.deepEqual(graph.edges, []);
  });

  test("external hosts are not nodes and make no edges", () => {
    const graph = buildGraph([
      makeProfile("api", {
        project: "p",
        networks: net("10.0.0.2"),
        env: [urlRef("PAYMENTS", "https://api.stripe.com/v1"), hostRef("SMTP_HOST", "mail.example.org", 25)],
        connections: [established("10.0.0.2:50000", "93.184.216.34:443")],
        logMentions: ["https://api.stripe.com/v1/charges", "8.8.8.8"],
      }),
    ]);
    assert.deepEqual(
      graph.nodes.map((n) => n.id),
      ["api"],
    );
    assert.deepEqual(graph.edges, []);
  });

  test("names resolve through aliases, container names, hostnames and IPs", () => {
    const graph = buildGraph([
      makeProfile("client", {
        project: "p",
        networks: net("10.0.0.2"),
        env: [
          hostRef("A", "primary-store", 5432),
          hostRef("B", "p-search-1", 9200),
          hostRef("C", "cachehost", 6379),
          hostRef("D", "10.0.0.6", 4222),
        ],
      }),
      makeProfile("db", {
        project: "p",
        ports: [5432],
        networks: { app_default: { ip: "10.0.0.3", aliases: ["db", "primary-store"] } },
      }),
      makeProfile("search", { project: "p", ports: [9200], networks: net("10.0.0.4") }),
      makeProfile("cache", { project: "p", ports: [6379], hostname: "cachehost", networks: net("10.0.0.5") }),
      makeProfile("bus", { project: "p", ports: [4222], networks: net("10.0.0.6") }),
    ]);
    assert.deepEqual(strongEdges(graph).sort(), [
      "client->bus",
      "client->cache",
      "client->db",
      "client->search",
    ]);
    // A hostname is not answered by Docker DNS: no dns evidence for it.
    assert.ok(!edge(graph, "client", "cache")!.evidence.some((v) => v.source === "dns"));
    assert.ok(edge(graph, "client", "db")!.evidence.some((v) => v.source === "dns"));
  });

  test("replicas of one compose service merge into one node; equal names across projects stay apart", () => {
    const a1 = makeProfile("api", {
      project: "one",
      containerName: "one-api-1",
      ports: [80],
      networks: { one_default: "10.0.1.2" },
    });
    const a2 = makeProfile("api", {
      project: "one",
      containerName: "one-api-2",
      ports: [80],
      networks: { one_default: "10.0.1.3" },
    });
    const b = makeProfile("api", { project: "two", ports: [80], networks: { two_default: "10.0.2.2" } });
    const c = makeProfile("caller", {
      project: "two",
      networks: { two_default: "10.0.2.3" },
      env: [hostRef("API", "api", 80)],
    });
    const graph = buildGraph([a1, a2, b, c]);
    assert.deepEqual(
      graph.nodes.map((n) => n.id),
      ["caller", "one/api", "two/api"],
    );
    // "api" resolves through DNS on two_default only, so the caller depends on two's api alone.
    assert.deepEqual(strongEdges(graph), ["caller->two/api"]);
  });
});

describe("buildGraph: scale", () => {
  test("200 services build quickly and every node is ordered once", () => {
    const profiles = [];
    for (let i = 0; i < 200; i++) {
      const deps = i < 20 ? [] : [i % 20, (i * 7) % 20];
      profiles.push(
        makeProfile(`svc${i}`, {
          project: "big",
          ports: [8000 + i],
          networks: { big_default: `10.9.${Math.floor(i / 250)}.${(i % 250) + 2}` },
          env: deps.map((d) => hostRef(`DEP_${d}`, `svc${d}`, 8000 + d)),
        }),
      );
    }
    const started = performance.now();
    const graph = buildGraph(profiles);
    assert.ok(performance.now() - started < 1000);
    assert.equal(graph.order.length, 200);
    assert.equal(new Set(graph.order).size, 200);
    assert.ok(graph.edges.length >= 180);
    // Every dependency comes before its dependents.
    const pos = new Map(graph.order.map((id, i) => [id, i]));
    for (const e of graph.edges) assert.ok(pos.get(e.to)! < pos.get(e.from)!, `${e.from}->${e.to}`);
  });
});

test("replicas whose profiles carry different ids still form one node named after the service", () => {
  const r1 = makeProfile("api", {
    project: "one",
    containerName: "one-api-1",
    ports: [80],
    networks: { n: "10.0.0.2" },
  });
  const r2 = {
    ...makeProfile("api", {
      project: "one",
      containerName: "one-api-2",
      ports: [80],
      networks: { n: "10.0.0.3" },
    }),
    id: "one-api-2",
  };
  const caller = makeProfile("caller", {
    project: "one",
    networks: { n: "10.0.0.4" },
    connections: [established("10.0.0.4:40000", "10.0.0.3:80")],
  });
  const graph = buildGraph([r2, caller, r1]);
  assert.deepEqual(
    graph.nodes.map((n) => n.id),
    ["api", "caller"],
  );
  assert.deepEqual(strongEdges(graph), ["caller->api"]);
});

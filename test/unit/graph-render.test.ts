import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { buildGraph } from "../../src/graph/build.js";
import { blastRadii } from "../../src/graph/order.js";
import { renderGraphJson, toGraphJson } from "../../src/graph/render-json.js";
import { escapeLabel, mermaidIds, renderMermaid } from "../../src/graph/render-mermaid.js";
import { renderGraphTable } from "../../src/graph/render-table.js";
import { hostRef, makeProfile, threeTierStack } from "../support/profile-fixtures.js";

const graph = buildGraph(threeTierStack());

describe("JSON renderer", () => {
  test("has exactly the contract's keys", () => {
    const parsed = JSON.parse(renderGraphJson(graph));
    assert.deepEqual(Object.keys(parsed), ["nodes", "edges", "order"]);
    for (const n of parsed.nodes) {
      assert.deepEqual(Object.keys(n), ["id", "kind", "confidence", "ports", "endpoints"]);
    }
    for (const e of parsed.edges) {
      assert.deepEqual(
        Object.keys(e).filter((k) => k !== "port"),
        ["from", "to", "confidence", "evidence"],
      );
      for (const v of e.evidence) assert.deepEqual(Object.keys(v), ["source", "detail"]);
    }
    assert.deepEqual(parsed, toGraphJson(graph));
  });

  test("does not leak masked secrets", () => {
    assert.ok(!renderGraphJson(graph).includes("hunter2"));
    assert.ok(renderGraphJson(graph).includes("app:****@ledger"));
  });
});

describe("Mermaid renderer", () => {
  test("graph LR with kind labels, port/confidence edge labels and kind classes", () => {
    const text = renderMermaid(graph);
    assert.match(text, /^graph LR\n/);
    assert.match(text, /svc_kv\["kv<br\/>redis"\]:::cache/);
    assert.match(text, /svc_gateway -->\|":6379 · 0\.\d\d"\| svc_kv/);
    assert.match(text, /classDef datastore /);
  });

  test("odd names get safe ids and escaped labels", () => {
    const odd = buildGraph([
      makeProfile("end", {
        project: "p",
        networks: { n: "10.0.0.2" },
        env: [hostRef("X", 'we"ird<name>', 80)],
      }),
      makeProfile('we"ird<name>', { project: "p", ports: [80], networks: { n: "10.0.0.3" } }),
    ]);
    const text = renderMermaid(odd);
    assert.ok(!/\["[^"]*"[^\]]*"\]/.test(text.replace(/\["[^"\n]*"\]/g, "")), text);
    assert.ok(text.includes("svc_end"));
    assert.ok(text.includes("we#34;ird#60;name#62;"));
    assert.equal(escapeLabel("a#b"), "a#35;b");
    const ids = mermaidIds(["a.b", "a-b", "a_b"]);
    assert.equal(new Set(ids.values()).size, 3);
  });

  test("style map colours nodes and edges, weak edges are dotted, CSS injection is dropped", () => {
    const weak = buildGraph([
      makeProfile("a", { project: "p", networks: { n: "10.0.0.2" }, logMentions: ["b"] }),
      makeProfile("b", { project: "p", networks: { n: "10.0.0.3" } }),
    ]);
    const text = renderMermaid(weak, {
      style: {
        nodes: { b: { fill: "#ff0000", note: "p95 +300%" }, a: { fill: "red\nclick a call x()" } },
        edges: { "a->b": { stroke: "#f00", strokeWidth: "3px" } },
      },
    });
    assert.match(text, /svc_a -\.->/);
    assert.match(text, /style svc_b fill:#ff0000/);
    assert.match(text, /p95 #43;300%|p95 \+300%/);
    assert.match(text, /linkStyle 0 stroke:#f00,stroke-width:3px/);
    assert.ok(!text.includes("click"));
  });
});

describe("table renderer", () => {
  test("lists nodes, edges with evidence summary, order and blast radius", () => {
    const text = renderGraphTable(graph, { blastRadius: blastRadii(graph), minConfidence: 0.5 });
    assert.match(text, /^SERVICES \(4\)/);
    assert.match(text, /kv\s+redis\s+0\.90\s+6379\/tcp\s+2: gateway, storefront/);
    assert.match(text, /gateway\s+ledger\s+5432\s+0\.\d\d\s+connection x2 \(/);
    assert.match(text, /TEST ORDER: kv -> ledger -> gateway -> storefront/);
  });
});

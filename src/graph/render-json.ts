/** The JSON contract of src/graph/types.ts, with keys in a fixed order and nothing else. */
import type { DependencyGraph } from "./types.js";

export function toGraphJson(graph: DependencyGraph): DependencyGraph {
  return {
    nodes: graph.nodes.map((n) => ({
      id: n.id,
      kind: n.kind,
      confidence: n.confidence,
      ports: n.ports.map((p) => ({
        port: p.port,
        protocol: p.protocol,
        ...(p.service !== undefined ? { service: p.service } : {}),
        source: p.source,
      })),
      endpoints: n.endpoints.map((e) => ({ port: e.port, path: e.path, status: e.status })),
      ...(n.state !== undefined ? { state: n.state } : {}),
    })),
    edges: graph.edges.map((e) => ({
      from: e.from,
      to: e.to,
      confidence: e.confidence,
      ...(e.port !== undefined ? { port: e.port } : {}),
      evidence: e.evidence.map((v) => ({ source: v.source, detail: v.detail })),
    })),
    order: [...graph.order],
  };
}

export function renderGraphJson(graph: DependencyGraph): string {
  return `${JSON.stringify(toGraphJson(graph), null, 2)}\n`;
}

/** Human-readable graph: nodes, edges with a one-line evidence summary, the test order, blast radii. */
import { formatColumns } from "../util/table.js";
import type { DependencyGraph, EvidenceSource } from "./types.js";

export interface TableOptions {
  /** Blast radius per node id; adds a column when given. */
  blastRadius?: Map<string, string[]>;
  /** Edges below this are marked as not counted for order and blast radius. */
  minConfidence?: number;
}

export function renderGraphTable(graph: DependencyGraph, options: TableOptions = {}): string {
  const out: string[] = [];
  const radius = options.blastRadius;
  out.push(`SERVICES (${graph.nodes.length})`);
  out.push(
    formatColumns(
      ["ID", "KIND", "CONF", "PORTS", ...(radius ? ["BLAST RADIUS"] : [])],
      graph.nodes.map((n) => [
        n.id,
        n.kind,
        n.confidence.toFixed(2),
        n.ports.map((p) => `${p.port}/${p.protocol}${p.service ? ` ${p.service}` : ""}`).join(", ") || "-",
        ...(radius ? [formatRadius(radius.get(n.id) ?? [])] : []),
      ]),
    ),
  );
  const stopped = graph.nodes.filter((n) => n.state !== undefined);
  if (stopped.length) {
    out.push(`NOT RUNNING: ${stopped.map((n) => `${n.id} (${n.state})`).join(", ")}`);
  }
  out.push("");
  out.push(`DEPENDENCIES (${graph.edges.length}, client -> server)`);
  if (graph.edges.length === 0) out.push("none found");
  else {
    const min = options.minConfidence;
    out.push(
      formatColumns(
        ["FROM", "TO", "PORT", "CONF", "EVIDENCE"],
        graph.edges.map((e) => [
          e.from,
          e.to,
          e.port !== undefined ? String(e.port) : "-",
          `${e.confidence.toFixed(2)}${min !== undefined && e.confidence < min ? "*" : ""}`,
          summariseEvidence(e.evidence),
        ]),
      ),
    );
    if (min !== undefined && graph.edges.some((e) => e.confidence < min)) {
      out.push(`* below ${min}: shown, but not used for order or blast radius`);
    }
  }
  out.push("");
  out.push(`TEST ORDER: ${graph.order.join(" -> ") || "-"}`);
  return `${out.join("\n")}\n`;
}

function formatRadius(ids: string[]): string {
  return ids.length ? `${ids.length}: ${ids.join(", ")}` : "0";
}

/** "connection x2, env (DB_URL=…), network" style summary: sources in rank order with the first detail. */
export function summariseEvidence(evidence: { source: EvidenceSource; detail: string }[]): string {
  const bySource = new Map<EvidenceSource, string[]>();
  for (const e of evidence) bySource.set(e.source, [...(bySource.get(e.source) ?? []), e.detail]);
  return [...bySource.entries()]
    .map(([source, details]) => {
      const first = details[0]!.length > 90 ? `${details[0]!.slice(0, 87)}...` : details[0]!;
      return `${source}${details.length > 1 ? ` x${details.length}` : ""} (${first})`;
    })
    .join("; ");
}

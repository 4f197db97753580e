/** Colours the dependency map by observed impact (worst over all faults of the run). */
import type { RunAnalysis, Severity } from "../analysis/types.js";
import type { MermaidStyleMap } from "../graph/render-mermaid.js";

const RANK: Record<Severity, number> = { none: 0, minor: 1, major: 2, critical: 3 };
export const SEVERITY_FILL: Record<Severity, string> = {
  critical: "#fca5a5",
  major: "#fdba74",
  minor: "#fde68a",
  none: "#bbf7d0",
};

export function impactStyle(analysis: RunAnalysis, includeHidden: boolean): MermaidStyleMap {
  const nodes: NonNullable<MermaidStyleMap["nodes"]> = {};
  const edges: NonNullable<MermaidStyleMap["edges"]> = {};
  const worst = new Map<string, Severity>();
  const hits = new Map<string, number>();
  const bump = (id: string, s: Severity) => {
    if (RANK[s] > RANK[worst.get(id) ?? "none"] || !worst.has(id)) worst.set(id, s);
  };
  for (const step of analysis.steps) {
    if (!step.analyzed) continue;
    nodes[step.target] = { ...(nodes[step.target] ?? {}), stroke: "#0f172a", strokeWidth: "3px" };
    for (const i of step.impacted) {
      bump(i.service, step.severity === "none" ? "minor" : step.severity);
      hits.set(i.service, (hits.get(i.service) ?? 0) + 1);
    }
    for (const e of step.confirmedEdges)
      edges[`${e.from}->${e.to}`] = { stroke: "#dc2626", strokeWidth: "3px", note: "impact" };
    for (const e of step.resilientEdges)
      edges[`${e.from}->${e.to}`] ??= { stroke: "#16a34a", strokeWidth: "2px", note: "resilient" };
    for (const e of step.unobservedEdges ?? [])
      edges[`${e.from}->${e.to}`] ??= { stroke: "#94a3b8", strokeWidth: "2px", note: "not observed" };
    if (includeHidden)
      for (const e of step.hiddenEdges)
        edges[`${e.from}->${e.to}`] = { stroke: "#7c3aed", strokeWidth: "3px", note: "hidden" };
  }
  for (const [id, s] of worst)
    nodes[id] = { ...(nodes[id] ?? {}), fill: SEVERITY_FILL[s], note: `impacted ${hits.get(id) ?? 0}×` };
  return { nodes, edges };
}

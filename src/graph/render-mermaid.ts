/**
 * Mermaid flowchart of the graph (`graph LR`). Service names can hold anything Docker allows, and
 * Mermaid has reserved words (`end`, `graph` …), so node ids are generated and labels are escaped.
 * An optional style map colours nodes/edges (e.g. by measured impact) without changing the layout.
 */
import type { ServiceKind } from "../discovery/profile.js";
import { DEFAULT_MIN_CONFIDENCE } from "./order.js";
import type { DependencyGraph } from "./types.js";

export interface MermaidNodeStyle {
  fill?: string;
  stroke?: string;
  color?: string;
  strokeWidth?: string;
  /** Extra line under the label, e.g. "p95 +340%". */
  note?: string;
}

export interface MermaidEdgeStyle {
  stroke?: string;
  strokeWidth?: string;
  /** Extra text appended to the edge label. */
  note?: string;
}

export interface MermaidStyleMap {
  /** By node id. */
  nodes?: Record<string, MermaidNodeStyle>;
  /** By `${from}->${to}`. */
  edges?: Record<string, MermaidEdgeStyle>;
}

export interface MermaidOptions {
  /** Edges below this are drawn dotted. */
  minConfidence?: number;
  style?: MermaidStyleMap;
}

type KindClass = "datastore" | "cache" | "queue" | "search" | "web" | "client" | "other";

const KIND_CLASS: Record<ServiceKind, KindClass> = {
  postgresql: "datastore",
  mysql: "datastore",
  mongodb: "datastore",
  redis: "cache",
  memcached: "cache",
  rabbitmq: "queue",
  kafka: "queue",
  nats: "queue",
  mqtt: "queue",
  elasticsearch: "search",
  http: "web",
  grpc: "web",
  worker: "client",
  client: "client",
  smtp: "other",
  tcp: "other",
  unknown: "other",
};

const CLASS_DEFS: Record<KindClass, string> = {
  datastore: "fill:#dbeafe,stroke:#1d4ed8,color:#0f172a",
  cache: "fill:#fee2e2,stroke:#b91c1c,color:#0f172a",
  queue: "fill:#fef3c7,stroke:#b45309,color:#0f172a",
  search: "fill:#ede9fe,stroke:#6d28d9,color:#0f172a",
  web: "fill:#dcfce7,stroke:#15803d,color:#0f172a",
  client: "fill:#f1f5f9,stroke:#475569,color:#0f172a",
  other: "fill:#ffffff,stroke:#64748b,color:#0f172a",
};

export function renderMermaid(graph: DependencyGraph, options: MermaidOptions = {}): string {
  const min = options.minConfidence ?? DEFAULT_MIN_CONFIDENCE;
  const ids = mermaidIds(graph.nodes.map((n) => n.id));
  const lines = ["graph LR"];
  const used = new Set<KindClass>();
  for (const node of graph.nodes) {
    const cls = KIND_CLASS[node.kind] ?? "other";
    used.add(cls);
    const note = options.style?.nodes?.[node.id]?.note;
    const kind = node.state ? `${node.kind} (${node.state})` : node.kind;
    const label = [escapeLabel(node.id), escapeLabel(kind), ...(note ? [escapeLabel(note)] : [])].join(
      "<br/>",
    );
    lines.push(`  ${ids.get(node.id)}["${label}"]:::${cls}`);
  }
  const linkStyles: string[] = [];
  graph.edges.forEach((edge, index) => {
    const from = ids.get(edge.from);
    const to = ids.get(edge.to);
    if (!from || !to) return;
    const style = options.style?.edges?.[`${edge.from}->${edge.to}`];
    const parts = [
      ...(edge.port !== undefined ? [`:${edge.port}`] : []),
      edge.confidence.toFixed(2),
      ...(style?.note ? [style.note] : []),
    ];
    const arrow = edge.confidence >= min ? "-->" : "-.->";
    lines.push(`  ${from} ${arrow}|"${escapeLabel(parts.join(" · "))}"| ${to}`);
    const css = cssOf({ stroke: style?.stroke, "stroke-width": style?.strokeWidth });
    if (css) linkStyles.push(`  linkStyle ${index} ${css}`);
  });
  for (const cls of [...used].sort()) lines.push(`  classDef ${cls} ${CLASS_DEFS[cls]}`);
  for (const node of graph.nodes) {
    const s = options.style?.nodes?.[node.id];
    const css = s && cssOf({ fill: s.fill, stroke: s.stroke, color: s.color, "stroke-width": s.strokeWidth });
    if (css) lines.push(`  style ${ids.get(node.id)} ${css}`);
  }
  lines.push(...linkStyles);
  return `${lines.join("\n")}\n`;
}

/** Stable, unique, Mermaid-safe ids: "svc_" + the name with anything unusual replaced. */
export function mermaidIds(names: string[]): Map<string, string> {
  const out = new Map<string, string>();
  const taken = new Set<string>();
  for (const name of names) {
    const base = `svc_${name.replace(/[^A-Za-z0-9_]/g, "_")}`;
    let id = base;
    for (let i = 2; taken.has(id); i++) id = `${base}_${i}`;
    taken.add(id);
    out.set(name, id);
  }
  return out;
}

/** Everything but plain characters becomes a Mermaid entity code (`#34;`), so no name can break the syntax. */
export function escapeLabel(text: string): string {
  return [...text]
    .map((ch) => (/^[A-Za-z0-9 _.,:/+()%·-]$/.test(ch) ? ch : `#${ch.codePointAt(0)};`))
    .join("");
}

/** Only plain CSS values pass: a style map must not be able to inject Mermaid statements. */
function cssOf(props: Record<string, string | undefined>): string {
  return Object.entries(props)
    .filter((entry): entry is [string, string] => typeof entry[1] === "string")
    .filter(([, v]) => /^[#A-Za-z0-9.%() -]+$/.test(v) && !v.includes("\n"))
    .map(([k, v]) => `${k}:${v}`)
    .join(",");
}

/** The dependency graph: directed client -> server edges, each with evidence and a confidence. */
import type { ContainerState } from "../docker/types.js";
import type { ServiceKind } from "../discovery/profile.js";

export type EvidenceSource = "connection" | "env" | "log" | "dns" | "network" | "impact";

export interface Evidence {
  source: EvidenceSource;
  detail: string;
}

export interface GraphNode {
  id: string;
  kind: ServiceKind;
  confidence: number;
  ports: { port: number; protocol: string; service?: string; source: string }[];
  endpoints: { port: number; path: string; status: number }[];
  /**
   * Set only when no container of the service runs: how discovery left it (e.g. "exited" when it stopped
   * during discovery, "gone" when it was removed). Its edges still stand; it cannot be a fault target.
   */
  state?: ContainerState;
}

export interface GraphEdge {
  from: string;
  to: string;
  confidence: number;
  /** Destination port when known (from a connection or a reference). */
  port?: number;
  evidence: Evidence[];
}

export interface DependencyGraph {
  nodes: GraphNode[];
  edges: GraphEdge[];
  /** Test order: by default most depended-on first (leaves of client -> server first). */
  order: string[];
}

export type TestOrder = "leaves-first" | "roots-first" | "random";

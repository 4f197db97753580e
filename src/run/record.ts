/**
 * The run record: one typed structure that the CLI, the HTTP API, Grafana annotations and every
 * report read. Written as the run goes (Chaos Toolkit's journal is its report's data model too).
 */
import type { FaultKind, FaultMechanism } from "../faults/kinds.js";
import type { DependencyGraph } from "../graph/types.js";

export type StepOutcome =
  | { status: "reverted" }
  | { status: "injection-failed"; error: string }
  | { status: "revert-failed"; error: string }
  | { status: "aborted"; reason: string; reverted: boolean }
  | { status: "skipped"; reason: string };

/** One fault applied during a run, with what happened around it. */
export interface FaultStep {
  faultId: string;
  kind: FaultKind;
  /** Service id (graph node id). */
  target: string;
  containerId: string;
  options: Record<string, unknown>;
  mechanism?: FaultMechanism;
  /** Human-readable: "add 200ms ±20ms latency on api -> db:5432 (outgoing) via delay-proxy". */
  description: string;
  requestedAt: string;
  injectedAt?: string;
  revertedAt?: string;
  durationMs: number;
  outcome?: StepOutcome;
  errors: string[];
  /** Set when the fault ran as part of a scenario (several faults together). */
  scenario?: { id: string; title: string; offsetMs: number };
}

/** An experiment method's probe, as it went. */
export interface ProbeRecord {
  where: string;
  description: string;
  url: string;
  at: string;
  ok: boolean;
  status?: number;
  latencyMs: number;
  error?: string;
}

export interface RunRecord {
  runId: string;
  project?: string;
  startedAt: string;
  endedAt?: string;
  status: "running" | "completed" | "aborted" | "failed";
  abortReason?: string;
  dryRun: boolean;
  graphBefore?: DependencyGraph;
  graphAfter?: DependencyGraph;
  steps: FaultStep[];
  /** An experiment method's probes, in the order they ran. */
  probes?: ProbeRecord[];
  /** The experiment file this run came from: its title (the report's heading) and its verdict. */
  experiment?: {
    title: string;
    description?: string;
    /** The file (or "POST /api/experiments"). */
    source?: string;
    verdict?: {
      held: boolean;
      summary: string;
      findings: { where: string; service?: string; text: string }[];
    };
  };
}

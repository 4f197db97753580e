/** The impact analysis of a run: what each fault did, in data a report (or an API) renders. */
import type { DependencyGraph, GraphEdge } from "../graph/types.js";
import type { FaultKind } from "../faults/kinds.js";
import type { ErrorClass, LogExample } from "../monitor/types.js";

export type Severity = "critical" | "major" | "minor" | "none";
export type Via = "direct" | "transitive" | "hidden";
export type SignalCategory = "availability" | "error" | "latency" | "resource";
export type ErrorClassName = Exclude<ErrorClass, "none">;

/** One metric that left its steady state during a fault. */
export interface Signal {
  metric: string;
  category: SignalCategory;
  /** Baseline median (or state) and the most extreme value seen in the fault window. */
  baseline: number;
  observed: number;
  /** Robust z-score of `observed` (continuous metrics). */
  z?: number;
  /** Cliff's delta baseline vs fault window (continuous metrics). */
  cliffsDelta?: number;
  /** Window rate / baseline rate (count metrics, +1 smoothed). */
  ratio?: number;
  /** When it first deviated, ms after injection (negative: before the injection call returned). */
  firstAtMs: number;
  /** Plain words: "HTTP probe p95 12 ms -> 2015 ms (z 41)". */
  text: string;
}

export interface ErrorCount {
  class: ErrorClassName;
  /** Service id (or host as written) the errors mention. */
  peer?: string;
  /** Lines of this class that were classified. */
  count: number;
  /** True when the service wrote lines the log counter could not classify: `count` is a lower bound. */
  lowerBound?: boolean;
}

export interface ServiceImpact {
  service: string;
  signals: Signal[];
  errors: ErrorCount[];
  /** ms after injection of the first deviation. */
  firstDeviationMs: number;
  /** ms after the revert until back in steady state; null when not back by the end of the window. */
  recoveredAfterMs: number | null;
  down: boolean;
  unhealthy: boolean;
  restarted: boolean;
  /** Log lines in the window that were counted but not classified (flood): error counts are lower bounds. */
  unclassifiedLines?: number;
  /** Plain words, e.g. "storefront: timeouts on HTTP calls to sessions (37 in 20 s)". */
  summary: string[];
  /**
   * Errors other services logged naming this one (what its clients saw from it): the evidence for a
   * service that said nothing itself, e.g. a proxy passing its upstream's 5xx on.
   */
  clientErrors?: ClientError[];
}

/** Errors one client logged naming a service it calls, read client → server. */
export interface ClientError {
  client: string;
  class: ErrorClassName;
  count: number;
}

export interface ImpactedService extends ServiceImpact {
  via: Via;
  /**
   * Which way the graph links it to the target: a dependent (it calls the target, the usual impact) or a
   * dependency (the target calls it, so the fault changed what reaches it, e.g. reset connections). Absent
   * for hidden impact.
   */
  side?: "dependent" | "dependency";
  /** How the impact travelled, target first (target → a → b); set when the graph or the errors show it. */
  path?: string[];
}

export interface EdgeRef {
  from: string;
  to: string;
}

export interface ChartSeries {
  service: string;
  metric: string;
  label: string;
  unit: string;
  /** [ms relative to injection, value]. */
  points: [number, number][];
  /** Fault window in the same time base. */
  faultStartMs: number;
  faultEndMs: number;
}

/** One fault of a scenario: the part of the scenario's window it had to itself, and what deviated then. */
export interface ScenarioFaultAnalysis {
  faultId: string;
  kind: FaultKind;
  target: string;
  description: string;
  /** Its window, ms after the scenario started (end: its revert, or the scenario's end). */
  startMs: number;
  endMs: number;
  /** How long no other fault of the scenario was in effect during its window. */
  exclusiveMs: number;
  /** Services that left their steady state while this fault alone was in effect (its target included). */
  deviated: { service: string; summary: string[] }[];
  /** Plain words: what is attributed to it, or why nothing can be. */
  attribution: string;
}

export interface ScenarioAnalysis {
  id: string;
  title: string;
  /** Every target of the scenario (their own deviation is expected, not counted as impact). */
  targets: string[];
  targetImpacts: ServiceImpact[];
  faults: ScenarioFaultAnalysis[];
}

export interface StepAnalysis {
  /** The fault's id, or the scenario's for a scenario of several faults. */
  faultId: string;
  /** For a scenario: its targets joined with "+". */
  target: string;
  kind: FaultKind | "scenario";
  description: string;
  outcome: string;
  injectedAt?: string;
  revertedAt?: string;
  /**
   * False when there was nothing to compare (injection failed, no samples) or when the monitor's
   * memory bound dropped samples of this fault's window: `note` says why, severity is then "none"
   * only because nothing could be judged.
   */
  analyzed: boolean;
  note?: string;
  /**
   * Services that wrote log lines faster than the monitor could classify during this fault: their
   * error counts are lower bounds ("error counts are lower bounds: N lines not classified").
   */
  unclassifiedLines?: { service: string; lines: number }[];
  severity: Severity;
  /** Which clause of the severity rule applied. */
  severityReason: string;
  /** The target's own deviation (expected by design; reported, not counted as impact). */
  targetImpact?: ServiceImpact;
  /** Services the graph says depend on the target (transitively). */
  expected: string[];
  impacted: ImpactedService[];
  confirmedEdges: EdgeRef[];
  hiddenEdges: (EdgeRef & { detail: string })[];
  /** Edges to an affected server whose client showed no impact and kept its traffic going during the fault. */
  resilientEdges: EdgeRef[];
  /**
   * Edges to an affected server whose client showed no impact but whose traffic during the fault was not
   * observed: nothing says it held up, so it is not called resilient. Absent in analyses made before.
   */
  unobservedEdges?: EdgeRef[];
  /** ms after the revert until every deviating service was back; 0 when nothing deviated; null if never. */
  recoveredAfterMs: number | null;
  summary: string[];
  charts: ChartSeries[];
  /** Set for a scenario: impact is the scenario's; each fault gets what deviated while it alone held. */
  scenario?: ScenarioAnalysis;
}

export interface TimelineEvent {
  at: string;
  stepId?: string;
  service?: string;
  kind: "inject" | "revert" | "deviation" | "recovery" | "abort";
  text: string;
}

export interface RunAnalysis {
  version: 1;
  runId: string;
  generatedAt: string;
  intervalMs: number;
  /** The severity rule, in words (also shown in reports). */
  severityRule: string[];
  /** Explicit steady-state thresholds the run was given (as written, normalised), if any. */
  thresholds?: string[];
  steps: StepAnalysis[];
  /** Edges found by impact across all steps (evidence source "impact"). */
  hiddenEdges: GraphEdge[];
  /** The graph with hidden edges added. */
  graphAfter?: DependencyGraph;
  timeline: TimelineEvent[];
  examples: LogExample[];
  notes: string[];
}

/**
 * The per-fault contract of report.json (`faults[]`), derived from the analysis. Its shape is the part
 * of the report other tools may rely on (documented in docs/report.md): every key is always present;
 * "no value" is null, never a missing key.
 */
import type {
  ErrorClassName,
  ServiceImpact,
  Severity,
  Signal,
  SignalCategory,
  StepAnalysis,
  Via,
} from "../analysis/types.js";
import type { FaultKind } from "../faults/kinds.js";

export interface FaultErrorReport {
  class: ErrorClassName;
  /** The service (or host as written) the error lines name; null when no peer could be attributed. */
  peer: string | null;
  /** Lines of this class (classified lines only: see `lowerBound`). */
  count: number;
  /** True when the service logged faster than faultline could classify: `count` is a lower bound. */
  lowerBound: boolean;
}

export interface FaultSignalReport {
  metric: string;
  category: SignalCategory;
  baseline: number;
  observed: number;
  /** ms after the injection. */
  firstAtMs: number;
  text: string;
}

export interface FaultImpactReport {
  service: string;
  via: Via;
  /** How the impact travelled, target first (target → a → b); null when the graph shows no path. */
  path?: string[] | null;
  signals: FaultSignalReport[];
  errors: FaultErrorReport[];
  /** ms after the injection of the first deviation. */
  firstDeviationMs: number;
  /** ms after the revert until back in steady state; null when not back by the end of the observation. */
  recoveredAfterMs: number | null;
  down: boolean;
  /** Errors other services logged naming this one, client → server (a silent service's evidence). */
  clientErrors: { client: string; class: ErrorClassName; count: number }[];
  summary: string[];
}

/** A scenario's fault: its window and what is attributed to it (see StepAnalysis.scenario). */
export interface ScenarioFaultReport {
  faultId: string;
  kind: FaultKind;
  target: string;
  description: string;
  startMs: number;
  endMs: number;
  exclusiveMs: number;
  deviated: string[];
  attribution: string;
}

export interface FaultReport {
  /** The fault's id, or the scenario's. */
  faultId: string;
  /** For a scenario: its targets joined with "+". */
  target: string;
  kind: FaultKind | "scenario";
  description: string;
  /** False: nothing could be judged (see `note`); severity is then "none" by default, not by evidence. */
  analyzed: boolean;
  /** Why a fault was not analysed, or a caveat (recovery not watched); null when there is none. */
  note: string | null;
  severity: Severity;
  severityReason: string;
  /** How the fault step ended: "reverted", "failed", "aborted", … */
  outcome: string;
  injectedAt: string | null;
  revertedAt: string | null;
  /** Services the dependency graph said would be hit (the blast radius). */
  expected: string[];
  /** Services other than the target that left their steady state. */
  impacted: FaultImpactReport[];
  /** The target's own deviation (expected; never raises severity); null when it showed none. */
  targetImpact: Omit<FaultImpactReport, "via"> | null;
  /**
   * ms after the revert until every deviating service was back in steady state; 0 when nothing
   * deviated; null when something had not recovered by the end of the observation window, or when
   * the fault was not analysed (see `analyzed`).
   */
  recoveredAfterMs: number | null;
  /** Services whose error counts are lower bounds for this fault (log flood), with the lines not classified. */
  unclassifiedLines: { service: string; lines: number }[];
  /** Dependencies found only by impact during this fault. */
  hiddenEdges: { from: string; to: string; detail: string }[];
  /** The fault in plain words, one finding per line (as in report.md). */
  summary: string[];
  /** A scenario of several faults: its title and each fault's attribution; null for a single fault. */
  scenario: { title: string; targets: string[]; faults: ScenarioFaultReport[] } | null;
}

export function faultReports(steps: readonly StepAnalysis[]): FaultReport[] {
  return steps.map((s) => ({
    faultId: s.faultId,
    target: s.target,
    kind: s.kind,
    description: s.description,
    analyzed: s.analyzed,
    note: s.note ?? null,
    severity: s.severity,
    severityReason: s.severityReason,
    outcome: s.outcome,
    injectedAt: s.injectedAt ?? null,
    revertedAt: s.revertedAt ?? null,
    expected: [...s.expected],
    impacted: s.impacted.map((i) => {
      const { service, ...rest } = impactReport(i);
      return { service, via: i.via, side: i.side ?? null, path: i.path ? [...i.path] : null, ...rest };
    }),
    targetImpact: s.targetImpact ? impactReport(s.targetImpact) : null,
    recoveredAfterMs: s.analyzed ? s.recoveredAfterMs : null,
    unclassifiedLines: (s.unclassifiedLines ?? []).map((u) => ({ ...u })),
    hiddenEdges: s.hiddenEdges.map(({ from, to, detail }) => ({ from, to, detail })),
    summary: [...s.summary],
    scenario: s.scenario
      ? {
          title: s.scenario.title,
          targets: [...s.scenario.targets],
          faults: s.scenario.faults.map((f) => ({
            faultId: f.faultId,
            kind: f.kind,
            target: f.target,
            description: f.description,
            startMs: f.startMs,
            endMs: f.endMs,
            exclusiveMs: f.exclusiveMs,
            deviated: f.deviated.map((d) => d.service),
            attribution: f.attribution,
          })),
        }
      : null,
  }));
}

function impactReport(i: ServiceImpact): Omit<FaultImpactReport, "via"> {
  return {
    service: i.service,
    signals: i.signals.map(signalReport),
    errors: i.errors.map((e) => ({
      class: e.class,
      peer: e.peer ?? null,
      count: e.count,
      lowerBound: e.lowerBound === true,
    })),
    firstDeviationMs: i.firstDeviationMs,
    recoveredAfterMs: i.recoveredAfterMs,
    down: i.down,
    clientErrors: (i.clientErrors ?? []).map((e) => ({ ...e })),
    summary: [...i.summary],
  };
}

function signalReport(g: Signal): FaultSignalReport {
  return {
    metric: g.metric,
    category: g.category,
    baseline: g.baseline,
    observed: g.observed,
    firstAtMs: g.firstAtMs,
    text: g.text,
  };
}

/**
 * What history keeps of a run: the record and the analysis folded into one row (pure, no I/O). The full
 * detail stays in the run's report files; the row is what a list, a filter and a restart need.
 */
import type { RunAnalysis, Severity, Via } from "../analysis/types.js";
import type { RunRecord } from "../run/record.js";
import type { ReportFiles } from "../report/write.js";

/** Who started a run. */
export type RunSource = "cli" | "api" | "schedule";
export const RUN_SOURCES: readonly RunSource[] = ["cli", "api", "schedule"];

/**
 * ok: every fault went in and out as planned; aborted: stopped early (envelope, signal, cancel, an
 * error); failed: a fault could not be reverted; interrupted: its faultline died before the run ended.
 */
export type HistoryStatus = "running" | "ok" | "aborted" | "failed" | "interrupted";

export const SEVERITY_ORDER: readonly Severity[] = ["none", "minor", "major", "critical"];

export interface ImpactedSummary {
  service: string;
  via: Via;
  /** Plain words, as the report shows them. */
  summary: string[];
}

export interface HistoryStart {
  id: string;
  source: RunSource;
  project?: string;
  startedAt: string;
  targets: string[];
  kinds: string[];
  /** An experiment document's title. */
  title?: string;
}

export interface HistoryEnd {
  endedAt: string;
  status: Exclude<HistoryStatus, "running">;
  reason?: string;
  /** The worst severity of the run's faults; absent when the run was not analysed. */
  severity?: Severity;
  verdict?: { held: boolean; summary: string };
  impacted: ImpactedSummary[];
  reports?: ReportFiles;
  /** An experiment document's title (known once its verdict is). */
  title?: string;
  /** What a target list learned only while running (a scenario's steps). */
  targets?: string[];
  kinds?: string[];
}

export interface HistoryRun
  extends HistoryStart, Partial<Omit<HistoryEnd, "status" | "targets" | "kinds" | "title">> {
  status: HistoryStatus;
  impacted: ImpactedSummary[];
  /** Set when the retention limit removed the report files. */
  reportsPrunedAt?: string;
}

export function worstSeverity(severities: readonly Severity[]): Severity | undefined {
  let worst: Severity | undefined;
  for (const s of severities)
    if (worst === undefined || SEVERITY_ORDER.indexOf(s) > SEVERITY_ORDER.indexOf(worst)) worst = s;
  return worst;
}

export function statusOf(record: Pick<RunRecord, "status">): HistoryEnd["status"] {
  switch (record.status) {
    case "running":
    case "completed":
      return "ok";
    case "aborted":
      return "aborted";
    case "failed":
      return "failed";
  }
}

/** The row's end half: status, worst severity, verdict and the impacted services merged over every fault. */
export function summarizeRun(
  record: RunRecord,
  analysis: RunAnalysis | undefined,
  reports: ReportFiles | undefined,
  endedAt = record.endedAt ?? new Date().toISOString(),
): HistoryEnd {
  const impacted = new Map<string, ImpactedSummary>();
  for (const step of analysis?.steps ?? [])
    for (const i of step.impacted) {
      const seen = impacted.get(i.service);
      if (!seen) impacted.set(i.service, { service: i.service, via: i.via, summary: [...i.summary] });
      else for (const line of i.summary) if (!seen.summary.includes(line)) seen.summary.push(line);
    }
  const severity = worstSeverity((analysis?.steps ?? []).map((s) => s.severity));
  const verdict = record.experiment?.verdict;
  return {
    endedAt,
    status: statusOf(record),
    ...(record.abortReason ? { reason: record.abortReason } : {}),
    ...(severity ? { severity } : {}),
    ...(verdict ? { verdict: { held: verdict.held, summary: verdict.summary } } : {}),
    impacted: [...impacted.values()],
    ...(record.experiment?.title ? { title: record.experiment.title } : {}),
    ...(reports ? { reports } : {}),
    ...(record.steps.length
      ? {
          targets: [...new Set(record.steps.map((s) => s.target))],
          kinds: [...new Set(record.steps.map((s) => s.kind))],
        }
      : {}),
  };
}

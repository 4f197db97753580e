/**
 * What report.json holds: `faults` (the per-fault contract, see docs/report.md), the run record and its
 * analysis in full, and the profiles when known. Re-renderable.
 */
import type { RunAnalysis } from "../analysis/types.js";
import type { ServiceProfile } from "../discovery/profile.js";
import type { RunRecord } from "../run/record.js";
import type { FaultReport } from "./faults.js";

export interface ReportData {
  format: "faultline-report/1";
  /** One entry per fault, derived from `analysis.steps`; the stable part of the format. */
  faults: FaultReport[];
  record: RunRecord;
  analysis: RunAnalysis;
  profiles?: ServiceProfile[];
}

/** What renderers need: the record and its analysis. */
export type ReportSource = Pick<ReportData, "record" | "analysis">;

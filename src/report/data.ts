/** What report.json holds: the run record plus its analysis (and profiles when known). Re-renderable. */
import type { RunAnalysis } from "../analysis/types.js";
import type { ServiceProfile } from "../discovery/profile.js";
import type { RunRecord } from "../run/record.js";

export interface ReportData {
  format: "faultline-report/1";
  record: RunRecord;
  analysis: RunAnalysis;
  profiles?: ServiceProfile[];
}

/** The history as a terminal table (pure). */
import { formatColumns } from "../util/table.js";
import type { HistoryRun } from "./summary.js";

export function formatHistoryTable(runs: readonly HistoryRun[]): string {
  if (!runs.length) return "no runs recorded";
  return formatColumns(
    ["STARTED", "RUN", "SOURCE", "STATUS", "SEVERITY", "TARGETS", "KINDS", "IMPACTED", "REPORT"],
    runs.map((r) => [
      r.startedAt.replace(/\.\d+Z$/, "Z"),
      r.id,
      r.source,
      r.status,
      r.severity ?? "-",
      r.targets.join(",") || "-",
      r.kinds.join(",") || "-",
      r.impacted.map((i) => i.service).join(",") || "-",
      r.reports?.html ?? (r.reportsPrunedAt ? "(removed by retention)" : "-"),
    ]),
  );
}

/** report.md: the run's summary in Markdown (for PRs, chat, terminals). */
import { describeVia } from "../analysis/words.js";
import { formatDuration } from "../util/duration.js";
import type { ReportSource } from "./data.js";
import { escapeMarkdown as m } from "./escape.js";

export function renderMarkdown({ record, analysis }: ReportSource): string {
  const e = record.experiment;
  const lines = [
    e ? `# ${m(e.title)} (faultline report)` : `# faultline report: ${m(record.project ?? record.runId)}`,
    "",
    ...(e?.verdict
      ? [
          `**${e.verdict.held ? "Hypothesis held" : "Hypothesis did not hold"}**: ${m(e.verdict.summary)}`,
          "",
          ...e.verdict.findings.map((f) => `- ${m(f.where)}: ${m(f.text)}`),
          ...(e.verdict.findings.length ? [""] : []),
        ]
      : []),
    `- run: ${m(record.runId)} · status: **${m(record.status)}**${record.abortReason ? ` (${m(record.abortReason)})` : ""}${record.dryRun ? " · dry run" : ""}`,
    `- started: ${m(record.startedAt)}${record.endedAt ? ` · ended: ${m(record.endedAt)}` : ""}`,
    `- faults: ${record.steps.length} · hidden dependencies found: ${analysis.hiddenEdges.length}`,
    `- steady state: learned from the baseline${
      analysis.thresholds?.length ? `; explicit thresholds: ${m(analysis.thresholds.join(", "))}` : ""
    }`,
    "",
    "| Target | Fault | Severity | Impacted (via) | Expected | Recovered after |",
    "| --- | --- | --- | --- | --- | --- |",
    ...analysis.steps.map(
      (s) =>
        `| ${m(s.target)} | ${m(s.kind)} | ${
          s.analyzed
            ? `**${s.severity}** — ${m(s.severityReason)}`
            : `**not analysed** — ${m(s.note ?? s.severityReason)}`
        } | ${m(
          s.impacted.map((i) => `${i.service} (${describeVia(i)})`).join(", ") || "—",
        )} | ${m(s.expected.join(", ") || "—")} | ${!s.analyzed ? "—" : s.recoveredAfterMs === null ? "not recovered" : formatDuration(s.recoveredAfterMs)} |`,
    ),
    "",
  ];
  for (const s of analysis.steps) {
    // Lower-bound warnings are part of the summary lines.
    if (!s.analyzed || (!s.summary.length && !s.scenario)) continue;
    lines.push(
      `## ${s.scenario ? `scenario "${m(s.scenario.title)}"` : m(s.kind)} on ${m(s.target)} (${s.severity})`,
      "",
      ...s.summary.map((l) => `- ${m(l)}`),
      ...(s.scenario?.faults.map((f) => `- ${m(f.description)}: ${m(f.attribution)}`) ?? []),
      ...edgeLine("resilient (client traffic went on during the fault)", s.resilientEdges),
      ...edgeLine(
        "not observed (no traffic seen during the fault: resilience unknown)",
        s.unobservedEdges ?? [],
      ),
      "",
    );
  }
  if (analysis.hiddenEdges.length) {
    lines.push("## Hidden dependencies", "");
    for (const e of analysis.hiddenEdges)
      lines.push(`- ${m(e.from)} → ${m(e.to)}: ${m(e.evidence.map((x) => x.detail).join("; "))}`);
    lines.push("");
  }
  lines.push("## Severity rule", "", ...analysis.severityRule.map((r) => `- ${m(r)}`), "");
  return lines.join("\n");
}

function edgeLine(label: string, edges: readonly { from: string; to: string }[]): string[] {
  return edges.length ? [`- ${label}: ${m(edges.map((e) => `${e.from} → ${e.to}`).join(", "))}`] : [];
}

/**
 * report.html: one self-contained page (works offline; Mermaid's bundle is inlined, no CDN). Every
 * value from the stack is escaped; a Content-Security-Policy forbids any network access.
 */
import type { RunAnalysis, StepAnalysis } from "../analysis/types.js";
import { describeVia } from "../analysis/words.js";
import { renderMermaid } from "../graph/render-mermaid.js";
import type { ReportSource } from "./data.js";
import { escapeHtml as h } from "./escape.js";
import { impactStyle, SEVERITY_FILL } from "./impact-style.js";
import { lineChart } from "./svg-chart.js";
import { formatDuration } from "../util/duration.js";
import { maskSecretsInText } from "../util/secrets.js";

const CSS = `
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0 auto;max-width:1200px;padding:16px 24px;color:#0f172a}
h1{font-size:22px}h2{font-size:18px;border-bottom:1px solid #e2e8f0;padding-bottom:4px;margin-top:28px}h3{font-size:15px}
table{border-collapse:collapse;width:100%;margin:8px 0}th,td{border:1px solid #e2e8f0;padding:4px 6px;text-align:left;vertical-align:top}
th{background:#f8fafc}.sev{display:inline-block;padding:1px 8px;border-radius:8px;font-weight:600}
.maps{display:grid;grid-template-columns:1fr 1fr;gap:12px}.map{border:1px solid #e2e8f0;padding:8px;overflow:auto}
pre.log{background:#0f172a;color:#e2e8f0;padding:6px;white-space:pre-wrap;word-break:break-all;font-size:12px;margin:2px 0}
.charts{display:flex;flex-wrap:wrap;gap:8px}.muted{color:#64748b}.legend span{display:inline-block;margin-right:12px}
ul.tight{margin:4px 0;padding-left:20px}.warn{background:#fef9c3;border-left:4px solid #ca8a04;padding:4px 8px}`;

export function renderHtml(data: ReportSource, mermaidBundle: string): string {
  const { record, analysis } = data;
  const before = record.graphBefore;
  const after = analysis.graphAfter ?? record.graphAfter;
  const title = record.experiment
    ? `${record.experiment.title} · faultline report`
    : `faultline report · ${record.project ?? record.runId}`;
  const body = [
    `<h1>${h(title)}</h1>`,
    experimentSection(record),
    summarySection(data),
    `<h2>Dependency map</h2>`,
    `<p class="legend muted"><span>node fill: worst severity of impact (${(
      ["critical", "major", "minor"] as const
    )
      .map((s) => `<b style="background:${SEVERITY_FILL[s]}">&nbsp;${s}&nbsp;</b>`)
      .join(
        " ",
      )})</span><span>thick dark border: fault target</span><span>red edge: impact confirmed</span><span>green edge: resilient</span><span>grey edge: not observed</span><span>purple edge: hidden dependency (found by impact)</span></p>`,
    `<div class="maps">`,
    mapBlock(
      "before",
      "Before (discovered)",
      before ? renderMermaid(before, { style: impactStyle(analysis, false) }) : undefined,
    ),
    mapBlock(
      "after",
      "After (with impact evidence)",
      after ? renderMermaid(after, { style: impactStyle(analysis, true) }) : undefined,
    ),
    `</div>`,
    `<h2>Faults</h2>`,
    faultsTable(analysis),
    ...analysis.steps.map((s) => stepSection(s, analysis)),
    `<h2>Timeline</h2>`,
    timelineTable(analysis),
    `<h2>Severity rule</h2><ul class="tight">${analysis.severityRule.map((r) => `<li>${h(r)}</li>`).join("")}</ul>`,
    analysis.notes.length
      ? `<h2>Notes</h2><ul class="tight">${analysis.notes.map((n) => `<li>${h(n)}</li>`).join("")}</ul>`
      : "",
  ].join("\n");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; font-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${h(title)}</title><style>${CSS}</style></head>
<body data-mermaid="pending">
${body}
<script>${inlineScript(mermaidBundle)}</script>
<script>
(function () {
  if (typeof mermaid === "undefined") { document.body.dataset.mermaid = "missing"; return; }
  mermaid.initialize({ startOnLoad: false, securityLevel: "strict", theme: "default", flowchart: { htmlLabels: true } });
  mermaid.run({ querySelector: "pre.mermaid" })
    .then(function () { document.body.dataset.mermaid = "done"; })
    .catch(function (e) { document.body.dataset.mermaid = "error"; console.error(e); });
})();
</script>
</body></html>
`;
}

/** A bundle must not be able to end its own <script> element early. */
function inlineScript(code: string): string {
  return code.replace(/<\/script/gi, "<\\/script").replace(/<!--/g, "<\\!--");
}

function summarySection({ record, analysis }: ReportSource): string {
  const counts = { critical: 0, major: 0, minor: 0, none: 0 };
  for (const s of analysis.steps) if (s.analyzed) counts[s.severity]++;
  const duration =
    record.endedAt && record.startedAt
      ? formatDuration(Date.parse(record.endedAt) - Date.parse(record.startedAt))
      : "—";
  const rows: [string, string][] = [
    ["Run", record.runId],
    ["Project", record.project ?? "—"],
    [
      "Status",
      `${record.status}${record.abortReason ? ` (${record.abortReason})` : ""}${record.dryRun ? " · dry run" : ""}`,
    ],
    ["Started", record.startedAt],
    ["Duration", duration],
    [
      "Faults",
      `${record.steps.length} (critical ${counts.critical}, major ${counts.major}, minor ${counts.minor}, none ${counts.none})`,
    ],
    ["Services", String(record.graphBefore?.nodes.length ?? "—")],
    ["Hidden dependencies found", String(analysis.hiddenEdges.length)],
    [
      "Steady state",
      `learned from the baseline${analysis.thresholds?.length ? `; explicit thresholds: ${analysis.thresholds.join(", ")}` : ""}`,
    ],
  ];
  const unanalysed = analysis.steps.filter((s) => !s.analyzed).length;
  if (unanalysed) rows.push(["Not analysed", `${unanalysed} fault(s): see each fault's note`]);
  return `<h2>Summary</h2><table>${rows.map(([k, v]) => `<tr><th>${h(k)}</th><td>${h(v)}</td></tr>`).join("")}</table>`;
}

function mapBlock(id: string, title: string, mermaid: string | undefined): string {
  const inner = mermaid
    ? `<pre class="mermaid" id="map-${id}">${h(mermaid)}</pre>`
    : `<p class="muted">no graph recorded</p>`;
  return `<div class="map"><h3>${h(title)}</h3>${inner}</div>`;
}

function sev(s: StepAnalysis): string {
  if (!s.analyzed) return `<span class="sev" style="background:#e2e8f0">not analysed</span>`;
  return `<span class="sev" style="background:${SEVERITY_FILL[s.severity]}">${h(s.severity)}</span>`;
}

function ms(v: number | null | undefined): string {
  return v === null ? "not recovered" : v === undefined ? "—" : formatDuration(v);
}

function faultsTable(analysis: RunAnalysis): string {
  const rows = analysis.steps.map(
    (s) =>
      `<tr><td><a href="#step-${h(s.faultId)}">${h(s.target)}</a></td><td>${h(s.kind)}</td><td>${sev(s)}<div class="muted">${h(
        s.analyzed ? s.severityReason : (s.note ?? s.severityReason),
      )}</div></td><td>${h(
        s.impacted.map((i) => `${i.service} (${describeVia(i)})`).join(", ") || "—",
      )}</td><td>${h(s.expected.join(", ") || "—")}</td><td>${h(s.analyzed ? ms(s.recoveredAfterMs) : "—")}</td><td>${h(s.outcome)}</td></tr>`,
  );
  return `<table><tr><th>Target</th><th>Fault</th><th>Severity</th><th>Impacted (via)</th><th>Expected (blast radius)</th><th>Recovered after</th><th>Outcome</th></tr>${rows.join("")}</table>`;
}

/** An experiment file's description and verdict: did the hypothesis hold, and if not, where. */
function experimentSection(record: ReportSource["record"]): string {
  const e = record.experiment;
  if (!e) return "";
  const v = e.verdict;
  const verdict = v
    ? `<p class="verdict ${v.held ? "held" : "failed"}" style="padding:6px 10px;border-left:4px solid ${v.held ? "#16a34a" : "#dc2626"};background:${v.held ? "#f0fdf4" : "#fef2f2"}"><b>${h(v.held ? "Hypothesis held" : "Hypothesis did not hold")}</b> — ${h(v.summary)}</p>` +
      (v.findings.length
        ? `<table><tr><th>Where</th><th>Finding</th></tr>${v.findings.map((f) => `<tr><td>${h(f.where)}</td><td>${h(f.text)}</td></tr>`).join("")}</table>`
        : "")
    : "";
  return `${e.description ? `<p>${h(e.description)}</p>` : ""}${e.source ? `<p class="muted">experiment: ${h(e.source)}</p>` : ""}${verdict}`;
}

/** A scenario's faults: each one's window and what deviated while it alone was in effect. */
function scenarioTable(s: StepAnalysis): string {
  if (!s.scenario) return "";
  const rows = s.scenario.faults.map(
    (f) =>
      `<tr><td>${h(f.description)}</td><td>${h(formatDuration(f.startMs))} – ${h(formatDuration(f.endMs))}</td><td>${h(formatDuration(f.exclusiveMs))}</td><td>${h(f.attribution)}</td></tr>`,
  );
  return `<table class="scenario"><tr><th>Fault of the scenario</th><th>Window (after its start)</th><th>Alone for</th><th>Attributed to it</th></tr>${rows.join("")}</table>`;
}

function stepSection(s: StepAnalysis, analysis: RunAnalysis): string {
  const parts = [
    `<h3 id="step-${h(s.faultId)}">${h(s.scenario ? `scenario "${s.scenario.title}"` : s.kind)} on ${h(s.target)} ${sev(s)}</h3>`,
    `<p>${h(s.description)}<br><span class="muted">injected ${h(s.injectedAt ?? "—")} · reverted ${h(s.revertedAt ?? "—")} · outcome ${h(s.outcome)}</span></p>`,
    scenarioTable(s),
  ];
  if (!s.analyzed) {
    parts.push(`<p class="warn not-analysed">${h(s.note ?? "not analysed")}</p>`);
    return parts.join("\n");
  }
  if (s.note) parts.push(`<p class="muted">${h(s.note)}</p>`);
  for (const u of s.unclassifiedLines ?? [])
    parts.push(
      `<p class="warn lower-bound">${h(u.service)}: error counts are lower bounds: ${h(u.lines)} lines not classified (logs faster than the per-tick budget)</p>`,
    );
  const summary = s.summary.filter((l) => !l.includes("error counts are lower bounds"));
  if (summary.length) parts.push(`<ul class="tight">${summary.map((l) => `<li>${h(l)}</li>`).join("")}</ul>`);
  const rows = [...(s.targetImpact ? [{ ...s.targetImpact, via: "target" }] : []), ...s.impacted].map(
    (i) =>
      `<tr><td>${h(i.service)}</td><td>${h("side" in i ? describeVia(i) : i.via)}</td><td><ul class="tight">${i.signals
        .map((g) => `<li>${h(g.text)}</li>`)
        .join("")}</ul></td><td>${h(
        i.errors
          .map((e) => `${e.class}${e.peer ? ` → ${e.peer}` : ""}: ${e.lowerBound ? "≥ " : ""}${e.count}`)
          .join(", ") || "—",
      )}</td><td>${h(formatDuration(Math.max(0, i.firstDeviationMs)))}</td><td>${h(ms(i.recoveredAfterMs))}</td></tr>`,
  );
  if (rows.length)
    parts.push(
      `<table><tr><th>Service</th><th>Via</th><th>Signals</th><th>Errors (class → peer: count)</th><th>Deviated after</th><th>Recovered after revert</th></tr>${rows.join("")}</table>`,
    );
  const edgeList = (label: string, edges: { from: string; to: string }[]) =>
    edges.length ? `<p><b>${h(label)}:</b> ${h(edges.map((e) => `${e.from} → ${e.to}`).join(", "))}</p>` : "";
  parts.push(
    edgeList("Confirmed edges", s.confirmedEdges),
    edgeList("Hidden dependencies", s.hiddenEdges),
    edgeList("Resilient edges (client traffic went on during the fault)", s.resilientEdges),
    edgeList("Edges not observed (no client traffic seen during the fault)", s.unobservedEdges ?? []),
  );
  const examples = analysis.examples.filter((e) => e.stepId === s.faultId).slice(0, 12);
  if (examples.length)
    parts.push(
      `<details><summary>Error classes with example lines (${examples.length})</summary>${examples
        .map(
          (e) =>
            `<div><b>${h(e.service)}</b> · ${h(e.class)}${e.peer ? ` → ${h(e.peer)}` : ""}<pre class="log">${h(maskSecretsInText(e.line))}</pre></div>`,
        )
        .join("")}</details>`,
    );
  if (s.charts.length) parts.push(`<div class="charts">${s.charts.map(lineChart).join("")}</div>`);
  return parts.join("\n");
}

function timelineTable(analysis: RunAnalysis): string {
  if (!analysis.timeline.length) return `<p class="muted">no events</p>`;
  return `<table><tr><th>Time</th><th>Event</th><th>Service</th><th>What</th></tr>${analysis.timeline
    .map(
      (e) =>
        `<tr><td>${h(e.at)}</td><td>${h(e.kind)}</td><td>${h(e.service ?? "")}</td><td>${h(e.text)}</td></tr>`,
    )
    .join("")}</table>`;
}

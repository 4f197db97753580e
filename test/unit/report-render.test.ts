import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { renderHtml } from "../../src/report/html.js";
import { renderMarkdown } from "../../src/report/markdown.js";
import { loadReport, writeReport } from "../../src/report/write.js";
import { lineChart } from "../../src/report/svg-chart.js";
import { maskSecretsDeep } from "../../src/util/secrets.js";
import { HOSTILE, reportRun } from "../fixtures/monitor/report-run.js";

describe("report rendering", () => {
  const { record, analysis } = reportRun();
  const data = { format: "faultline-report/1" as const, record, analysis };

  test("html escapes untrusted names and log lines, masks secrets, has no external references", () => {
    const html = renderHtml(data, "/* bundle */");
    assert.ok(!html.includes(HOSTILE), "raw hostile name must not appear");
    assert.ok(!html.includes("<script>window.__pwned"));
    assert.ok(!html.includes("hunter2"));
    assert.doesNotMatch(html, /(src|href)="https?:/);
    assert.match(html, /Content-Security-Policy/);
    assert.match(html, /<pre class="mermaid" id="map-before">/);
    assert.match(html, /sessions: timeouts on Redis calls to cache/);
    assert.match(html, /<svg class="chart"/);
  });

  test("markdown summary has one row per fault and the hidden dependency", () => {
    const md = renderMarkdown(data);
    assert.match(md, /\| cache \| pause \|/);
    assert.match(md, /\| batch \| stop \| \*\*none\*\*/);
    assert.match(md, /mailer -> cache/);
    assert.ok(!md.includes("<img"));
  });

  test("charts are plain SVG with the fault window shaded", () => {
    const svg = lineChart(analysis.steps[0]!.charts[0]!);
    assert.match(svg, /^<svg[^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    assert.match(svg, /<polyline/);
    assert.match(svg, /fill="#fee2e2"/);
  });

  test("report.json round-trips and re-renders; report.json per fault has the contract fields", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "faultline-report-"));
    try {
      const files = await writeReport(dir, record, analysis);
      const loaded = await loadReport(dir);
      // Round-trips as written: masked (the fixture's example line carries a password on purpose).
      assert.deepEqual(loaded.analysis, maskSecretsDeep(JSON.parse(JSON.stringify(analysis))));
      const step = loaded.analysis.steps[0]!;
      for (const key of ["target", "kind", "severity", "impacted", "recoveredAfterMs"])
        assert.ok(key in step, key);
      const i = step.impacted.find((x) => x.service === "sessions")!;
      assert.equal(i.via, "direct");
      assert.deepEqual(i.errors[0], { class: "timeout", peer: "cache", count: 40 });
      assert.ok((await readFile(files.html, "utf8")).length > 1_000_000, "mermaid bundle inlined");
      await assert.rejects(loadReport(path.join(dir, "nope.json")), /cannot read/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

/** Report generation for a synthetic 50-service run, vs JSON.stringify of the same data. */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { analyzeRun } from "../src/analysis/impact.js";
import type { DependencyGraph } from "../src/graph/types.js";
import type { LogExample, MonitorData, ServiceSample } from "../src/monitor/types.js";
import type { FaultStep, RunRecord } from "../src/run/record.js";
import { mermaidBundle, writeReport } from "../src/report/write.js";
import { median, ratio, type BenchModule } from "./types.js";

const SERVICES = 50;
const STEPS = 10;

function synthetic(): { record: RunRecord; data: MonitorData } {
  const ids = Array.from({ length: SERVICES }, (_, i) => `svc-${i}`);
  const graph: DependencyGraph = {
    nodes: ids.map((id) => ({ id, kind: "http", confidence: 0.9, ports: [], endpoints: [] })),
    // A tree: every service calls its parent-ish neighbour.
    edges: ids
      .slice(1)
      .map((id, i) => ({ from: id, to: ids[Math.floor(i / 2)]!, confidence: 0.9, evidence: [] })),
    order: ids,
  };
  const samples: ServiceSample[] = [];
  const examples: LogExample[] = [];
  const marks: MonitorData["marks"] = [];
  const steps: FaultStep[] = [];
  let t = 0;
  const start = Date.parse("2026-01-01T00:00:00Z");
  for (let s = 0; s < STEPS; s++) {
    const stepId = `f${s}`;
    const target = ids[s]!;
    for (const phase of ["baseline", "during", "after"] as const) {
      marks.push({ stepId, phase, t, at: start + t });
      for (let k = 0; k < 10; k++, t += 1000) {
        for (const id of ids) {
          const hit =
            phase === "during" &&
            (id === target || graph.edges.some((e) => e.from === id && e.to === target));
          samples.push({
            service: id,
            stepId,
            phase,
            at: start + t,
            t,
            state: hit && id === target ? "paused" : "running",
            probes: {
              count: 1,
              ok: hit ? 0 : 1,
              serverErrors: 0,
              timeouts: hit ? 1 : 0,
              failures: 0,
              p50Ms: 10 + (k % 3),
              p95Ms: hit ? 1000 : 12 + (k % 4),
              statuses: {},
            },
            logs: {
              lines: 10,
              errors: hit ? 3 : 0,
              byClass: hit ? { timeout: 3 } : {},
              peers: hit ? [{ class: "timeout", peer: target, count: 3 }] : [],
              dropped: 0,
            },
            cpuPercent: 3 + (k % 3),
            memoryBytes: 1e8 + k * 1000,
          });
        }
      }
    }
    // Example lines as the log counter keeps them (two per service and class), so the report's example
    // section (escaping, masking) is part of what is measured.
    for (const id of ids.filter((id) => graph.edges.some((e) => e.from === id && e.to === target)))
      for (let n = 0; n < 2; n++)
        examples.push({
          service: id,
          stepId,
          class: "timeout",
          peer: target,
          line: `2026-01-01 00:00:0${n},123 ERROR app: psycopg2.OperationalError: connection to server at "${target}" (172.20.0.${s + 2}), port 5432 failed: timeout expired <dsn postgres://app:s3cret@${target}/shop password=s3cret>`,
          at: start + t - 15_000 + n * 1000,
        });
    steps.push({
      faultId: stepId,
      kind: "pause",
      target,
      containerId: target,
      options: {},
      description: `pause ${target}`,
      requestedAt: new Date(start).toISOString(),
      injectedAt: new Date(start + t - 20_000).toISOString(),
      revertedAt: new Date(start + t - 10_000).toISOString(),
      durationMs: 10_000,
      outcome: { status: "reverted" },
      errors: [],
    });
  }
  return {
    record: {
      runId: "bench",
      startedAt: new Date(start).toISOString(),
      endedAt: new Date(start + t).toISOString(),
      status: "completed",
      dryRun: false,
      graphBefore: graph,
      steps,
    },
    data: { intervalMs: 1000, services: ids, samples, marks, examples, notes: [] },
  };
}

const bench: BenchModule = {
  name: "report",
  description: `analysis + report.html/json/md for ${SERVICES} services × ${STEPS} faults`,
  timeoutMs: 120_000,
  async run({ log }) {
    const { record, data } = synthetic();
    await mermaidBundle();
    const dir = await mkdtemp(path.join(tmpdir(), "faultline-report-bench-"));
    try {
      const analyzeMs: number[] = [];
      const writeMs: number[] = [];
      const jsonMs: number[] = [];
      for (let i = 0; i < 3; i++) {
        let t0 = performance.now();
        const analysis = analyzeRun(record, data);
        analyzeMs.push(performance.now() - t0);
        t0 = performance.now();
        await writeReport(dir, record, analysis);
        writeMs.push(performance.now() - t0);
        t0 = performance.now();
        JSON.stringify({ record, analysis }, null, 2);
        jsonMs.push(performance.now() - t0);
        log(`round ${i + 1}: analyze ${Math.round(analyzeMs[i]!)} ms, write ${Math.round(writeMs[i]!)} ms`);
      }
      const w = median(writeMs);
      const j = median(jsonMs);
      // The example section must really be in the page, escaped and masked.
      const html = await readFile(path.join(dir, "report.html"), "utf8");
      const exampleLines = html.split('<pre class="log">').length - 1;
      const masked = !html.includes("s3cret");
      return {
        name: "report",
        metrics: { analyzeMs: Math.round(median(analyzeMs)), writeReportMs: Math.round(w), exampleLines },
        baseline: { jsonStringifyMs: Math.round(j * 100) / 100 },
        ratios: { writeReportMs: ratio(w, j) },
        target: "analyzeMs + writeReportMs < 5000, example lines rendered with secrets masked",
        pass: median(analyzeMs) + w < 5000 && exampleLines > 0 && masked,
      };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
};

export default bench;

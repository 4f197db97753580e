/**
 * The monitor under hostile services, against real containers: one floods megabytes of log lines per
 * second, one writes raw binary to stdout, one is removed (`docker rm -f`) mid-run, one is an ordinary
 * HTTP service. faultline's own memory stays bounded, sampling goes on for the survivors, the removed
 * container is recorded as gone, and the analysis and report come out whole.
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { analyzeRun } from "../../src/analysis/impact.js";
import { connectDocker } from "../../src/docker/engine.js";
import { Monitor } from "../../src/monitor/monitor.js";
import type { ReportData } from "../../src/report/data.js";
import { writeReport } from "../../src/report/write.js";
import type { RunRecord } from "../../src/run/record.js";
import { profileOf, removeByLabel, startHttpContainers } from "../fixtures/monitor/http-containers.js";

const run = promisify(execFile);
const LABEL = `monitor-robust-${process.pid}`;
const docker = connectDocker();
const MB = 1024 * 1024;

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

let workDir: string | undefined;
after(async () => {
  await removeByLabel(LABEL);
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

/** A labelled shell loop; the engine keeps at most 10 MB of its log on disk. */
async function startLoop(name: string, script: string): Promise<string> {
  const { stdout } = await run("docker", [
    "run",
    "-d",
    "--label",
    `faultline.test=${LABEL}`,
    "--name",
    `${LABEL}-${name}`,
    "--log-opt",
    "max-size=10m",
    "--log-opt",
    "max-file=1",
    "debian:bookworm-slim",
    "sh",
    "-c",
    script,
  ]);
  return stdout.trim();
}

test(
  "floods, binary logs and a vanishing container: bounded memory, a whole report",
  { timeout: 60_000 },
  async () => {
    await removeByLabel(LABEL);
    // ~4 MB/s of base64 text lines (76 chars each, ~55 000 lines/s) and ~1 MB/s of raw random bytes.
    const flood = await startLoop(
      "flood",
      "while :; do head -c 1500000 /dev/urandom | base64; sleep 0.25; done",
    );
    const binary = await startLoop("binary", "while :; do head -c 250000 /dev/urandom; sleep 0.25; done");
    const [steadyId, victimId] = await startHttpContainers(LABEL, 2);
    const quiet = (p: Awaited<ReturnType<typeof profileOf>>) => ({ ...p, ports: [], endpoints: [] });
    const profiles = [
      quiet(await profileOf(docker, flood, "flood")),
      quiet(await profileOf(docker, binary, "binary")),
      await profileOf(docker, steadyId!, "steady"),
      await profileOf(docker, victimId!, "victim"),
    ];

    gc();
    const before = process.memoryUsage();
    let peakHeap = before.heapUsed;
    let peakRss = before.rss;
    const watch = setInterval(() => {
      const m = process.memoryUsage();
      peakHeap = Math.max(peakHeap, m.heapUsed);
      peakRss = Math.max(peakRss, m.rss);
    }, 100);

    const monitor = new Monitor(docker, profiles, {
      intervalMs: 500,
      probeTimeoutMs: 400,
      envelope: { allDownForMs: 60_000 },
    });
    const injectedAt = new Date();
    let removedAt = new Date();
    try {
      await monitor.start();
      await sleep(3000);
      monitor.claimBaseline("f1");
      monitor.markPhase("f1", "during");
      removedAt = new Date();
      await run("docker", ["rm", "-f", victimId!]);
      await sleep(5000);
      monitor.markPhase("f1", "after");
      await sleep(3000);
    } finally {
      await monitor.stop();
      clearInterval(watch);
    }
    const data = monitor.data();
    gc();
    const end = process.memoryUsage();
    const heapGrowth = (peakHeap - before.heapUsed) / MB;
    const retained = (end.heapUsed - before.heapUsed) / MB;
    const rssGrowth = (peakRss - before.rss) / MB;
    const of = (service: string) => data.samples.filter((s) => s.service === service);
    const removedT = data.marks.find((m) => m.phase === "during")!.t;

    // Memory: the monitor keeps counters and a few examples, never the lines themselves.
    console.error(
      `heap +${heapGrowth.toFixed(1)} MB peak, +${retained.toFixed(1)} MB retained; RSS +${rssGrowth.toFixed(1)} MB peak`,
    );
    assert.ok(heapGrowth < 50, `peak heap grew ${heapGrowth.toFixed(1)} MB`);
    assert.ok(retained < 10, `${retained.toFixed(1)} MB retained after the run`);
    assert.ok(rssGrowth < 150, `peak RSS grew ${rssGrowth.toFixed(1)} MB`);

    // The flood was read (far more lines than are classified) and counted, not stored.
    const floodLines = of("flood").reduce((a, s) => a + (s.logs?.lines ?? 0), 0);
    const floodDropped = of("flood").reduce((a, s) => a + (s.logs?.dropped ?? 0), 0);
    assert.ok(floodLines > 20_000, `flood lines counted: ${floodLines}`);
    assert.ok(floodDropped > 0, "lines beyond the classification budget are only counted");
    assert.ok(
      of("binary").some((s) => (s.logs?.lines ?? 0) > 0),
      "binary output was read",
    );
    for (const e of data.examples)
      assert.ok(
        [...e.line].every((ch) => {
          const c = ch.charCodeAt(0);
          return (c >= 32 || c === 9 || c === 10) && c !== 0x7f;
        }),
        `control characters in an example line of ${e.service}`,
      );

    // Sampling went on for every survivor after the removal, without stalls (a loaded engine and the
    // flood itself slow a tick down; each tick still happens).
    const ticks = [...new Set(data.samples.map((s) => s.t))].sort((a, b) => a - b);
    const gaps = ticks.slice(1).map((t, i) => t - ticks[i]!);
    assert.ok(Math.max(...gaps) < 3000, `gaps between ticks: ${gaps.join(", ")} ms`);
    for (const service of ["flood", "binary", "steady"]) {
      const later = of(service).filter((s) => s.t > removedT + 1000);
      assert.ok(later.length >= 4, `${service}: ${later.length} samples after the removal`);
      assert.ok(
        later.every((s) => s.state === "running" && !s.inspectError),
        `${service} stayed running`,
      );
    }
    assert.ok(
      of("steady")
        .filter((s) => s.t > removedT + 1000)
        .every((s) => s.probes?.ok === 1),
    );

    // The removed container is gone: recorded on every later tick, not an exception.
    const gone = of("victim").filter((s) => s.t > removedT + 1000);
    assert.ok(gone.length >= 4, `victim still sampled after removal: ${gone.length}`);
    assert.ok(
      gone.every((s) => s.gone === true && s.state === undefined),
      JSON.stringify(gone[0]),
    );

    // Analysis and report over all of it.
    const record: RunRecord = {
      runId: "robust",
      startedAt: injectedAt.toISOString(),
      endedAt: new Date().toISOString(),
      status: "completed",
      dryRun: false,
      graphBefore: {
        nodes: profiles.map((p) => ({ id: p.id, kind: "http", confidence: 1, ports: [], endpoints: [] })),
        edges: [],
        order: [],
      },
      steps: [
        {
          faultId: "f1",
          kind: "kill",
          target: "victim",
          containerId: victimId!,
          options: {},
          description: "docker rm -f victim",
          requestedAt: removedAt.toISOString(),
          injectedAt: removedAt.toISOString(),
          revertedAt: new Date(removedAt.getTime() + 5000).toISOString(),
          durationMs: 5000,
          outcome: { status: "reverted" },
          errors: [],
        },
      ],
    };
    const analysis = analyzeRun(record, data);
    const step = analysis.steps[0]!;
    assert.equal(step.analyzed, true);
    assert.equal(step.targetImpact?.down, true);
    assert.match(step.targetImpact?.summary.join("\n") ?? "", /container remov/);
    workDir = await mkdtemp(join(tmpdir(), "faultline-robust-"));
    const files = await writeReport(workDir, record, analysis, profiles);
    const report = JSON.parse(await readFile(files.json, "utf8")) as ReportData;
    assert.equal(report.analysis.steps[0]?.target, "victim");
    // The flood outran the classifier: every report says its error counts are lower bounds.
    const floodDroppedInWindow = of("flood")
      .filter((s) => s.stepId === "f1" && s.phase !== "baseline")
      .reduce((a, s) => a + (s.logs?.dropped ?? 0), 0);
    assert.ok(floodDroppedInWindow > 0, "lines went unclassified during the fault");
    const flagged = { service: "flood", lines: floodDroppedInWindow };
    assert.deepEqual(
      step.unclassifiedLines?.find((u) => u.service === "flood"),
      flagged,
    );
    assert.deepEqual(
      report.faults[0]?.unclassifiedLines.find((u) => u.service === "flood"),
      flagged,
    );
    const lowerBound = `flood: error counts are lower bounds: ${floodDroppedInWindow} lines not classified`;
    assert.ok(
      step.summary.some((l) => l.startsWith(lowerBound)),
      step.summary.join("\n"),
    );
    assert.match(await readFile(files.html, "utf8"), new RegExp(`<p class="warn lower-bound">${lowerBound}`));
    assert.match(await readFile(files.markdown, "utf8"), new RegExp(lowerBound));
    assert.doesNotMatch(await readFile(files.json, "utf8"), /NaN|Infinity/);
    assert.match(await readFile(files.html, "utf8"), /victim/);
    assert.match(await readFile(files.markdown, "utf8"), /victim/);
  },
);

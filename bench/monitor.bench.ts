/**
 * Monitoring overhead on the demo shop: faultline's own CPU (% of one core) and peak RSS while it
 * watches every service the way `faultline run --out` does (1 s interval, HTTP probes on discovered
 * endpoints, engine stats, log classification of the shopper's real traffic, TCP connection counts).
 * Baseline in the same run and at the same time: an idle node process that loaded the same modules.
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { discoverServices } from "../src/discovery/discover.js";
import { demoStack } from "../test/support/demo-stack.js";
import type { ChildReport } from "./monitor-child.js";
import { ratio, type BenchModule } from "./types.js";

const run = promisify(execFile);
const WINDOW_MS = Math.max(5_000, Number(process.env.FAULTLINE_BENCH_MONITOR_WINDOW_MS ?? 20_000));
const MAX_CPU_PERCENT = 5;
const MAX_RSS_MB = 150;

/** One measured process (bench/monitor-child.ts), so the harness's own memory does not count. */
async function child(
  mode: "idle" | "monitor",
  profilesFile: string,
  signal: AbortSignal,
): Promise<ChildReport> {
  const script = fileURLToPath(new URL("./monitor-child.ts", import.meta.url));
  const { stdout } = await run(
    process.execPath,
    ["--import", "tsx", script, mode, String(WINDOW_MS), profilesFile],
    { signal, timeout: WINDOW_MS * 2 + 60_000, maxBuffer: 16 * 1024 * 1024 },
  );
  return JSON.parse(stdout.trim().split("\n").at(-1) ?? "{}") as ChildReport;
}

const bench: BenchModule = {
  name: "monitor",
  description: `monitor overhead watching the demo shop for ${WINDOW_MS / 1000} s (as run --out: 1 s interval, connection counts)`,
  timeoutMs: 6 * 60_000,
  async run({ log, signal }) {
    const dir = await mkdtemp(join(tmpdir(), "faultline-bench-monitor-"));
    log("starting a private demo shop (shopper traffic included)");
    const stack = await demoStack();
    try {
      const profiles = await discoverServices(stack.runtime, { project: stack.project }, { signal });
      const profilesFile = join(dir, "profiles.json");
      await writeFile(profilesFile, JSON.stringify(profiles));
      log(`${profiles.length} services discovered; idle and monitoring processes side by side`);
      const [idle, busy] = await Promise.all([
        child("idle", profilesFile, signal),
        child("monitor", profilesFile, signal),
      ]);
      const pass = busy.cpuPercent < MAX_CPU_PERCENT && busy.rssMb < MAX_RSS_MB;
      log(
        `monitor: ${round(busy.cpuPercent)} % of a core, ${round(busy.rssMb)} MB; ` +
          `idle node: ${round(idle.cpuPercent)} %, ${round(idle.rssMb)} MB`,
      );
      return {
        name: "monitor",
        metrics: {
          cpuPercentOfOneCore: round(busy.cpuPercent),
          rssMb: round(busy.rssMb),
          services: profiles.length,
          samples: busy.samples,
          logLinesClassified: busy.logLines,
          errorLines: busy.errorLines,
          samplesWithConnections: busy.samplesWithConnections,
        },
        baseline: { cpuPercentOfOneCore: round(idle.cpuPercent), rssMb: round(idle.rssMb) },
        ratios: {
          cpuPercentOfOneCore: ratio(busy.cpuPercent, Math.max(idle.cpuPercent, 0.01)),
          rssMb: ratio(busy.rssMb, idle.rssMb),
        },
        target:
          `cpuPercentOfOneCore < ${MAX_CPU_PERCENT} and rssMb < ${MAX_RSS_MB} ` +
          "(the monitoring process; baseline: an idle node process with the same modules, same window)",
        pass,
        notes: [
          `window ${WINDOW_MS / 1000} s on project ${stack.project}; connection counts via ${busy.connectionsVia ?? "none"}`,
          ...busy.notes,
        ],
      };
    } finally {
      await stack.dispose();
      await rm(dir, { recursive: true, force: true });
    }
  },
};

function round(n: number): number {
  return Math.round(n * 100) / 100;
}

export default bench;

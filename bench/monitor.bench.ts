/** Monitoring overhead: faultline's own CPU and RSS while watching N containers, vs the same process idle. */
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { removeByLabel, startHttpContainers } from "../test/fixtures/monitor/http-containers.js";
import { ratio, type BenchModule } from "./types.js";

const run = promisify(execFile);
const LABEL = "monitor-bench";
const CONTAINERS = 4;
const WINDOW_MS = 10_000;

interface ChildReport {
  idle: { cpuPercent: number; rssMb: number };
  busy: { cpuPercent: number; rssMb: number };
  samples: number;
  notes: string[];
}

/** Runs the monitor in its own process (bench/monitor-child.ts) so the harness's memory does not count. */
async function measureInChild(ids: string[], signal: AbortSignal): Promise<ChildReport> {
  const child = fileURLToPath(new URL("./monitor-child.ts", import.meta.url));
  const { stdout } = await run(process.execPath, ["--import", "tsx", child, String(WINDOW_MS), ...ids], {
    signal,
    timeout: WINDOW_MS * 2 + 60_000,
  });
  return JSON.parse(stdout.trim().split("\n").at(-1) ?? "{}") as ChildReport;
}

const bench: BenchModule = {
  name: "monitor",
  description: `monitor overhead watching ${CONTAINERS} containers for ${WINDOW_MS / 1000} s (1 s interval)`,
  timeoutMs: 120_000,
  async run({ log, signal }) {
    await removeByLabel(LABEL);
    try {
      const ids = await startHttpContainers(LABEL, CONTAINERS);
      log("idle window, then monitoring window, in a child process");
      const { idle, busy, samples, notes } = await measureInChild(ids, signal);
      const cpuRatio = ratio(busy.cpuPercent, Math.max(idle.cpuPercent, 0.01));
      return {
        name: "monitor",
        metrics: {
          cpuPercentOfOneCore: round(busy.cpuPercent),
          rssMb: round(busy.rssMb),
          samples,
        },
        baseline: { cpuPercentOfOneCore: round(idle.cpuPercent), rssMb: round(idle.rssMb) },
        ratios: { cpuPercentOfOneCore: cpuRatio, rssMb: ratio(busy.rssMb, idle.rssMb) },
        target:
          "cpuPercentOfOneCore < 5 and rssMb < 150 (the monitoring process, baseline: the same process idle)",
        pass: busy.cpuPercent < 5 && busy.rssMb < 150,
        notes,
      };
    } finally {
      await removeByLabel(LABEL);
    }
  },
};

function round(n: number): number {
  return Math.round(n * 100) / 100;
}

export default bench;

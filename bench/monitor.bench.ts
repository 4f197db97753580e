/** Monitoring overhead: faultline's own CPU and RSS while watching N containers, vs the same process idle. */
import { setTimeout as sleep } from "node:timers/promises";
import { connectDocker } from "../src/docker/engine.js";
import { Monitor } from "../src/monitor/monitor.js";
import { profileOf, removeByLabel, startHttpContainers } from "../test/fixtures/monitor/http-containers.js";
import { ratio, type BenchModule } from "./types.js";

const LABEL = "monitor-bench";
const CONTAINERS = 4;
const WINDOW_MS = 10_000;

async function measure(window: number, signal: AbortSignal): Promise<{ cpuPercent: number; rssMb: number }> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let rss = process.memoryUsage().rss;
  const end = t0 + window;
  while (performance.now() < end && !signal.aborted) {
    await sleep(250);
    rss = Math.max(rss, process.memoryUsage().rss);
  }
  const used = process.cpuUsage(cpu0);
  const wallUs = (performance.now() - t0) * 1000;
  return { cpuPercent: ((used.user + used.system) / wallUs) * 100, rssMb: rss / 1024 / 1024 };
}

const bench: BenchModule = {
  name: "monitor",
  description: `monitor overhead watching ${CONTAINERS} containers for ${WINDOW_MS / 1000} s (1 s interval)`,
  timeoutMs: 120_000,
  async run({ log, signal }) {
    const docker = connectDocker();
    await removeByLabel(LABEL);
    try {
      const ids = await startHttpContainers(LABEL, CONTAINERS);
      const profiles = await Promise.all(ids.map((id, i) => profileOf(docker, id, `svc${i}`)));
      log("idle window");
      const idle = await measure(WINDOW_MS, signal);
      const monitor = new Monitor(docker, profiles, { intervalMs: 1000 });
      await monitor.start();
      log("monitoring window");
      const busy = await measure(WINDOW_MS, signal);
      const data = await monitor.stop();
      const cpuRatio = ratio(busy.cpuPercent, Math.max(idle.cpuPercent, 0.01));
      return {
        name: "monitor",
        metrics: {
          cpuPercentOfOneCore: round(busy.cpuPercent),
          rssMb: round(busy.rssMb),
          samples: data.samples.length,
        },
        baseline: { cpuPercentOfOneCore: round(idle.cpuPercent), rssMb: round(idle.rssMb) },
        ratios: { cpuPercentOfOneCore: cpuRatio, rssMb: ratio(busy.rssMb, idle.rssMb) },
        target: "cpuPercentOfOneCore < 5 and addedRssMb < 150",
        pass: busy.cpuPercent < 5 && busy.rssMb - idle.rssMb < 150,
        notes: data.notes,
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

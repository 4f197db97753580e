/**
 * The monitor bench's measured process: only what `faultline run` needs to watch a stack (engine
 * adapter + monitor), so its CPU and RSS are the monitor's cost, not the bench harness's. It measures
 * itself idle, then monitoring, and prints one JSON line.
 * Usage: node --import tsx bench/monitor-child.ts <windowMs> <containerId>...
 */
import { setTimeout as sleep } from "node:timers/promises";
import { connectDocker } from "../src/docker/engine.js";
import { Monitor } from "../src/monitor/monitor.js";
import { profileOf } from "../test/fixtures/monitor/http-containers.js";

async function measure(windowMs: number): Promise<{ cpuPercent: number; rssMb: number }> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let rss = process.memoryUsage().rss;
  while (performance.now() < t0 + windowMs) {
    await sleep(250);
    rss = Math.max(rss, process.memoryUsage().rss);
  }
  const used = process.cpuUsage(cpu0);
  const wallUs = (performance.now() - t0) * 1000;
  return { cpuPercent: ((used.user + used.system) / wallUs) * 100, rssMb: rss / 1024 / 1024 };
}

const [windowArg, ...ids] = process.argv.slice(2);
const windowMs = Number(windowArg);
const docker = connectDocker();
const profiles = await Promise.all(ids.map((id, i) => profileOf(docker, id, `svc${i}`)));
const idle = await measure(windowMs);
const monitor = new Monitor(docker, profiles, { intervalMs: 1000 });
await monitor.start();
const busy = await measure(windowMs);
const data = await monitor.stop();
process.stdout.write(`${JSON.stringify({ idle, busy, samples: data.samples.length, notes: data.notes })}\n`);

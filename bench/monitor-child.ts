/**
 * The monitor bench's measured process: only what `faultline run --out` needs to watch a stack (engine
 * adapter, socket-table reader, monitor), so its CPU and RSS are the monitor's cost, not the harness's.
 * Mode `monitor` watches the given profiles the way `run --out` does (src/cli/monitored-run.ts: 1 s
 * interval, connection counts on); mode `idle` loads the same modules and only waits: the baseline,
 * run at the same time so both see the same machine. Prints one JSON line.
 * Usage: node --import tsx bench/monitor-child.ts <idle|monitor> <windowMs> <profiles.json>
 */
import { readFile } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import type { ServiceProfile } from "../src/discovery/profile.js";
import { connectDocker } from "../src/docker/engine.js";
import { connectionCounter } from "../src/monitor/connections.js";
import { Monitor } from "../src/monitor/monitor.js";

export interface ChildFigures {
  cpuPercent: number;
  rssMb: number;
}

export interface ChildReport extends ChildFigures {
  mode: "idle" | "monitor";
  samples: number;
  logLines: number;
  errorLines: number;
  samplesWithConnections: number;
  connectionsVia?: string;
  notes: string[];
}

async function measure(windowMs: number): Promise<ChildFigures> {
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

async function main(): Promise<ChildReport> {
  const [mode, windowArg, profilesFile] = process.argv.slice(2);
  const windowMs = Number(windowArg);
  const profiles = JSON.parse(await readFile(profilesFile!, "utf8")) as ServiceProfile[];
  const docker = connectDocker();
  const empty = { samples: 0, logLines: 0, errorLines: 0, samplesWithConnections: 0, notes: [] };
  if (mode === "idle") return { mode: "idle", ...(await measure(windowMs)), ...empty };

  const running = (await Promise.all(profiles.map((p) => docker.inspect(p.containerId)))).filter(
    (c) => c.state === "running",
  );
  const controller = new AbortController();
  const connections = await connectionCounter(profiles, running, { runtime: docker }, controller.signal);
  const monitor = new Monitor(docker, profiles, {
    intervalMs: 1000,
    envelope: { allDownForMs: 60_000 },
    ...(connections.counter ? { countConnections: connections.counter } : {}),
  });
  await monitor.start();
  const figures = await measure(windowMs);
  await monitor.stop();
  controller.abort();
  const data = monitor.data();
  return {
    mode: "monitor",
    ...figures,
    samples: data.samples.length,
    logLines: data.samples.reduce((n, s) => n + (s.logs?.lines ?? 0), 0),
    errorLines: data.samples.reduce((n, s) => n + (s.logs?.errors ?? 0), 0),
    samplesWithConnections: data.samples.filter((s) => (s.connections ?? 0) > 0).length,
    ...(connections.via ? { connectionsVia: connections.via } : {}),
    notes: [...data.notes, ...(connections.reason ? [connections.reason] : [])],
  };
}

process.stdout.write(`${JSON.stringify(await main())}\n`);

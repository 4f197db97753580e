/**
 * What `run --out` adds to a run: the embedded monitor watching every service in scope (steady state
 * before each fault, the fault window, recovery after), its safety envelope as an abort source, and
 * the analysis + report at the end, which is written whatever way the run ended.
 */
import { analyzeRun } from "../analysis/impact.js";
import type { Threshold } from "../analysis/thresholds.js";
import type { RunAnalysis } from "../analysis/types.js";
import type { ServiceProfile } from "../discovery/profile.js";
import type { ContainerInfo, DockerRuntime } from "../docker/types.js";
import { createIntegrations } from "../integrations/index.js";
import { connectionCounter } from "../monitor/connections.js";
import type { EnvelopeOptions } from "../monitor/envelope.js";
import { Monitor } from "../monitor/monitor.js";
import { MonitorObserver } from "../monitor/observer.js";
import { writeReport, type ReportFiles } from "../report/write.js";
import { combineObservers, type RunObserver } from "../run/observer.js";
import type { RunRecord } from "../run/record.js";

export interface MonitoredRunOptions {
  runtime: DockerRuntime;
  profiles: ServiceProfile[];
  containers: readonly ContainerInfo[];
  intervalMs: number;
  baselineMs: number;
  recoveryMs: number;
  envelope: EnvelopeOptions;
  /** Explicit steady-state thresholds for the analysis. */
  thresholds?: readonly Threshold[];
  /** The run's own abort (SIGINT/SIGTERM): cuts baseline and recovery waits short. */
  signal: AbortSignal;
  progress: (text: string) => void;
}

export interface MonitoredRun {
  /** The monitor's observer; `observers` adds the configured integrations (Grafana annotations …). */
  observer: MonitorObserver;
  observers: RunObserver;
  /** Stops the monitor, analyses the run and writes report.html/json/md into `dir`. */
  finish(record: RunRecord, dir: string): Promise<{ files: ReportFiles; analysis: RunAnalysis }>;
}

export async function monitoredRun(options: MonitoredRunOptions): Promise<MonitoredRun> {
  const running = options.containers.filter((c) => c.state === "running");
  // The host's /proc, else one helper container per reading for the whole stack (as discovery does).
  const connections = await connectionCounter(
    options.profiles,
    running,
    { runtime: options.runtime },
    options.signal,
  );
  const monitor = new Monitor(options.runtime, options.profiles, {
    intervalMs: options.intervalMs,
    envelope: options.envelope,
    onAbort: (reason) => options.progress(`safety envelope tripped: ${reason}; reverting and stopping`),
    ...(connections.counter ? { countConnections: connections.counter } : {}),
  });
  if (connections.reason) options.progress(`TCP connection counts not collected: ${connections.reason}`);
  const observer = new MonitorObserver(monitor, {
    baselineMs: options.baselineMs,
    afterMs: options.recoveryMs,
    signal: options.signal,
    onProgress: options.progress,
  });
  // Prometheus, Elasticsearch and Grafana join only when configured in the environment.
  const integrations = createIntegrations();
  if (integrations.active.length) options.progress(`integrations: ${integrations.active.join(", ")}`);
  return {
    observer,
    observers: combineObservers([observer, ...integrations.observers]),
    async finish(record, dir) {
      const data = await observer.data();
      const analysis = await integrations.enrich(
        analyzeRun(record, data, { thresholds: options.thresholds }),
        record,
        options.profiles,
      );
      if (analysis.graphAfter) record.graphAfter = analysis.graphAfter;
      const files = await writeReport(dir, record, analysis, options.profiles);
      return { files, analysis };
    },
  };
}

/**
 * What the monitor records: one sample per service per tick, tagged with the fault step and phase it
 * belongs to. Plain data, so analysis is pure and a report can be re-rendered from JSON.
 */
import type { ContainerState, HealthStatus } from "../docker/types.js";

export type Phase = "baseline" | "during" | "after";

/** Log line classes, from most to least specific. `none` lines are not errors. */
export type ErrorClass =
  "timeout" | "refused" | "dns" | "http5xx" | "auth" | "oom" | "crash" | "error" | "none";

export const ERROR_CLASSES: readonly Exclude<ErrorClass, "none">[] = [
  "timeout",
  "refused",
  "dns",
  "http5xx",
  "auth",
  "oom",
  "crash",
  "error",
];

/** HTTP probe results over one tick, for one service (all its discovered endpoints). */
export interface ProbeSummary {
  count: number;
  ok: number;
  /** Answered with a status >= 500. */
  serverErrors: number;
  timeouts: number;
  /** Refused, reset, unreachable. */
  failures: number;
  p50Ms?: number;
  p95Ms?: number;
  /** e.g. {"200": 3, "503": 1, "timeout": 1}. */
  statuses: Record<string, number>;
}

/** Error-log counts over one tick. */
export interface LogSummary {
  lines: number;
  errors: number;
  byClass: Partial<Record<Exclude<ErrorClass, "none">, number>>;
  /** Errors that mention a peer, resolved to a service id when possible. */
  peers: { class: Exclude<ErrorClass, "none">; peer: string; count: number }[];
  /** Lines dropped because the service wrote faster than the per-tick budget. */
  dropped: number;
}

export interface ServiceSample {
  service: string;
  /** Fault step this tick belongs to; undefined before the first step. */
  stepId?: string;
  phase: Phase;
  /** Wall clock (ms since epoch), for display only. */
  at: number;
  /** Monotonic ms since the monitor started: intervals are computed from this, never from `at`. */
  t: number;
  state?: ContainerState;
  health?: HealthStatus;
  restartCount?: number;
  exitCode?: number;
  /** Inspect failed (container gone or engine slow). */
  inspectError?: string;
  /** The engine no longer knows the container (removed): not a slow answer, it is gone. */
  gone?: boolean;
  probes?: ProbeSummary;
  logs?: LogSummary;
  cpuPercent?: number;
  memoryBytes?: number;
  netRxBytesPerSec?: number;
  netTxBytesPerSec?: number;
  /** Established TCP connections to other services (when a socket-table reader is available). */
  connections?: number;
}

/** A few masked example lines per service and class, for the report. */
export interface LogExample {
  service: string;
  stepId?: string;
  class: Exclude<ErrorClass, "none">;
  peer?: string;
  line: string;
  at: number;
}

/** When a phase started, per step (monotonic and wall clock). */
export interface PhaseMark {
  stepId: string;
  phase: Phase;
  t: number;
  at: number;
}

/** Everything the monitor hands to analysis. */
export interface MonitorData {
  intervalMs: number;
  services: string[];
  samples: ServiceSample[];
  marks: PhaseMark[];
  examples: LogExample[];
  notes: string[];
  /**
   * Set when the memory bound dropped the oldest samples: every sample with t at or before this was
   * dropped, so a fault whose window starts there cannot be analysed.
   */
  droppedThroughT?: number;
}

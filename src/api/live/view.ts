/**
 * The live page's view model (pure, no I/O): what the service knows right now — graph, faults in
 * effect, schedule, recent runs, live signals — folded into one JSON snapshot the page renders as is.
 * The map is Mermaid text with the faulted services in a `faulted` class, so the page only draws it.
 */
import type { Severity } from "../../analysis/types.js";
import { mermaidIds, renderMermaid } from "../../graph/render-mermaid.js";
import type { DependencyGraph } from "../../graph/types.js";
import type { ExperimentView } from "../experiments.js";
import type { FaultView } from "../faults.js";
import type { ScheduleStatus } from "../scheduler.js";

/** The class faulted nodes carry in the map; the page's CSS and the browser test look for it. */
export const FAULTED_CLASS = "faulted";
const FAULTED_STYLE = "fill:#fecaca,stroke:#dc2626,stroke-width:3px,color:#7f1d1d";

/** Runs listed on the timeline. */
export const TIMELINE_LENGTH = 20;

export interface LiveFault {
  id: string;
  target: string;
  kind: string;
  source: string;
  description: string;
  injectedAt?: string;
  revertDueAt?: string;
}

/** One hurt service's live signals over the sampler's recent window. */
export interface LiveSignal {
  service: string;
  /** "target": the faulted service itself; "caller": a service that depends on it (transitively). */
  role: "target" | "caller";
  /** Failed probes (5xx, timeouts, refused) over all probes in the window, 0..1; absent without probes. */
  errorRate?: number;
  p95Ms?: number;
  probes: number;
  /** Why there is no number (no HTTP endpoint discovered, container not reachable). */
  note?: string;
}

export interface LiveRun {
  id: string;
  status: string;
  source?: string;
  startedAt: string;
  endedAt?: string;
  severity?: Severity;
  targets: string[];
  kinds: string[];
  title?: string;
  reason?: string;
  /** Report URLs (they need the token like the rest of the API). */
  report?: { html: string; json: string };
}

export interface LiveSchedule {
  configured: boolean;
  schedule?: string;
  running?: boolean;
  paused?: boolean;
  pausedReason?: string;
  nextTick?: string;
  windowOpen?: boolean;
  kinds?: readonly string[];
  lastFault?: { at: string; service?: string; kind?: string };
}

export interface LiveSnapshot {
  at: string;
  map: { mermaid: string; nodes: string[]; discoveredAt?: string } | { pending: string };
  faulted: string[];
  faults: LiveFault[];
  schedule: LiveSchedule;
  signals: LiveSignal[];
  /** How the signals are measured, shown under them. */
  signalsSource: string;
  runs: LiveRun[];
}

export interface LiveInput {
  now: Date;
  graph?: DependencyGraph;
  discoveredAt?: string;
  /** Why there is no graph yet (discovery running, failed). */
  graphPending?: string;
  faults: { active: FaultView[] };
  experiments: ExperimentView[];
  schedule?: ScheduleStatus;
  signals: LiveSignal[];
  signalsSource: string;
}

export function buildLiveSnapshot(input: LiveInput): LiveSnapshot {
  const faults = faultsInEffect(input.faults.active, input.experiments);
  const faulted = [...new Set(faults.map((f) => f.target))].sort();
  return {
    at: input.now.toISOString(),
    map: input.graph
      ? {
          mermaid: liveMermaid(input.graph, faulted),
          nodes: input.graph.nodes.map((n) => n.id),
          ...(input.discoveredAt ? { discoveredAt: input.discoveredAt } : {}),
        }
      : { pending: input.graphPending ?? "discovering the stack" },
    faulted,
    faults,
    schedule: scheduleView(input.schedule),
    signals: input.signals,
    signalsSource: input.signalsSource,
    runs: input.experiments.slice(0, TIMELINE_LENGTH).map(runView),
  };
}

/** The graph's Mermaid text with every faulted service in the `faulted` class (drawn over its kind's). */
export function liveMermaid(graph: DependencyGraph, faulted: readonly string[]): string {
  const base = renderMermaid(graph).trimEnd();
  const ids = mermaidIds(graph.nodes.map((n) => n.id));
  const marked = faulted.map((s) => ids.get(s)).filter((id): id is string => id !== undefined);
  if (!marked.length) return `${base}\n`;
  return `${base}\n  classDef ${FAULTED_CLASS} ${FAULTED_STYLE}\n  class ${marked.join(",")} ${FAULTED_CLASS}\n`;
}

/**
 * Faults the API's fault list holds as active, plus the steps of running experiments that are injected
 * and not yet reverted (an experiment's faults may not be in the fault list).
 */
export function faultsInEffect(
  active: readonly FaultView[],
  experiments: readonly ExperimentView[],
): LiveFault[] {
  const out = new Map<string, LiveFault>();
  for (const f of active) {
    out.set(f.id || `${f.runId}:${f.target}`, {
      id: f.id,
      target: f.target,
      kind: f.kind,
      source: f.source,
      description: f.description,
      ...(f.injectedAt ? { injectedAt: f.injectedAt } : {}),
      ...(f.revertDueAt ? { revertDueAt: f.revertDueAt } : {}),
    });
  }
  for (const e of experiments) {
    if (e.status !== "running") continue;
    for (const s of e.record.steps) {
      if (!s.injectedAt || s.revertedAt || out.has(s.faultId)) continue;
      out.set(s.faultId, {
        id: s.faultId,
        target: s.target,
        kind: s.kind,
        source: "experiment",
        description: s.description,
        injectedAt: s.injectedAt,
      });
    }
  }
  return [...out.values()];
}

export interface HurtService {
  service: string;
  role: LiveSignal["role"];
}

/** The services a fault on `target` hurts: the target, then whoever depends on it, nearest first. */
export function hurtServices(graph: DependencyGraph, targets: readonly string[]): HurtService[] {
  const out: HurtService[] = [];
  const seen = new Set<string>();
  const queue: string[] = [];
  for (const t of targets) {
    if (seen.has(t)) continue;
    seen.add(t);
    out.push({ service: t, role: "target" });
    queue.push(t);
  }
  while (queue.length) {
    const server = queue.shift()!;
    for (const e of graph.edges) {
      if (e.to !== server || seen.has(e.from)) continue;
      seen.add(e.from);
      out.push({ service: e.from, role: "caller" });
      queue.push(e.from);
    }
  }
  return out;
}

function scheduleView(s: ScheduleStatus | undefined): LiveSchedule {
  if (!s) return { configured: false };
  const last = s.lastFaults[0];
  return {
    configured: true,
    schedule: s.schedule,
    running: s.running,
    paused: s.paused,
    ...(s.pausedReason ? { pausedReason: s.pausedReason } : {}),
    ...(s.nextTick ? { nextTick: s.nextTick } : {}),
    windowOpen: s.window.open,
    kinds: s.kinds,
    ...(last
      ? {
          lastFault: {
            at: last.at,
            ...(last.service ? { service: last.service } : {}),
            ...(last.kind ? { kind: last.kind } : {}),
          },
        }
      : {}),
  };
}

function runView(e: ExperimentView): LiveRun {
  const h = e.history;
  const steps = e.record.steps;
  return {
    id: e.id,
    status: e.status,
    ...(h?.source ? { source: h.source } : {}),
    startedAt: e.startedAt,
    ...(e.endedAt ? { endedAt: e.endedAt } : {}),
    ...(h?.severity ? { severity: h.severity } : {}),
    targets: h?.targets ?? [...new Set(steps.map((s) => s.target))],
    kinds: h?.kinds ?? [...new Set(steps.map((s) => s.kind))],
    ...(h?.title ? { title: h.title } : {}),
    ...(h?.reason || e.error ? { reason: h?.reason ?? e.error } : {}),
    ...(e.report && !h?.reportsPrunedAt ? { report: e.report } : {}),
  };
}

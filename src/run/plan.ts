/**
 * The experiment planner (pure): which service gets which fault, in which order, one fault at a time.
 * Order comes from the dependency graph (most depended-on first unless the graph says otherwise);
 * scope, exclusions and the blast-radius cap decide who is in.
 */
import type { ContainerInfo } from "../docker/types.js";
import { InvalidInputError, TargetNotFoundError } from "../errors.js";
import { blastRadii } from "../graph/order.js";
import type { DependencyGraph } from "../graph/types.js";
import { assertFaultDuration } from "../faults/validation.js";
import { formatDuration } from "../util/duration.js";
import type { FaultTarget } from "../faults/fault.js";
import type { FaultKind } from "../faults/kinds.js";
import { exclusionReason, matchesLabels, serviceIdOf } from "./targeting.js";

export type PlanContainer = Pick<ContainerInfo, "id" | "name" | "labels" | "state" | "compose">;

export interface PlanRequest {
  /** Containers in the compose project / label scope (stopped ones included: they are reported as skipped). */
  containers: readonly PlanContainer[];
  /** Gives the order (graph.order) and blast radii; without it, services go alphabetically. */
  graph?: DependencyGraph;
  /** Only these services (ids), in graph order. */
  services?: readonly string[];
  /** Only containers carrying all these labels ("k=v" or "k"). */
  labels?: readonly string[];
  kinds: readonly FaultKind[];
  /** Options per kind, passed to the fault family (validated when the fault is built). */
  options?: Partial<Record<FaultKind, Record<string, unknown>>>;
  durationMs: number;
  /** Pause between steps, for the stack to settle before the next fault. */
  recoveryWaitMs: number;
  /** Skip services whose failure would reach more than this many others. */
  maxBlastRadius?: number;
  selfContainerId?: string;
}

export interface PlannedStep {
  service: string;
  containerId: string;
  containerName: string;
  kind: FaultKind;
  options: Record<string, unknown>;
  durationMs: number;
  /** Services that depend on this one, directly or not (from the graph). */
  blastRadius: string[];
  description: string;
  /**
   * Consecutive steps of one scenario start together, each `offsetMs` after the scenario starts, and the
   * scenario ends when the last of them is reverted (experiment files' `scenario`).
   */
  scenario?: { id: string; title: string; offsetMs: number };
  /** A pause before this step (or its scenario) starts: an experiment file's `wait`. */
  waitBeforeMs?: number;
  /** HTTP probes made before this step (or its scenario) starts: an experiment file's `probe`. */
  probesBefore?: MethodProbe[];
}

/** A probe of an experiment's method: an HTTP GET of a service's port and path (its address looked up then). */
export interface MethodProbe {
  /** Position in the experiment's method ("method[3]"). */
  where: string;
  description: string;
  service: string;
  port: number;
  path: string;
  /** Statuses that count as success; absent: any below 400. */
  expect?: number[];
  timeoutMs: number;
}

export interface ExcludedService {
  service: string;
  reason: string;
}

export interface ExperimentPlan {
  steps: PlannedStep[];
  excluded: ExcludedService[];
  /** Services in the order they will be faulted. */
  order: string[];
  durationMs: number;
  recoveryWaitMs: number;
  /** Fault time plus recovery waits, excluding inject/revert overhead. */
  estimatedMs: number;
}

/** Longer than this between faults and an experiment is a stack left alone, not a pause to settle. */
export const MAX_RECOVERY_WAIT_MS = 3_600_000;

export function planExperiment(request: PlanRequest): ExperimentPlan {
  if (!request.kinds.length)
    throw new InvalidInputError("no fault kinds to plan", "pass e.g. --kinds pause,stop");
  for (const kind of request.kinds) assertFaultDuration(kind, request.durationMs);
  if (!(request.recoveryWaitMs >= 0 && request.recoveryWaitMs <= MAX_RECOVERY_WAIT_MS)) {
    throw new InvalidInputError(
      `the recovery wait (${request.recoveryWaitMs} ms) must be at least 0 and at most 1h`,
      "e.g. --recovery 10s",
    );
  }
  const radii = request.graph ? blastRadii(request.graph) : new Map<string, string[]>();
  const byService = new Map<string, PlanContainer[]>();
  for (const c of request.containers) {
    if (request.labels && !matchesLabels(c, request.labels)) continue;
    const id = serviceIdOf(c);
    byService.set(
      id,
      [...(byService.get(id) ?? []), c].sort((a, b) => (a.name < b.name ? -1 : 1)),
    );
  }

  const wanted = request.services ? new Set(request.services) : undefined;
  for (const s of wanted ?? []) {
    if (!byService.has(s)) {
      throw new TargetNotFoundError(
        `no service "${s}" in scope`,
        `known: ${[...byService.keys()].sort().join(", ") || "none"}`,
      );
    }
  }

  const graphOrder = (request.graph?.order ?? []).filter((id) => byService.has(id));
  const rest = [...byService.keys()].filter((id) => !graphOrder.includes(id)).sort();
  const candidates = [...graphOrder, ...rest].filter((id) => !wanted || wanted.has(id));

  const excluded: ExcludedService[] = [];
  const steps: PlannedStep[] = [];
  const order: string[] = [];
  for (const service of candidates) {
    const containers = byService.get(service)!;
    const reason = containers.map((c) => exclusionReason(c, request.selfContainerId)).find(Boolean);
    if (reason) {
      excluded.push({ service, reason });
      continue;
    }
    const target = containers.find((c) => c.state === "running");
    if (!target) {
      excluded.push({ service, reason: `not running (${containers.map((c) => c.state).join(", ")})` });
      continue;
    }
    const radius = radii.get(service) ?? [];
    if (request.maxBlastRadius !== undefined && radius.length > request.maxBlastRadius) {
      excluded.push({
        service,
        reason: `blast radius ${radius.length} > ${request.maxBlastRadius} (${radius.join(", ")})`,
      });
      continue;
    }
    order.push(service);
    const serves = servesOthers(service, request.graph);
    for (const kind of request.kinds) {
      let options = withPlannedDefaults(kind, { ...(request.options?.[kind] ?? {}) }, serves);
      if (kind === "http" && request.graph && options.port === undefined && options.ports === undefined) {
        const ports = httpPortsOf(service, request.graph);
        if (!ports.length) {
          excluded.push({ service, reason: "http: discovery found no port of it answering HTTP" });
          continue;
        }
        options = { ...options, port: ports };
      }
      steps.push({
        service,
        containerId: target.id,
        containerName: target.name,
        kind,
        options,
        durationMs: request.durationMs,
        blastRadius: radius,
        description: describeStep(kind, service, options, request.durationMs),
      });
    }
  }
  const estimatedMs =
    steps.length * request.durationMs + Math.max(0, steps.length - 1) * request.recoveryWaitMs;
  return {
    steps,
    excluded,
    order,
    durationMs: request.durationMs,
    recoveryWaitMs: request.recoveryWaitMs,
    estimatedMs,
  };
}

/** One step on one resolved target, outside any plan: an ad-hoc fault (`inject`, the API, the scheduler). */
export function adHocStep(
  target: FaultTarget,
  kind: FaultKind,
  options: Record<string, unknown>,
  durationMs: number,
): PlannedStep {
  return {
    service: target.service,
    containerId: target.containerId,
    containerName: target.containerName,
    kind,
    options,
    durationMs,
    blastRadius: [],
    description: describeStep(kind, target.service, options, durationMs),
  };
}

/**
 * Direction a planned network fault takes on a service others connect to, unless the user chose one.
 * A server's own outgoing traffic is mostly replies on connections its clients opened, and "outgoing"
 * reads as "what this service calls": for a server the question a run asks is what its clients feel,
 * so the fault sits on what reaches it. Latency and loss act once per round trip that way (the
 * asked-for amount, not twice); bandwidth limits both ways because a server's replies are the bulk.
 * Partition already cuts both ways and DNS failure is outgoing by nature: both keep their defaults.
 */
const SERVER_DIRECTIONS: Partial<Record<FaultKind, "in" | "both">> = {
  latency: "in",
  loss: "in",
  bandwidth: "both",
};

/** Protocols an http fault's proxy speaks (HTTP/1.x), as discovery names them. */
const HTTP1_PROTOCOLS = new Set(["http", "elasticsearch"]);

/** The service's TCP ports discovery saw answering HTTP/1.x (pure). */
export function httpPortsOf(service: string, graph: DependencyGraph): number[] {
  const node = graph.nodes.find((n) => n.id === service);
  return (node?.ports ?? [])
    .filter((p) => p.protocol === "tcp" && HTTP1_PROTOCOLS.has(p.service ?? ""))
    .map((p) => p.port);
}

/** A service that listens (the graph saw its ports) or that others depend on. */
export function servesOthers(service: string, graph: DependencyGraph | undefined): boolean {
  if (!graph) return false;
  if (graph.edges.some((e) => e.to === service && e.from !== service)) return true;
  return (graph.nodes.find((n) => n.id === service)?.ports.length ?? 0) > 0;
}

/** A step's options with the planner's defaults filled in; what the user gave is never changed. */
export function withPlannedDefaults(
  kind: FaultKind,
  options: Record<string, unknown>,
  serves: boolean,
): Record<string, unknown> {
  const direction = SERVER_DIRECTIONS[kind];
  if (!serves || !direction || options.direction !== undefined) return options;
  return { ...options, direction };
}

function describeStep(
  kind: FaultKind,
  service: string,
  options: Record<string, unknown>,
  durationMs: number,
): string {
  const opts = Object.entries(options)
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(" ");
  return `${kind} ${service}${opts ? ` (${opts})` : ""} for ${formatDuration(durationMs)}`;
}

/** The plan as plain text for a terminal. */
export function formatPlan(plan: ExperimentPlan): string {
  const lines: string[] = [];
  lines.push(
    `${plan.steps.length} step(s), one fault at a time, ${formatDuration(plan.durationMs)} each, ` +
      `${formatDuration(plan.recoveryWaitMs)} recovery wait; about ${formatDuration(plan.estimatedMs)} in all`,
  );
  plan.steps.forEach((s, i) => {
    const radius = s.blastRadius.length
      ? `  [blast radius ${s.blastRadius.length}: ${s.blastRadius.join(", ")}]`
      : "";
    lines.push(`${String(i + 1).padStart(3)}. ${s.description} -> ${s.containerName}${radius}`);
  });
  for (const e of plan.excluded) lines.push(`  skip ${e.service}: ${e.reason}`);
  return lines.join("\n");
}

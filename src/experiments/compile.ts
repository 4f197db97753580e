/**
 * An experiment document on the stack as discovery sees it -> the steps the experiment sequence runs
 * (pure). Targets are resolved by name, label, discovered kind or "most depended-on"; every fault gets
 * the planner's defaults (direction on servers, the ports discovery saw answering HTTP); scenarios
 * become steps that start together; waits and probes are placed before the step they precede. A target
 * that is missing, excluded, stopped or past the blast-radius cap is one error naming where in the file.
 */
import { parseThreshold, type Threshold } from "../analysis/thresholds.js";
import type { ContainerInfo } from "../docker/types.js";
import type { EnvelopeOptions } from "../monitor/envelope.js";
import { blastRadii } from "../graph/order.js";
import type { DependencyGraph } from "../graph/types.js";
import type { FaultKind } from "../faults/kinds.js";
import {
  adHocStep,
  httpPortsOf,
  servesOthers,
  withPlannedDefaults,
  type MethodProbe,
  type PlannedStep,
} from "../run/plan.js";
import { exclusionReason, matchesLabels, serviceIdOf } from "../run/targeting.js";
import { formatDuration, parseDuration } from "../util/duration.js";
import type { ExperimentDocument, FaultSpec, TargetRef, TargetSelector } from "./document.js";
import { ExperimentFileError, type PathKey, type Positions } from "./load.js";

export interface CompileInput {
  document: ExperimentDocument;
  positions: Positions;
  /** Containers in the document's scope (stopped ones too). */
  containers: readonly ContainerInfo[];
  graph?: DependencyGraph;
  selfContainerId?: string;
}

export interface CompiledExperiment {
  title: string;
  steps: PlannedStep[];
  /** After the last step: a trailing wait and probes of the method. */
  finalWaitMs: number;
  finalProbes: MethodProbe[];
  baselineMs: number;
  recoveryMs: number;
  thresholds: Threshold[];
  /** Services whose learned steady state is part of the hypothesis. */
  learned: string[] | "entry-points" | "none";
  envelope: EnvelopeOptions;
  onDeviation: "continue" | "abort";
  /** Every target the method names, by the document's target names / services. */
  targets: Record<string, string>;
  estimatedMs: number;
}

export const DEFAULT_BASELINE_MS = 10_000;
export const DEFAULT_RECOVERY_MS = 10_000;
const DEFAULT_PROBE_TIMEOUT_MS = 2_000;

const ms = (v: string | number | undefined, fallback: number) =>
  v === undefined ? fallback : typeof v === "number" ? v : parseDuration(v);

export function compileExperiment(input: CompileInput): CompiledExperiment {
  const { document: doc, positions } = input;
  const services = servicesOf(input.containers);
  const order = [
    ...(input.graph?.order ?? []).filter((id) => services.has(id)),
    ...[...services.keys()].filter((id) => !input.graph?.order.includes(id)).sort(),
  ];
  const radii = input.graph ? blastRadii(input.graph) : new Map<string, string[]>();
  const maxRadius = doc.safety?.maxBlastRadius;
  const resolved: Record<string, string> = {};

  const fail = (path: PathKey[], problem: string, hint?: string): never => {
    throw new ExperimentFileError(positions, path, problem, hint);
  };
  const known = () => `services in scope: ${order.join(", ") || "none"}`;

  const select = (selector: TargetSelector, path: PathKey[]): string => {
    if (selector.service !== undefined) {
      if (!services.has(selector.service)) fail(path, `no service "${selector.service}" in scope`, known());
      return selector.service;
    }
    if (selector.label !== undefined) {
      const hit = order.find((id) => services.get(id)!.some((c) => matchesLabels(c, [selector.label!])));
      return hit ?? fail(path, `no service in scope carries the label ${selector.label}`, known());
    }
    if (selector.kind !== undefined) {
      const kinds = new Map((input.graph?.nodes ?? []).map((n) => [n.id, n.kind]));
      const hit = order.find((id) => kinds.get(id) === selector.kind);
      const seen = [...new Set(order.map((id) => `${id} (${kinds.get(id) ?? "unknown"})`))].join(", ");
      return (
        hit ?? fail(path, `discovery found no service of kind "${selector.kind}"`, `kinds seen: ${seen}`)
      );
    }
    // The service most others depend on; ties go to the test order.
    const best = [...order]
      .filter((id) => !exclusionOf(services.get(id)!, input.selfContainerId))
      .sort((a, b) => (radii.get(b)?.length ?? 0) - (radii.get(a)?.length ?? 0))[0];
    return best ?? fail(path, "no service in scope to pick as the most depended-on", known());
  };

  const targetOf = (ref: TargetRef, path: PathKey[]): string => {
    const key = typeof ref === "string" ? ref : JSON.stringify(ref);
    if (resolved[key]) return resolved[key]!;
    const named = typeof ref === "string" ? doc.targets?.[ref] : undefined;
    const service =
      typeof ref !== "string"
        ? select(ref, path)
        : named
          ? select(named, ["targets", ref])
          : select({ service: ref }, path);
    const containers = services.get(service)!;
    const excluded = exclusionOf(containers, input.selfContainerId);
    if (excluded) fail(path, `${service} may not be targeted: ${excluded}`);
    if (!containers.some((c) => c.state === "running"))
      fail(path, `${service} is not running (${containers.map((c) => c.state).join(", ")})`);
    const radius = radii.get(service) ?? [];
    if (maxRadius !== undefined && radius.length > maxRadius)
      fail(
        path,
        `${service}'s blast radius is ${radius.length} (${radius.join(", ")}), above safety.maxBlastRadius ${maxRadius}`,
      );
    resolved[key] = service;
    return service;
  };

  const faultStep = (spec: FaultSpec, path: PathKey[]): PlannedStep => {
    const service = targetOf(spec.target, [...path, "target"]);
    const container = services.get(service)!.find((c) => c.state === "running")!;
    const kind = spec.kind as FaultKind;
    let options = withPlannedDefaults(kind, { ...(spec.options ?? {}) }, servesOthers(service, input.graph));
    if (kind === "http" && input.graph && options.port === undefined && options.ports === undefined) {
      const ports = httpPortsOf(service, input.graph);
      if (ports.length) options = { ...options, port: ports };
    }
    const step = adHocStep(
      { service, containerId: container.id, containerName: container.name },
      kind,
      options,
      ms(spec.duration, 0),
    );
    return { ...step, blastRadius: radii.get(service) ?? [] };
  };

  const probeOf = (
    p: NonNullable<Extract<ExperimentDocument["method"][number], { probe: unknown }>>["probe"],
    i: number,
  ): MethodProbe => {
    const path: PathKey[] = ["method", i, "probe"];
    const service = targetOf(p.target, [...path, "target"]);
    const port = p.port ?? (input.graph ? httpPortsOf(service, input.graph)[0] : undefined);
    if (port === undefined)
      fail([...path, "port"], `discovery saw no HTTP port on ${service}`, "name the port to probe");
    const expect = p.expect === undefined ? undefined : Array.isArray(p.expect) ? p.expect : [p.expect];
    const route = p.path ?? "/";
    return {
      where: `method[${i}]`,
      description: `GET ${service}:${port}${route}${expect ? ` expecting ${expect.join(" or ")}` : ""}`,
      service,
      port: port!,
      path: route,
      ...(expect ? { expect } : {}),
      timeoutMs: ms(p.timeout, DEFAULT_PROBE_TIMEOUT_MS),
    };
  };

  const steps: PlannedStep[] = [];
  let waitMs = 0;
  let probes: MethodProbe[] = [];
  doc.method.forEach((entry, i) => {
    if ("wait" in entry) {
      waitMs += ms(entry.wait, 0);
      return;
    }
    if ("probe" in entry) {
      probes.push(probeOf(entry.probe, i));
      return;
    }
    const lead = {
      ...(waitMs ? { waitBeforeMs: waitMs } : {}),
      ...(probes.length ? { probesBefore: probes } : {}),
    };
    waitMs = 0;
    probes = [];
    if ("fault" in entry) {
      steps.push({ ...faultStep(entry.fault, ["method", i, "fault"]), ...lead });
      return;
    }
    const id = `scenario-${i + 1}`;
    const title = entry.scenario.title ?? `method[${i}]`;
    entry.scenario.faults.forEach((spec, j) => {
      const step = faultStep(spec, ["method", i, "scenario", "faults", j]);
      steps.push({ ...step, ...(j === 0 ? lead : {}), scenario: { id, title, offsetMs: ms(spec.after, 0) } });
    });
  });
  if (!steps.length) fail(["method"], "the method has no fault or scenario: nothing would be tested");

  const baselineMs = ms(doc.steadyState?.baseline, DEFAULT_BASELINE_MS);
  const recoveryMs = ms(doc.rollback?.recovery, DEFAULT_RECOVERY_MS);
  const thresholds = (doc.steadyState?.thresholds ?? []).map((t) => parseThreshold(t));
  thresholds.forEach((t, i) => {
    if (t.service && !services.has(t.service))
      fail(
        ["steadyState", "thresholds", i],
        `threshold ${t.text} names "${t.service}", not in scope`,
        known(),
      );
  });
  const learnedSpec = doc.steadyState?.learned;
  const learned: CompiledExperiment["learned"] =
    learnedSpec === undefined || learnedSpec === false
      ? "none"
      : learnedSpec === true
        ? "entry-points"
        : learnedSpec.map((s, i) => {
            if (!services.has(s)) fail(["steadyState", "learned", i], `no service "${s}" in scope`, known());
            return s;
          });
  const forMs = ms(doc.safety?.envelopeFor, 10_000);
  const envelope: EnvelopeOptions = {
    allDownForMs: ms(doc.safety?.abortWhenDown, 15_000),
    errorRateForMs: forMs,
    probeFailureForMs: forMs,
    ...(doc.safety?.maxErrorRate !== undefined ? { maxErrorsPerSecond: doc.safety.maxErrorRate } : {}),
    ...(doc.safety?.maxProbeFailures !== undefined
      ? { maxProbeFailureRatio: doc.safety.maxProbeFailures }
      : {}),
  };
  const estimatedMs = estimate(steps, baselineMs, recoveryMs) + waitMs;
  const maxDuration = doc.safety?.maxDuration;
  if (maxDuration !== undefined && estimatedMs > ms(maxDuration, 0))
    fail(
      ["safety", "maxDuration"],
      `the experiment would take about ${formatDuration(estimatedMs)}, more than safety.maxDuration ${formatDuration(ms(maxDuration, 0))}`,
    );
  return {
    title: doc.title,
    steps,
    finalWaitMs: waitMs,
    finalProbes: probes,
    baselineMs,
    recoveryMs,
    thresholds,
    learned,
    envelope,
    onDeviation: doc.rollback?.onDeviation ?? "continue",
    targets: Object.fromEntries(Object.entries(resolved).filter(([k]) => !k.startsWith("{"))),
    estimatedMs,
  };
}

/** Baseline, the longest fault of each unit (a scenario's faults overlap) and recovery, plus waits. */
function estimate(steps: readonly PlannedStep[], baselineMs: number, recoveryMs: number): number {
  let total = 0;
  let scenario: string | undefined;
  let unitMs = 0;
  const close = () => {
    if (unitMs) total += baselineMs + unitMs + recoveryMs;
    unitMs = 0;
  };
  for (const s of steps) {
    if (!s.scenario || s.scenario.id !== scenario) close();
    scenario = s.scenario?.id;
    total += s.waitBeforeMs ?? 0;
    unitMs = Math.max(unitMs, (s.scenario?.offsetMs ?? 0) + s.durationMs);
  }
  close();
  return total;
}

function servicesOf(containers: readonly ContainerInfo[]): Map<string, ContainerInfo[]> {
  const out = new Map<string, ContainerInfo[]>();
  for (const c of containers) out.set(serviceIdOf(c), [...(out.get(serviceIdOf(c)) ?? []), c]);
  return out;
}

function exclusionOf(containers: readonly ContainerInfo[], self: string | undefined): string | undefined {
  return containers.map((c) => exclusionReason(c, self)).find(Boolean);
}

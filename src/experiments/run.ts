/**
 * Running an experiment document: compile it on the stack, check every step's options against its real
 * target once (nothing is injected if one fails), then the one experiment sequence every caller runs,
 * monitored, with the method's probes and the verdict written into the record and the report.
 * `faultline run --experiment` and POST /api/experiments both come here.
 */
import type { ContainerInfo } from "../docker/types.js";
import type { RunSource } from "../history/summary.js";
import { probeHttp } from "../monitor/http-probe.js";
import type { RunObserver } from "../run/observer.js";
import type { MethodProbe } from "../run/plan.js";
import {
  runSequence,
  validateSteps,
  type ExperimentScope,
  type SequenceIntegrations,
  type SequenceResult,
  type StackView,
} from "../run/experiment.js";
import type { ProbeRecord } from "../run/record.js";
import { compileExperiment, type CompiledExperiment } from "./compile.js";
import type { LoadedExperiment } from "./load.js";
import { experimentVerdict, type ExperimentVerdict } from "./verdict.js";

export interface ExperimentRun {
  compiled: CompiledExperiment;
  result: SequenceResult;
  verdict: ExperimentVerdict;
}

export interface PreparedDocument {
  loaded: LoadedExperiment;
  compiled: CompiledExperiment;
}

/** Compiles the document on the stack and builds every step's fault once: nothing changes. */
export async function prepareDocument(input: {
  loaded: LoadedExperiment;
  stack: StackView;
  containers: readonly ContainerInfo[];
  scope: Pick<ExperimentScope, "registry" | "resolver" | "runtime" | "selfContainerId">;
}): Promise<PreparedDocument> {
  const compiled = compileExperiment({
    document: input.loaded.document,
    positions: input.loaded.positions,
    containers: input.containers,
    graph: input.stack.graph,
    selfContainerId: input.scope.selfContainerId,
  });
  await validateSteps(compiled.steps, input.scope);
  return { loaded: input.loaded, compiled };
}

export async function runDocument(input: {
  prepared: PreparedDocument;
  scope: ExperimentScope;
  stack: StackView;
  containers: readonly ContainerInfo[];
  intervalMs: number;
  source: string;
  integrations?: SequenceIntegrations;
  reportDir?: string;
  signal?: AbortSignal;
  observers?: readonly RunObserver[];
  runId?: string;
  /** Who started the run, as history records it (default cli). */
  runSource?: RunSource;
  dryRun?: boolean;
  progress?: (text: string) => void;
}): Promise<ExperimentRun> {
  const { compiled, loaded } = input.prepared;
  const resolver = input.scope.resolver;
  let verdict: ExperimentVerdict | undefined;
  const result = await runSequence({
    scope: input.scope,
    steps: compiled.steps,
    recoveryMs: compiled.recoveryMs,
    ...(input.stack.graph ? { graph: input.stack.graph } : {}),
    ...(input.stack.profiles ? { profiles: input.stack.profiles } : {}),
    containers: input.containers,
    monitor: {
      intervalMs: input.intervalMs,
      baselineMs: compiled.baselineMs,
      envelope: compiled.envelope,
      thresholds: compiled.thresholds,
      ...(compiled.onDeviation === "abort" ? { abortOnBreach: compiled.thresholds } : {}),
      ...(input.integrations ? { integrations: input.integrations } : {}),
    },
    ...(input.reportDir ? { reportDir: input.reportDir } : {}),
    ...(input.signal ? { signal: input.signal } : {}),
    ...(input.observers ? { observers: input.observers } : {}),
    ...(input.runId ? { runId: input.runId } : {}),
    ...(input.runSource ? { source: input.runSource } : {}),
    ...(input.dryRun ? { dryRun: true } : {}),
    ...(input.progress ? { progress: input.progress } : {}),
    method: {
      finalWaitMs: compiled.finalWaitMs,
      finalProbes: compiled.finalProbes,
      probe: (p, signal) => probeService(p, (name) => resolver.resolveService(name), signal),
    },
    judge: (record, analysis) => {
      verdict = experimentVerdict({ title: compiled.title, record, analysis, learned: compiled.learned });
      record.experiment = {
        title: compiled.title,
        ...(loaded.document.description ? { description: loaded.document.description } : {}),
        source: input.source,
        ...(input.dryRun
          ? {}
          : { verdict: { held: verdict.held, summary: verdict.summary, findings: verdict.findings } }),
      };
    },
  });
  return { compiled, result, verdict: verdict! };
}

/** One probe of the method: the service's address now (it may have moved), then a bounded GET. */
export async function probeService(
  probe: MethodProbe,
  resolve: (service: string) => Promise<{ ips: string[] }>,
  signal: AbortSignal,
): Promise<Omit<ProbeRecord, "where" | "description">> {
  const at = new Date().toISOString();
  const { ips } = await resolve(probe.service);
  const ip = ips.find((a) => !a.includes(":")) ?? ips[0];
  const url = `http://${ip?.includes(":") ? `[${ip}]` : (ip ?? probe.service)}:${probe.port}${probe.path}`;
  const r = await probeHttp(url, probe.timeoutMs, signal);
  const ok =
    r.status !== undefined &&
    (probe.expect ? probe.expect.includes(r.status) : r.status < 400 && r.outcome === "ok");
  return {
    url,
    at,
    ok,
    ...(r.status !== undefined ? { status: r.status } : {}),
    latencyMs: r.latencyMs,
    ...(r.error ? { error: r.error } : {}),
  };
}

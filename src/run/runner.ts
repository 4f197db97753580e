/**
 * The experiment runner. For each step: journal the intent, inject, wait for the duration OR an abort,
 * then revert in `finally` under its own bounded timeout that no caller can cancel, then journal the
 * revert. Errors are collected on the step, never thrown past a revert.
 */
import { randomUUID } from "node:crypto";
import type { ContainerInfo, ContainerReader, DockerRuntime } from "../docker/types.js";
import { errorText, isTargetNotFound } from "../errors.js";
import type { Fault, FaultContext, ResolvedService } from "../faults/fault.js";
import type { FaultRegistry } from "../faults/registry.js";
import { log } from "../util/log.js";
import { sleep, withTimeout } from "../util/time.js";
import type { FaultJournal } from "./journal.js";
import type { RunObserver, ScenarioContext, StepContext } from "./observer.js";
import type { ExperimentPlan, MethodProbe, PlannedStep } from "./plan.js";
import type { FaultKind } from "../faults/kinds.js";
import type { FaultStep, ProbeRecord, RunRecord } from "./record.js";
import { FAULT_TIMEOUTS } from "../faults/timeouts.js";

/** Upper bound on one revert, on top of each fault's own bound: a stuck engine must not hang the run. */
export const DEFAULT_REVERT_TIMEOUT_MS = FAULT_TIMEOUTS.revertMs;
const DEFAULT_POLL_MS = 250;
/** How often a fault's target is looked at while the fault holds: a target that dies ends its fault early. */
const TARGET_CHECK_MS = 1_000;
/** Kinds whose fault takes the target down itself: for them only the target's removal means it is lost. */
const TAKES_TARGET_DOWN: ReadonlySet<FaultKind> = new Set<FaultKind>(["stop", "kill", "restart"]);

/**
 * Why a fault's target counts as lost while the fault holds it, or undefined if it is still there (pure).
 * `seen` is the target as inspected now, or "removed" when the engine no longer knows it.
 */
export function targetLostReason(
  kind: FaultKind,
  target: { service: string; containerName: string },
  seen: Pick<ContainerInfo, "state" | "exitCode"> | "removed",
): string | undefined {
  const name =
    target.service === target.containerName
      ? target.containerName
      : `${target.containerName} (service ${target.service})`;
  if (seen === "removed") return `target ${name} was removed during the ${kind} fault`;
  if (TAKES_TARGET_DOWN.has(kind)) return undefined;
  if (seen.state === "exited" || seen.state === "dead") {
    return `target ${name} ${seen.state === "dead" ? "died" : `exited (code ${seen.exitCode})`} during the ${kind} fault`;
  }
  return undefined;
}

export interface RunnerOptions {
  runtime: DockerRuntime;
  registry: FaultRegistry;
  journal: FaultJournal;
  resolver: { resolveService(name: string): Promise<ResolvedService> };
  observer?: RunObserver;
  /** Aborting (SIGINT, an API call) reverts the fault in flight and skips the rest. */
  signal?: AbortSignal;
  project?: string;
  runId?: string;
  /** Dry runs do not wait: each fault is "in effect" for no time, so the call log comes out at once. */
  dryRun?: boolean;
  revertTimeoutMs?: number;
  /** How often `shouldAbort` is asked while waiting. */
  pollIntervalMs?: number;
  /** Makes an experiment method's HTTP probes (steps' probesBefore, `finalProbes`); absent: none run. */
  probe?: (probe: MethodProbe, signal: AbortSignal) => Promise<Omit<ProbeRecord, "where" | "description">>;
  /** After the last step: an experiment method's trailing wait and probes. */
  finalWaitMs?: number;
  finalProbes?: MethodProbe[];
}

export function newRunId(now = new Date()): string {
  return `run-${now.toISOString().replace(/[-:]/g, "").replace(/\..*/, "")}-${randomUUID().slice(0, 6)}`;
}

/** Runs a plan's steps with its recovery wait between them. */
export async function runExperiment(plan: ExperimentPlan, options: RunnerOptions): Promise<RunRecord> {
  return runSteps(plan.steps, plan.recoveryWaitMs, options);
}

/**
 * Runs steps one at a time, `recoveryWaitMs` apart (not after the last). Each step's fault is built
 * when its turn comes, against the target as it is then.
 */
export async function runSteps(
  steps: readonly PlannedStep[],
  recoveryWaitMs: number,
  options: RunnerOptions,
): Promise<RunRecord> {
  return new Runner(options).run(steps, recoveryWaitMs);
}

/** Runs one step (`inject`, an API fault, a scheduled one); the record has that one step. */
export async function runSingleFault(step: PlannedStep, options: RunnerOptions): Promise<RunRecord> {
  return runSteps([step], 0, options);
}

class Runner {
  private readonly observer: RunObserver;
  private readonly signal: AbortSignal;
  private readonly runId: string;
  private abortReason?: string;

  constructor(private readonly options: RunnerOptions) {
    this.observer = options.observer ?? {};
    const signals = [options.signal, this.observer.abortSignal].filter(
      (s): s is AbortSignal => s !== undefined,
    );
    this.signal = signals.length ? AbortSignal.any(signals) : new AbortController().signal;
    this.runId = options.runId ?? newRunId();
  }

  async run(steps: readonly PlannedStep[], recoveryWaitMs: number): Promise<RunRecord> {
    const record: RunRecord = {
      runId: this.runId,
      project: this.options.project,
      startedAt: new Date().toISOString(),
      status: "running",
      dryRun: this.options.dryRun ?? false,
      steps: [],
    };
    await this.hook("onRunStart", record, steps);
    for (const [i, planned] of steps.entries()) await this.hook("onStepPlanned", planned, i);

    // A scenario's steps run together: one unit of work, like a single step.
    const units: StepContext[][] = [];
    for (const [index, planned] of steps.entries()) {
      const ctx: StepContext = { index, planned, step: newStep(planned) };
      record.steps.push(ctx.step);
      const last = units[units.length - 1];
      const sameScenario = planned.scenario && last?.[0]?.planned.scenario?.id === planned.scenario.id;
      if (sameScenario) last!.push(ctx);
      else units.push([ctx]);
    }
    for (const [u, unit] of units.entries()) {
      const first = unit[0]!.planned;
      if (!this.abortReason && first.waitBeforeMs && !this.options.dryRun)
        await this.waitOrAbort(first.waitBeforeMs);
      await this.probes(record, first.probesBefore);
      const reason = this.abortReason ?? (await this.checkAbort());
      if (reason) {
        for (const ctx of unit) ctx.step.outcome = { status: "skipped", reason: `run aborted: ${reason}` };
        continue;
      }
      if (first.scenario) await this.runScenario(first.scenario, unit);
      else await this.runStep(unit[0]!);
      // Dry runs change nothing, so there is nothing to recover from.
      const lastUnit = u === units.length - 1;
      if (!lastUnit && recoveryWaitMs > 0 && !this.options.dryRun) await this.waitOrAbort(recoveryWaitMs);
    }
    if (!this.abortReason && this.options.finalWaitMs && !this.options.dryRun)
      await this.waitOrAbort(this.options.finalWaitMs);
    await this.probes(record, this.options.finalProbes);

    record.endedAt = new Date().toISOString();
    const revertFailed = record.steps.some((s) => s.outcome?.status === "revert-failed");
    if (this.abortReason) {
      record.status = "aborted";
      record.abortReason = this.abortReason;
    } else record.status = revertFailed ? "failed" : "completed";
    await this.hook("onRunEnd", record);
    return record;
  }

  /** The scenario's faults, each `offsetMs` after its start, held and reverted on their own clocks. */
  private async runScenario(
    scenario: NonNullable<PlannedStep["scenario"]>,
    unit: StepContext[],
  ): Promise<void> {
    const context: ScenarioContext = { id: scenario.id, title: scenario.title, steps: unit };
    for (const ctx of unit) ctx.step.scenario = { ...ctx.planned.scenario! };
    await this.hook("onScenarioStart", context);
    await Promise.all(
      unit.map(async (ctx) => {
        const offset = ctx.planned.scenario?.offsetMs ?? 0;
        if (offset > 0 && !this.options.dryRun) {
          const reason = await this.waitOrAbort(offset);
          if (reason) {
            ctx.step.outcome = { status: "skipped", reason: `run aborted: ${reason}` };
            return;
          }
        }
        await this.runStep(ctx);
      }),
    );
    await this.hook("onScenarioReverted", context);
    await this.hook("onScenarioEnd", context);
  }

  /** An experiment method's probes at this point; a failed probe is a result, not an error. */
  private async probes(record: RunRecord, probes: readonly MethodProbe[] | undefined): Promise<void> {
    if (!probes?.length || !this.options.probe || this.options.dryRun) return;
    for (const p of probes) {
      if (this.signal.aborted) return;
      const at = new Date().toISOString();
      const result = await this.options.probe(p, this.signal).catch((e: unknown) => ({
        url: `http://${p.service}:${p.port}${p.path}`,
        ok: false,
        latencyMs: 0,
        error: errorText(e),
        at,
      }));
      (record.probes ??= []).push({ where: p.where, description: p.description, ...result, at });
    }
  }

  private async runStep(ctx: StepContext): Promise<void> {
    const { step, planned } = ctx;
    let fault: Fault;
    try {
      fault = await this.buildFault(planned);
    } catch (e) {
      const message = errorText(e);
      step.errors.push(message);
      step.outcome = isTargetNotFound(e)
        ? { status: "skipped", reason: message }
        : { status: "injection-failed", error: message };
      await this.hook("onStepEnd", ctx);
      return;
    }
    ctx.fault = fault;
    Object.assign(step, {
      faultId: fault.id,
      containerId: fault.target.containerId,
      description: fault.describe(),
      options: fault.journalEntry().options,
    });

    const faultCtx: FaultContext = {
      runtime: this.options.runtime,
      runId: this.runId,
      record: (entry) => this.options.journal.update(entry),
    };
    let injectError: string | undefined;
    let revertError: string | undefined;
    let stepAbort: string | undefined;
    let targetLost: string | undefined;
    try {
      await this.options.journal.intent({ ...fault.journalEntry(), runId: this.runId }, this.options.project);
      await this.hook("onBeforeInject", ctx);
      await fault.inject(faultCtx, this.signal);
      step.injectedAt = new Date().toISOString();
      step.mechanism = fault.mechanism;
      // A fault may only know how it was applied once injected (mechanism, side effects such as resets).
      step.description = fault.describe();
      await this.hook("onInjected", ctx);
      // A target that is removed or dies mid-fault ends the fault: there is nothing left to hold.
      stepAbort = await this.waitOrAbort(this.options.dryRun ? 0 : fault.durationMs, async () => {
        targetLost = await this.lostTarget(fault);
        return targetLost;
      });
    } catch (e) {
      injectError = errorText(e);
      step.errors.push(injectError);
    } finally {
      revertError = await this.revert(ctx, fault, faultCtx);
    }
    if (targetLost) step.errors.push(targetLost);
    else await this.noteVanishedTarget(step, this.options.runtime);

    if (revertError) step.outcome = { status: "revert-failed", error: revertError };
    else if (injectError) step.outcome = { status: "injection-failed", error: injectError };
    else if (stepAbort) step.outcome = { status: "aborted", reason: stepAbort, reverted: true };
    else step.outcome = { status: "reverted" };
    await this.hook("onStepEnd", ctx);
  }

  private async buildFault(planned: PlannedStep): Promise<Fault> {
    const target = await this.options.resolver.resolveService(planned.service);
    return this.options.registry.create(planned.kind, target, planned.options, planned.durationMs, {
      runtime: this.options.runtime,
      resolveService: (name) => this.options.resolver.resolveService(name),
    });
  }

  /**
   * Never throws: a failed revert is recorded on the step (and stays pending in the journal, so the next
   * start retries it); returns its message.
   */
  private async revert(ctx: StepContext, fault: Fault, faultCtx: FaultContext): Promise<string | undefined> {
    await this.hook("onBeforeRevert", ctx);
    const timeoutMs = this.options.revertTimeoutMs ?? DEFAULT_REVERT_TIMEOUT_MS;
    let failure: string | undefined;
    try {
      await withTimeout(fault.revert(faultCtx), timeoutMs, `revert of ${fault.describe()}`);
      await this.options.journal.reverted(fault.id);
      ctx.step.revertedAt = new Date().toISOString();
    } catch (e) {
      failure = `revert failed: ${errorText(e)}`;
      ctx.step.errors.push(failure);
      log.error({ faultId: fault.id, err: e }, failure);
    }
    await this.hook("onReverted", ctx);
    return failure;
  }

  /** Why the fault's target is lost (removed, or dead when the fault did not take it down), if it is. */
  private async lostTarget(fault: Fault): Promise<string | undefined> {
    try {
      return targetLostReason(
        fault.kind,
        fault.target,
        await this.options.runtime.inspect(fault.target.containerId),
      );
    } catch (e) {
      if (isTargetNotFound(e)) {
        return targetLostReason(fault.kind, fault.target, "removed");
      }
      // The engine not answering one inspect is no reason to end a fault.
      log.debug({ err: e, faultId: fault.id }, "could not look at the fault's target");
      return undefined;
    }
  }

  /** A target removed mid-fault is not an error of faultline's, but the report must say so. */
  private async noteVanishedTarget(step: FaultStep, reader: ContainerReader): Promise<void> {
    if (this.options.dryRun) return;
    try {
      await reader.inspect(step.containerId);
    } catch (e) {
      if (isTargetNotFound(e)) {
        step.errors.push(`target container ${step.containerId.slice(0, 12)} disappeared during the fault`);
      }
    }
  }

  /**
   * Waits `ms`, returning early with a reason when the run is aborted or, once a second, when `watch`
   * (the fault's target) gives one. Only a run abort ends the whole run; `watch` ends this wait alone.
   */
  private async waitOrAbort(
    ms: number,
    watch?: () => Promise<string | undefined>,
  ): Promise<string | undefined> {
    const end = Date.now() + ms;
    const poll = this.options.pollIntervalMs ?? DEFAULT_POLL_MS;
    let nextWatch = Date.now() + TARGET_CHECK_MS;
    for (;;) {
      const reason = await this.checkAbort();
      if (reason) return reason;
      if (watch && Date.now() >= nextWatch) {
        const lost = await watch();
        if (lost) return lost;
        nextWatch = Date.now() + TARGET_CHECK_MS;
      }
      const left = end - Date.now();
      if (left <= 0) return undefined;
      await sleep(Math.min(left, poll), this.signal);
    }
  }

  private async checkAbort(): Promise<string | undefined> {
    if (this.abortReason) return this.abortReason;
    if (this.signal.aborted) {
      const r: unknown = this.signal.reason;
      this.abortReason = typeof r === "string" ? r : r instanceof Error ? r.message : "aborted";
      return this.abortReason;
    }
    try {
      const reason = await this.observer.shouldAbort?.();
      if (reason) this.abortReason = reason;
    } catch (e) {
      log.warn({ err: e }, "an observer's shouldAbort failed; ignoring it");
    }
    return this.abortReason;
  }

  private async hook<K extends Exclude<keyof RunObserver, "shouldAbort" | "abortSignal">>(
    name: K,
    ...args: Parameters<NonNullable<RunObserver[K]>>
  ): Promise<void> {
    const fn = this.observer[name] as ((...a: unknown[]) => unknown) | undefined;
    if (typeof fn !== "function") return;
    try {
      await fn.apply(this.observer, args);
    } catch (e) {
      log.warn({ err: e, hook: name }, "an observer hook failed; the run goes on");
    }
  }
}

/** The record of a step before its fault is built: what was planned, no outcome yet. */
export function newStep(planned: PlannedStep): FaultStep {
  return {
    faultId: "",
    kind: planned.kind,
    target: planned.service,
    containerId: planned.containerId,
    options: planned.options,
    description: planned.description,
    requestedAt: new Date().toISOString(),
    durationMs: planned.durationMs,
    errors: [],
  };
}

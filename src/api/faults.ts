/**
 * Faults injected through the API (and by the scheduler): each runs as a one-step sequence, the same one
 * as `faultline inject` (src/run/experiment.ts: journal intent -> inject -> wait -> revert -> journal), in
 * the background, with its own AbortController so DELETE and shutdown revert it early. One fault per
 * target at a time.
 */
import { errorText, FaultInjectionError } from "../errors.js";
import type { ResolvedService } from "../faults/fault.js";
import { runSequence, validateSteps, type ExperimentScope } from "../run/experiment.js";
import type { RunObserver, StepContext } from "../run/observer.js";
import { adHocStep } from "../run/plan.js";
import type { FaultStep } from "../run/record.js";
import { newRunId, newStep } from "../run/runner.js";
import { log } from "../util/log.js";
import { withTimeout } from "../util/time.js";
import { ConflictError, UnknownIdError } from "./errors.js";

export type FaultSource = "api" | "scheduler" | "experiment";

export interface FaultRequest {
  target: string;
  kind: string;
  options: Record<string, unknown>;
  durationMs: number;
}

/** A fault as the API shows it: the runner's live step plus where it came from. */
export interface FaultView extends FaultStep {
  id: string;
  source: FaultSource;
  runId: string;
  state: "active" | "ended";
  /** When the fault is due to be reverted (epoch ms), while active. */
  revertDueAt?: string;
}

interface Tracked {
  id: string;
  source: FaultSource;
  runId: string;
  service: string;
  containerId: string;
  step: FaultStep;
  controller?: AbortController;
  done?: Promise<unknown>;
  ended: boolean;
}

export interface FaultManagerDeps {
  scope: ExperimentScope;
  /** Metrics, integrations: told about every fault this manager runs. */
  observers?: readonly RunObserver[];
  /** Ended faults kept for GET /api/faults. */
  keepRecent?: number;
  /** Refuses new faults while true (an experiment is running). */
  isBlocked?: () => string | undefined;
}

/** Upper bound on waiting for a revert requested through the API (the runner bounds each revert too). */
const REVERT_WAIT_MS = 90_000;

export class FaultManager {
  /** In effect or being set up; a fault's id is known once it is built. */
  private readonly active = new Set<Tracked>();
  private readonly recent: Tracked[] = [];
  /** Services and container ids with a fault in effect or being set up. */
  private readonly busyTargets = new Set<string>();

  constructor(private readonly deps: FaultManagerDeps) {}

  /** True while any fault is in effect or being set up. */
  busy(): boolean {
    return this.active.size > 0 || this.busyTargets.size > 0;
  }

  /** Services with a fault in effect or being set up, whoever started it. */
  inEffectServices(): Set<string> {
    return new Set([...this.active].map((t) => t.service));
  }

  /**
   * Validates, injects and returns once the fault is in effect; its revert is scheduled after the
   * duration. Throws InvalidInputError (bad kind/options), TargetNotFoundError, TargetExcludedError,
   * ConflictError (target busy), FaultInjectionError (the engine refused; nothing is left applied).
   */
  async inject(request: FaultRequest, source: FaultSource = "api"): Promise<FaultView> {
    const { scope } = this.deps;
    const kind = scope.registry.parseKind(request.kind);
    const blocked = this.deps.isBlocked?.();
    if (blocked) throw new ConflictError(blocked, "wait for it to finish, or cancel it");
    const target = await scope.resolver.resolveService(request.target);
    this.reserve(target);
    let tracked: Tracked | undefined;
    try {
      const step = adHocStep(target, kind, request.options, request.durationMs);
      await validateSteps([step], scope);
      const runId = newRunId();
      const controller = new AbortController();
      let markInjected!: () => void;
      const injected = new Promise<"injected">((resolve) => {
        markInjected = () => resolve("injected");
      });
      const entry: Tracked = {
        id: "",
        source,
        runId,
        service: target.service,
        containerId: target.containerId,
        // As the API shows it until the runner has built its fault.
        step: newStep(step),
        controller,
        ended: false,
      };
      tracked = entry;
      const observer: RunObserver = {
        onBeforeInject: (ctx: StepContext) => {
          entry.id = ctx.step.faultId;
          entry.step = ctx.step;
        },
        onInjected: () => markInjected(),
      };
      this.active.add(entry);
      entry.done = runSequence({
        scope,
        steps: [step],
        recoveryMs: 0,
        runId,
        source: source === "scheduler" ? "schedule" : "api",
        signal: controller.signal,
        observers: [observer, ...(this.deps.observers ?? [])],
      })
        .then(({ record }) => {
          if (record.steps[0]) entry.step = record.steps[0];
        })
        .catch((e: unknown) => {
          entry.step.errors.push(errorText(e));
          log.error({ faultId: entry.id, err: e }, "a fault run failed unexpectedly");
        })
        .finally(() => this.end(entry));
      const first = await Promise.race([injected, entry.done.then(() => "done" as const)]);
      const outcome = entry.step.outcome;
      if (first === "done" && (outcome?.status === "injection-failed" || outcome?.status === "skipped")) {
        throw new FaultInjectionError(
          outcome.status === "skipped" ? outcome.reason : outcome.error,
          "nothing was left applied; check the target and the fault options",
        );
      }
      return this.view(entry);
    } finally {
      // Once the run exists it releases the target when it ends; before that, setting up failed.
      if (!tracked) this.release(target);
    }
  }

  /** Reverts an active fault now; an ended one is returned as is (DELETE is idempotent). */
  async revert(id: string, reason = "reverted early through the API"): Promise<FaultView> {
    const entry = this.find(id);
    if (entry.ended) return this.view(entry);
    if (!entry.controller) {
      throw new ConflictError(
        `fault "${id}" belongs to an experiment`,
        "cancel the experiment with DELETE /api/experiments/<id>",
      );
    }
    entry.controller.abort(reason);
    await withTimeout(entry.done ?? Promise.resolve(), REVERT_WAIT_MS, `revert of fault ${id}`);
    return this.view(entry);
  }

  /** Reverts everything this manager started (shutdown); never throws. */
  async revertAll(reason: string): Promise<void> {
    const running = [...this.active].filter((t) => t.controller);
    for (const t of running) t.controller!.abort(reason);
    await Promise.allSettled(
      running.map((t) => withTimeout(t.done ?? Promise.resolve(), REVERT_WAIT_MS, `revert of ${t.id}`)),
    );
  }

  list(): { active: FaultView[]; recent: FaultView[] } {
    return {
      // A fault shows once it is built (it has an id); until then it is only being set up.
      active: [...this.active].filter((t) => t.id).map((t) => this.view(t)),
      recent: [...this.recent].reverse().map((t) => this.view(t)),
    };
  }

  get(id: string): FaultView {
    return this.view(this.find(id));
  }

  private find(id: string): Tracked {
    const entry = [...this.active].find((t) => t.id === id) ?? this.recent.find((t) => t.id === id);
    if (!entry) throw new UnknownIdError(`no fault "${id}"`, "list faults with GET /api/faults");
    return entry;
  }

  /**
   * Tracks the steps of a run this manager did not start (an experiment), so GET /api/faults shows them
   * and the one-fault-per-target rule covers them.
   */
  observerFor(source: FaultSource, runId: string): RunObserver {
    const bySteps = new Map<FaultStep, Tracked>();
    return {
      onBeforeInject: (ctx: StepContext) => {
        const entry: Tracked = {
          id: ctx.step.faultId,
          source,
          runId,
          service: ctx.step.target,
          containerId: ctx.step.containerId,
          step: ctx.step,
          ended: false,
        };
        bySteps.set(ctx.step, entry);
        this.busyTargets.add(entry.service).add(entry.containerId);
        this.active.add(entry);
      },
      onStepEnd: (ctx: StepContext) => {
        const entry = bySteps.get(ctx.step);
        if (entry) this.end(entry);
      },
    };
  }

  private reserve(target: ResolvedService): void {
    if (this.busyTargets.has(target.service) || this.busyTargets.has(target.containerId)) {
      const current = [...this.active].find(
        (t) => t.service === target.service || t.containerId === target.containerId,
      );
      throw new ConflictError(
        `"${target.service}" already has a fault in effect${current ? ` (${current.id}, ${current.step.kind})` : ""}`,
        current
          ? `wait until it is reverted, or revert it now with DELETE /api/faults/${current.id}`
          : "wait until it is reverted",
      );
    }
    this.busyTargets.add(target.service).add(target.containerId);
  }

  private release(target: { service: string; containerId: string }): void {
    this.busyTargets.delete(target.service);
    this.busyTargets.delete(target.containerId);
  }

  private end(entry: Tracked): void {
    if (entry.ended) return;
    entry.ended = true;
    this.active.delete(entry);
    this.release(entry);
    this.recent.push(entry);
    const keep = this.deps.keepRecent ?? 100;
    if (this.recent.length > keep) this.recent.splice(0, this.recent.length - keep);
  }

  private view(t: Tracked): FaultView {
    const due = !t.ended && t.step.injectedAt ? Date.parse(t.step.injectedAt) + t.step.durationMs : undefined;
    return {
      ...t.step,
      id: t.id,
      source: t.source,
      runId: t.runId,
      state: t.ended ? "ended" : "active",
      ...(due !== undefined ? { revertDueAt: new Date(due).toISOString() } : {}),
    };
  }
}

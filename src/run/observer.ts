/**
 * Lifecycle hooks around a run, Chaos-Toolkit style: monitors, annotations, metrics and reports plug in
 * here without the runner knowing them. Every hook is optional; a hook that throws is logged and ignored
 * (an observer must never be the reason a fault is not reverted).
 */
import type { Fault } from "../faults/fault.js";
import type { FaultStep, RunRecord } from "./record.js";
import type { PlannedStep } from "./plan.js";

export interface StepContext {
  /** 0-based position in the plan. */
  index: number;
  planned: PlannedStep;
  /** The live record of this step (mutated by the runner as it goes). */
  step: FaultStep;
  fault?: Fault;
}

/** Several steps run together as one scenario. */
export interface ScenarioContext {
  id: string;
  title: string;
  steps: StepContext[];
}

export interface RunObserver {
  onRunStart?(run: RunRecord, steps: readonly PlannedStep[]): void | Promise<void>;
  /** Once per step, before the first one runs. */
  onStepPlanned?(planned: PlannedStep, index: number): void | Promise<void>;
  onBeforeInject?(ctx: StepContext): void | Promise<void>;
  onInjected?(ctx: StepContext): void | Promise<void>;
  onBeforeRevert?(ctx: StepContext): void | Promise<void>;
  onReverted?(ctx: StepContext): void | Promise<void>;
  onStepEnd?(ctx: StepContext): void | Promise<void>;
  /** A scenario's faults are about to start (its steps' own hooks follow, concurrently). */
  onScenarioStart?(scenario: ScenarioContext): void | Promise<void>;
  /** Every fault of the scenario is reverted (or never went in). */
  onScenarioReverted?(scenario: ScenarioContext): void | Promise<void>;
  onScenarioEnd?(scenario: ScenarioContext): void | Promise<void>;
  onRunEnd?(run: RunRecord): void | Promise<void>;
  /**
   * The safety envelope: polled while a fault is in effect and during recovery waits; a reason string
   * aborts the run (the fault in flight is reverted, later steps are skipped).
   */
  shouldAbort?(): string | undefined | Promise<string | undefined>;
  /** An observer may also abort through a signal (e.g. the monitor saw the stack go down entirely). */
  readonly abortSignal?: AbortSignal;
}

/** Fans one event out to several observers, in order. */
export function combineObservers(observers: readonly RunObserver[]): RunObserver {
  const signals = observers.map((o) => o.abortSignal).filter((s): s is AbortSignal => s !== undefined);
  const each =
    <K extends keyof RunObserver>(name: K) =>
    async (...args: unknown[]) => {
      for (const o of observers) {
        const hook = o[name] as ((...a: unknown[]) => unknown) | undefined;
        if (typeof hook === "function") await hook.apply(o, args);
      }
    };
  return {
    onRunStart: each("onRunStart"),
    onStepPlanned: each("onStepPlanned"),
    onBeforeInject: each("onBeforeInject"),
    onInjected: each("onInjected"),
    onBeforeRevert: each("onBeforeRevert"),
    onReverted: each("onReverted"),
    onStepEnd: each("onStepEnd"),
    onScenarioStart: each("onScenarioStart"),
    onScenarioReverted: each("onScenarioReverted"),
    onScenarioEnd: each("onScenarioEnd"),
    onRunEnd: each("onRunEnd"),
    async shouldAbort() {
      for (const o of observers) {
        const reason = await o.shouldAbort?.();
        if (reason) return reason;
      }
      return undefined;
    },
    abortSignal: signals.length ? AbortSignal.any(signals) : undefined,
  };
}

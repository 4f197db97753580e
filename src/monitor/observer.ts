/**
 * The monitor as a run observer: the runner's lifecycle hooks become phase marks, and the safety
 * envelope becomes the runner's abort signal.
 *
 * Phases: samples after a step ends (and before the first) are baseline samples without a step; at
 * `onBeforeInject` they are claimed as that step's baseline. "during" starts before the injection call
 * (the fault may act before the call returns) and "after" once the revert has completed.
 */
import type { RunObserver, StepContext } from "../run/observer.js";
import type { RunRecord } from "../run/record.js";
import type { Monitor } from "./monitor.js";
import type { MonitorData } from "./types.js";

export class MonitorObserver implements RunObserver {
  private finished?: MonitorData;

  constructor(private readonly monitor: Monitor) {}

  get abortSignal(): AbortSignal {
    return this.monitor.abortSignal;
  }

  async onRunStart(_run: RunRecord): Promise<void> {
    await this.monitor.start();
  }

  onBeforeInject(ctx: StepContext): void {
    this.monitor.claimBaseline(ctx.step.faultId);
    this.monitor.markPhase(ctx.step.faultId, "during");
  }

  onReverted(ctx: StepContext): void {
    this.monitor.markPhase(ctx.step.faultId, "after");
  }

  onStepEnd(): void {
    this.monitor.markIdle();
  }

  shouldAbort(): string | undefined {
    const s = this.monitor.abortSignal;
    return s.aborted ? String(s.reason) : undefined;
  }

  async onRunEnd(): Promise<void> {
    this.finished = await this.monitor.stop();
  }

  /** Everything the monitor collected (stops it if the run has not ended yet). */
  async data(): Promise<MonitorData> {
    return this.finished ?? (this.finished = await this.monitor.stop());
  }
}

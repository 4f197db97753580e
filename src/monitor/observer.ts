/**
 * The monitor as a run observer: the runner's lifecycle hooks become phase marks, and the safety
 * envelope becomes the runner's abort signal.
 *
 * Phases: samples after a step ends (and before the first) are baseline samples without a step; at
 * `onBeforeInject` they are claimed as that step's baseline. "during" starts before the injection call
 * (the fault may act before the call returns) and "after" once the revert has completed.
 */
import type { RunObserver, ScenarioContext, StepContext } from "../run/observer.js";
import type { RunRecord } from "../run/record.js";
import { formatDuration } from "../util/duration.js";
import { sleep } from "../util/time.js";
import type { Monitor } from "./monitor.js";
import type { MonitorData } from "./types.js";

export interface MonitorObserverOptions {
  /**
   * Steady state observed before each fault (ms): injection waits until the stack has been watched
   * this long since the previous step ended (or the monitor started). Default 0.
   */
  baselineMs?: number;
  /** How long to keep watching after each revert, for recovery to show (ms). Default 0. */
  afterMs?: number;
  /**
   * The run's own abort (SIGINT/SIGTERM): cuts both waits short. The safety envelope cuts only the
   * baseline wait: once it has tripped the fault is reverted, and watching recovery is what is left to do.
   */
  signal?: AbortSignal;
  /** One line per wait, for progress output. */
  onProgress?: (text: string) => void;
}

export class MonitorObserver implements RunObserver {
  private finished?: MonitorData;
  /** Aborts on the run's signal or the envelope. */
  private readonly signal: AbortSignal;

  constructor(
    private readonly monitor: Monitor,
    private readonly options: MonitorObserverOptions = {},
  ) {
    this.signal = options.signal
      ? AbortSignal.any([options.signal, monitor.abortSignal])
      : monitor.abortSignal;
  }

  get abortSignal(): AbortSignal {
    return this.monitor.abortSignal;
  }

  async onRunStart(_run: RunRecord): Promise<void> {
    await this.monitor.start();
  }

  /** A scenario is one monitored unit (baseline, window, recovery); its faults only mark their own windows. */
  async onBeforeInject(ctx: StepContext): Promise<void> {
    if (ctx.planned.scenario) return this.monitor.markFault(ctx.step.faultId, "during");
    await this.observeSteadyState(`#${ctx.index + 1}`);
    this.monitor.claimBaseline(ctx.step.faultId);
    this.monitor.markPhase(ctx.step.faultId, "during");
  }

  async onReverted(ctx: StepContext): Promise<void> {
    if (ctx.planned.scenario) return this.monitor.markFault(ctx.step.faultId, "after");
    this.monitor.markPhase(ctx.step.faultId, "after");
    await this.watchRecovery(`#${ctx.index + 1}`);
  }

  onStepEnd(ctx: StepContext): void {
    if (!ctx.planned.scenario) this.monitor.markIdle();
  }

  async onScenarioStart(scenario: ScenarioContext): Promise<void> {
    await this.observeSteadyState(`scenario "${scenario.title}"`);
    this.monitor.claimBaseline(scenario.id);
    this.monitor.markPhase(scenario.id, "during");
  }

  async onScenarioReverted(scenario: ScenarioContext): Promise<void> {
    this.monitor.markPhase(scenario.id, "after");
    await this.watchRecovery(`scenario "${scenario.title}"`);
  }

  onScenarioEnd(): void {
    this.monitor.markIdle();
  }

  private async observeSteadyState(what: string): Promise<void> {
    const wait = (this.options.baselineMs ?? 0) - this.monitor.idleForMs();
    if (wait > 0 && !this.signal.aborted) {
      this.options.onProgress?.(`${what} observing steady state for ${formatDuration(wait)}`);
      await sleep(wait, this.signal);
    }
  }

  private async watchRecovery(what: string): Promise<void> {
    const wait = this.options.afterMs ?? 0;
    if (wait > 0 && !this.options.signal?.aborted) {
      this.options.onProgress?.(`${what} watching recovery for ${formatDuration(wait)}`);
      await sleep(wait, this.options.signal);
    }
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

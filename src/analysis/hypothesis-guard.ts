/**
 * An experiment's rollback policy "abort on deviation": its explicit thresholds watched live, tick by
 * tick, while a fault is in effect or its recovery is watched. A threshold breached on MIN_BREACH_TICKS
 * consecutive ticks of one service (as the analysis counts a breach) ends the run: the fault in flight is
 * reverted at once and the rest skipped. Baseline ticks never count: a steady state that already breached
 * a threshold is the analysis's to report, not a reason to stop. Pure.
 */
import { breaches, MIN_BREACH_TICKS, thresholdsFor, thresholdValues, type Threshold } from "./thresholds.js";
import type { ServiceSample } from "../monitor/types.js";

export class HypothesisGuard {
  private readonly streak = new Map<string, number>();

  constructor(private readonly thresholds: readonly Threshold[]) {}

  /** One tick of samples (one per service); an abort reason once a breach has held. */
  check(tick: readonly ServiceSample[], tickSeconds: number): string | undefined {
    for (const s of tick) {
      for (const t of thresholdsFor(this.thresholds, s.service)) {
        const key = `${s.service}\0${t.text}`;
        const value = thresholdValues(t, [s], tickSeconds)[0];
        const breached = s.phase !== "baseline" && breaches(t, value);
        const n = breached ? (this.streak.get(key) ?? 0) + 1 : 0;
        this.streak.set(key, n);
        if (n >= MIN_BREACH_TICKS)
          return `the hypothesis deviated: ${s.service} breached ${t.text} (now ${value})`;
      }
    }
    return undefined;
  }
}

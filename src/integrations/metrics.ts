/**
 * faultline's own Prometheus metrics, fed by the run lifecycle: what the Grafana dashboard
 * (grafana/dashboards/faultline.json) plots as "faults active / injected". A RunObserver plus a
 * prom-client Registry that `faultline serve` exposes at /metrics.
 */
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { RunObserver, StepContext } from "../run/observer.js";
import type { RunRecord } from "../run/record.js";

export const METRIC_NAMES = {
  faultsActive: "faultline_faults_active",
  faultsInjected: "faultline_faults_injected_total",
  faultsEnded: "faultline_faults_ended_total",
  faultDuration: "faultline_fault_duration_seconds",
  runsActive: "faultline_runs_active",
  runsEnded: "faultline_runs_ended_total",
} as const;

export class FaultlineMetrics implements RunObserver {
  readonly registry: Registry;
  private readonly active: Gauge<"kind" | "target">;
  private readonly injected: Counter<"kind" | "target">;
  private readonly ended: Counter<"kind" | "target" | "outcome">;
  private readonly duration: Histogram<"kind">;
  private readonly runsActive: Gauge;
  private readonly runsEnded: Counter<"status">;
  private readonly live = new Map<string, { kind: string; target: string; since: number }>();

  constructor(registry: Registry = new Registry()) {
    this.registry = registry;
    const registers = [registry];
    this.active = new Gauge({
      name: METRIC_NAMES.faultsActive,
      help: "Faults currently in effect",
      labelNames: ["kind", "target"],
      registers,
    });
    this.injected = new Counter({
      name: METRIC_NAMES.faultsInjected,
      help: "Faults injected",
      labelNames: ["kind", "target"],
      registers,
    });
    this.ended = new Counter({
      name: METRIC_NAMES.faultsEnded,
      help: "Fault steps ended, by outcome",
      labelNames: ["kind", "target", "outcome"],
      registers,
    });
    this.duration = new Histogram({
      name: METRIC_NAMES.faultDuration,
      help: "Time faults were in effect",
      labelNames: ["kind"],
      buckets: [1, 5, 10, 30, 60, 120, 300, 600],
      registers,
    });
    this.runsActive = new Gauge({ name: METRIC_NAMES.runsActive, help: "Runs in progress", registers });
    this.runsEnded = new Counter({
      name: METRIC_NAMES.runsEnded,
      help: "Runs ended, by status",
      labelNames: ["status"],
      registers,
    });
  }

  onRunStart(): void {
    this.runsActive.inc();
  }

  onInjected(ctx: StepContext): void {
    const { kind, target, faultId } = ctx.step;
    this.injected.inc({ kind, target });
    this.active.inc({ kind, target });
    this.live.set(faultId, { kind, target, since: Date.now() });
  }

  onStepEnd(ctx: StepContext): void {
    const { kind, target, faultId } = ctx.step;
    this.ended.inc({ kind, target, outcome: ctx.step.outcome?.status ?? "unknown" });
    const live = this.live.get(faultId);
    if (!live) return;
    this.live.delete(faultId);
    this.active.dec({ kind: live.kind, target: live.target });
    // Until the revert, not the step's end: a monitored step goes on watching recovery after it.
    const reverted = Date.parse(ctx.step.revertedAt ?? "");
    this.duration.observe(
      { kind },
      ((Number.isFinite(reverted) ? reverted : Date.now()) - live.since) / 1000,
    );
  }

  onRunEnd(run: RunRecord): void {
    this.runsActive.dec();
    this.runsEnded.inc({ status: run.status });
    // A step that never reached onStepEnd (runner crash) must not stay "active" forever.
    for (const [id, live] of this.live) {
      this.active.dec({ kind: live.kind, target: live.target });
      this.live.delete(id);
    }
  }

  /** Prometheus text exposition of the registry. */
  async text(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}

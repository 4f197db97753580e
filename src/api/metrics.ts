/**
 * Prometheus metrics of a serving faultline, in a registry of their own (so two servers in one process,
 * as in tests, never share counters). The per-fault series (faultline_faults_injected_total,
 * faultline_faults_active, …) are the integrations' FaultlineMetrics, the ones the Grafana dashboard
 * plots; serve adds revert failures, discovery time, experiments and the process defaults.
 */
import { Counter, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import { FaultlineMetrics } from "../integrations/metrics.js";
import type { RunObserver, StepContext } from "../run/observer.js";
import type { RunRecord } from "../run/record.js";

export class ServeMetrics {
  readonly registry = new Registry();
  readonly faults: FaultlineMetrics;
  readonly revertFailures: Counter;
  readonly discoveryDuration: Histogram;
  readonly experiments: Counter<"status">;

  constructor(options: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    this.faults = new FaultlineMetrics(this.registry);
    this.revertFailures = new Counter({
      name: "faultline_fault_revert_failures_total",
      help: "Reverts that failed (the fault stays in the journal and is retried on the next start)",
      registers,
    });
    this.discoveryDuration = new Histogram({
      name: "faultline_discovery_duration_seconds",
      help: "Wall time of one discovery of the stack",
      buckets: [0.5, 1, 2, 5, 10, 20, 40, 80],
      registers,
    });
    this.experiments = new Counter({
      name: "faultline_experiments_total",
      help: "Experiments finished, by final status",
      labelNames: ["status"],
      registers,
    });
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry });
  }

  /** Hooks the runner calls for every fault, whether from the API, the scheduler or an experiment. */
  observer(): RunObserver {
    const faults = this.faults;
    return {
      onRunStart: () => faults.onRunStart(),
      onInjected: (ctx: StepContext) => faults.onInjected(ctx),
      onReverted: ({ step }: StepContext) => {
        if (!step.revertedAt) this.revertFailures.inc();
      },
      onStepEnd: (ctx: StepContext) => faults.onStepEnd(ctx),
      onRunEnd: (run: RunRecord) => faults.onRunEnd(run),
    };
  }

  experimentEnded(record: Pick<RunRecord, "status">): void {
    this.experiments.inc({ status: record.status });
  }
}

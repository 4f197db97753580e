/**
 * The optional monitoring back-ends, in one place for the CLI and the API: built from the environment,
 * each present only when configured. The embedded Docker-only monitor stays the default; these add
 * Grafana annotations (a RunObserver) and extra evidence from Prometheus and Elasticsearch merged into
 * the impact analysis after a run. Nothing here is ever fatal to a run.
 */
import type { RunAnalysis } from "../analysis/types.js";
import type { ServiceProfile } from "../discovery/profile.js";
import type { RunObserver } from "../run/observer.js";
import type { RunRecord } from "../run/record.js";
import { log as defaultLog, type Logger } from "../util/log.js";
import { integrationsConfig, type IntegrationsConfig } from "./config.js";
import { elasticClient, elasticEvidence, ElasticLogSource } from "./elasticsearch.js";
import { mergeEvidence, type StepEvidence } from "./evidence.js";
import { GrafanaAnnotations, GrafanaClient } from "./grafana.js";
import { errorText } from "../errors.js";
import { PrometheusClient } from "./prometheus-client.js";
import { PrometheusEvidence } from "./prometheus-evidence.js";

export { integrationsConfig } from "./config.js";
export { FaultlineMetrics, METRIC_NAMES } from "./metrics.js";
export { prometheusSdTargets, type SdTargetGroup } from "./prometheus-sd.js";
export { mergeEvidence, type StepEvidence } from "./evidence.js";

export interface Integrations {
  config: IntegrationsConfig;
  /** Names of the back-ends in use, for a start-up line ("grafana, prometheus"). */
  active: string[];
  /** Observers to combine with the run's own (empty when nothing is configured). */
  observers: RunObserver[];
  /** The analysis plus Prometheus/Elasticsearch evidence (unchanged when neither is configured). */
  enrich(analysis: RunAnalysis, record: RunRecord, profiles: readonly ServiceProfile[]): Promise<RunAnalysis>;
}

export interface IntegrationOptions {
  env?: Record<string, string | undefined>;
  log?: Pick<Logger, "warn" | "info" | "debug">;
  /** Upper bound on the whole post-run evidence collection. */
  enrichTimeoutMs?: number;
}

export function createIntegrations(options: IntegrationOptions = {}): Integrations {
  const log = options.log ?? defaultLog;
  const config = integrationsConfig(options.env ?? process.env);
  for (const p of config.problems) log.warn(`integrations: ${p}`);
  const observers: RunObserver[] = [];
  if (config.grafana) observers.push(new GrafanaAnnotations(new GrafanaClient(config.grafana), { log }));
  const active = (["grafana", "prometheus", "elasticsearch"] as const).filter((k) => config[k]);

  async function enrich(
    analysis: RunAnalysis,
    record: RunRecord,
    profiles: readonly ServiceProfile[],
  ): Promise<RunAnalysis> {
    if (!config.prometheus && !config.elasticsearch) return analysis;
    const controller = new AbortController();
    const timer = setTimeout(
      () => controller.abort(new Error("evidence collection took too long")),
      options.enrichTimeoutMs ?? 60_000,
    );
    const evidence: StepEvidence[] = [];
    try {
      const jobs: Promise<StepEvidence[]>[] = [];
      if (config.prometheus) {
        const prom = new PrometheusEvidence(new PrometheusClient(config.prometheus), config.prometheus, {
          signal: controller.signal,
        });
        jobs.push(
          prom.collect(
            record,
            profiles.map((p) => p.id),
          ),
        );
      }
      if (config.elasticsearch) {
        const client = elasticClient(config.elasticsearch);
        const source = new ElasticLogSource(client, config.elasticsearch, profiles);
        jobs.push(
          elasticEvidence(source, record, profiles).finally(() => client.close().catch(() => undefined)),
        );
      }
      const aborted = new Promise<StepEvidence[]>((resolve) =>
        controller.signal.addEventListener("abort", () => resolve([]), { once: true }),
      );
      for (const result of await Promise.allSettled(jobs.map((j) => Promise.race([j, aborted]))))
        if (result.status === "fulfilled") evidence.push(...result.value);
        else log.warn(`integrations: evidence collection failed: ${errorText(result.reason)}`);
      if (controller.signal.aborted)
        log.warn("integrations: evidence collection stopped at its time limit; using what arrived");
    } finally {
      clearTimeout(timer);
    }
    return mergeEvidence(analysis, mergeByStep(evidence));
  }

  return { config, active, observers, enrich };
}

/** One StepEvidence per fault, whatever the number of sources. */
function mergeByStep(all: readonly StepEvidence[]): StepEvidence[] {
  const out = new Map<string, StepEvidence>();
  for (const e of all) {
    const cur = out.get(e.faultId);
    if (!cur) out.set(e.faultId, { faultId: e.faultId, services: [...e.services], notes: [...e.notes] });
    else {
      cur.services.push(...e.services);
      cur.notes.push(...e.notes);
    }
  }
  return [...out.values()];
}

/**
 * Elasticsearch as an optional log source: the container logs Logstash ships (index faultline-logs-*,
 * fields container.id / container.name, message, @timestamp; see elk/logstash/pipeline/faultline.conf)
 * are read per service around each fault and run through the embedded monitor's own log accounting
 * (LogCounter: same classifier, peer resolution, masking), so both sources speak the same error classes.
 *
 * At most `maxLines` lines are fetched per service and window; when there are more, class counts are
 * scaled by total/sampled and the signal says so.
 */
import { Client, type estypes } from "@elastic/elasticsearch";
import type { ServiceProfile } from "../discovery/profile.js";
import { classifyLine } from "../monitor/log-classifier.js";
import { LogCounter } from "../monitor/log-counter.js";
import { peerResolver, type PeerResolver } from "../monitor/peers.js";
import type { ErrorClass, LogExample, LogSummary } from "../monitor/types.js";
import type { ErrorClassName, ErrorCount } from "../analysis/types.js";
import type { RunRecord } from "../run/record.js";
import type { ElasticsearchConfig } from "./config.js";
import { errorClassSignals, type ServiceEvidence, type StepEvidence } from "./evidence.js";
import { errorText } from "../errors.js";

/** Field names the Logstash pipeline writes. */
export const LOG_FIELDS = {
  timestamp: "@timestamp",
  message: "message",
  containerId: "container.id",
  containerName: "container.name",
} as const;

export function elasticClient(config: ElasticsearchConfig): Client {
  const auth = config.auth;
  return new Client({
    node: config.url,
    requestTimeout: config.timeoutMs,
    maxRetries: 0,
    ...(auth
      ? {
          auth:
            auth.kind === "basic"
              ? { username: auth.user, password: auth.password }
              : auth.kind === "apiKey"
                ? { apiKey: auth.apiKey }
                : { bearer: auth.token },
        }
      : {}),
  });
}

export interface LogWindow {
  /** ms since epoch, [from, to). */
  from: number;
  to: number;
}

/** The _search body for one container's lines in a window (pure). */
export function logSearchBody(
  container: { id: string; name?: string },
  window: LogWindow,
  size: number,
): estypes.SearchRequest {
  const who: estypes.QueryDslQueryContainer[] = [
    { match_phrase: { [LOG_FIELDS.containerId]: container.id } },
  ];
  if (container.name) who.push({ match_phrase: { [LOG_FIELDS.containerName]: container.name } });
  return {
    size,
    track_total_hits: true,
    ignore_unavailable: true,
    allow_no_indices: true,
    _source: [LOG_FIELDS.timestamp, LOG_FIELDS.message, "log"],
    sort: [{ [LOG_FIELDS.timestamp]: { order: "asc", unmapped_type: "date" } }],
    query: {
      bool: {
        filter: [
          {
            range: {
              [LOG_FIELDS.timestamp]: {
                gte: new Date(window.from).toISOString(),
                lt: new Date(window.to).toISOString(),
                format: "strict_date_optional_time",
              },
            },
          },
          { bool: { should: who, minimum_should_match: 1 } },
        ],
      },
    },
  };
}

export interface ClassifiedLogs {
  summary: LogSummary;
  examples: readonly LogExample[];
  /** Lines in the window per Elasticsearch; `summary.lines` is how many were fetched. */
  total: number;
  firstErrorAt?: number;
}

export class ElasticLogSource {
  private readonly resolver: PeerResolver;

  constructor(
    private readonly client: Client,
    private readonly config: Pick<ElasticsearchConfig, "index" | "maxLines">,
    profiles: readonly ServiceProfile[],
  ) {
    this.resolver = peerResolver(profiles);
  }

  /** Fetches and classifies one service's lines in a window. Throws on transport errors. */
  async classify(
    profile: Pick<ServiceProfile, "id" | "containerId" | "containerName">,
    window: LogWindow,
    stepId?: string,
  ): Promise<ClassifiedLogs> {
    const res = await this.client.search<Record<string, unknown>>({
      index: this.config.index,
      ...logSearchBody(
        { id: profile.containerId, name: profile.containerName },
        window,
        this.config.maxLines,
      ),
    });
    const total = typeof res.hits.total === "number" ? res.hits.total : (res.hits.total?.value ?? 0);
    const counter = new LogCounter(profile.id, this.resolver, { classifyBudget: this.config.maxLines });
    counter.setStep(stepId);
    let firstErrorAt: number | undefined;
    for (const hit of res.hits.hits) {
      const src = hit._source ?? {};
      const raw = src[LOG_FIELDS.message] ?? src.log;
      if (typeof raw !== "string") continue;
      const at = Date.parse(String(src[LOG_FIELDS.timestamp] ?? "")) || window.from;
      const line = raw.replace(/\r?\n$/, "");
      counter.add(line, at);
      // Classified again only until the first error: LogCounter keeps no per-line result.
      if (firstErrorAt === undefined && classifyLine(line).class !== "none") firstErrorAt = at;
    }
    const summary = counter.drain();
    return { summary, examples: counter.exampleLines(), total, ...(firstErrorAt ? { firstErrorAt } : {}) };
  }
}

export interface ElasticEvidenceOptions {
  baselineMs?: number;
  afterMs?: number;
  now?: () => number;
}

/** Error-log evidence per step and service from Elasticsearch. Never throws. */
export async function elasticEvidence(
  source: ElasticLogSource,
  record: RunRecord,
  profiles: readonly ServiceProfile[],
  options: ElasticEvidenceOptions = {},
): Promise<StepEvidence[]> {
  const out: StepEvidence[] = [];
  let previousEnd = -Infinity;
  for (const step of record.steps) {
    const injectAt = Date.parse(step.injectedAt ?? "");
    if (!Number.isFinite(injectAt)) continue;
    const reverted = Date.parse(step.revertedAt ?? "");
    const revertAt = Number.isFinite(reverted) ? reverted : injectAt + step.durationMs;
    const baseline = { from: Math.max(injectAt - (options.baselineMs ?? 60_000), previousEnd), to: injectAt };
    const window = {
      from: injectAt,
      to: Math.max(
        injectAt + 1,
        Math.min(options.now?.() ?? Date.now(), revertAt + (options.afterMs ?? 10_000)),
      ),
    };
    previousEnd = revertAt;
    const notes: string[] = [];
    const services: ServiceEvidence[] = [];
    for (const p of profiles) {
      try {
        const base = baseline.to > baseline.from ? await source.classify(p, baseline) : undefined;
        const during = await source.classify(p, window, step.faultId);
        const ev = evidenceFrom(p.id, base, during, baseline, window, injectAt);
        if (ev) services.push(ev);
      } catch (e) {
        notes.push(`elasticsearch: no logs for ${p.id}: ${errorText(e)}`);
      }
    }
    out.push({ faultId: step.faultId, services, notes });
  }
  return out;
}

/** Scales fetched class counts up to the window's total when only a sample was fetched (pure). */
export function scaledCounts(logs: ClassifiedLogs): Partial<Record<ErrorClassName, number>> {
  const fetched = logs.summary.lines;
  const factor = fetched > 0 && logs.total > fetched ? logs.total / fetched : 1;
  const out: Partial<Record<ErrorClassName, number>> = {};
  for (const [cls, n] of Object.entries(logs.summary.byClass) as [Exclude<ErrorClass, "none">, number][])
    out[cls] = Math.round(n * factor);
  return out;
}

export function evidenceFrom(
  service: string,
  base: ClassifiedLogs | undefined,
  during: ClassifiedLogs,
  baseline: LogWindow,
  window: LogWindow,
  injectAt: number,
): ServiceEvidence | undefined {
  const sampled = during.total > during.summary.lines;
  const windowByClass = scaledCounts(during);
  const signals = errorClassSignals(
    "elasticsearch",
    { seconds: (baseline.to - baseline.from) / 1000, byClass: base ? scaledCounts(base) : {} },
    { seconds: (window.to - window.from) / 1000, byClass: windowByClass },
    sampled ? ` (classified ${during.summary.lines} of ${during.total} lines)` : "",
  );
  if (!signals.length) return undefined;
  const firstAtMs = during.firstErrorAt !== undefined ? during.firstErrorAt - injectAt : 0;
  for (const s of signals) s.firstAtMs = firstAtMs;
  const deviating = new Set(signals.map((s) => s.metric.split(".").pop()));
  const errors: ErrorCount[] = [];
  for (const cls of deviating) {
    const c = cls as ErrorClassName;
    const total = windowByClass[c] ?? 0;
    let attributed = 0;
    for (const p of during.summary.peers.filter((x) => x.class === c)) {
      errors.push({ class: c, peer: p.peer, count: p.count });
      attributed += p.count;
    }
    if (total > attributed) errors.push({ class: c, count: total - attributed });
  }
  return {
    service,
    source: "elasticsearch",
    signals,
    errors: errors.sort((a, b) => b.count - a.count),
    down: false,
    firstDeviationMs: firstAtMs,
    // Log counts over a window say nothing precise about when errors stopped.
    recoveredAfterMs: 0,
    windowSeconds: Math.max(1, (window.to - window.from) / 1000),
  };
}

/**
 * The live page's signals for the running fault: error rate and p95 latency of the services it hurts
 * (the target and whoever depends on it), from the same bounded HTTP probes the embedded monitor uses
 * (src/monitor/http-probe.ts) against the endpoints discovery found. The sampler probes only while a
 * fault is in effect and someone is looking at the page, so an idle service sends no traffic at all.
 */
import type { ServiceProfile } from "../../discovery/profile.js";
import type { ContainerReader } from "../../docker/types.js";
import { percentile, probeHttp, type ProbeResult } from "../../monitor/http-probe.js";
import { log } from "../../util/log.js";
import { sleep, withTimeout } from "../../util/time.js";
import type { HurtService, LiveSignal } from "./view.js";

export const SIGNALS_SOURCE = "HTTP probes of the discovered endpoints, every second, over the last 10 s";

export interface LiveSignalsOptions {
  intervalMs?: number;
  /** Samples older than this drop out of the numbers. */
  windowMs?: number;
  /** Probing stops this long after the page last asked. */
  idleMs?: number;
  /** Services probed per tick (nearest to the fault first). */
  maxServices?: number;
  /** Endpoints probed per service per tick. */
  maxEndpoints?: number;
}

export interface LiveSignalsDeps {
  runtime: Pick<ContainerReader, "inspect">;
  /** What to watch now: the services the faults in effect hurt, and every profile (for endpoints). */
  watch(): Promise<{ hurt: HurtService[]; profiles: readonly ServiceProfile[] }>;
}

interface Sample {
  at: number;
  results: ProbeResult[];
}

/** Error rate and p95 over a window of probe results (pure). Timeouts count at their timeout. */
export function signalFrom(hurt: HurtService, results: readonly ProbeResult[], note?: string): LiveSignal {
  if (!results.length) return { ...hurt, probes: 0, ...(note ? { note } : {}) };
  const failed = results.filter(
    (r) => r.outcome === "server-error" || r.outcome === "timeout" || r.outcome === "failure",
  ).length;
  const sorted = results.map((r) => r.latencyMs).sort((a, b) => a - b);
  return {
    ...hurt,
    probes: results.length,
    errorRate: failed / results.length,
    p95Ms: percentile(sorted, 95)!,
    ...(note ? { note } : {}),
  };
}

export class LiveSignals {
  readonly source = SIGNALS_SOURCE;
  private readonly intervalMs: number;
  private readonly windowMs: number;
  private readonly idleMs: number;
  private readonly samples = new Map<string, Sample[]>();
  private readonly notes = new Map<string, string>();
  private hurt: HurtService[] = [];
  private askedAt = 0;
  private loop?: Promise<void>;
  private readonly controller = new AbortController();

  constructor(
    private readonly deps: LiveSignalsDeps,
    private readonly options: LiveSignalsOptions = {},
  ) {
    this.intervalMs = options.intervalMs ?? 1000;
    this.windowMs = options.windowMs ?? 10_000;
    this.idleMs = options.idleMs ?? 30_000;
  }

  /** The current signals; also keeps the sampler going (it stops by itself when nobody asks). */
  current(): LiveSignal[] {
    this.askedAt = Date.now();
    if (!this.loop && !this.controller.signal.aborted) {
      this.loop = this.run().finally(() => {
        this.loop = undefined;
      });
    }
    const since = Date.now() - this.windowMs;
    return this.hurt.map((h) =>
      signalFrom(
        h,
        (this.samples.get(h.service) ?? []).filter((s) => s.at >= since).flatMap((s) => s.results),
        this.notes.get(h.service),
      ),
    );
  }

  async stop(): Promise<void> {
    this.controller.abort();
    await this.loop;
  }

  private async run(): Promise<void> {
    const { signal } = this.controller;
    while (!signal.aborted && Date.now() - this.askedAt < this.idleMs) {
      const started = Date.now();
      try {
        await this.tick(signal);
      } catch (e) {
        log.debug({ err: String(e) }, "live signals tick failed");
      }
      await sleep(Math.max(100, this.intervalMs - (Date.now() - started)), signal);
    }
  }

  private async tick(signal: AbortSignal): Promise<void> {
    const { hurt, profiles } = await this.deps.watch();
    const watched = hurt.slice(0, this.options.maxServices ?? 8);
    const names = new Set(watched.map((h) => h.service));
    // A fault that ended takes its numbers with it: the next one starts from nothing.
    for (const name of [...this.samples.keys()]) if (!names.has(name)) this.samples.delete(name);
    for (const name of [...this.notes.keys()]) if (!names.has(name)) this.notes.delete(name);
    this.hurt = watched;
    const timeoutMs = Math.min(2000, Math.max(this.intervalMs, 500));
    await Promise.all(
      watched.map(async (h) => {
        const profile = profiles.find((p) => p.id === h.service);
        const endpoints = profile?.endpoints.slice(0, this.options.maxEndpoints ?? 2) ?? [];
        if (!profile || !endpoints.length) {
          this.notes.set(h.service, "no HTTP endpoint discovered");
          return;
        }
        const ip = await withTimeout(this.deps.runtime.inspect(profile.containerId), 2000, "inspect")
          .then((info) => info.networks.find((n) => n.ip)?.ip)
          .catch(() => undefined);
        if (!ip) {
          this.notes.set(h.service, "no address (container not running)");
          return;
        }
        this.notes.delete(h.service);
        const host = ip.includes(":") ? `[${ip}]` : ip;
        const results = await Promise.all(
          endpoints.map((e) =>
            probeHttp(
              `http://${host}:${e.port}${e.path.startsWith("/") ? e.path : `/${e.path}`}`,
              timeoutMs,
              signal,
            ),
          ),
        );
        const since = Date.now() - this.windowMs;
        const kept = (this.samples.get(h.service) ?? []).filter((s) => s.at >= since);
        kept.push({ at: Date.now(), results });
        this.samples.set(h.service, kept);
      }),
    );
  }
}

/**
 * The embedded monitor: watches a stack through the Docker engine only. Every `intervalMs` it samples
 * each service (inspect, stats, HTTP probes of discovered endpoints) and drains the per-service log
 * counters fed by the engine's log stream. Samples are tagged with the current fault step and phase.
 *
 * Time: intervals come from a monotonic clock (performance.now), so wall-clock jumps or skew between
 * the host and the engine never distort rates; wall time is kept for display only.
 */
import type { ServiceProfile } from "../discovery/profile.js";
import type {
  ContainerInfo,
  ContainerReader,
  LogReader,
  ResourceSample,
  StatsReader,
} from "../docker/types.js";
import { errorText, TargetNotFoundError } from "../errors.js";
import { log } from "../util/log.js";
import { sleep, withTimeout } from "../util/time.js";
import { SafetyEnvelope, type EnvelopeOptions } from "./envelope.js";
import { probeHttp, summarizeProbes } from "./http-probe.js";
import { LogCounter, type LogCounterOptions } from "./log-counter.js";
import { peerResolver, type PeerDirectory } from "./peers.js";
import type { MonitorData, Phase, PhaseMark, ServiceSample } from "./types.js";

export type MonitorRuntime = ContainerReader & LogReader & StatsReader;

const DEFAULT_MAX_SAMPLES = 50_000;

export interface MonitorOptions {
  /** Sampling interval (ms). Default 1000. */
  intervalMs?: number;
  /** Per-probe timeout (ms). Default: the interval, capped at 2000. */
  probeTimeoutMs?: number;
  /** Endpoints probed per service per tick (the first ones discovery found). Default 3. */
  maxEndpointsPerService?: number;
  /** Bound on engine calls (inspect, stats) per tick (ms). Default 3000. */
  engineTimeoutMs?: number;
  followLogs?: boolean;
  collectStats?: boolean;
  envelope?: EnvelopeOptions;
  /**
   * Another stop condition checked every tick, like the envelope (an experiment's rollback.onDeviation:
   * abort watches its thresholds): a reason stops the run.
   */
  guard?: (tick: readonly ServiceSample[], tickSeconds: number) => string | undefined;
  /** Called once when the safety envelope trips. */
  onAbort?: (reason: string) => void;
  /**
   * Samples kept in memory; the oldest are dropped beyond this (with a note, and `droppedThroughT` so
   * analysis marks the faults whose window lost samples as not analysed). Default 50 000.
   */
  maxSamples?: number;
  logs?: LogCounterOptions;
  /**
   * Counts established TCP connections between a service and the other services (optional; see
   * connections.ts). `info` is this tick's inspect result; undefined means "could not read".
   */
  countConnections?: (
    profile: ServiceProfile,
    signal: AbortSignal,
    info?: ContainerInfo,
  ) => Promise<number | undefined>;
  /**
   * Ask the engine for one-shot stats (no 1 s CPU window per call) and compute CPU% from consecutive
   * samples. Default true; engines older than API 1.41 ignore the flag and answer as before.
   */
  oneShotStats?: boolean;
}

interface Watched {
  profile: ServiceProfile;
  counter: LogCounter;
  following: boolean;
  lastStats?: { t: number; sample: ResourceSample };
  lastIp?: string;
  /** The addresses last recorded in the peer directory for this container ("" before the first). */
  addressKey: string;
}

export class Monitor {
  private readonly intervalMs: number;
  private readonly probeTimeoutMs: number;
  private readonly engineTimeoutMs: number;
  private readonly watched: Watched[];
  private readonly peers: PeerDirectory;
  private readonly envelope: SafetyEnvelope;
  private readonly guard?: MonitorOptions["guard"];
  private readonly controller = new AbortController();
  private readonly abortController = new AbortController();
  private readonly collected: ServiceSample[] = [];
  private readonly marks: PhaseMark[] = [];
  private readonly notes: string[] = [];
  private readonly t0 = performance.now();
  private loop?: Promise<void>;
  private readonly follows = new Set<Promise<void>>();
  private phase: Phase = "baseline";
  private stepId: string | undefined;
  private droppedSamples = 0;
  /** Monotonic t of the newest dropped sample. */
  private droppedThroughT?: number;
  private idleSince = 0;
  /** The last claimed baseline stretch: a tick that started in it but ended after the claim joins it. */
  private lastClaim?: { stepId: string; from: number; to: number };

  constructor(
    private readonly runtime: MonitorRuntime,
    profiles: readonly ServiceProfile[],
    private readonly options: MonitorOptions = {},
  ) {
    this.intervalMs = Math.max(50, options.intervalMs ?? 1000);
    this.probeTimeoutMs = options.probeTimeoutMs ?? Math.min(this.intervalMs, 2000);
    this.engineTimeoutMs = options.engineTimeoutMs ?? 3000;
    this.peers = peerResolver(profiles);
    this.watched = profiles.map((profile) => ({
      profile,
      counter: new LogCounter(profile.id, this.peers, options.logs),
      following: false,
      addressKey: "",
    }));
    this.envelope = new SafetyEnvelope(options.envelope);
    this.guard = options.guard;
    if (!options.countConnections)
      this.notes.push("TCP connection counts not collected (no socket-table reader configured)");
  }

  /** Aborted (with the reason) when the safety envelope trips. */
  get abortSignal(): AbortSignal {
    return this.abortController.signal;
  }

  /** Starts sampling; resolves after the first tick so a baseline exists as soon as it returns. */
  async start(): Promise<void> {
    if (this.loop) return;
    for (const w of this.watched) this.startFollowing(w);
    await this.tick();
    this.loop = this.run();
  }

  /** How long the current stretch of unowned baseline samples has lasted (ms). */
  idleForMs(): number {
    return this.stepId === undefined ? this.now() - this.idleSince : 0;
  }

  /** Everything sampled from now on belongs to `stepId` in `phase`. */
  markPhase(stepId: string, phase: Phase): void {
    this.stepId = stepId;
    this.phase = phase;
    this.marks.push({ stepId, phase, t: this.now(), at: Date.now() });
    for (const w of this.watched) w.counter.setStep(stepId);
  }

  /**
   * A fault's own phase inside the scenario that owns the samples: only the mark (its window, for the
   * analysis to attribute impact per fault); the samples stay the scenario's.
   */
  markFault(faultId: string, phase: Phase): void {
    this.marks.push({ stepId: faultId, phase, t: this.now(), at: Date.now() });
  }

  /** Samples from now on are baseline samples not yet owned by a step (between steps). */
  markIdle(): void {
    this.stepId = undefined;
    this.phase = "baseline";
    this.idleSince = this.now();
    for (const w of this.watched) w.counter.setStep(undefined);
  }

  /** Tags the baseline samples taken since the last idle mark (or the start) as `stepId`'s baseline. */
  claimBaseline(stepId: string): void {
    this.lastClaim = { stepId, from: this.idleSince, to: this.now() };
    for (let i = this.collected.length - 1; i >= 0; i--) {
      const s = this.collected[i]!;
      if (s.stepId !== undefined || s.phase !== "baseline" || s.t < this.idleSince) break;
      s.stepId = stepId;
    }
    this.marks.push({
      stepId,
      phase: "baseline",
      t: this.idleSince,
      at: Date.now() - (this.now() - this.idleSince),
    });
  }

  /** Stops sampling and log following (bounded); returns everything collected. */
  async stop(): Promise<MonitorData> {
    if (!this.controller.signal.aborted) this.controller.abort();
    await this.loop?.catch(() => undefined);
    await boundedAll([...this.follows], 2000);
    return this.data();
  }

  samples(): readonly ServiceSample[] {
    return this.collected;
  }

  data(): MonitorData {
    const notes = [...this.notes];
    if (this.droppedSamples)
      notes.push(
        `${this.droppedSamples} oldest samples dropped (memory bound of ${this.options.maxSamples ?? DEFAULT_MAX_SAMPLES} samples): faults whose window lost samples are not analysed`,
      );
    return {
      intervalMs: this.intervalMs,
      services: this.watched.map((w) => w.profile.id),
      samples: [...this.collected],
      marks: [...this.marks],
      examples: this.watched.flatMap((w) => [...w.counter.exampleLines()]),
      notes,
      ...(this.droppedThroughT !== undefined ? { droppedThroughT: this.droppedThroughT } : {}),
    };
  }

  private now(): number {
    return Math.round(performance.now() - this.t0);
  }

  private async run(): Promise<void> {
    const signal = this.controller.signal;
    let lastTickMs = 0;
    while (!signal.aborted) {
      // A slow tick (probe timeouts, a slow engine) delays the next one instead of overlapping it.
      await sleep(Math.max(0, this.intervalMs - lastTickMs), signal);
      if (signal.aborted) break;
      const tickStart = performance.now();
      await this.tick().catch((e: unknown) => log.warn({ err: String(e) }, "monitor tick failed"));
      lastTickMs = performance.now() - tickStart;
    }
  }

  private lastTickT?: number;

  private async tick(): Promise<void> {
    const t = this.now();
    const at = Date.now();
    const tickSeconds = this.lastTickT === undefined ? this.intervalMs / 1000 : (t - this.lastTickT) / 1000;
    this.lastTickT = t;
    const stepId = this.stepId;
    const phase = this.phase;
    const tick = await Promise.all(this.watched.map((w) => this.sample(w, t, at, stepId, phase)));
    const claim = this.lastClaim;
    for (const s of tick) {
      if (claim && s.stepId === undefined && s.phase === "baseline" && s.t >= claim.from && s.t <= claim.to)
        s.stepId = claim.stepId;
      this.collected.push(s);
    }
    const evicted = evictOldest(this.collected, this.options.maxSamples ?? DEFAULT_MAX_SAMPLES);
    if (evicted.dropped) {
      this.droppedSamples += evicted.dropped;
      this.droppedThroughT = Math.max(this.droppedThroughT ?? evicted.throughT, evicted.throughT);
    }
    const reason =
      this.envelope.check(tick, t, Math.max(tickSeconds, 0.001)) ??
      this.guard?.(tick, Math.max(tickSeconds, 0.001));
    if (reason && !this.abortController.signal.aborted) {
      log.warn({ reason }, "safety envelope tripped");
      this.abortController.abort(reason);
      this.options.onAbort?.(reason);
    }
  }

  private async sample(
    w: Watched,
    t: number,
    at: number,
    stepId: string | undefined,
    phase: Phase,
  ): Promise<ServiceSample> {
    const s: ServiceSample = { service: w.profile.id, phase, at, t, ...(stepId ? { stepId } : {}) };
    let info: ContainerInfo | undefined;
    try {
      info = await withTimeout(this.runtime.inspect(w.profile.containerId), this.engineTimeoutMs, "inspect");
      s.state = info.state;
      s.health = info.health.status;
      s.restartCount = info.restartCount;
      s.exitCode = info.exitCode;
      w.lastIp = info.networks.find((n) => n.ip)?.ip ?? w.lastIp;
      this.followAddresses(w, info);
    } catch (e) {
      s.inspectError = errorText(e, { hint: false });
      if (e instanceof TargetNotFoundError) {
        s.gone = true;
        // Its address may already belong to another container: probing it would measure the wrong one.
        w.lastIp = undefined;
      }
    }
    const running = info?.state === "running";
    if (running && !w.following) this.startFollowing(w);
    const work: Promise<void>[] = [];
    if (running && (this.options.collectStats ?? true)) work.push(this.sampleStats(w, s));
    if (w.profile.endpoints.length && w.lastIp) work.push(this.sampleProbes(w, s, w.lastIp));
    if (this.options.countConnections && running) {
      work.push(
        withTimeout(
          this.options.countConnections(w.profile, this.controller.signal, info),
          this.engineTimeoutMs,
          "connections",
        )
          .then((n) => {
            if (n !== undefined) s.connections = n;
          })
          .catch(() => undefined),
      );
    }
    await Promise.all(work);
    // A stack trace still being written is counted next tick, whole, rather than split across two.
    s.logs = w.counter.drain({ holdOpenRecord: true });
    return s;
  }

  /**
   * A container stopped, killed or restarted by a fault may come back with other addresses: log lines
   * naming the new ones must still resolve to its service. Reads this tick's inspect (no engine call);
   * the comparison is a string per tick, the directory changes only when the addresses do. A stopped
   * container reports none: its old addresses stay its own, as clients keep dialling (and naming) them.
   */
  private followAddresses(w: Watched, info: ContainerInfo): void {
    const addresses = info.networks.map((n) => n.ip).filter((ip) => ip);
    const key = addresses.join(" ");
    if (!key || key === w.addressKey) return;
    w.addressKey = key;
    if (this.peers.updateAddresses(w.profile.id, addresses))
      log.debug({ service: w.profile.id, addresses }, "service addresses changed; peer map updated");
  }

  private async sampleStats(w: Watched, s: ServiceSample): Promise<void> {
    try {
      const stats = await withTimeout(
        this.runtime.stats(w.profile.containerId, {
          oneShot: this.options.oneShotStats ?? true,
        }),
        this.engineTimeoutMs,
        "stats",
      );
      const t = performance.now();
      const prev = w.lastStats;
      const cpu =
        cpuPercentBetween(prev?.sample, stats) ?? (stats.cpuPercent > 0 ? stats.cpuPercent : undefined);
      if (cpu !== undefined) s.cpuPercent = round(cpu, 2);
      s.memoryBytes = stats.memoryBytes;
      if (prev && t > prev.t) {
        const dt = (t - prev.t) / 1000;
        // Counters reset when a container restarts: a negative delta means "unknown", not negative traffic.
        const rx = stats.networkRxBytes - prev.sample.networkRxBytes;
        const tx = stats.networkTxBytes - prev.sample.networkTxBytes;
        if (rx >= 0) s.netRxBytesPerSec = Math.round(rx / dt);
        if (tx >= 0) s.netTxBytesPerSec = Math.round(tx / dt);
      }
      w.lastStats = { t, sample: stats };
    } catch {
      // A paused or vanishing container may not answer stats in time; inspect already says why.
    }
  }

  private async sampleProbes(w: Watched, s: ServiceSample, ip: string): Promise<void> {
    const endpoints = w.profile.endpoints.slice(0, this.options.maxEndpointsPerService ?? 3);
    const host = ip.includes(":") ? `[${ip}]` : ip;
    const results = await Promise.all(
      endpoints.map((e) =>
        probeHttp(
          `http://${host}:${e.port}${e.path.startsWith("/") ? e.path : `/${e.path}`}`,
          this.probeTimeoutMs,
          this.controller.signal,
        ),
      ),
    );
    s.probes = summarizeProbes(results);
  }

  private startFollowing(w: Watched): void {
    if (!(this.options.followLogs ?? true) || w.following || this.controller.signal.aborted) return;
    w.following = true;
    const p = this.runtime
      .follow(w.profile.containerId, (line) => w.counter.add(line), this.controller.signal)
      .catch((e: unknown) => log.debug({ service: w.profile.id, err: String(e) }, "log follow ended"))
      .finally(() => {
        // The stream ends when the container stops; the next tick that sees it running follows again.
        w.following = false;
        this.follows.delete(p);
      });
    this.follows.add(p);
  }
}

/**
 * Drops the oldest samples beyond `max` (in place). Returns how many went and the newest t among
 * them: every sample at or before `throughT` is gone, which analysis needs to know.
 */
export function evictOldest(samples: ServiceSample[], max: number): { dropped: number; throughT: number } {
  const extra = samples.length - Math.max(0, max);
  if (extra <= 0) return { dropped: 0, throughT: -Infinity };
  let throughT = -Infinity;
  for (const gone of samples.splice(0, extra)) throughT = Math.max(throughT, gone.t);
  return { dropped: extra, throughT };
}

function round(n: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

/**
 * CPU% of one container between two stats samples, as `docker stats` computes it (share of all CPUs
 * times the CPU count), or undefined when the counters do not allow it (first sample, restart).
 */
export function cpuPercentBetween(
  prev: Pick<ResourceSample, "cpuTotalNs" | "systemCpuNs"> | undefined,
  next: Pick<ResourceSample, "cpuTotalNs" | "systemCpuNs" | "onlineCpus">,
): number | undefined {
  if (prev?.cpuTotalNs === undefined || prev.systemCpuNs === undefined) return undefined;
  if (next.cpuTotalNs === undefined || next.systemCpuNs === undefined) return undefined;
  const cpu = next.cpuTotalNs - prev.cpuTotalNs;
  const system = next.systemCpuNs - prev.systemCpuNs;
  // A restarted container's counters start again from zero: that interval is unknown, not negative.
  if (system <= 0 || cpu < 0) return undefined;
  return (cpu / system) * (next.onlineCpus ?? 1) * 100;
}

async function boundedAll(ps: Promise<unknown>[], ms: number): Promise<void> {
  await withTimeout(Promise.allSettled(ps), ms, "log followers").catch(() => undefined);
}

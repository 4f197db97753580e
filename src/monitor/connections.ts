/**
 * Established TCP connections between one service and the others, from the container's socket table.
 * The table comes from the cheapest source that works, as in discovery (src/discovery/sockets/): the
 * host's /proc when faultline shares the host's PID namespace, else ONE short-lived helper container
 * with the host's PID namespace that reads every watched container's table at once. Counting is pure.
 */
import { readTablesViaHelper } from "../discovery/sockets/helper-proc.js";
import { readHostProcTables } from "../discovery/sockets/host-proc.js";
import { parseProcNetTables, type ProcNetTables, type SocketEntry } from "../discovery/sockets/proc-net.js";
import type { ServiceProfile } from "../discovery/profile.js";
import type { ContainerInfo, DockerRuntime } from "../docker/types.js";
import { errorText } from "../errors.js";

const TCP_ESTABLISHED = 1;
const DEFAULT_MAX_AGE_MS = 3000;

/**
 * Established TCP sockets of `self` whose far end is an address of another known service, in either
 * direction (every socket counts: a pool of four connections to the database is four).
 */
export function countPeerConnections(
  sockets: readonly SocketEntry[],
  self: string,
  serviceOfIp: ReadonlyMap<string, string>,
): number {
  let n = 0;
  for (const e of sockets) {
    if (e.transport !== "tcp" || e.state !== TCP_ESTABLISHED) continue;
    const peer = serviceOfIp.get(e.remoteAddress);
    if (peer !== undefined && peer !== self) n++;
  }
  return n;
}

export type ConnectionCounter = (
  profile: ServiceProfile,
  signal: AbortSignal,
  info?: ContainerInfo,
) => Promise<number | undefined>;

/** Reads one container's socket tables; undefined when they cannot be read (not running, gone). */
type TableReader = (
  info: Pick<ContainerInfo, "id" | "pid">,
  signal: AbortSignal,
) => Promise<ProcNetTables | undefined>;

export type ConnectionSource = "auto" | "host" | "helper";

export interface ConnectionCounterOptions {
  /** Runs the helper; without it only the host's /proc is tried. */
  runtime?: Pick<DockerRuntime, "helpers">;
  /** Default auto: the host's /proc when it shows the containers, else the helper. */
  source?: ConnectionSource;
  /** Image of the helper (needs only `sh` and `cat`); default FAULTLINE_BASE_IMAGE or debian:bookworm-slim. */
  helperImage?: string;
  helperTimeoutMs?: number;
  /**
   * How long one socket-table reading serves (default 3000 ms). Reading /proc/<pid>/net/tcp makes the
   * kernel walk its whole TCP hash table (milliseconds of CPU on a large host) and a helper is a
   * container start; connection counts move slowly, so every third 1 s tick is enough.
   */
  maxAgeMs?: number;
  /** How long the first request of a tick waits for the others to join its helper run (default 30 ms). */
  batchWindowMs?: number;
}

export interface ConnectionCounterChoice {
  counter?: ConnectionCounter;
  /** Where tables come from, when there is a counter. */
  via?: "host-proc" | "helper";
  /** Why there is no counter. */
  reason?: string;
}

/**
 * A counter for the monitor, or undefined (with the reason) when no socket table can be read.
 * Addresses are learned from discovery and refreshed from every inspect the monitor makes, so a
 * container that restarted with a new IP is still recognised.
 */
export async function connectionCounter(
  profiles: readonly ServiceProfile[],
  running: readonly Pick<ContainerInfo, "id" | "pid">[],
  options: ConnectionCounterOptions = {},
  signal?: AbortSignal,
): Promise<ConnectionCounterChoice> {
  const source = options.source ?? "auto";
  const probe = running.find((c) => c.pid > 0);
  if (!probe) return { reason: "no running container to read a socket table from" };
  const reasons: string[] = [];
  if (source !== "helper") {
    if (await readHostProcTables(probe.pid, probe.id))
      return { counter: counterOver(profiles, cached(hostProcReader, options.maxAgeMs)), via: "host-proc" };
    reasons.push("the host's /proc does not show the containers' sockets (not in the host PID namespace)");
  }
  if (source !== "host" && options.runtime) {
    const reader = new HelperTableReader(options.runtime.helpers, options);
    for (const c of running) reader.watch(c);
    try {
      if (await reader.read(probe, signal ?? new AbortController().signal))
        return { counter: counterOver(profiles, (info, s) => reader.read(info, s)), via: "helper" };
      reasons.push("the socket helper could not read the containers' tables");
    } catch (e) {
      reasons.push(`the socket helper failed: ${errorText(e)}`);
    }
  }
  if (source !== "host" && !options.runtime) reasons.push("no engine to run a socket helper with");
  return { reason: reasons.join("; ") };
}

const hostProcReader: TableReader = (info) => readHostProcTables(info.pid, info.id);

/** Serves each container's last reading for `maxAgeMs` (a new pid means a new process: read again). */
function cached(read: TableReader, maxAgeMs = DEFAULT_MAX_AGE_MS): TableReader {
  const last = new Map<string, { at: number; pid: number; tables: ProcNetTables | undefined }>();
  return async (info, signal) => {
    const hit = last.get(info.id);
    if (hit && hit.pid === info.pid && performance.now() - hit.at <= maxAgeMs) return hit.tables;
    const tables = await read(info, signal);
    last.set(info.id, { at: performance.now(), pid: info.pid, tables });
    return tables;
  };
}

function counterOver(profiles: readonly ServiceProfile[], read: TableReader): ConnectionCounter {
  const serviceOfIp = new Map<string, string>();
  for (const p of profiles) for (const n of p.networks) if (n.ip) serviceOfIp.set(n.ip, p.id);
  return async (profile, signal, info) => {
    if (!info || info.state !== "running" || info.pid <= 0) return undefined;
    for (const n of info.networks) if (n.ip) serviceOfIp.set(n.ip, profile.id);
    const tables = await read(info, signal);
    return tables ? countPeerConnections(parseProcNetTables(tables), profile.id, serviceOfIp) : undefined;
  };
}

/**
 * Every watched container's tables from one helper run, shared by all the services that ask within
 * `maxAgeMs`: the monitor asks once per service per tick, the engine starts one container.
 */
class HelperTableReader {
  /** Container id -> the pid it was last seen with (a restarted container has a new one). */
  private readonly pids = new Map<string, number>();
  private latest: { at: number; tables: Map<string, ProcNetTables>; pids: Map<string, number> } | undefined;
  private inFlight: Promise<void> | undefined;
  private readonly maxAgeMs: number;
  private readonly windowMs: number;
  private readonly image: string;
  private readonly timeoutMs: number;

  constructor(
    private readonly helpers: DockerRuntime["helpers"],
    options: ConnectionCounterOptions,
  ) {
    this.maxAgeMs = options.maxAgeMs ?? DEFAULT_MAX_AGE_MS;
    this.windowMs = options.batchWindowMs ?? 30;
    this.image = options.helperImage ?? process.env.FAULTLINE_BASE_IMAGE ?? "debian:bookworm-slim";
    this.timeoutMs = options.helperTimeoutMs ?? 10_000;
  }

  watch(c: Pick<ContainerInfo, "id" | "pid">): void {
    if (c.pid > 0) this.pids.set(c.id, c.pid);
  }

  async read(c: Pick<ContainerInfo, "id" | "pid">, signal: AbortSignal): Promise<ProcNetTables | undefined> {
    this.watch(c);
    const fresh = this.fromLatest(c, this.maxAgeMs);
    if (fresh !== null) return fresh;
    if (!this.inFlight) {
      this.inFlight = this.refresh(signal).finally(() => (this.inFlight = undefined));
    }
    await this.inFlight;
    // Just read (or read by the run this request joined): as fresh as it gets, whatever the max age.
    return this.fromLatest(c, Infinity) ?? undefined;
  }

  /** The latest reading's tables for `c`; null when that reading is too old or did not include it. */
  private fromLatest(
    c: Pick<ContainerInfo, "id" | "pid">,
    maxAgeMs: number,
  ): ProcNetTables | undefined | null {
    const latest = this.latest;
    if (!latest || performance.now() - latest.at > maxAgeMs) return null;
    if (latest.pids.get(c.id) !== c.pid) return null;
    return latest.tables.get(c.id);
  }

  private async refresh(signal: AbortSignal): Promise<void> {
    // Let the other services of this tick register their containers before the one helper starts.
    if (this.windowMs > 0) await new Promise((r) => setTimeout(r, this.windowMs));
    const pids = new Map(this.pids);
    const tables = await readTablesViaHelper(
      this.helpers,
      [...pids].map(([containerId, pid]) => ({ containerId, pid })),
      { image: this.image, timeoutMs: this.timeoutMs, signal },
    );
    // A container whose pid no longer matches its cgroup is not in `tables`: forget it until seen again.
    for (const [id] of pids) if (!tables.has(id)) this.pids.delete(id);
    this.latest = { at: performance.now(), tables, pids };
  }
}

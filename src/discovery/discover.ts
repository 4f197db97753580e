/**
 * Discovery: one ServiceProfile per container in scope. Identity from the engine; listening ports and
 * live connections from the socket tables; protocols from active probes (nmap with --deep); HTTP
 * endpoints; references from env vars and logs; then a classification. Every step is bounded and a
 * failing step becomes a note on the profile, never an exception.
 */
import type { ContainerInfo, ContainerSelector, DockerRuntime, LogTailSummary } from "../docker/types.js";
import { errorText, isTargetNotFound } from "../errors.js";
import type { EnvReference, HttpEndpoint, PortProfile, ServiceProfile } from "./profile.js";
import { classify } from "./classify.js";
import { mapLimit } from "../util/concurrency.js";
import { withTimeout } from "../util/time.js";
import { maskEnv, parseEnvReferences } from "./env-references.js";
import { scanHttpEndpoints } from "./http-endpoints.js";
import { classifyLogLines, type LogVerdict } from "./log-classifier.js";
import { extractLogMentions } from "./log-mentions.js";
import { nmapVerdict, runNmap } from "./nmap.js";
import { identifyPort } from "./probes/runner.js";
import { collectSocketsEach, type SocketReading, type SocketSource } from "./sockets/collect.js";

export interface DiscoveryOptions {
  /** Run `nmap -sV` (agent image) on ports no probe recognised. */
  deep?: boolean;
  /** Log lines to read per container (default 200). */
  logLines?: number;
  onProgress?: (message: string) => void;
  /** Containers profiled at once (default 8). */
  concurrency?: number;
  /** Bound of one probe connection (default 1000 ms). */
  probeTimeoutMs?: number;
  /** How long to wait for a server that speaks first (default 400 ms). */
  bannerTimeoutMs?: number;
  /** Bound for all probes of one port (default 4000 ms). */
  portBudgetMs?: number;
  /** Bound of one HTTP endpoint request (default 1000 ms). */
  endpointTimeoutMs?: number;
  /** Bound for reading a container's logs (default 3000 ms); the request is aborted at the bound. */
  logTimeoutMs?: number;
  /** Bytes of log read per container at most (default 512 KiB): a huge log costs no more. */
  logMaxBytes?: number;
  /** Where socket tables come from (default auto: host /proc, then one helper, then a connect scan). */
  socketSource?: SocketSource;
  /** Image of the socket-reading helper (needs only `sh` and `cat`). */
  helperImage?: string;
  helperTimeoutMs?: number;
  /** Image with nmap for --deep (default: the fault agent image, images/agent.ts). */
  agentImage?: string;
  nmapTimeoutMs?: number;
  /** Skip active probing (ports, endpoints) entirely. */
  probe?: boolean;
  signal?: AbortSignal;
}

const DEFAULTS = {
  logLines: 200,
  concurrency: 8,
  probeTimeoutMs: 1000,
  bannerTimeoutMs: 400,
  portBudgetMs: 4000,
  endpointTimeoutMs: 1000,
  logTimeoutMs: 3000,
  logMaxBytes: 512 * 1024,
  helperImage: "debian:bookworm-slim",
  helperTimeoutMs: 15_000,
  nmapTimeoutMs: 60_000,
};

const MAX_LOG_LINE = 2000;
const DOCKER_DNS = "127.0.0.11";

/** Log verdicts kept for re-classification after --deep (logs are read once, before probing). */
const logVerdicts = new WeakMap<ServiceProfile, LogVerdict>();

/** An address faultline can connect to: the first network IP; loopback for host-network containers. */
export function reachableAddress(c: ContainerInfo): string | undefined {
  if (c.networkMode === "host") return "127.0.0.1";
  return c.networks.find((n) => n.ip)?.ip;
}

/** Names other containers may use for this one: compose service, container name, aliases, hostname. */
export function namesOf(c: ContainerInfo): string[] {
  const names = [c.name, c.hostname, ...c.networks.flatMap((n) => n.aliases)];
  if (c.compose) names.push(c.compose.service);
  return [...new Set(names.filter((n) => n && !c.id.startsWith(n)).map((n) => n.toLowerCase()))];
}

/** Declared (EXPOSE / published) and listening ports, each marked with where it was seen. */
export function mergePorts(c: ContainerInfo, reading: SocketReading): PortProfile[] {
  const ports = new Map<string, PortProfile>();
  const declared = [
    ...c.exposedPorts,
    ...c.publishedPorts.map((p) => ({ port: p.containerPort, protocol: p.protocol })),
  ];
  for (const d of declared)
    ports.set(`${d.protocol}/${d.port}`, { port: d.port, protocol: d.protocol, source: "declared" });
  for (const l of reading.listening) {
    // Docker's embedded DNS resolver binds random ports on 127.0.0.11 in every user-defined network.
    if (l.bindAddress === DOCKER_DNS) continue;
    const key = `${l.protocol}/${l.port}`;
    const previous = ports.get(key);
    ports.set(key, {
      port: l.port,
      protocol: l.protocol,
      source: previous ? "both" : "listening",
      bindAddress: l.bindAddress,
    });
  }
  return [...ports.values()].sort((a, b) => a.port - b.port || a.protocol.localeCompare(b.protocol));
}

function isLoopbackOnly(p: PortProfile): boolean {
  return p.bindAddress !== undefined && (p.bindAddress.startsWith("127.") || p.bindAddress === "::1");
}

export async function discoverServices(
  runtime: DockerRuntime,
  selector: ContainerSelector,
  options: DiscoveryOptions = {},
): Promise<ServiceProfile[]> {
  const o = { ...DEFAULTS, ...stripUndefined(options) };
  const progress = (msg: string) => options.onProgress?.(msg);
  const started = Date.now();
  const containers = await runtime.list(selector);
  progress(`found ${containers.length} container(s)`);
  if (!containers.length) return [];

  const knownHosts = new Set(containers.flatMap(namesOf));
  // Each container is profiled as soon as its own socket table is read, while the kernel walks the rest.
  const sockets = collectSocketsEach(runtime, containers, {
    source: o.socketSource ?? "auto",
    helperImage: o.helperImage,
    helperTimeoutMs: o.helperTimeoutMs,
    scanTimeoutMs: 300,
    addressOf: reachableAddress,
    onProgress: progress,
    signal: o.signal,
  });
  void Promise.all(sockets.values()).then(() => progress(`socket tables read in ${Date.now() - started} ms`));

  const ids = uniqueIds(containers);
  const profiles = await mapLimit(containers, o.concurrency, async (c) => {
    const reading = (await sockets.get(c.id)) ?? {
      via: "none" as const,
      listening: [],
      connections: [],
      notes: [],
    };
    try {
      const profile = await profileContainer(runtime, c, ids.get(c.id) ?? c.name, reading, knownHosts, o);
      progress(`${profile.id}: ${profile.classification.kind} (${profile.classification.confidence})`);
      return profile;
    } catch (e) {
      // Only programming errors get here; a profile with what is known still beats no profile.
      const profile = baseProfile(c, ids.get(c.id) ?? c.name, reading);
      profile.notes.push(`profiling failed: ${errorText(e)}`);
      return profile;
    }
  });

  if (options.deep) await deepen(runtime, containers, profiles, o, progress);
  await recordStateChanges(runtime, containers, profiles, o);
  progress(`discovery finished in ${Date.now() - started} ms`);
  return profiles;
}

/** Compose service names are the natural ids; scaled replicas share one, so later ones fall back to the container name. */
function uniqueIds(containers: ContainerInfo[]): Map<string, string> {
  const ids = new Map<string, string>();
  const used = new Set<string>();
  const sorted = [...containers].sort((a, b) => a.name.localeCompare(b.name));
  for (const c of sorted) {
    let id = c.compose?.service ?? c.name;
    if (used.has(id)) id = c.name;
    used.add(id);
    ids.set(c.id, id);
  }
  return ids;
}

function baseProfile(c: ContainerInfo, id: string, reading: SocketReading): ServiceProfile {
  return {
    id,
    containerId: c.id,
    containerName: c.name,
    compose: c.compose,
    image: c.image,
    command: [...c.entrypoint, ...c.command],
    state: c.state,
    restartPolicy: c.restartPolicy,
    health: c.health,
    labels: c.labels,
    networks: c.networks,
    hostname: c.hostname,
    ports: mergePorts(c, reading),
    endpoints: [],
    env: maskEnv(c.env),
    envReferences: [],
    connections: reading.connections,
    logMentions: [],
    classification: { kind: "unknown", confidence: 0, signals: [] },
    notes: [...(c.problem ? [c.problem] : []), ...reading.notes],
  };
}

/**
 * Containers can stop or vanish while they are profiled. A second look at the end records it on the
 * profile (state, stateChange, a note) instead of reporting a dead container as running.
 */
async function recordStateChanges(
  runtime: DockerRuntime,
  containers: ContainerInfo[],
  profiles: ServiceProfile[],
  o: ResolvedOptions,
): Promise<void> {
  const listed = new Map(containers.map((c) => [c.id, c]));
  await mapLimit(profiles, o.concurrency, async (profile) => {
    const before = listed.get(profile.containerId);
    if (!before || before.state === "gone") return;
    let after: ContainerInfo | undefined;
    try {
      after = await withTimeout(
        runtime.inspect(profile.containerId),
        o.endpointTimeoutMs * 2,
        "re-inspecting",
      );
    } catch (e) {
      if (!isTargetNotFound(e)) {
        profile.notes.push(`state at the end of discovery unknown: ${errorText(e)}`);
        return;
      }
    }
    const now = after?.state ?? "gone";
    if (now === before.state) return;
    const exitCode = after && (now === "exited" || now === "dead") ? after.exitCode : undefined;
    profile.state = now;
    profile.stateChange = { from: before.state, to: now, ...(exitCode !== undefined ? { exitCode } : {}) };
    profile.notes.push(
      `${now === "gone" ? "removed" : now}${exitCode !== undefined ? ` (exit code ${exitCode})` : ""} ` +
        `during discovery (was ${before.state} when listed): what was read after that may be incomplete`,
    );
  });
}

type ResolvedOptions = typeof DEFAULTS & DiscoveryOptions;

async function profileContainer(
  runtime: DockerRuntime,
  c: ContainerInfo,
  id: string,
  reading: SocketReading,
  knownHosts: Set<string>,
  o: ResolvedOptions,
): Promise<ServiceProfile> {
  const profile = baseProfile(c, id, reading);
  const peers = [...knownHosts].filter((h) => !namesOf(c).includes(h));

  let envReferences: EnvReference[] = [];
  try {
    envReferences = parseEnvReferences(c.env, { knownHosts: peers });
  } catch (e) {
    profile.notes.push(`env parsing failed: ${errorText(e)}`);
  }
  profile.envReferences = envReferences;

  // Logs first: the probes below make servers log complaints that must not sway the log classifier.
  const lines = await readLogs(runtime, c, o, profile.notes);
  const mentions = extractLogMentions(lines, {
    knownHosts: peers,
    maxMentions: 50,
    maxLineLength: MAX_LOG_LINE,
  });
  profile.logMentions = mentions.mentions;
  if (mentions.binaryLines) {
    profile.notes.push(`${mentions.binaryLines} binary log line(s) skipped for references`);
  }
  let logVerdict: LogVerdict | undefined;
  try {
    logVerdict = classifyLogLines(lines.filter((l) => l.length < MAX_LOG_LINE));
  } catch (e) {
    profile.notes.push(`log classification failed: ${errorText(e)}`);
  }

  if (logVerdict) logVerdicts.set(profile, logVerdict);
  if (o.probe !== false && c.state === "running") await probePorts(c, profile, o);

  profile.classification = classify({
    ports: profile.ports,
    image: c.image,
    command: profile.command,
    logVerdict,
    connections: profile.connections,
    envReferences,
  });
  return profile;
}

async function readLogs(
  runtime: DockerRuntime,
  c: ContainerInfo,
  o: ResolvedOptions,
  notes: string[],
): Promise<string[]> {
  if (o.logLines <= 0 || c.state === "gone") return [];
  // The bound aborts the request itself: a slow or huge log must not keep a connection reading on.
  const timeout = AbortSignal.timeout(o.logTimeoutMs);
  const signal = o.signal ? AbortSignal.any([o.signal, timeout]) : timeout;
  let summary: LogTailSummary | undefined;
  try {
    const lines = await runtime.tail(c.id, o.logLines, {
      maxLineLength: MAX_LOG_LINE,
      maxBytes: o.logMaxBytes,
      signal,
      report: (s) => (summary = s),
    });
    if (summary) notes.push(...logTailNotes(summary, MAX_LOG_LINE));
    return lines;
  } catch (e) {
    notes.push(`logs unreadable: ${timeout.aborted ? `not read within ${o.logTimeoutMs} ms` : errorText(e)}`);
    return [];
  }
}

/** Notes on what a log tail left out, so a profile built on a partial log says so. */
export function logTailNotes(summary: LogTailSummary, maxLineLength: number): string[] {
  const notes: string[] = [];
  if (summary.byteCapReached) {
    notes.push(
      `logs truncated: reading stopped after ${summary.bytesRead} bytes, the newest lines are missing`,
    );
  }
  if (summary.cutLines) {
    notes.push(`logs truncated: ${summary.cutLines} line(s) longer than ${maxLineLength} bytes cut`);
  }
  if (summary.binaryLines) notes.push(`logs binary: ${summary.binaryLines} line(s) are not text`);
  return notes;
}

async function probePorts(c: ContainerInfo, profile: ServiceProfile, o: ResolvedOptions): Promise<void> {
  const address = reachableAddress(c);
  if (!address) {
    profile.notes.push("no IP address reachable from faultline: ports not probed");
    return;
  }
  const knowsListening = profile.ports.some((p) => p.source !== "declared");
  const candidates = profile.ports.filter(
    (p) => p.protocol === "tcp" && (p.source !== "declared" || !knowsListening),
  );
  await Promise.all(
    candidates.map(async (p) => {
      if (isLoopbackOnly(p)) {
        profile.notes.push(`port ${p.port}: bound to ${p.bindAddress} only, not reachable for probes`);
        return;
      }
      const r = await identifyPort(address, p.port, {
        probeTimeoutMs: o.probeTimeoutMs,
        bannerMs: o.bannerTimeoutMs,
        budgetMs: o.portBudgetMs,
        signal: o.signal,
      });
      profile.notes.push(...r.notes);
      if (r.match) {
        p.probe = {
          protocol: r.match.protocol,
          detail: r.match.detail,
          latencyMs: r.match.latencyMs,
          via: "probe",
          ...(r.match.reason ? { reason: r.match.reason } : {}),
        };
        // Connecting succeeded, so the port listens even when only declared.
        if (p.source === "declared") p.source = "both";
      }
      if (r.match && (r.match.protocol === "http" || r.match.protocol === "elasticsearch")) {
        const endpoints: HttpEndpoint[] = await scanHttpEndpoints(address, p.port, {
          timeoutMs: o.endpointTimeoutMs,
          concurrency: 4,
        });
        profile.endpoints.push(...endpoints);
      }
    }),
  );
  profile.endpoints.sort((a, b) => a.port - b.port || a.path.localeCompare(b.path));
}

async function deepen(
  runtime: DockerRuntime,
  containers: ContainerInfo[],
  profiles: ServiceProfile[],
  o: ResolvedOptions,
  progress: (m: string) => void,
): Promise<void> {
  const byId = new Map(containers.map((c) => [c.id, c]));
  const work = profiles
    .map((p) => ({
      profile: p,
      ports: p.ports.filter(
        (x) =>
          x.protocol === "tcp" && x.source !== "declared" && (!x.probe || x.probe.protocol === "unknown"),
      ),
    }))
    .filter((w) => w.ports.length && byId.get(w.profile.containerId)?.state === "running");
  if (!work.length) return;
  progress(`--deep: nmap -sV on ${work.reduce((a, w) => a + w.ports.length, 0)} unidentified port(s)`);
  let agentImage = o.agentImage;
  if (!agentImage) {
    try {
      // Loaded only for --deep: the fault agent module is not needed for plain discovery.
      agentImage = (await import("../images/agent.js")).AGENT_IMAGE;
    } catch (e) {
      for (const w of work)
        w.profile.notes.push(`--deep: agent image unknown (${errorText(e)}), nmap skipped`);
      return;
    }
  }
  const image = agentImage;
  await mapLimit(work, 2, async ({ profile, ports }) => {
    const run = await runNmap(
      runtime,
      profile.containerId,
      ports.map((p) => p.port),
      {
        image,
        timeoutMs: o.nmapTimeoutMs,
        signal: o.signal,
      },
    );
    if (run.note) profile.notes.push(run.note);
    for (const s of run.services) {
      const port = ports.find((p) => p.port === s.port);
      if (!port || s.state !== "open") continue;
      const v = nmapVerdict(s);
      if (v.protocol === "unknown" && port.probe) continue;
      port.probe = { protocol: v.protocol, detail: v.detail, latencyMs: 0, via: "nmap" };
    }
    const c = byId.get(profile.containerId);
    if (c) {
      profile.classification = classify({
        ports: profile.ports,
        image: c.image,
        command: profile.command,
        logVerdict: logVerdicts.get(profile),
        connections: profile.connections,
        envReferences: profile.envReferences,
      });
    }
  });
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

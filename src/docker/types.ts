/**
 * The narrow slices of the Docker engine that faultline's modules depend on. Only `engine.ts`
 * implements them (with dockerode); everything else asks for the slice it needs, so pure logic and
 * unit tests never see dockerode.
 */

/** Labels faultline puts on everything it creates, so a sweep finds leftovers without the journal. */
export const LABELS = {
  owned: "faultline.owned",
  role: "faultline.role",
  run: "faultline.run",
  fault: "faultline.fault",
  target: "faultline.target",
  deadline: "faultline.deadline",
  /** Set by users on containers faultline must never touch. */
  exclude: "faultline.exclude",
  /** Set by users: the only fault kinds the Chaos-Monkey may put on this container ("pause,latency"). */
  kinds: "faultline.kinds",
} as const;

export const COMPOSE_LABELS = {
  project: "com.docker.compose.project",
  service: "com.docker.compose.service",
  oneoff: "com.docker.compose.oneoff",
} as const;

/** The engine's states, plus "gone": listed a moment ago, removed before it could be inspected. */
export type ContainerState =
  "created" | "running" | "paused" | "restarting" | "removing" | "exited" | "dead" | "gone";
export type HealthStatus = "none" | "starting" | "healthy" | "unhealthy";
export type TransportProtocol = "tcp" | "udp";

export interface NetworkAttachment {
  name: string;
  networkId: string;
  ip: string;
  aliases: string[];
}

export interface PublishedPort {
  containerPort: number;
  protocol: TransportProtocol;
  hostIp: string;
  hostPort: number;
}

export interface HealthInfo {
  status: HealthStatus;
  failingStreak: number;
  /** The healthcheck command as configured, e.g. ["CMD-SHELL", "pg_isready"]. */
  test: string[];
  lastOutput?: string;
}

/** Everything discovery, faults and monitors need to know about one container, as plain data. */
export interface ContainerInfo {
  id: string;
  name: string;
  image: string;
  imageId: string;
  command: string[];
  entrypoint: string[];
  state: ContainerState;
  /** Host PID of the container's init process; 0 when not running. */
  pid: number;
  startedAt: string;
  finishedAt: string;
  exitCode: number;
  restartCount: number;
  restartPolicy: string;
  health: HealthInfo;
  labels: Record<string, string>;
  /** Raw "KEY=value" entries as the engine reports them. */
  env: string[];
  compose?: { project: string; service: string };
  hostname: string;
  networkMode: string;
  networks: NetworkAttachment[];
  exposedPorts: { port: number; protocol: TransportProtocol }[];
  publishedPorts: PublishedPort[];
  cgroupParent: string;
  /** Memory limit in bytes, 0 when unlimited. */
  memoryLimit: number;
  nanoCpus: number;
  /**
   * Why this record is incomplete, when the engine listed the container but could not inspect it (it was
   * removed meanwhile: state "gone"; or inspecting failed). Only the listing's facts are filled in then.
   */
  problem?: string;
}

/**
 * A ContainerInfo with only what is known filled in: for records built from something thinner than an
 * inspect (a listing, a simulated helper). Unknown facts take their "nothing" values.
 */
export function sparseContainerInfo(
  known: Pick<ContainerInfo, "id" | "name" | "image" | "state"> & Partial<ContainerInfo>,
): ContainerInfo {
  return {
    imageId: "",
    command: [],
    entrypoint: [],
    pid: 0,
    startedAt: "",
    finishedAt: "",
    exitCode: 0,
    restartCount: 0,
    restartPolicy: "no",
    health: { status: "none", failingStreak: 0, test: [] },
    labels: {},
    env: [],
    hostname: "",
    networkMode: "",
    networks: [],
    exposedPorts: [],
    publishedPorts: [],
    cgroupParent: "",
    memoryLimit: 0,
    nanoCpus: 0,
    ...known,
  };
}

/** Which containers a command works on. Always narrowed to running-or-paused, never faultline's own. */
export interface ContainerSelector {
  /** docker-compose project name. */
  project?: string;
  /** "key=value" or "key" label filters, all of which must match. */
  labels?: string[];
  /** Include stopped containers too. */
  all?: boolean;
}

export interface ContainerReader {
  list(selector: ContainerSelector): Promise<ContainerInfo[]>;
  inspect(idOrName: string): Promise<ContainerInfo>;
}

export interface ContainerLifecycle {
  stop(id: string, timeoutSeconds?: number): Promise<void>;
  start(id: string): Promise<void>;
  kill(id: string, signal: string): Promise<void>;
  pause(id: string): Promise<void>;
  unpause(id: string): Promise<void>;
  restart(id: string, timeoutSeconds?: number): Promise<void>;
}

/** What reading a log tail had to leave out. */
export interface LogTailSummary {
  bytesRead: number;
  /** Reading stopped at `maxBytes`: the newest lines of the requested tail are missing. */
  byteCapReached: boolean;
  /** Lines cut at `maxLineLength`. */
  cutLines: number;
  /** Lines that are not text (control bytes, invalid UTF-8). */
  binaryLines: number;
}

export interface LogTailOptions {
  sinceSeconds?: number;
  /** Bytes kept per line (default 4096); the rest of a longer line is dropped while it arrives. */
  maxLineLength?: number;
  /** Bytes read from the engine at most (default 1 MiB); the request is closed at the cap. */
  maxBytes?: number;
  /** Aborting closes the request to the engine and rejects. */
  signal?: AbortSignal;
  /** Called once, before the lines are returned, with what was cut. */
  report?: (summary: LogTailSummary) => void;
}

export interface LogReader {
  /**
   * The last `lines` lines of stdout+stderr, newest last; bounded in bytes and per line (see options).
   * Binary junk is kept (and counted in the report) but lines are length-capped.
   */
  tail(id: string, lines: number, options?: LogTailOptions): Promise<string[]>;
  /** Calls `onLine` for every new line until `signal` aborts or the container goes away. */
  follow(
    id: string,
    onLine: (line: string, stream: "stdout" | "stderr") => void,
    signal: AbortSignal,
  ): Promise<void>;
}

export interface ResourceSample {
  at: number;
  cpuPercent: number;
  memoryBytes: number;
  memoryLimitBytes: number;
  networkRxBytes: number;
  networkTxBytes: number;
  pids: number;
  /** Raw cumulative counters, so a caller sampling repeatedly can compute CPU% over its own interval. */
  cpuTotalNs?: number;
  systemCpuNs?: number;
  onlineCpus?: number;
}

export interface StatsOptions {
  /**
   * One snapshot without the engine's 1 s CPU window (API >= 1.41): answers at once, but cpuPercent
   * is 0; compute it from the raw counters of consecutive samples instead.
   */
  oneShot?: boolean;
  signal?: AbortSignal;
}

export interface StatsReader {
  stats(id: string, options?: StatsOptions): Promise<ResourceSample>;
}

/** A short-lived or long-running container faultline starts for itself (probe, fault agent, watchdog). */
export interface HelperSpec {
  image: string;
  cmd: string[];
  name?: string;
  /** Labels beyond the ones every helper gets (owned, role). */
  labels?: Record<string, string>;
  role: "probe" | "agent" | "watchdog" | "stress";
  /** e.g. "container:<id>" to join a target's network namespace. */
  networkMode?: string;
  /** e.g. "host" to read other containers' /proc, or "container:<id>". */
  pidMode?: string;
  capAdd?: string[];
  privileged?: boolean;
  cgroupParent?: string;
  binds?: string[];
  env?: string[];
  /** Remove the container when it exits (for helpers that outlive faultline, e.g. watchdogs). */
  autoRemove?: boolean;
  user?: string;
}

export interface HelperResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface HelperRunner {
  /** Runs to completion (bounded by `timeoutMs`) and removes the container. */
  run(spec: HelperSpec, options?: { timeoutMs?: number; signal?: AbortSignal }): Promise<HelperResult>;
  /** Starts in the background; returns the container id. */
  start(spec: HelperSpec): Promise<string>;
  /**
   * Waits for a started helper to exit (or, with condition "removed", to be gone: an AutoRemove helper,
   * or one already gone, resolves with -1 when its exit code is unknown); returns its exit code.
   */
  wait(id: string, options?: { timeoutMs?: number; condition?: "not-running" | "removed" }): Promise<number>;
  /** Output of a started helper so far. */
  output(id: string): Promise<HelperResult>;
  /**
   * Every output line of a helper from its first one, then live lines until it exits or `signal` aborts.
   * The way to read an AutoRemove helper's output: its logs go with it. Rejects if it does not exist.
   */
  follow(
    id: string,
    onLine: (line: string, stream: "stdout" | "stderr") => void,
    signal: AbortSignal,
  ): Promise<void>;
  remove(id: string): Promise<void>;
  /** Containers faultline created (label `faultline.owned=true`), optionally narrowed by more labels. */
  listOwned(labels?: string[]): Promise<ContainerInfo[]>;
}

export interface ImageStore {
  exists(tag: string): Promise<boolean>;
  /**
   * Builds `contextDir` (with its Dockerfile) as `tag`; `onProgress` gets build output lines. Only with
   * `owned: true` is the image labelled `faultline.owned=true`, which every container started from it
   * inherits, hiding it from discovery: right for faultline's helper images, wrong for anything that
   * should be a target (the demo stack, test fixtures).
   */
  build(
    contextDir: string,
    tag: string,
    onProgress?: (line: string) => void,
    options?: { owned?: boolean },
  ): Promise<void>;
}

export interface DockerRuntime extends ContainerReader, ContainerLifecycle, LogReader, StatsReader {
  readonly helpers: HelperRunner;
  readonly images: ImageStore;
  /** Resolves when the engine answers; throws EngineUnavailableError with a hint otherwise. */
  ping(): Promise<void>;
  /** Engine facts used to pick mechanisms (cgroup version and driver, kernel). */
  info(): Promise<EngineInfo>;
}

export interface EngineInfo {
  serverVersion: string;
  kernelVersion: string;
  cgroupVersion: "1" | "2";
  cgroupDriver: "cgroupfs" | "systemd" | string;
  operatingSystem: string;
}

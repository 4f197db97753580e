/**
 * The one place that talks to the Docker engine (through dockerode). Everything else depends on the
 * narrow interfaces in `types.ts`.
 */
import Docker from "dockerode";
import { PassThrough } from "node:stream";
import {
  EngineUnavailableError,
  errorText,
  InvalidInputError,
  ImageUnavailableError,
  OperationTimeoutError,
  TargetNotFoundError,
} from "../errors.js";
import type {
  ContainerInfo,
  ContainerSelector,
  ContainerState,
  DockerRuntime,
  EngineInfo,
  HelperResult,
  HelperRunner,
  HelperSpec,
  ImageStore,
  LogTailOptions,
  ResourceSample,
  StatsOptions,
  TransportProtocol,
} from "./types.js";
import { COMPOSE_LABELS, LABELS, sparseContainerInfo } from "./types.js";
import { LogTailCollector } from "./log-tail.js";
import { splitDockerStream } from "./stream.js";
import { listFilesRecursively } from "./files.js";

const DEFAULT_MAX_LINE = 4096;
const DEFAULT_MAX_LOG_BYTES = 1024 * 1024;
const DEFAULT_SOCKET = "/var/run/docker.sock";

export interface DockerEngineOptions {
  /** Path of the engine's unix socket; defaults to DOCKER_HOST or /var/run/docker.sock. */
  socketPath?: string;
  /** Overrides the DOCKER_HOST environment variable (tests). */
  dockerHost?: string;
}

/** Where the engine listens: a unix socket, or a plain-TCP host and port. */
export type EngineAddress =
  { socketPath: string } | { host: string; port: number; protocol: "http" | "https" };

/**
 * DOCKER_HOST as the docker CLI reads it: unix:///path or tcp://host:port (https when DOCKER_TLS_VERIFY
 * is set). Anything else is refused rather than silently replaced by the default socket. Pure.
 */
export function parseDockerHost(value: string | undefined, tlsVerify?: string): EngineAddress {
  if (value === undefined || value === "") return { socketPath: DEFAULT_SOCKET };
  const unix = /^unix:\/\/(\/.+)$/.exec(value);
  if (unix) return { socketPath: unix[1]! };
  const tcp = /^tcp:\/\/(\[[0-9a-fA-F:]+\]|[^:/]+)(?::(\d+))?\/?$/.exec(value);
  if (tcp) {
    const tls = tlsVerify !== undefined && tlsVerify !== "" && tlsVerify !== "0";
    const port = tcp[2] ? Number(tcp[2]) : tls ? 2376 : 2375;
    if (port > 0 && port < 65536) {
      return { host: tcp[1]!.replace(/^\[|\]$/g, ""), port, protocol: tls ? "https" : "http" };
    }
  }
  throw new InvalidInputError(
    `DOCKER_HOST "${value}" is not supported`,
    "use unix:///path/to/docker.sock or tcp://host:port, or unset it for /var/run/docker.sock",
  );
}

export function connectDocker(options: DockerEngineOptions = {}): DockerEngine {
  return new DockerEngine(options);
}

export class DockerEngine implements DockerRuntime {
  private readonly docker: Docker;
  readonly helpers: HelperRunner;
  readonly images: ImageStore;

  /** Where the engine is, for messages. */
  readonly address: EngineAddress;

  constructor(options: DockerEngineOptions = {}) {
    this.address = options.socketPath
      ? { socketPath: options.socketPath }
      : parseDockerHost(options.dockerHost ?? process.env.DOCKER_HOST, process.env.DOCKER_TLS_VERIFY);
    this.docker = new Docker(
      "socketPath" in this.address
        ? { socketPath: this.address.socketPath }
        : {
            host: this.address.host,
            port: this.address.port,
            protocol: this.address.protocol,
            // docker-modem reads DOCKER_CERT_PATH's ca/cert/key for https itself.
          },
    );
    this.helpers = new DockerHelperRunner(this.docker, this);
    this.images = new DockerImageStore(this.docker);
  }

  async ping(): Promise<void> {
    try {
      await this.docker.ping();
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      const where =
        "socketPath" in this.address ? this.address.socketPath : `${this.address.host}:${this.address.port}`;
      const hint =
        code === "EACCES"
          ? "no permission on the Docker socket: run as root or join the group that owns it (usually docker)"
          : "start the Docker engine (scripts/setup.sh does it on Debian) or set DOCKER_HOST";
      throw new EngineUnavailableError(
        `cannot reach the Docker engine at ${where} (${code ?? String(e)})`,
        hint,
        { cause: e },
      );
    }
  }

  async info(): Promise<EngineInfo> {
    const info = (await this.docker.info()) as Record<string, unknown>;
    return {
      serverVersion: String(info.ServerVersion ?? ""),
      kernelVersion: String(info.KernelVersion ?? ""),
      cgroupVersion: String(info.CgroupVersion ?? "1") === "2" ? "2" : "1",
      cgroupDriver: String(info.CgroupDriver ?? "cgroupfs"),
      operatingSystem: String(info.OperatingSystem ?? ""),
    };
  }

  async list(selector: ContainerSelector): Promise<ContainerInfo[]> {
    const labels = [...(selector.labels ?? [])];
    if (selector.project) labels.push(`${COMPOSE_LABELS.project}=${selector.project}`);
    const summaries = await this.docker.listContainers({
      all: selector.all ?? false,
      filters: labels.length ? { label: labels } : {},
    });
    // A container can stop or vanish between the listing and its inspection: keep it, marked, so
    // callers can say what happened instead of silently missing a service.
    return Promise.all(
      summaries
        .filter((s) => s.Labels?.[LABELS.owned] !== "true")
        .map((s) =>
          this.docker
            .getContainer(s.Id)
            .inspect()
            .then(toContainerInfo)
            .catch((e: unknown) => fromListing(s, e)),
        ),
    );
  }

  async inspect(idOrName: string): Promise<ContainerInfo> {
    try {
      return toContainerInfo(await this.docker.getContainer(idOrName).inspect());
    } catch (e) {
      if ((e as { statusCode?: number }).statusCode === 404) {
        throw new TargetNotFoundError(
          `no container named "${idOrName}"`,
          "check `docker ps` or the --project name",
        );
      }
      throw e;
    }
  }

  async stop(id: string, timeoutSeconds = 10): Promise<void> {
    await ignoreStatus(this.docker.getContainer(id).stop({ t: timeoutSeconds }), 304);
  }
  async start(id: string): Promise<void> {
    await ignoreStatus(this.docker.getContainer(id).start(), 304);
  }
  async kill(id: string, signal: string): Promise<void> {
    await this.docker.getContainer(id).kill({ signal });
  }
  async pause(id: string): Promise<void> {
    await this.docker.getContainer(id).pause();
  }
  async unpause(id: string): Promise<void> {
    await this.docker.getContainer(id).unpause();
  }
  async restart(id: string, timeoutSeconds = 10): Promise<void> {
    await this.docker.getContainer(id).restart({ t: timeoutSeconds });
  }

  async tail(id: string, lines: number, options: LogTailOptions = {}): Promise<string[]> {
    const signal = options.signal;
    signal?.throwIfAborted();
    const info = await this.docker
      .getContainer(id)
      .inspect(signal ? ({ abortSignal: signal } as object) : {});
    const collector = new LogTailCollector({
      lines,
      maxBytes: options.maxBytes ?? DEFAULT_MAX_LOG_BYTES,
      maxLineLength: options.maxLineLength ?? DEFAULT_MAX_LINE,
      multiplexed: !info.Config.Tty,
    });
    // Streamed, not buffered (dockerode buffers the whole answer unless asked for a stream).
    const stream = await new Promise<NodeJS.ReadableStream & { destroy(): void }>((resolve, reject) => {
      this.docker.modem.dial(
        {
          path: `/containers/${id}/logs?`,
          method: "GET",
          isStream: true,
          abortSignal: signal,
          statusCodes: { 200: true, 404: "no such container", 500: "server error" },
          options: {
            stdout: true,
            stderr: true,
            follow: false,
            tail: lines,
            ...(options.sinceSeconds ? { since: Math.floor(Date.now() / 1000) - options.sinceSeconds } : {}),
          },
        },
        (err: unknown, data: unknown) =>
          err ? reject(err) : resolve(data as NodeJS.ReadableStream & { destroy(): void }),
      );
    });
    await new Promise<void>((resolve, reject) => {
      const done = (error?: unknown) => {
        signal?.removeEventListener("abort", onAbort);
        stream.removeListener("data", onData);
        stream.destroy();
        if (error) reject(error);
        else resolve();
      };
      const onAbort = () => done(signal?.reason ?? new Error("aborted"));
      const onData = (chunk: Buffer) => {
        if (!collector.push(chunk)) done();
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      stream.on("data", onData);
      stream.once("end", () => done());
      stream.once("error", (e) => done(e));
    });
    const { lines: out, ...summary } = collector.finish();
    options.report?.(summary);
    return out;
  }

  async follow(
    id: string,
    onLine: (line: string, stream: "stdout" | "stderr") => void,
    signal: AbortSignal,
  ): Promise<void> {
    await followLogs(this.docker, id, onLine, signal, Math.floor(Date.now() / 1000));
  }

  async stats(id: string, options: StatsOptions = {}): Promise<ResourceSample> {
    const s = (await this.docker.getContainer(id).stats({
      stream: false,
      ...(options.oneShot ? { "one-shot": true } : {}),
      ...(options.signal ? { abortSignal: options.signal } : {}),
    } as { stream: false })) as unknown as DockerStats;
    return toResourceSample(s);
  }
}

/** Follows a container's logs from `since` (epoch seconds; 0: from its first line) until it exits or `signal` aborts. */
async function followLogs(
  docker: Docker,
  id: string,
  onLine: (line: string, stream: "stdout" | "stderr") => void,
  signal: AbortSignal,
  since: number,
): Promise<void> {
  if (signal.aborted) return;
  const container = docker.getContainer(id);
  const info = await container.inspect();
  const raw = (await container.logs({
    stdout: true,
    stderr: true,
    follow: true,
    since,
  })) as unknown as NodeJS.ReadableStream & { destroy(): void };
  const splitter = (stream: "stdout" | "stderr") => {
    let pending = "";
    const pass = new PassThrough();
    pass.on("data", (chunk: Buffer) => {
      pending += chunk.toString("utf8");
      // Bounded memory even when a service writes one endless line.
      if (pending.length > DEFAULT_MAX_LINE * 4) pending = pending.slice(-DEFAULT_MAX_LINE);
      let nl: number;
      while ((nl = pending.indexOf("\n")) >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        if (line.length)
          onLine(line.length > DEFAULT_MAX_LINE ? line.slice(0, DEFAULT_MAX_LINE) : line, stream);
      }
    });
    return pass;
  };
  const out = splitter("stdout");
  const err = splitter("stderr");
  if (info.Config.Tty) raw.pipe(out);
  else docker.modem.demuxStream(raw, out, err);
  await new Promise<void>((resolve) => {
    const done = () => {
      signal.removeEventListener("abort", done);
      raw.destroy();
      resolve();
    };
    signal.addEventListener("abort", done, { once: true });
    raw.on("end", done);
    raw.on("error", done);
  });
}

class DockerHelperRunner implements HelperRunner {
  constructor(
    private readonly docker: Docker,
    private readonly reader: { list(selector: ContainerSelector): Promise<ContainerInfo[]> },
  ) {}

  private createOptions(spec: HelperSpec): Docker.ContainerCreateOptions {
    return {
      Image: spec.image,
      Cmd: spec.cmd,
      name: spec.name,
      Env: spec.env,
      User: spec.user,
      Labels: { [LABELS.owned]: "true", [LABELS.role]: spec.role, ...spec.labels },
      HostConfig: {
        NetworkMode: spec.networkMode,
        PidMode: spec.pidMode,
        CapAdd: spec.capAdd,
        Privileged: spec.privileged ?? false,
        CgroupParent: spec.cgroupParent,
        Binds: spec.binds,
        AutoRemove: spec.autoRemove ?? false,
      },
    };
  }

  async start(spec: HelperSpec): Promise<string> {
    const container = await this.createContainer(spec);
    try {
      await container.start();
    } catch (e) {
      await container.remove({ force: true }).catch(() => undefined);
      throw e;
    }
    return container.id;
  }

  private async createContainer(spec: HelperSpec): Promise<Docker.Container> {
    try {
      return await this.docker.createContainer(this.createOptions(spec));
    } catch (e) {
      if ((e as { statusCode?: number }).statusCode === 404 && /image/i.test(String(e))) {
        throw new ImageUnavailableError(
          `helper image ${spec.image} is missing`,
          "run `faultline images build` (scripts/setup.sh does it)",
          { cause: e },
        );
      }
      throw e;
    }
  }

  async run(
    spec: HelperSpec,
    options: { timeoutMs?: number; signal?: AbortSignal } = {},
  ): Promise<HelperResult> {
    const id = await this.start({ ...spec, autoRemove: false });
    try {
      const exitCode = await this.wait(id, { timeoutMs: options.timeoutMs, signal: options.signal });
      const { stdout, stderr } = await this.output(id);
      return { exitCode, stdout, stderr };
    } finally {
      await this.remove(id);
    }
  }

  async wait(
    id: string,
    options: { timeoutMs?: number; signal?: AbortSignal; condition?: "not-running" | "removed" } = {},
  ): Promise<number> {
    const container = this.docker.getContainer(id);
    const waiting =
      options.condition === "removed"
        ? (container.wait({ condition: "removed" }) as Promise<{ StatusCode: number }>).catch(
            (e: unknown) => {
              // Already gone (AutoRemove won the race): that is what was waited for.
              if ((e as { statusCode?: number }).statusCode === 404) return { StatusCode: -1 };
              throw e;
            },
          )
        : (container.wait() as Promise<{ StatusCode: number }>);
    const timeoutMs = options.timeoutMs ?? 60_000;
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    try {
      const result = await Promise.race([
        waiting,
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () =>
              reject(
                new OperationTimeoutError(`helper ${id.slice(0, 12)} did not finish in ${timeoutMs} ms`),
              ),
            timeoutMs,
          );
          onAbort = () => reject(new OperationTimeoutError(`helper ${id.slice(0, 12)} aborted`));
          options.signal?.addEventListener("abort", onAbort, { once: true });
        }),
      ]);
      return result.StatusCode;
    } finally {
      if (timer) clearTimeout(timer);
      if (onAbort) options.signal?.removeEventListener("abort", onAbort);
    }
  }

  async output(id: string): Promise<HelperResult> {
    const container = this.docker.getContainer(id);
    const buf = (await container.logs({ stdout: true, stderr: true, follow: false })) as unknown as Buffer;
    let stdout = "";
    let stderr = "";
    for (const f of splitDockerStream(buf)) {
      if (f.stream === "stderr") stderr += f.data.toString("utf8");
      else stdout += f.data.toString("utf8");
    }
    const state = await container.inspect().catch(() => undefined);
    return { exitCode: state?.State.ExitCode ?? -1, stdout, stderr };
  }

  async follow(
    id: string,
    onLine: (line: string, stream: "stdout" | "stderr") => void,
    signal: AbortSignal,
  ): Promise<void> {
    await followLogs(this.docker, id, onLine, signal, 0);
  }

  async remove(id: string): Promise<void> {
    await ignoreStatus(this.docker.getContainer(id).remove({ force: true }), 404, 409);
  }

  async listOwned(labels: string[] = []): Promise<ContainerInfo[]> {
    const summaries = await this.docker.listContainers({
      all: true,
      filters: { label: [`${LABELS.owned}=true`, ...labels] },
    });
    const infos = await Promise.all(
      summaries.map((s) =>
        this.docker
          .getContainer(s.Id)
          .inspect()
          .then(toContainerInfo)
          .catch(() => undefined),
      ),
    );
    void this.reader;
    return infos.filter((i): i is ContainerInfo => i !== undefined);
  }
}

class DockerImageStore implements ImageStore {
  constructor(private readonly docker: Docker) {}

  async exists(tag: string): Promise<boolean> {
    try {
      await this.docker.getImage(tag).inspect();
      return true;
    } catch {
      return false;
    }
  }

  async build(
    contextDir: string,
    tag: string,
    onProgress?: (line: string) => void,
    options: { owned?: boolean } = {},
  ): Promise<void> {
    const stream = await this.docker.buildImage(
      { context: contextDir, src: listFilesRecursively(contextDir) },
      {
        t: tag,
        labels: options.owned === true ? { [LABELS.owned]: "true" } : {},
        rm: true,
        forcerm: true,
      },
    );
    await new Promise<void>((resolve, reject) => {
      this.docker.modem.followProgress(
        stream,
        (err: Error | null, output: Array<{ error?: string }>) => {
          const failed = output?.find((o) => o.error);
          if (err || failed) {
            reject(
              new ImageUnavailableError(
                `building ${tag} failed: ${err?.message ?? failed?.error}`,
                "see the build output above; the base image must exist (scripts/setup.sh builds it offline)",
              ),
            );
          } else resolve();
        },
        (event: { stream?: string; status?: string }) => {
          const text = (event.stream ?? event.status ?? "").trim();
          if (text && onProgress) onProgress(text);
        },
      );
    });
  }
}

async function ignoreStatus<T>(p: Promise<T>, ...statuses: number[]): Promise<T | undefined> {
  try {
    return await p;
  } catch (e) {
    if (statuses.includes((e as { statusCode?: number }).statusCode ?? -1)) return undefined;
    throw e;
  }
}

/**
 * A container the engine listed but could not inspect: what the listing says, with the reason. A 404
 * means it was removed in between ("gone"); otherwise its listed state stands.
 */
export function fromListing(summary: Docker.ContainerInfo, error: unknown): ContainerInfo {
  const gone = (error as { statusCode?: number }).statusCode === 404;
  const labels = summary.Labels ?? {};
  const project = labels[COMPOSE_LABELS.project];
  const service = labels[COMPOSE_LABELS.service];
  const listed = summary.State as ContainerState;
  const detail = errorText(error);
  return sparseContainerInfo({
    id: summary.Id,
    name: (summary.Names?.[0] ?? summary.Id.slice(0, 12)).replace(/^\//, ""),
    image: summary.Image,
    imageId: summary.ImageID,
    command: summary.Command ? [summary.Command] : [],
    state: gone ? "gone" : listed,
    labels,
    compose: project && service ? { project, service } : undefined,
    networkMode: summary.HostConfig?.NetworkMode ?? "default",
    networks: Object.entries(summary.NetworkSettings?.Networks ?? {}).map(([name, n]) => ({
      name,
      networkId: n.NetworkID ?? "",
      ip: n.IPAddress ?? "",
      aliases: [],
    })),
    problem: gone
      ? `removed after it was listed (was ${listed}): only the listing's facts are known`
      : `listed as ${listed} but could not be inspected: ${detail}`,
  });
}

function parsePortKey(key: string): { port: number; protocol: TransportProtocol } {
  const [port, proto] = key.split("/");
  return { port: Number(port), protocol: proto === "udp" ? "udp" : "tcp" };
}

export function toContainerInfo(raw: Docker.ContainerInspectInfo): ContainerInfo {
  const labels = raw.Config.Labels ?? {};
  const project = labels[COMPOSE_LABELS.project];
  const service = labels[COMPOSE_LABELS.service];
  const state: ContainerState = raw.State.Paused
    ? "paused"
    : raw.State.Restarting
      ? "restarting"
      : ((raw.State.Status as ContainerState) ?? "created");
  const health = (
    raw.State as unknown as {
      Health?: { Status: string; FailingStreak: number; Log?: Array<{ Output: string }> };
    }
  ).Health;
  const healthTest = (raw.Config as unknown as { Healthcheck?: { Test?: string[] } }).Healthcheck?.Test ?? [];
  const networks = Object.entries(raw.NetworkSettings.Networks ?? {}).map(([name, n]) => ({
    name,
    networkId: n.NetworkID ?? "",
    ip: n.IPAddress ?? "",
    aliases: ((n.Aliases ?? []) as string[]).filter((a) => !raw.Id.startsWith(a)),
  }));
  const published = Object.entries(raw.NetworkSettings.Ports ?? {}).flatMap(([key, bindings]) =>
    (bindings ?? []).map((b) => ({
      ...((p) => ({ containerPort: p.port, protocol: p.protocol }))(parsePortKey(key)),
      hostIp: b.HostIp,
      hostPort: Number(b.HostPort),
    })),
  );
  const hostConfig = raw.HostConfig as Docker.HostConfig & { CgroupParent?: string; NanoCpus?: number };
  return {
    id: raw.Id,
    name: raw.Name.replace(/^\//, ""),
    image: raw.Config.Image,
    imageId: raw.Image,
    command: toArray(raw.Config.Cmd),
    entrypoint: toArray(raw.Config.Entrypoint),
    state,
    pid: raw.State.Pid ?? 0,
    startedAt: raw.State.StartedAt,
    finishedAt: raw.State.FinishedAt,
    exitCode: raw.State.ExitCode ?? 0,
    restartCount: raw.RestartCount ?? 0,
    restartPolicy: hostConfig.RestartPolicy?.Name || "no",
    health: {
      status: (health?.Status as ContainerInfo["health"]["status"]) ?? "none",
      failingStreak: health?.FailingStreak ?? 0,
      test: healthTest,
      lastOutput: health?.Log?.at(-1)?.Output?.trim(),
    },
    labels,
    env: raw.Config.Env ?? [],
    compose: project && service ? { project, service } : undefined,
    hostname: raw.Config.Hostname,
    networkMode: hostConfig.NetworkMode ?? "default",
    networks,
    exposedPorts: Object.keys(raw.Config.ExposedPorts ?? {}).map(parsePortKey),
    publishedPorts: published,
    cgroupParent: hostConfig.CgroupParent ?? "",
    memoryLimit: hostConfig.Memory ?? 0,
    nanoCpus: hostConfig.NanoCpus ?? 0,
  };
}

function toArray(v: string | string[] | undefined | null): string[] {
  if (!v) return [];
  return Array.isArray(v) ? v : [v];
}

interface DockerStats {
  read: string;
  cpu_stats: {
    cpu_usage: { total_usage: number; percpu_usage?: number[] };
    system_cpu_usage?: number;
    online_cpus?: number;
  };
  precpu_stats: { cpu_usage: { total_usage: number }; system_cpu_usage?: number };
  memory_stats: { usage?: number; limit?: number; stats?: Record<string, number> };
  networks?: Record<string, { rx_bytes: number; tx_bytes: number }>;
  pids_stats?: { current?: number };
}

export function toResourceSample(s: DockerStats): ResourceSample {
  const cpuDelta = s.cpu_stats.cpu_usage.total_usage - (s.precpu_stats.cpu_usage?.total_usage ?? 0);
  const systemDelta = (s.cpu_stats.system_cpu_usage ?? 0) - (s.precpu_stats.system_cpu_usage ?? 0);
  const cpus = s.cpu_stats.online_cpus ?? s.cpu_stats.cpu_usage.percpu_usage?.length ?? 1;
  const cpuPercent = systemDelta > 0 && cpuDelta > 0 ? (cpuDelta / systemDelta) * cpus * 100 : 0;
  // Page cache is reclaimable; `docker stats` subtracts it too.
  const cache = s.memory_stats.stats?.total_inactive_file ?? s.memory_stats.stats?.inactive_file ?? 0;
  const nets = Object.values(s.networks ?? {});
  return {
    at: Date.parse(s.read) || Date.now(),
    cpuPercent,
    memoryBytes: Math.max(0, (s.memory_stats.usage ?? 0) - cache),
    memoryLimitBytes: s.memory_stats.limit ?? 0,
    networkRxBytes: nets.reduce((a, n) => a + n.rx_bytes, 0),
    networkTxBytes: nets.reduce((a, n) => a + n.tx_bytes, 0),
    pids: s.pids_stats?.current ?? 0,
    cpuTotalNs: s.cpu_stats.cpu_usage.total_usage,
    ...(s.cpu_stats.system_cpu_usage !== undefined ? { systemCpuNs: s.cpu_stats.system_cpu_usage } : {}),
    onlineCpus: cpus,
  };
}

/**
 * The Docker engine adapter's entry (src/docker is the one place that talks to the engine, through
 * dockerode): the target containers themselves. Helpers, images and the pure mappers live beside it;
 * everything else depends on the narrow interfaces in `types.ts`.
 */
import Docker from "dockerode";
import { EngineUnavailableError, TargetNotFoundError } from "../errors.js";
import type {
  ContainerInfo,
  ContainerSelector,
  DockerRuntime,
  EngineInfo,
  HelperRunner,
  ImageStore,
  LogTailOptions,
  ResourceSample,
  StatsOptions,
} from "./types.js";
import { COMPOSE_LABELS, LABELS } from "./types.js";
import { LogTailCollector } from "./log-tail.js";
import { parseDockerHost, type DockerEngineOptions, type EngineAddress } from "./address.js";
import { DockerHelperRunner } from "./helpers.js";
import { DockerImageStore } from "./images.js";
import { MAX_LOG_LINE, followLogs } from "./log-follow.js";
import { fromListing, toContainerInfo, toResourceSample, type DockerStats } from "./mappers.js";
import { ignoreStatus } from "./status.js";

const DEFAULT_MAX_LOG_BYTES = 1024 * 1024;

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
    this.helpers = new DockerHelperRunner(this.docker);
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
      maxLineLength: options.maxLineLength ?? MAX_LOG_LINE,
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

/** Short-lived helper containers faultline owns (fault agents, probes in a target's namespaces). */
import type Docker from "dockerode";
import { ImageUnavailableError, OperationTimeoutError } from "../errors.js";
import type { ContainerInfo, HelperResult, HelperRunner, HelperSpec } from "./types.js";
import { LABELS } from "./types.js";
import { splitDockerStream } from "./stream.js";
import { followLogs } from "./log-follow.js";
import { toContainerInfo } from "./mappers.js";
import { ignoreStatus } from "./status.js";

export class DockerHelperRunner implements HelperRunner {
  constructor(private readonly docker: Docker) {}

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
    return infos.filter((i): i is ContainerInfo => i !== undefined);
  }
}

/** Images faultline builds itself (agent, demo, fixtures): no registry is needed. */
import type Docker from "dockerode";
import { ImageUnavailableError } from "../errors.js";
import type { ImageStore } from "./types.js";
import { LABELS } from "./types.js";
import { listFilesRecursively } from "./files.js";

export class DockerImageStore implements ImageStore {
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

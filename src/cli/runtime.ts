/** Opening the engine for a command: connect, then prove it answers (bounded) before doing anything. */
import { connectDocker } from "../docker/engine.js";
import type { DockerRuntime } from "../docker/types.js";
import { EngineUnavailableError } from "../errors.js";

export async function openRuntime(timeoutMs = 10_000): Promise<DockerRuntime> {
  const runtime = connectDocker();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      runtime.ping(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(
              new EngineUnavailableError(
                `the Docker engine did not answer within ${timeoutMs} ms`,
                "check that dockerd is healthy (`docker info`) or set DOCKER_HOST",
              ),
            ),
          timeoutMs,
        );
      }),
    ]);
  } finally {
    if (timer) clearTimeout(timer);
  }
  return runtime;
}

/**
 * The relay fixture (test/fixtures/relay): a silent nginx proxy in front of an app that depends on a
 * cache (Redis) and a database (PostgreSQL) and logs bare "timeout" lines, a client two hops from the
 * cache, and a bystander of the database. `relayStack()` builds its images (the layer cache makes a
 * rebuild of unchanged images take about a second each, so a changed fixture is never served stale),
 * brings up a uniquely named project and waits until traffic flows; `dispose` removes it.
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { connectDocker } from "../../src/docker/engine.js";
import type { DockerRuntime } from "../../src/docker/types.js";
import { compose } from "./demo-stack.js";

const run = promisify(execFile);
const FIXTURE = fileURLToPath(new URL("../fixtures/relay/", import.meta.url));
export const RELAY_COMPOSE_FILE = `${FIXTURE}docker-compose.yml`;

/** The fixture's services by role (the test may know its own names; faultline may not). */
export const RELAY_SERVICES = {
  proxy: "gate",
  app: "app",
  cache: "cache",
  database: "store",
  client: "poller",
  bystander: "reader",
} as const;

const IMAGES = ["store", "cache", "app", "gate"].map((dir) => ({
  context: `${FIXTURE}${dir}`,
  tag: `faultline-test/relay-${dir}:latest`,
}));

export interface RelayStack {
  project: string;
  runtime: DockerRuntime;
  dispose(): Promise<void>;
}

/** `prefix` names the project, so a leftover stack says which test made it. */
export async function relayStack(prefix: string, options: { timeoutMs?: number } = {}): Promise<RelayStack> {
  const deadline = Date.now() + (options.timeoutMs ?? 180_000);
  const runtime = connectDocker();
  await runtime.ping();
  for (const image of IMAGES) await runtime.images.build(image.context, image.tag);
  const project = `${prefix}-${randomBytes(4).toString("hex")}`;
  let disposed = false;
  const dispose = async () => {
    if (disposed) return;
    disposed = true;
    await compose(project, RELAY_COMPOSE_FILE, ["down", "--volumes", "--remove-orphans", "--timeout", "2"], {
      timeoutMs: 60_000,
    });
  };
  try {
    await compose(project, RELAY_COMPOSE_FILE, ["up", "-d", "--no-build"], {
      timeoutMs: Math.max(1_000, deadline - Date.now()),
    });
    await waitForTraffic(runtime, project, deadline);
  } catch (e) {
    await dispose().catch(() => undefined);
    throw e;
  }
  return { project, runtime, dispose };
}

/** Until the client's last answers through the proxy are all 200 and the bystander reads the database. */
async function waitForTraffic(runtime: DockerRuntime, project: string, deadline: number): Promise<void> {
  let last = "nothing checked yet";
  while (Date.now() < deadline) {
    try {
      const containers = await runtime.list({ project });
      const idOf = (service: string) => containers.find((c) => c.compose?.service === service)?.id;
      const client = idOf(RELAY_SERVICES.client);
      const bystander = idOf(RELAY_SERVICES.bystander);
      if (client && bystander) {
        const tail = async (id: string) =>
          (await run("docker", ["logs", "--tail", "4", id], { timeout: 10_000 })).stdout.trim().split("\n");
        const polled = await tail(client);
        const read = await tail(bystander);
        if (
          polled.length >= 4 &&
          polled.every((l) => l.endsWith("-> 200")) &&
          read.some((l) => /^report: /.test(l))
        )
          return;
        last = `client: ${polled.at(-1) ?? "no lines"}; bystander: ${read.at(-1) ?? "no lines"}`;
      } else last = `containers: ${containers.map((c) => c.compose?.service).join(", ")}`;
    } catch (e) {
      last = e instanceof Error ? e.message : String(e);
    }
    await new Promise((r) => setTimeout(r, 1_000));
  }
  throw new Error(`relay stack ${project} did not reach steady state: ${last}`);
}

/** Unpauses whatever a failed test left paused, so `dispose` can stop it. */
export async function unpauseAll(stack: RelayStack): Promise<void> {
  for (const c of await stack.runtime.list({ project: stack.project }).catch(() => []))
    if (c.state === "paused") await stack.runtime.unpause(c.id).catch(() => undefined);
}

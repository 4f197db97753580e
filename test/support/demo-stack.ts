/**
 * The demo shop (examples/shop) as a fixture for integration tests. scripts/test.sh brings one stack up for
 * the whole run and exports FAULTLINE_TEST_PROJECT; without it, `demoStack()` starts a private,
 * uniquely named project and returns a `dispose` that removes it.
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { resolve } from "node:path";
import { connectDocker } from "../../src/docker/engine.js";
import type { ContainerInfo, ContainerReader, DockerRuntime } from "../../src/docker/types.js";
import { buildImages } from "../../src/images/build.js";
import { DEMO_COMPOSE_FILE, IMAGE_CATALOG, selectImages } from "../../src/images/catalog.js";
import { findPackageRoot } from "../../src/images/root.js";

/** The services of the demo shop, by role (the test fixture may know its own names; faultline may not). */
export const DEMO_SERVICES = {
  web: "storefront",
  cache: "sessions",
  database: "ledger",
  client: "shopper",
} as const;

export const DEMO_WEB_PORT = 8080;

export interface DemoStack {
  project: string;
  composeFile: string;
  runtime: DockerRuntime;
  /** True when this call started the stack (and `dispose` will remove it). */
  owned: boolean;
  /** Removes the stack when this call started it; a no-op for a shared one. Safe to call twice. */
  dispose(): Promise<void>;
}

export interface DemoStackOptions {
  /** Bound on bringing the stack up and reaching steady state; 150 s by default. */
  timeoutMs?: number;
}

export async function demoStack(options: DemoStackOptions = {}): Promise<DemoStack> {
  const timeoutMs = options.timeoutMs ?? 150_000;
  const deadline = Date.now() + timeoutMs;
  const runtime = connectDocker();
  await runtime.ping();
  const composeFile =
    process.env.FAULTLINE_TEST_COMPOSE_FILE ?? resolve(findPackageRoot(), DEMO_COMPOSE_FILE);
  const shared = process.env.FAULTLINE_TEST_PROJECT;
  if (shared) {
    if (process.env.FAULTLINE_TEST_STACK_ERROR) throw new Error(process.env.FAULTLINE_TEST_STACK_ERROR);
    await waitForSteadyState(runtime, shared, { timeoutMs: Math.max(1_000, deadline - Date.now()) });
    return { project: shared, composeFile, runtime, owned: false, dispose: async () => undefined };
  }

  const project = `faultline-test-${randomBytes(4).toString("hex")}`;
  await buildImages(runtime.images, selectImages(IMAGE_CATALOG, ["demo"]), {
    root: findPackageRoot(),
    progress: (line) => process.stderr.write(`${line}\n`),
  });
  let disposed = false;
  const dispose = async () => {
    if (disposed) return;
    disposed = true;
    await compose(project, composeFile, ["down", "--volumes", "--remove-orphans", "--timeout", "2"], {
      timeoutMs: 60_000,
    });
  };
  try {
    await compose(project, composeFile, ["up", "-d", "--no-build"], {
      timeoutMs: Math.max(1_000, deadline - Date.now()),
    });
    await waitForSteadyState(runtime, project, { timeoutMs: Math.max(1_000, deadline - Date.now()) });
  } catch (e) {
    await dispose().catch(() => undefined);
    throw e;
  }
  return { project, composeFile, runtime, owned: true, dispose };
}

// ------------------------------------------------------------------ compose

let composeBinary: Promise<string[]> | undefined;

/** `docker compose` when the v2 plugin is there, else Debian's `docker-compose`. */
export function composeCommand(): Promise<string[]> {
  composeBinary ??= run(["docker", "compose", "version"], { timeoutMs: 10_000 }).then(
    () => ["docker", "compose"],
    () => ["docker-compose"],
  );
  return composeBinary;
}

export async function compose(
  project: string,
  composeFile: string,
  args: string[],
  options: { timeoutMs?: number } = {},
): Promise<{ stdout: string; stderr: string }> {
  const base = await composeCommand();
  return run([...base, "--project-name", project, "--file", composeFile, ...args], options);
}

function run(argv: string[], options: { timeoutMs?: number }): Promise<{ stdout: string; stderr: string }> {
  const [file, ...args] = argv;
  return new Promise((resolvePromise, reject) => {
    execFile(
      file!,
      args,
      { timeout: options.timeoutMs ?? 120_000, maxBuffer: 16 * 1024 * 1024, killSignal: "SIGKILL" },
      (error, stdout, stderr) => {
        if (error) {
          reject(new Error(`${argv.join(" ")} failed: ${error.message}\n${stderr.trim()}`, { cause: error }));
        } else resolvePromise({ stdout, stderr });
      },
    );
  });
}

// ------------------------------------------------------------------ steady state

export async function serviceContainer(
  reader: ContainerReader,
  project: string,
  service: string,
): Promise<ContainerInfo> {
  const found = (await reader.list({ project })).filter((c) => c.compose?.service === service);
  if (found.length === 0)
    throw new Error(`no running container for service ${service} in project ${project}`);
  return found[0]!;
}

/** The container's address on its first network: reachable from the host on a bridge. */
export function containerIp(info: ContainerInfo): string {
  const ip = info.networks.find((n) => n.ip)?.ip;
  if (!ip) throw new Error(`container ${info.name} has no IP address`);
  return ip;
}

export async function fetchText(url: string, timeoutMs = 3_000): Promise<{ status: number; body: string }> {
  const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  return { status: response.status, body: await response.text() };
}

/** Sum of a Prometheus counter's samples whose labels pass `filter`. */
export function sumCounter(
  exposition: string,
  name: string,
  filter: (labels: Record<string, string>) => boolean = () => true,
): number {
  let total = 0;
  for (const line of exposition.split("\n")) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{([^}]*)\})?\s+(\S+)/.exec(line);
    if (!match || match[1] !== name) continue;
    const labels: Record<string, string> = {};
    for (const pair of (match[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[pair[1]!] = pair[2]!;
    }
    if (filter(labels)) total += Number(match[3]);
  }
  return total;
}

/** Requests the client simulator has made to the web service's API, as the web service counts them. */
export async function apiRequestCount(webIp: string): Promise<number> {
  const { body } = await fetchText(`http://${webIp}:${DEMO_WEB_PORT}/metrics`);
  return sumCounter(body, "http_requests_total", (l) => (l.route ?? "").startsWith("/api/"));
}

/**
 * Waits until every service of the shop runs and is healthy and client traffic flows (the web service's
 * API request counter grows). Throws with what was last seen when `timeoutMs` runs out.
 */
export async function waitForSteadyState(
  reader: ContainerReader,
  project: string,
  options: { timeoutMs?: number } = {},
): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 120_000);
  let lastProblem = "nothing checked yet";
  let previousCount: number | undefined;
  while (Date.now() < deadline) {
    try {
      const containers = await reader.list({ project });
      const problems = Object.values(DEMO_SERVICES).flatMap((service) => {
        const c = containers.find((x) => x.compose?.service === service);
        if (!c) return [`${service}: no container`];
        if (c.state !== "running") return [`${service}: ${c.state}`];
        if (c.health.status !== "healthy") return [`${service}: ${c.health.status}`];
        return [];
      });
      if (problems.length > 0) {
        lastProblem = problems.join(", ");
        previousCount = undefined;
      } else {
        const web = containers.find((x) => x.compose?.service === DEMO_SERVICES.web)!;
        const count = await apiRequestCount(containerIp(web));
        if (previousCount !== undefined && count > previousCount) return;
        lastProblem = `no client traffic yet (${count} API requests counted)`;
        previousCount = count;
      }
    } catch (e) {
      lastProblem = e instanceof Error ? e.message : String(e);
      previousCount = undefined;
    }
    await new Promise((r) => setTimeout(r, 1_000));
  }
  throw new Error(`demo stack ${project} did not reach steady state: ${lastProblem}`);
}

// ------------------------------------------------------------------ time to steady state

export interface SteadyStateTiming {
  /** When compose up created the stack: the earliest container creation (before any StartedAt). */
  upAt: number;
  /** When every service was healthy: the client's first healthcheck after its first start (see below). */
  healthyAt: number;
  /** When client traffic first flowed: the web service's first logged API request answered 200. */
  trafficAt: number;
  /** max(healthyAt, trafficAt) - upAt, in seconds. */
  seconds: number;
}

/**
 * How long the stack took from `compose up` to steady state, reconstructed from container timestamps
 * only, so it works for the shared stack that scripts/test.sh started minutes earlier and that other
 * tests may have restarted since (a restart moves StartedAt, but neither Created nor the log history):
 * - compose starts the web tier only when the datastores are healthy, and the client only when the web
 *   tier is (depends_on: service_healthy), so the client's first start (its first log line) is after
 *   all three were healthy, and the client itself is healthy at its first healthcheck, one interval later;
 * - traffic flows from the first API request the web service logged as answered with 200.
 */
export async function steadyStateTiming(project: string): Promise<SteadyStateTiming> {
  const containers = await Promise.all(
    Object.values(DEMO_SERVICES).map(async (service) => {
      const { stdout: id } = await run(
        [
          "docker",
          "ps",
          "-aq",
          "--no-trunc",
          "--filter",
          `label=com.docker.compose.project=${project}`,
          "--filter",
          `label=com.docker.compose.service=${service}`,
        ],
        { timeoutMs: 10_000 },
      );
      const first = id.trim().split("\n")[0];
      if (!first) throw new Error(`no container for ${service} in ${project}`);
      const { stdout } = await run(["docker", "inspect", first], { timeoutMs: 10_000 });
      const [raw] = JSON.parse(stdout) as [
        { Id: string; Created: string; Config: { Healthcheck?: { Interval?: number } } },
      ];
      return { service, ...raw };
    }),
  );
  const upAt = Math.min(...containers.map((c) => Date.parse(c.Created)));
  const until = new Date(upAt + 180_000).toISOString();
  const timestamped = async (id: string): Promise<{ at: number; text: string }[]> => {
    const { stdout, stderr } = await run(["docker", "logs", "--timestamps", "--until", until, id], {
      timeoutMs: 30_000,
    });
    return `${stdout}\n${stderr}`
      .split("\n")
      .map((line) => ({ at: Date.parse(line.slice(0, line.indexOf(" "))), text: line }))
      .filter((l) => Number.isFinite(l.at))
      .sort((a, b) => a.at - b.at);
  };
  const byService = (s: string) => containers.find((c) => c.service === s)!;
  const client = byService(DEMO_SERVICES.client);
  const clientLines = await timestamped(client.Id);
  const clientFirstStart = clientLines[0]?.at;
  if (clientFirstStart === undefined) throw new Error(`${client.service} has logged nothing yet`);
  const intervalMs = (client.Config.Healthcheck?.Interval ?? 30e9) / 1e6;
  const webLines = await timestamped(byService(DEMO_SERVICES.web).Id);
  // An access-log line: `"GET /api/products HTTP/1.1" 200 512` (common log format) or `GET /api/x 200 3ms`.
  const trafficAt = webLines.find((l) => /\b(GET|POST) \/api\/\S*(?: HTTP\/[\d.]+")? 200\b/.test(l.text))?.at;
  if (trafficAt === undefined) throw new Error("the web service logged no API request answered 200");
  const healthyAt = clientFirstStart + intervalMs;
  return { upAt, healthyAt, trafficAt, seconds: (Math.max(healthyAt, trafficAt) - upAt) / 1000 };
}

/**
 * Per-phase cost of discovery. `discoverServices` overlaps its phases (containers are profiled
 * concurrently), so its end-to-end time cannot be split after the fact; this pass runs discovery's own
 * building blocks one phase at a time over all containers, with the same bounds and concurrency, and
 * times each phase.
 */
import { classify } from "../src/discovery/classify.js";
import { mapLimit } from "../src/util/concurrency.js";
import { mergePorts, namesOf, reachableAddress } from "../src/discovery/discover.js";
import { parseEnvReferences } from "../src/discovery/env-references.js";
import { scanHttpEndpoints } from "../src/discovery/http-endpoints.js";
import { classifyLogLines } from "../src/discovery/log-classifier.js";
import { extractLogMentions } from "../src/discovery/log-mentions.js";
import { identifyPort } from "../src/discovery/probes/runner.js";
import { collectSockets } from "../src/discovery/sockets/collect.js";
import type { ContainerSelector, DockerRuntime } from "../src/docker/types.js";

const CONCURRENCY = 8;

export interface PhaseTimes {
  list: number;
  sockets: number;
  probes: number;
  endpoints: number;
  logs: number;
  classify: number;
}

export async function measurePhases(
  runtime: DockerRuntime,
  selector: ContainerSelector,
): Promise<PhaseTimes> {
  const times: Partial<PhaseTimes> = {};
  const timed = async <T>(phase: keyof PhaseTimes, work: () => Promise<T>): Promise<T> => {
    const started = performance.now();
    try {
      return await work();
    } finally {
      times[phase] = performance.now() - started;
    }
  };

  const containers = await timed("list", () => runtime.list(selector));
  const sockets = await timed("sockets", () =>
    collectSockets(runtime, containers, {
      source: "auto",
      helperImage: "debian:bookworm-slim",
      helperTimeoutMs: 15_000,
      scanTimeoutMs: 300,
      addressOf: reachableAddress,
    }),
  );
  const ports = new Map(
    containers.map((c) => [
      c.id,
      mergePorts(c, sockets.get(c.id) ?? { via: "none", listening: [], connections: [], notes: [] }),
    ]),
  );
  const httpPorts: { host: string; port: number }[] = [];
  await timed("probes", () =>
    mapLimit(containers, CONCURRENCY, async (c) => {
      const host = reachableAddress(c);
      if (!host) return;
      for (const p of ports.get(c.id)!.filter((x) => x.protocol === "tcp" && x.source !== "declared")) {
        const r = await identifyPort(host, p.port, { probeTimeoutMs: 1000, bannerMs: 400, budgetMs: 4000 });
        if (r.match?.protocol === "http") httpPorts.push({ host, port: p.port });
      }
    }),
  );
  await timed("endpoints", () =>
    mapLimit(httpPorts, CONCURRENCY, (h) =>
      scanHttpEndpoints(h.host, h.port, { timeoutMs: 1000, concurrency: 4 }),
    ),
  );
  const known = new Set(containers.flatMap(namesOf));
  const logs = await timed("logs", () =>
    mapLimit(containers, CONCURRENCY, async (c) => {
      const lines = await runtime.tail(c.id, 200, { maxLineLength: 2000 }).catch(() => [] as string[]);
      extractLogMentions(lines, { knownHosts: known, maxMentions: 50, maxLineLength: 2000 });
      return lines;
    }),
  );
  await timed("classify", async () => {
    containers.forEach((c, i) => {
      const envReferences = parseEnvReferences(c.env, { knownHosts: known });
      classify({
        ports: ports.get(c.id)!,
        image: c.image,
        command: [...c.entrypoint, ...c.command],
        logVerdict: classifyLogLines(logs[i]!.filter((l) => l.length < 2000)),
        connections: sockets.get(c.id)?.connections ?? [],
        envReferences,
      });
    });
  });
  return times as PhaseTimes;
}

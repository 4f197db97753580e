/**
 * The latest discovery of the stack, for GET /api/services and /api/graph, the scheduler and experiments.
 * Concurrent requests share one discovery; profiles are masked before they are kept.
 */
import { discoverServices, type DiscoveryOptions } from "../discovery/discover.js";
import { maskProfile } from "../discovery/mask.js";
import type { ServiceProfile } from "../discovery/profile.js";
import type { ContainerSelector, DockerRuntime } from "../docker/types.js";
import { buildGraph } from "../graph/build.js";
import type { DependencyGraph } from "../graph/types.js";
import { log } from "../util/log.js";
import type { ServeMetrics } from "./metrics.js";

export interface Discovery {
  profiles: ServiceProfile[];
  graph: DependencyGraph;
  discoveredAt: string;
  durationMs: number;
}

export class DiscoveryCache {
  private latestResult?: Discovery;
  private inFlight?: Promise<Discovery>;

  constructor(
    private readonly runtime: DockerRuntime,
    private readonly selector: ContainerSelector,
    private readonly metrics?: ServeMetrics,
    private readonly options: DiscoveryOptions = {},
  ) {}

  get latest(): Discovery | undefined {
    return this.latestResult;
  }

  get running(): boolean {
    return this.inFlight !== undefined;
  }

  /** A fresh discovery (joining one already under way). */
  discover(): Promise<Discovery> {
    this.inFlight ??= this.run().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  /** The latest discovery, discovering first if there is none yet. */
  async current(): Promise<Discovery> {
    return this.latestResult ?? (await this.discover());
  }

  private async run(): Promise<Discovery> {
    const started = performance.now();
    const profiles = (
      await discoverServices(this.runtime, this.selector, {
        onProgress: (message) => log.debug({ message }, "discovery"),
        ...this.options,
      })
    ).map(maskProfile);
    const durationMs = performance.now() - started;
    this.metrics?.discoveryDuration.observe(durationMs / 1000);
    const result: Discovery = {
      profiles,
      graph: buildGraph(profiles, { order: "leaves-first" }),
      discoveredAt: new Date().toISOString(),
      durationMs: Math.round(durationMs),
    };
    this.latestResult = result;
    log.info({ services: profiles.length, ms: result.durationMs }, "discovery finished");
    return result;
  }
}

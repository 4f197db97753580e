/** The live page wired to a serving faultline: its signals sampler watches what the service's faults hurt. */
import type { ContainerReader } from "../../docker/types.js";
import type { ChaosService } from "../service.js";
import { LiveSignals, type LiveSignalsOptions } from "./signals.js";
import { faultsInEffect, hurtServices } from "./view.js";

export { liveRoutes, LIVE_PAGE_ROUTES, type LivePageOptions } from "./routes.js";
export { LiveSignals } from "./signals.js";

/** Signals for the faults in effect: the faulted services and their (transitive) callers. */
export function liveSignalsFor(
  service: ChaosService,
  runtime: Pick<ContainerReader, "inspect">,
  options?: LiveSignalsOptions,
): LiveSignals {
  return new LiveSignals(
    {
      runtime,
      watch: async () => {
        const discovery = service.discovery.latest;
        const faults = faultsInEffect(
          service.listFaults().active,
          service.listExperiments({ limit: 5 }).filter((e) => e.status === "running"),
        );
        if (!discovery || !faults.length) return { hurt: [], profiles: [] };
        return {
          hurt: hurtServices(discovery.graph, [...new Set(faults.map((f) => f.target))]),
          profiles: discovery.profiles,
        };
      },
    },
    options,
  );
}

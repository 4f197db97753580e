/**
 * Resource-stress faults (cpu, memory) run by stress-ng inside the target's cgroup, so they hit the
 * target's own limits and show in its stats. Disk fill and I/O pressure are not offered: their effect
 * lands on the host's disk, shared by every container (README, Known limits).
 */
import type { DockerRuntime } from "../../docker/types.js";
import { InvalidInputError } from "../../errors.js";
import type { FaultKind } from "../kinds.js";
import type { Fault, FaultDeps, FaultFamily, JournalFaultEntry, ResolvedService } from "../fault.js";
import { StressFault, revertStress } from "./fault.js";
import type { StressKind } from "./options.js";
import { STRESS_KINDS, parseStressOptions } from "./options.js";

export { StressFault, cgroupLayout, revertStress } from "./fault.js";
export { parseStressOptions, STRESS_KINDS } from "./options.js";
export type { StressOptions, StressKind } from "./options.js";

function isStressKind(kind: FaultKind): kind is StressKind {
  return (STRESS_KINDS as readonly string[]).includes(kind);
}

export const stressFamily: FaultFamily = {
  kinds: STRESS_KINDS,

  async create(
    kind: FaultKind,
    target: ResolvedService,
    options: Record<string, unknown>,
    durationMs: number,
    _deps: FaultDeps,
  ): Promise<Fault> {
    if (!isStressKind(kind)) throw new InvalidInputError(`"${kind}" is not a stress fault`);
    const parsed = parseStressOptions(kind, options, durationMs);
    return new StressFault(
      kind,
      { service: target.service, containerId: target.containerId, containerName: target.containerName },
      durationMs,
      parsed,
      options,
    );
  },

  async revertFromEntry(entry: JournalFaultEntry, runtime: DockerRuntime): Promise<void> {
    await revertStress(runtime, entry);
  },
};

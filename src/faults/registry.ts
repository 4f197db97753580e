/**
 * The one list of fault families, and dispatch by kind. Creating through the registry validates the kind
 * and duration for every family alike; each family validates its own options.
 */
import type { DockerRuntime } from "../docker/types.js";
import { InvalidInputError } from "../errors.js";
import type { FaultKind } from "./kinds.js";
import type { Fault, FaultDeps, FaultFamily, JournalFaultEntry, ResolvedService } from "./fault.js";
import { lifecycleFamily } from "./lifecycle.js";
import { networkFamily } from "./network/index.js";
import { stressFamily } from "./stress/index.js";
import { assertFaultDuration } from "./validation.js";

export class FaultRegistry {
  private readonly byKind = new Map<FaultKind, FaultFamily>();

  constructor(families: readonly FaultFamily[]) {
    for (const family of families) {
      for (const kind of family.kinds) {
        if (this.byKind.has(kind)) throw new Error(`two fault families claim "${kind}"`);
        this.byKind.set(kind, family);
      }
    }
  }

  kinds(): FaultKind[] {
    return [...this.byKind.keys()];
  }

  has(kind: string): kind is FaultKind {
    return this.byKind.has(kind as FaultKind);
  }

  /** The kind a user typed, or InvalidInputError naming the kinds there are. */
  parseKind(kind: string): FaultKind {
    this.familyFor(kind);
    return kind as FaultKind;
  }

  familyFor(kind: string): FaultFamily {
    const family = this.byKind.get(kind as FaultKind);
    if (!family) {
      throw new InvalidInputError(`unknown fault kind "${kind}"`, `available: ${this.kinds().join(", ")}`);
    }
    return family;
  }

  /** Validates everything and builds the fault; nothing is changed on the engine. */
  async create(
    kind: string,
    target: ResolvedService,
    options: Record<string, unknown>,
    durationMs: number,
    deps: FaultDeps,
  ): Promise<Fault> {
    const family = this.familyFor(kind);
    assertFaultDuration(kind as FaultKind, durationMs);
    return family.create(kind as FaultKind, target, options, durationMs, deps);
  }

  async revertFromEntry(entry: JournalFaultEntry, runtime: DockerRuntime): Promise<void> {
    await this.familyFor(entry.kind).revertFromEntry(entry, runtime);
  }
}

/** Every family faultline ships. */
export function defaultRegistry(): FaultRegistry {
  return new FaultRegistry([lifecycleFamily, networkFamily, stressFamily]);
}

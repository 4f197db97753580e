/**
 * A fault knows how to inject and revert itself. The engine journals `describe()`+`journalEntry()`
 * BEFORE calling `inject`, so a restarted faultline can revert what a crashed one left behind
 * (`revertFromJournal` in each fault family rebuilds the revert from that entry alone).
 */
import type { DockerRuntime } from "../docker/types.js";
import type { FaultKind, FaultMechanism } from "./kinds.js";

/** The container a fault acts on, resolved by the caller (service names are resolved before faults exist). */
export interface FaultTarget {
  /** Service id (graph node id). */
  service: string;
  containerId: string;
  containerName: string;
}

/** What the journal stores about an applied fault: enough to revert it with no other state. */
export interface JournalFaultEntry {
  faultId: string;
  runId: string;
  kind: FaultKind;
  target: FaultTarget;
  options: Record<string, unknown>;
  mechanism?: FaultMechanism;
  /** Helper containers this fault started (agent, watchdog, stress). */
  helperContainerIds: string[];
  /** Epoch ms after which the fault must no longer be in effect (its dead-man switch fires). */
  deadline: number;
  /** Anything the family needs to undo it, e.g. the container's state before a pause. */
  undo: Record<string, unknown>;
}

export interface FaultContext {
  runtime: DockerRuntime;
  runId: string;
  /** Called by a fault with its updated entry whenever it learns something revert needs (helper ids …). */
  record(entry: JournalFaultEntry): Promise<void>;
}

export interface Fault {
  readonly id: string;
  readonly kind: FaultKind;
  readonly target: FaultTarget;
  readonly durationMs: number;
  /** Plain-words description for plans, dry runs, logs and reports. */
  describe(): string;
  /** The journal entry as it stands (before inject: no helpers yet). */
  journalEntry(): JournalFaultEntry;
  /** Applies the fault. On failure it reverts whatever part it applied, then throws FaultInjectionError. */
  inject(ctx: FaultContext, signal: AbortSignal): Promise<void>;
  /** Undoes the fault under its own bounded timeout (never the caller's signal). Idempotent. */
  revert(ctx: FaultContext): Promise<void>;
  /** The mechanism actually used, known once injected. */
  readonly mechanism?: FaultMechanism;
}

/** A service resolved to what faults need: its container and its addresses on every network. */
export interface ResolvedService extends FaultTarget {
  ips: string[];
}

/** What a fault family may use when constructing faults. */
export interface FaultDeps {
  runtime: DockerRuntime;
  /** Resolves a service name (graph node id / compose service) in the current scope; throws TargetNotFoundError. */
  resolveService(name: string): Promise<ResolvedService>;
}

/**
 * A family of faults sharing a mechanism (lifecycle, network, stress). The registry dispatches on `kinds`.
 * `create` validates options (throwing InvalidInputError, changing nothing); `revertFromEntry` undoes an
 * entry left in the journal by a crashed run, using nothing but the entry and the engine.
 */
export interface FaultFamily {
  readonly kinds: readonly FaultKind[];
  create(
    kind: FaultKind,
    target: ResolvedService,
    options: Record<string, unknown>,
    durationMs: number,
    deps: FaultDeps,
  ): Promise<Fault>;
  revertFromEntry(entry: JournalFaultEntry, runtime: DockerRuntime): Promise<void>;
}

/**
 * Lifecycle faults through the engine API: stop, kill (with a chosen signal), pause, restart.
 * Each records the container's state before it acts, so revert (live or from the journal after a crash)
 * undoes exactly what faultline changed: a container the user had paused or stopped is never touched.
 */
import { randomUUID } from "node:crypto";
import type { ContainerInfo, ContainerState, DockerRuntime } from "../docker/types.js";
import {
  errorText,
  FaultInjectionError,
  FaultRevertError,
  InvalidInputError,
  isFaultlineError,
  isTargetNotFound,
} from "../errors.js";
import type { FaultKind } from "./kinds.js";
import { formatDuration } from "../util/duration.js";
import { log } from "../util/log.js";
import { withTimeout } from "../util/time.js";
import type {
  Fault,
  FaultContext,
  FaultFamily,
  FaultTarget,
  JournalFaultEntry,
  ResolvedService,
} from "./fault.js";
import type { LifecycleKind, LifecycleOptions } from "./lifecycle-options.js";
import {
  LIFECYCLE_KINDS,
  STOP_SIGNALS,
  isLifecycleKind,
  parseLifecycleOptions,
} from "./lifecycle-options.js";
import { isProcessStopped } from "./process-state.js";
import type { WatchdogAction } from "./watchdog.js";
import { WATCHDOG_GRACE_MS, watchdogSpec } from "./watchdog.js";
import { FAULT_TIMEOUTS } from "./timeouts.js";

/** Bound on the engine calls of one revert (unpause/start are quick; start may wait on the runtime). */
const REVERT_TIMEOUT_MS = FAULT_TIMEOUTS.lifecycleRevertMs;

/** What `undo` holds once the fault knows the state it is about to change. */
export interface LifecycleUndo {
  stateBefore: ContainerState;
  restartPolicy: string;
}

/** The call that undoes each kind, if the target is found not running at revert time. */
export const WATCHDOG_ACTION: Record<LifecycleKind, WatchdogAction | undefined> = {
  pause: "unpause",
  stop: "start",
  kill: "start",
  // A restart ends with the container running again; there is nothing left for a dead-man switch to do.
  restart: undefined,
};

export function describeLifecycle(
  kind: LifecycleKind,
  options: Record<string, unknown>,
  target: FaultTarget,
  durationMs: number,
): string {
  const name =
    target.service === target.containerName ? target.service : `${target.service} (${target.containerName})`;
  const forDuration = durationMs > 0 ? ` for ${formatDuration(durationMs)}` : "";
  switch (kind) {
    case "stop":
      return `stop ${name}${forDuration}, then start it again`;
    case "kill":
      return `kill ${name} with ${String(options.signal)}${forDuration}, then start it again if nothing restarted it`;
    case "pause":
      return `pause (freeze) ${name}${forDuration}, then unpause it`;
    case "restart":
      return `restart ${name}${durationMs > 0 ? `, then watch it for ${formatDuration(durationMs)}` : ""}`;
  }
}

class LifecycleFault<K extends LifecycleKind> implements Fault {
  readonly id = randomUUID();
  readonly mechanism = "docker-api" as const;
  private entry: JournalFaultEntry;

  constructor(
    readonly kind: K,
    readonly target: FaultTarget,
    private readonly options: LifecycleOptions[K],
    readonly durationMs: number,
  ) {
    this.entry = {
      faultId: this.id,
      runId: "",
      kind,
      target: {
        service: target.service,
        containerId: target.containerId,
        containerName: target.containerName,
      },
      options: { ...options },
      mechanism: this.mechanism,
      helperContainerIds: [],
      deadline: this.computeDeadline(),
      undo: {},
    };
  }

  /**
   * When the watchdog acts. A stop may take its whole timeout before the container is down, so that
   * counts too: a watchdog firing mid-stop would find it still running and leave it stopped for good.
   */
  private computeDeadline(): number {
    return Date.now() + this.stopTimeoutMs() + this.durationMs + WATCHDOG_GRACE_MS;
  }

  private stopTimeoutMs(): number {
    return "timeout" in this.options ? (this.options as { timeout: number }).timeout * 1000 : 0;
  }

  describe(): string {
    return describeLifecycle(this.kind, this.options, this.target, this.durationMs);
  }

  journalEntry(): JournalFaultEntry {
    return structuredClone(this.entry);
  }

  async inject(ctx: FaultContext, signal: AbortSignal): Promise<void> {
    const { runtime } = ctx;
    if (signal.aborted)
      throw new FaultInjectionError(`${this.kind} on ${this.target.service} not started: aborted`);
    const before = await runtime.inspect(this.target.containerId);
    if (before.state !== "running") {
      throw new FaultInjectionError(
        `${this.target.service} is ${before.state}, not running: nothing to ${this.kind}`,
        "faultline only acts on running containers, and never undoes a state it did not cause",
      );
    }
    const undo: LifecycleUndo = { stateBefore: before.state, restartPolicy: before.restartPolicy };
    // The deadline counts from now: the switch must not fire early because the step waited to start.
    this.entry = { ...this.entry, runId: ctx.runId, undo: { ...undo }, deadline: this.computeDeadline() };
    await ctx.record(this.journalEntry());
    try {
      // The dead-man switch first, then the change: whatever happens to faultline once the change is made
      // (it dies, or it froze itself), something already stands by to undo it at the deadline.
      await this.startWatchdog(ctx);
      await withTimeout(this.apply(runtime), this.applyTimeoutMs(), `${this.kind} of ${this.target.service}`);
    } catch (e) {
      await this.revert(ctx).catch((revertError: unknown) =>
        log.error({ err: revertError, faultId: this.id }, "undoing a half-applied lifecycle fault failed"),
      );
      throw new FaultInjectionError(
        `${this.kind} on ${this.target.service} failed: ${errorText(e, { hint: false })}`,
        isFaultlineError(e) ? e.hint : undefined,
        { cause: e },
      );
    }
  }

  /** Starts the dead-man switch (if this kind needs one) and journals its id. */
  private async startWatchdog(ctx: FaultContext): Promise<void> {
    const action = WATCHDOG_ACTION[this.kind];
    if (!action) return;
    const watchdogId = await ctx.runtime.helpers.start(
      watchdogSpec({
        runId: ctx.runId,
        faultId: this.id,
        targetContainerId: this.target.containerId,
        action,
        deadline: this.entry.deadline,
      }),
    );
    this.entry = { ...this.entry, helperContainerIds: [watchdogId] };
    await ctx.record(this.journalEntry());
  }

  private applyTimeoutMs(): number {
    return this.stopTimeoutMs() + FAULT_TIMEOUTS.lifecycleApplyMarginMs;
  }

  private async apply(runtime: DockerRuntime): Promise<void> {
    const id = this.target.containerId;
    switch (this.kind) {
      case "stop":
        return runtime.stop(id, (this.options as LifecycleOptions["stop"]).timeout);
      case "restart":
        return runtime.restart(id, (this.options as LifecycleOptions["restart"]).timeout);
      case "kill":
        return runtime.kill(id, (this.options as LifecycleOptions["kill"]).signal);
      case "pause":
        return runtime.pause(id);
    }
    throw new Error(`unreachable: ${String(this.kind)}`);
  }

  async revert(ctx: FaultContext): Promise<void> {
    await withTimeout(
      restoreLifecycle(this.journalEntry(), ctx.runtime),
      REVERT_TIMEOUT_MS,
      `revert of ${this.describe()}`,
    );
  }
}

/**
 * Undoes a lifecycle fault from its journal entry alone: brings the container back to the state it was
 * in before (only if faultline changed it), then removes the watchdog. The order matters: a crash between
 * the two steps leaves a watchdog that restores, never a restored-nothing with no watchdog.
 */
export async function restoreLifecycle(entry: JournalFaultEntry, runtime: DockerRuntime): Promise<void> {
  const undo = entry.undo as Partial<LifecycleUndo>;
  const id = entry.target.containerId;
  if (undo.stateBefore === "running") {
    let current: ContainerInfo | undefined;
    try {
      current = await runtime.inspect(id);
    } catch (e) {
      // The target is gone (removed mid-fault): there is nothing left to restore, only helpers to clean up.
      if (!isTargetNotFound(e)) throw e;
    }
    if (current) {
      await bringBackToRunning(entry, current, runtime);
      await assertRestored(entry.kind, current.id, runtime);
    }
  }
  for (const helper of entry.helperContainerIds) await runtime.helpers.remove(helper);
}

/** Signals take effect asynchronously: a process just continued may read as stopped for a moment. */
const PROCESS_SETTLE_MS = 2_000;

async function staysStopped(pid: number): Promise<boolean> {
  const until = Date.now() + PROCESS_SETTLE_MS;
  while (isProcessStopped(pid)) {
    if (Date.now() > until) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

/**
 * A revert is done only when the target is seen back to normal: not paused, not down, and its main
 * process not stopped by a signal (which the engine reports as running). Otherwise FaultRevertError,
 * so the fault stays in the journal and nobody reads "reverted" over a frozen service.
 */
async function assertRestored(kind: FaultKind, id: string, runtime: DockerRuntime): Promise<void> {
  const after = await runtime.inspect(id).catch(() => undefined);
  if (!after) return;
  const name = after.name.replace(/^\//, "");
  const down = after.state === "exited" || after.state === "created" || after.state === "dead";
  if (after.state === "paused" || (kind !== "pause" && down)) {
    throw new FaultRevertError(
      `${name} is still ${after.state} after reverting the ${kind}`,
      `run \`docker ${after.state === "paused" ? "unpause" : "start"} ${name}\``,
    );
  }
  if (after.state === "running" && (await staysStopped(after.pid))) {
    throw new FaultRevertError(
      `${name}'s main process (pid ${after.pid}) is stopped although the engine reports it running`,
      `it was stopped by a signal: run \`docker kill -s CONT ${name}\``,
    );
  }
}

async function bringBackToRunning(
  entry: JournalFaultEntry,
  current: ContainerInfo,
  runtime: DockerRuntime,
): Promise<void> {
  const kind = entry.kind;
  const target = current.name;
  try {
    if (kind === "pause") {
      if (current.state === "paused") await runtime.unpause(current.id);
      return;
    }
    // A kill journalled with a stop-class signal (before those were refused) froze the process: continue it.
    if (kind === "kill" && STOP_SIGNALS.has(String(entry.options.signal)) && current.state === "running") {
      await runtime.kill(current.id, "SIGCONT");
      return;
    }
    // stop / kill / restart: start it only if it is down and nothing (restart policy, the watchdog) is bringing it back.
    if (current.state === "exited" || current.state === "created" || current.state === "dead") {
      await runtime.start(current.id);
    }
  } catch (e) {
    // The watchdog may have won the race between our inspect and our call: look again before complaining.
    const again = await runtime.inspect(current.id).catch(() => undefined);
    if (again && (again.state === "running" || again.state === "restarting")) return;
    throw new FaultRevertError(
      `could not restore ${target} after ${kind}: ${errorText(e, { hint: false })}`,
      `it may still be ${again?.state ?? current.state}: run \`docker ${kind === "pause" ? "unpause" : "start"} ${target}\``,
      { cause: e },
    );
  }
}

export const lifecycleFamily: FaultFamily = {
  kinds: LIFECYCLE_KINDS,
  async create(kind, target: ResolvedService, options, durationMs) {
    if (!isLifecycleKind(kind)) {
      throw new InvalidInputError(
        `"${kind}" is not a lifecycle fault`,
        `use one of ${LIFECYCLE_KINDS.join(", ")}`,
      );
    }
    const parsed = parseLifecycleOptions(kind, options, durationMs);
    return new LifecycleFault(kind, target, parsed, durationMs);
  },
  async revertFromEntry(entry, runtime) {
    await withTimeout(
      restoreLifecycle(entry, runtime),
      REVERT_TIMEOUT_MS,
      `revert of ${entry.kind} on ${entry.target.service}`,
    );
  },
};

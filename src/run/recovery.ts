/**
 * Crash recovery, run at the start of every `inject`, `run` and `revert`: replays the journal and reverts
 * what a dead faultline left in effect, then sweeps helper containers by label (a crash can come between
 * starting a helper and journaling its id, so the journal alone is not enough). An explicit revert also
 * sweeps the network namespaces in scope for rules carrying faultline's marks: a SIGKILLed agent leaves
 * its rules behind, and the journal that knew them may be gone too.
 */
import { hostname } from "node:os";
import type { ContainerInfo, DockerRuntime } from "../docker/types.js";
import { COMPOSE_LABELS, LABELS } from "../docker/types.js";
import { errorText } from "../errors.js";
import { ensureAgentImage } from "../images/agent.js";
import type { JournalFaultEntry } from "../faults/fault.js";
import { restoreLifecycle, WATCHDOG_ACTION } from "../faults/lifecycle.js";
import { isLifecycleKind } from "../faults/lifecycle-options.js";
import { sweepNamespace } from "../faults/network/agent-runner.js";
import type { FaultRegistry } from "../faults/registry.js";
import type { WatchdogAction } from "../faults/watchdog.js";
import { WATCHDOG_SWEEP_MARGIN_MS, watchdogGuard } from "../faults/watchdog.js";
import { mapLimit } from "../util/concurrency.js";
import { log } from "../util/log.js";
import { withTimeout } from "../util/time.js";
import type { Journal, JournalOwner, JournalRecord, PendingFault } from "./journal.js";
import { pendingFrom } from "./journal.js";
import { isExcludedByLabel } from "./targeting.js";
import { FAULT_TIMEOUTS } from "../faults/timeouts.js";

const REVERT_TIMEOUT_MS = FAULT_TIMEOUTS.revertMs;
/** Agents remove their tc/iptables rules on SIGTERM; this is how long they get before SIGKILL. */
const HELPER_STOP_SECONDS = 5;
/** Roles that hold a fault in place (probes are short-lived and removed by whoever ran them). */
const FAULT_HELPER_ROLES = new Set(["agent", "watchdog", "stress"]);
/** Namespace sweeps running at once (each is one short-lived agent container). */
const SWEEP_CONCURRENCY = 4;

export interface RecoveryOptions {
  runtime: DockerRuntime;
  journal: Journal;
  registry: FaultRegistry;
  /**
   * An explicit `faultline revert`: also reverts faults whose owner is still running (in scope), and every
   * fault helper in scope. Without it only what dead processes left behind is touched.
   */
  explicit?: boolean;
  /** Narrows an explicit revert to one compose project. */
  project?: string;
  /**
   * The scope this faultline was started for. The helper sweep then touches only helpers aimed at a
   * container in it, or started by a run of its own journal: another faultline's helpers on the same
   * engine are that faultline's to judge. Without one (and without `project`), the whole engine.
   */
  scope?: { project?: string; labels?: string[] };
  /** Narrows an explicit revert to one fault. */
  faultId?: string;
  /**
   * An explicit revert also enters every network namespace in scope to remove rules an agent that died
   * left behind (one short-lived agent per namespace: seconds on a big stack). Default true; a halt, which
   * must be quick, leaves that to `faultline revert` and to the next start's recovery.
   */
  sweepNamespaces?: boolean;
  now?: number;
  isOwnerAlive?: (owner: JournalOwner) => boolean;
}

export interface RecoveryReport {
  reverted: JournalFaultEntry[];
  failed: { entry: JournalFaultEntry; error: string }[];
  helpersRemoved: { id: string; name: string; role: string; reason: string }[];
  /** Network namespaces (by a container sharing them) where the sweep removed rules, and what. */
  namespacesSwept: { container: string; removed: string[] }[];
  /** Namespaces the sweep could not clean (or could not enter), and why. */
  sweepFailed: { container: string; error: string }[];
}

/** Is the process that wrote a record still running? Another host's processes are assumed alive. */
export function isOwnerAlive(owner: JournalOwner): boolean {
  if (owner.host !== hostname()) return true;
  if (owner.pid === process.pid) return true;
  try {
    process.kill(owner.pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Parses a faultline.deadline label: epoch ms, epoch seconds or an ISO date. */
export function parseDeadline(label: string | undefined): number | undefined {
  if (!label) return undefined;
  if (/^\d+$/.test(label)) {
    const n = Number(label);
    return n < 1e11 ? n * 1000 : n;
  }
  const t = Date.parse(label);
  return Number.isNaN(t) ? undefined : t;
}

/** Which pending faults to revert now (pure). */
export function selectForRecovery(
  pending: readonly PendingFault[],
  options: Pick<RecoveryOptions, "explicit" | "project" | "faultId">,
  alive: (owner: JournalOwner) => boolean,
): PendingFault[] {
  if (options.faultId) return pending.filter((p) => p.entry.faultId === options.faultId);
  return pending.filter(
    (p) => !alive(p.owner) || (options.explicit && (!options.project || p.project === options.project)),
  );
}

export interface HelperSweepContext {
  now: number;
  deadRuns: ReadonlySet<string>;
  /** Faults reverted by this recovery. */
  revertedFaults: ReadonlySet<string>;
  /** The fault an explicit `faultline revert <id>` names: its helpers go, even with no journal entry. */
  namedFault?: string;
  /** Faults whose revert this recovery tried and failed: their watchdog is the only switch left. */
  failedFaults?: ReadonlySet<string>;
  /** Faults the journal already shows reverted. */
  closedFaults?: ReadonlySet<string>;
  /** Explicit revert: container ids in the project's scope, or "all" with no project given. */
  explicitTargets?: ReadonlySet<string> | "all";
}

/** Why a helper container should go, or undefined to leave it (pure). */
export function helperRemovalReason(
  helper: Pick<ContainerInfo, "labels">,
  context: HelperSweepContext,
): string | undefined {
  const labels = helper.labels;
  const role = labels[LABELS.role] ?? "";
  if (!FAULT_HELPER_ROLES.has(role)) {
    const deadline = parseDeadline(labels[LABELS.deadline]);
    return deadline !== undefined && deadline < context.now ? "its deadline has passed" : undefined;
  }
  const fault = labels[LABELS.fault];
  const run = labels[LABELS.run];
  const target = labels[LABELS.target];
  // A watchdog's deadline is when it starts acting, and it keeps trying for a while: only past that
  // window (and grace) has it failed. Until then it may be the one thing restoring its target.
  const deadline = parseDeadline(labels[LABELS.deadline]);
  const expiresAt =
    deadline === undefined ? undefined : deadline + (role === "watchdog" ? WATCHDOG_SWEEP_MARGIN_MS : 0);
  const expired = expiresAt !== undefined && expiresAt < context.now;
  if (role === "watchdog" && fault && context.failedFaults?.has(fault)) {
    return expired ? "its deadline has passed" : undefined;
  }
  if (fault && context.revertedFaults.has(fault)) return "its fault was reverted";
  if (fault && fault === context.namedFault) return "explicit revert of its fault";
  if (run && context.deadRuns.has(run)) return "the run that started it is no longer running";
  if (expired) return "its deadline has passed";
  if (context.explicitTargets === "all") return "explicit revert";
  if (target && context.explicitTargets?.has(target)) return "explicit revert of its target's project";
  return undefined;
}

/** Which helpers this recovery may judge at all (pure): see RecoveryOptions.scope. */
export interface SweepScope {
  /** Containers in the scope, any state. */
  targets: ReadonlySet<string>;
  /** Runs this faultline's journal knows. */
  runs: ReadonlySet<string>;
}

export function helperInScope(helper: Pick<ContainerInfo, "labels">, scope: SweepScope | undefined): boolean {
  if (!scope) return true;
  const target = helper.labels[LABELS.target];
  const run = helper.labels[LABELS.run];
  return (target !== undefined && scope.targets.has(target)) || (run !== undefined && scope.runs.has(run));
}

/**
 * The restore a watchdog the sweep is about to remove was there to make (pure): unless its fault is known
 * reverted, removing it without making its call could leave its target paused or stopped for good. The
 * call comes from the watchdog's labels (or command), else from the journal's entry for its fault.
 */
export function watchdogRestoreFor(
  helper: Pick<ContainerInfo, "labels"> & { command?: string[] },
  context: Pick<HelperSweepContext, "revertedFaults" | "closedFaults">,
  journalActions: ReadonlyMap<string, WatchdogAction> = new Map(),
): { targetId: string; action: WatchdogAction } | undefined {
  const labels = helper.labels;
  if (labels[LABELS.role] !== "watchdog") return undefined;
  const fault = labels[LABELS.fault];
  if (fault && (context.revertedFaults.has(fault) || context.closedFaults?.has(fault))) return undefined;
  const guard = watchdogGuard(helper);
  if (guard) return guard;
  const action = fault ? journalActions.get(fault) : undefined;
  const targetId = labels[LABELS.target];
  return action && targetId ? { targetId, action } : undefined;
}

/** The call undoing each journalled lifecycle fault that has a watchdog, by fault id. */
export function watchdogActionsOf(records: readonly JournalRecord[]): Map<string, WatchdogAction> {
  const actions = new Map<string, WatchdogAction>();
  for (const r of records) {
    if (r.type !== "intent" && r.type !== "update") continue;
    const action = isLifecycleKind(r.entry.kind) ? WATCHDOG_ACTION[r.entry.kind] : undefined;
    if (action) actions.set(r.entry.faultId, action);
  }
  return actions;
}

/** Runs whose owning process is gone, from every intent the journal holds. */
export function deadRunsOf(
  records: readonly JournalRecord[],
  alive: (owner: JournalOwner) => boolean,
): Set<string> {
  const owners = new Map<string, JournalOwner>();
  for (const r of records) if (r.type === "intent") owners.set(r.entry.runId, r.owner);
  return new Set([...owners].filter(([, owner]) => !alive(owner)).map(([run]) => run));
}

export async function recover(options: RecoveryOptions): Promise<RecoveryReport> {
  const { runtime, journal, registry } = options;
  const alive = options.isOwnerAlive ?? isOwnerAlive;
  const report: RecoveryReport = {
    reverted: [],
    failed: [],
    helpersRemoved: [],
    namespacesSwept: [],
    sweepFailed: [],
  };
  const records = await journal.records();

  for (const { entry } of selectForRecovery(pendingFrom(records), options, alive)) {
    try {
      await withTimeout(
        registry.revertFromEntry(entry, runtime),
        REVERT_TIMEOUT_MS,
        `recovery of fault ${entry.faultId}`,
      );
      await journal.reverted(entry.faultId);
      report.reverted.push(entry);
      log.info(
        { faultId: entry.faultId, kind: entry.kind, target: entry.target.service },
        "reverted a fault left in effect",
      );
    } catch (e) {
      const error = errorText(e);
      report.failed.push({ entry, error });
      log.error(
        { faultId: entry.faultId, err: e },
        "could not revert a fault left in effect; it stays in the journal",
      );
    }
  }

  let explicitTargets: Set<string> | "all" | undefined;
  let inScope: ContainerInfo[] = [];
  if (options.explicit && !options.faultId) {
    inScope = await runtime.list({ ...(options.project ? { project: options.project } : {}), all: true });
    explicitTargets = options.project ? new Set(inScope.map((c) => c.id)) : "all";
  }
  const context: HelperSweepContext = {
    now: options.now ?? Date.now(),
    deadRuns: deadRunsOf(records, alive),
    revertedFaults: new Set(report.reverted.map((e) => e.faultId)),
    ...(options.faultId ? { namedFault: options.faultId } : {}),
    failedFaults: new Set(report.failed.map((f) => f.entry.faultId)),
    closedFaults: new Set(records.flatMap((r) => (r.type === "reverted" ? [r.faultId] : []))),
    explicitTargets,
  };
  const journalActions = watchdogActionsOf(records);
  const sweepScope = await sweepScopeOf(runtime, options, records);
  for (const helper of await runtime.helpers.listOwned()) {
    if (!helperInScope(helper, sweepScope)) continue;
    await sweepHelper(runtime, helper, context, journalActions, report);
  }
  // Last: the agents stopped above have removed their own rules; what remains has no agent left.
  if (options.sweepNamespaces !== false) await sweepNamespaces(runtime, namespacesToSweep(inScope), report);
  return report;
}

/** The scope of the helper sweep: the one given, else an explicit revert's project, else none (all). */
async function sweepScopeOf(
  runtime: DockerRuntime,
  options: RecoveryOptions,
  records: readonly JournalRecord[],
): Promise<SweepScope | undefined> {
  if (options.faultId) return undefined;
  const scope = options.scope ?? (options.project ? { project: options.project } : undefined);
  if (!scope?.project && !scope?.labels?.length) return undefined;
  const containers = await runtime.list({ project: scope.project, labels: scope.labels, all: true });
  return {
    targets: new Set(containers.map((c) => c.id)),
    runs: new Set(records.flatMap((r) => (r.type === "intent" ? [r.entry.runId] : []))),
  };
}

/**
 * Removes one helper if the sweep should (recording why in the report); a watchdog whose call may not
 * have been made is made to do its job first: its target is unpaused or started, then it goes.
 */
export async function sweepHelper(
  runtime: DockerRuntime,
  helper: ContainerInfo,
  context: HelperSweepContext,
  journalActions: ReadonlyMap<string, WatchdogAction>,
  report: RecoveryReport,
): Promise<void> {
  let reason = helperRemovalReason(helper, context);
  if (!reason) return;
  try {
    const restore = watchdogRestoreFor(helper, context, journalActions);
    if (restore) {
      // Its call first, then its removal (restoreLifecycle's order): a failure keeps the watchdog.
      if (!(await restoreInsteadOfWatchdog(runtime, helper, restore, report))) return;
      reason += `; the sweep made its ${restore.action} call itself`;
    } else {
      await removeHelper(runtime, helper);
    }
    report.helpersRemoved.push({
      id: helper.id,
      name: helper.name,
      role: helper.labels[LABELS.role] ?? "",
      reason,
    });
  } catch (e) {
    log.warn({ helper: helper.name, err: e }, "could not remove a leftover helper container");
  }
}

/**
 * Which containers' network namespaces an explicit revert sweeps (pure): running or paused, not
 * excluded, one container per namespace (those joined with `container:` share their host's), never the
 * host's own namespace.
 */
export function namespacesToSweep(
  containers: readonly Pick<ContainerInfo, "id" | "name" | "state" | "networkMode" | "labels">[],
): { joinId: string; name: string }[] {
  const seen = new Map<string, { joinId: string; name: string }>();
  for (const c of containers) {
    if (c.state !== "running" && c.state !== "paused") continue;
    if (isExcludedByLabel(c) || c.labels[LABELS.owned] === "true") continue;
    if (c.networkMode === "host") continue;
    const joinId = c.networkMode.startsWith("container:") ? c.networkMode.slice("container:".length) : c.id;
    if (!seen.has(joinId)) seen.set(joinId, { joinId, name: c.name });
  }
  return [...seen.values()];
}

async function sweepNamespaces(
  runtime: DockerRuntime,
  targets: { joinId: string; name: string }[],
  report: RecoveryReport,
): Promise<void> {
  if (!targets.length) return;
  await ensureAgentImage(runtime);
  await mapLimit(targets, SWEEP_CONCURRENCY, async (t) => {
    try {
      const result = await sweepNamespace(runtime, t.joinId);
      if (result.removed.length) {
        report.namespacesSwept.push({ container: t.name, removed: result.removed });
        log.info(
          { container: t.name, removed: result.removed },
          "swept faultline rules left without an agent",
        );
      }
      if (result.leftovers.length)
        report.sweepFailed.push({ container: t.name, error: result.leftovers.join("; ") });
    } catch (e) {
      // A container that stopped since the listing has no namespace left to clean.
      const gone = await runtime.inspect(t.joinId).then(
        (c) => c.state !== "running" && c.state !== "paused",
        () => true,
      );
      if (!gone) report.sweepFailed.push({ container: t.name, error: errorText(e) });
    }
  });
}

/**
 * Does what a watchdog about to be removed was there to do (unpause or start its target, only if the
 * target is still paused or down), then removes it. False, with the failure reported, if the target
 * could not be restored: the watchdog then stays, since it may still succeed.
 */
async function restoreInsteadOfWatchdog(
  runtime: DockerRuntime,
  watchdog: ContainerInfo,
  restore: { targetId: string; action: WatchdogAction },
  report: RecoveryReport,
): Promise<boolean> {
  const target = await runtime.inspect(restore.targetId).catch(() => undefined);
  const name = target?.name.replace(/^\//, "") ?? restore.targetId.slice(0, 12);
  const entry: JournalFaultEntry = {
    faultId: watchdog.labels[LABELS.fault] ?? `watchdog-${watchdog.id.slice(0, 12)}`,
    runId: watchdog.labels[LABELS.run] ?? "",
    kind: restore.action === "unpause" ? "pause" : "stop",
    target: {
      service: target?.labels[COMPOSE_LABELS.service] ?? name,
      containerId: restore.targetId,
      containerName: name,
    },
    options: {},
    mechanism: "docker-api",
    helperContainerIds: [watchdog.id],
    deadline: parseDeadline(watchdog.labels[LABELS.deadline]) ?? 0,
    undo: { stateBefore: "running" },
  };
  try {
    await withTimeout(restoreLifecycle(entry, runtime), REVERT_TIMEOUT_MS, `${restore.action} of ${name}`);
    log.info(
      { target: name, action: restore.action, watchdog: watchdog.name },
      "removed a watchdog that had not restored its target, and restored it",
    );
    return true;
  } catch (e) {
    const error = errorText(e);
    report.failed.push({ entry, error });
    log.error({ target: name, err: e }, "a watchdog's target could not be restored; the watchdog stays");
    return false;
  }
}

/** Stops first, so an agent gets its SIGTERM and removes its rules; then removes. */
async function removeHelper(runtime: DockerRuntime, helper: ContainerInfo): Promise<void> {
  if (helper.state === "running" && helper.labels[LABELS.role] !== "watchdog") {
    await runtime.stop(helper.id, HELPER_STOP_SECONDS).catch(() => undefined);
  }
  await runtime.helpers.remove(helper.id);
}

/**
 * What `inject`, `run` and `revert` share: the engine, the journal in the state dir, the fault registry,
 * and crash recovery first, so whatever a killed faultline left in effect is undone before anything new.
 */
import type { Command } from "commander";
import type { ContainerSelector, DockerRuntime } from "../docker/types.js";
import { defaultRegistry, type FaultRegistry } from "../faults/registry.js";
import { openHistory } from "../history/store.js";
import { dryRunRuntime } from "../run/dry-run.js";
import type { ExperimentScope } from "../run/experiment.js";
import { Journal, NULL_JOURNAL, resolveStateDir } from "../run/journal.js";
import { recover, type RecoveryOptions, type RecoveryReport } from "../run/recovery.js";
import { TargetResolver } from "../run/targeting.js";
import { openRuntime } from "./runtime.js";

export interface ChaosSession {
  runtime: DockerRuntime;
  journal: Journal;
  registry: FaultRegistry;
  recovery: RecoveryReport;
}

export function addStateDirOption(command: Command): Command {
  return command.option(
    "--state-dir <dir>",
    "where the fault journal lives (default: $FAULTLINE_STATE_DIR or ./.faultline)",
  );
}

export async function openChaosSession(
  options: { stateDir?: string },
  recovery: Pick<RecoveryOptions, "explicit" | "project" | "faultId" | "scope"> = {},
): Promise<ChaosSession> {
  const runtime = await openRuntime();
  const journal = new Journal(resolveStateDir(options.stateDir));
  const registry = defaultRegistry();
  const report = await recover({ runtime, journal, registry, ...recovery });
  printRecovery(report);
  return { runtime, journal, registry, recovery: report };
}

/**
 * Where a fault command's steps act: the session's engine and journal, or, for a dry run, a runtime that
 * reads the engine and only describes its writes (to `describe`), with nothing to recover or journal.
 */
export async function openExperimentScope(
  options: { stateDir?: string; dryRun?: boolean },
  selector: ContainerSelector,
  registry: FaultRegistry,
  describe: (call: string) => void,
  engine: () => Promise<DockerRuntime> = () => openRuntime(),
): Promise<ExperimentScope> {
  // The start-up sweep stays within this scope: another faultline's helpers on the engine are its own.
  const session = options.dryRun ? undefined : await openChaosSession(options, { scope: selector });
  const runtime = session ? session.runtime : dryRunRuntime(await engine(), describe);
  const history = session ? openHistory(resolveStateDir(options.stateDir)) : undefined;
  return {
    runtime,
    registry,
    journal: session?.journal ?? NULL_JOURNAL,
    resolver: new TargetResolver(runtime, selector),
    project: selector.project,
    ...(history ? { history } : {}),
  };
}

export function printRecovery(report: RecoveryReport, write = (t: string) => process.stderr.write(t)): void {
  for (const e of report.reverted) {
    write(
      `faultline: reverted ${e.kind} on ${e.target.service} left by run ${e.runId} (fault ${e.faultId})\n`,
    );
  }
  for (const f of report.failed) {
    write(`faultline: could not revert ${f.entry.kind} on ${f.entry.target.service}: ${f.error}\n`);
  }
  for (const h of report.helpersRemoved) {
    write(`faultline: removed ${h.role} helper ${h.name} (${h.reason})\n`);
  }
  for (const n of report.namespacesSwept) {
    write(
      `faultline: removed ${n.removed.length} leftover rule(s) from ${n.container}'s network namespace\n`,
    );
  }
  for (const f of report.sweepFailed) {
    write(`faultline: could not sweep ${f.container}'s network namespace: ${f.error}\n`);
  }
}

/**
 * What `inject`, `run` and `revert` share: the engine, the journal in the state dir, the fault registry,
 * and crash recovery first, so whatever a killed faultline left in effect is undone before anything new.
 */
import type { Command } from "commander";
import type { DockerRuntime } from "../docker/types.js";
import { defaultRegistry, type FaultRegistry } from "../faults/registry.js";
import { Journal, resolveStateDir } from "../run/journal.js";
import { recover, type RecoveryOptions, type RecoveryReport } from "../run/recovery.js";
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

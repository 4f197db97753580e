/**
 * `faultline revert [fault-id]`: undo what faultline left in effect. Without an id, everything the journal
 * and the helper labels show in scope (the project's faults and helpers; all of them with no --project).
 */
import { Command } from "commander";
import { FaultRevertError } from "../../errors.js";
import { addStateDirOption, openChaosSession } from "../chaos-session.js";
import { parseProjectName } from "../options.js";

interface RevertOptions {
  project?: string;
  stateDir?: string;
}

export function revertCommand(): Command {
  const command = new Command("revert")
    .description(
      "revert faults left in effect (by a crashed or still running faultline) and remove its helpers",
    )
    .argument("[fault-id]", "only this fault (an id from the journal or a run record)")
    .option("-p, --project <name>", "docker-compose project to clean up");
  addStateDirOption(command).action(async (faultId: string | undefined, options: RevertOptions) => {
    const project = options.project !== undefined ? parseProjectName(options.project) : undefined;
    const { recovery } = await openChaosSession(options, { explicit: true, project, faultId });
    const swept = recovery.namespacesSwept.reduce((n, s) => n + s.removed.length, 0);
    const total = recovery.reverted.length + recovery.helpersRemoved.length + swept;
    process.stdout.write(
      total === 0 && recovery.failed.length === 0
        ? "nothing to revert\n"
        : `reverted ${recovery.reverted.length} fault(s), removed ${recovery.helpersRemoved.length} helper(s)` +
            `${swept ? ` and ${swept} leftover rule(s)` : ""}\n`,
    );
    if (recovery.failed.length) {
      throw new FaultRevertError(
        `${recovery.failed.length} fault(s) could not be reverted: ${recovery.failed.map((f) => f.error).join("; ")}`,
        "they stay in the journal; fix the cause and run `faultline revert` again",
      );
    }
    if (recovery.sweepFailed.length) {
      throw new FaultRevertError(
        `faultline rules may remain in ${recovery.sweepFailed.map((f) => `${f.container} (${f.error})`).join("; ")}`,
        "run `faultline revert` again; the agent's `fl-agent show` lists what is left",
      );
    }
  });
  return command;
}

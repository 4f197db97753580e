/**
 * `faultline plan`: the graph-ordered plan `faultline run` would run, printed; with `--save FILE` also
 * written as an experiment document to review, edit and run with `faultline run --experiment FILE`.
 */
import type { Command } from "commander";
import { run, runCommand, type RunOptions } from "./run.js";

export function planCommand(): Command {
  // The same options as `run` (the plan is run's), minus what only running needs.
  const command = runCommand()
    .name("plan")
    .description("print the graph-ordered plan; --save FILE writes it as an experiment document");
  command.action(async (options: RunOptions) => {
    await run({ ...options, plan: true });
  });
  return command;
}

#!/usr/bin/env node
/** faultline's command line: wires commands, and turns typed errors into one line and an exit code. */
import { Command, CommanderError } from "commander";
import { isFaultlineError } from "../errors.js";
import { registerCommands } from "./commands/index.js";

/** Usage errors (unknown option, missing argument) share the exit code of other bad input. */
const USAGE_EXIT_CODE = 2;

const program = new Command()
  .name("faultline")
  .description("Chaos engineering for Docker stacks: discover, map, break on purpose, report.")
  .showHelpAfterError();

registerCommands(program);

// addCommand() does not copy settings to subcommands, so every command is told to throw instead of exiting.
const withSubcommands = (c: Command): Command[] => [c, ...c.commands.flatMap(withSubcommands)];
for (const command of withSubcommands(program)) command.exitOverride();

program.parseAsync(process.argv).catch((e: unknown) => {
  if (e instanceof CommanderError) {
    // Commander has already printed its message (or the help).
    process.exit(e.exitCode === 0 ? 0 : USAGE_EXIT_CODE);
  }
  if (isFaultlineError(e)) {
    process.stderr.write(`faultline: ${e.toUserLine()}\n`);
    process.exit(e.exitCode);
  }
  process.stderr.write(
    `faultline: unexpected error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`,
  );
  process.exit(1);
});

#!/usr/bin/env node
/** faultline's command line: wires commands, and turns typed errors into one line and an exit code. */
import { Command } from "commander";
import { isFaultlineError } from "../errors.js";
import { registerCommands } from "./commands/index.js";

const program = new Command()
  .name("faultline")
  .description("Chaos engineering for Docker stacks: discover, map, break on purpose, report.")
  .showHelpAfterError();

registerCommands(program);

program.parseAsync(process.argv).catch((e: unknown) => {
  if (isFaultlineError(e)) {
    process.stderr.write(`faultline: ${e.toUserLine()}\n`);
    process.exit(e.exitCode);
  }
  process.stderr.write(
    `faultline: unexpected error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`,
  );
  process.exit(1);
});

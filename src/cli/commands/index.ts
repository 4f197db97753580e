import type { Command } from "commander";

/** Each command lives in its own module; this is the only list of them. */
export function registerCommands(program: Command): void {
  void program;
}

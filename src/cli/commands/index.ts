import type { Command } from "commander";
import { discoverCommand } from "./discover.js";
import { graphCommand } from "./graph.js";
import { haltCommand } from "./halt.js";
import { historyCommand } from "./history.js";
import { imagesCommand } from "./images.js";
import { injectCommand } from "./inject.js";
import { planCommand } from "./plan.js";
import { reportCommand } from "./report.js";
import { revertCommand } from "./revert.js";
import { runCommand } from "./run.js";
import { serveCommand } from "./serve.js";
import { validateCommand } from "./validate.js";

/** Each command lives in its own module; this is the only list of them. */
export function registerCommands(program: Command): void {
  program.addCommand(discoverCommand());
  program.addCommand(graphCommand());
  program.addCommand(haltCommand());
  program.addCommand(historyCommand());
  program.addCommand(imagesCommand());
  program.addCommand(injectCommand());
  program.addCommand(planCommand());
  program.addCommand(reportCommand());
  program.addCommand(revertCommand());
  program.addCommand(runCommand());
  program.addCommand(serveCommand());
  program.addCommand(validateCommand());
}

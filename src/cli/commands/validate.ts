/**
 * `faultline validate FILE`: checks an experiment document without running it. The schema, every fault's
 * options, the thresholds, then (unless --offline) its targets on the live stack and each step's options
 * against its real target. One line on success; one line naming the file, line and key on failure.
 */
import { Command } from "commander";
import { validateExperimentFile } from "./experiment-file.js";

export function validateCommand(): Command {
  return new Command("validate")
    .description("check an experiment document (YAML or JSON) without running it")
    .argument("<file>", "the experiment document")
    .option("--offline", "check the document only, without resolving its targets on the stack", false)
    .option("-q, --quiet", "no discovery progress on stderr", false)
    .action(async (file: string, options: { offline?: boolean; quiet?: boolean }) => {
      process.stdout.write(`${await validateExperimentFile(file, options)}\n`);
    });
}

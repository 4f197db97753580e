/**
 * `faultline history [--since 1h|ISO] [--target svc] [--severity x] [--json]`: the runs every faultline
 * sharing this state dir made (CLI, API, schedule), newest first, from the history store.
 */
import { Command } from "commander";
import { parseHistoryQuery } from "../../history/filter.js";
import { formatHistoryTable } from "../../history/render.js";
import { HistoryStore } from "../../history/store.js";
import { resolveStateDir } from "../../run/journal.js";
import { addStateDirOption } from "../chaos-session.js";

interface HistoryOptions {
  since?: string;
  target?: string;
  severity?: string;
  source?: string;
  limit?: string;
  json?: boolean;
  stateDir?: string;
}

export function historyCommand(): Command {
  const command = new Command("history")
    .description("list the runs recorded in the state dir (CLI, API and scheduled), newest first")
    .option("--since <age|date>", "runs started within this long (30m, 1h, 7d) or since this ISO date")
    .option("--target <service>", "runs with this service among their targets")
    .option("--severity <level>", "runs of this severity or worse (none, minor, major, critical)")
    .option("--source <source>", "runs started by cli, api or schedule")
    .option("--limit <n>", "at most this many runs")
    .option("--json", "print the runs as JSON");
  addStateDirOption(command).action((options: HistoryOptions) => {
    // Checked before the store is opened: bad input changes nothing.
    const filter = parseHistoryQuery(options);
    const store = HistoryStore.inStateDir(resolveStateDir(options.stateDir));
    try {
      store.closeInterrupted();
      const runs = store.list(filter);
      process.stdout.write(
        options.json ? `${JSON.stringify({ runs }, null, 2)}\n` : `${formatHistoryTable(runs)}\n`,
      );
    } finally {
      store.close();
    }
  });
  return command;
}

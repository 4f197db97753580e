/** `faultline report --from <dir|report.json> --out DIR`: re-renders a saved report. */
import { Command } from "commander";
import { loadReport, writeReportData } from "../../report/write.js";

export function reportCommand(): Command {
  return new Command("report")
    .description("re-render report.html / report.md / report.json from a saved report")
    .requiredOption("--from <path>", "a report directory or its report.json")
    .option("--out <dir>", "where to write the report", "report")
    .action(async (opts: { from: string; out: string }) => {
      const data = await loadReport(opts.from);
      const files = await writeReportData(opts.out, data);
      process.stdout.write(`${files.html}\n${files.json}\n${files.markdown}\n`);
    });
}

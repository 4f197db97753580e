/** Writes report.html, report.json and report.md into a directory; re-renders from a saved report.json. */
import { mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import type { RunAnalysis } from "../analysis/types.js";
import { maskProfile } from "../discovery/mask.js";
import type { ServiceProfile } from "../discovery/profile.js";
import { InvalidInputError } from "../errors.js";
import type { RunRecord } from "../run/record.js";
import { maskSecretsDeep } from "../util/secrets.js";
import type { ReportData } from "./data.js";
import { faultReports } from "./faults.js";
import { renderHtml } from "./html.js";
import { renderMarkdown } from "./markdown.js";

export interface ReportFiles {
  html: string;
  json: string;
  markdown: string;
}

let bundle: Promise<string> | undefined;

/** Mermaid's browser bundle from node_modules (read once), inlined so the page works offline. */
export function mermaidBundle(): Promise<string> {
  bundle ??= (async () => {
    const require = createRequire(import.meta.url);
    const main = require.resolve("mermaid");
    // Resolve the package root from its main entry, then take the self-contained minified bundle.
    let dir = path.dirname(main);
    while (path.basename(dir) !== "mermaid" && dir !== path.dirname(dir)) dir = path.dirname(dir);
    return readFile(path.join(dir, "dist", "mermaid.min.js"), "utf8");
  })();
  return bundle;
}

export async function writeReport(
  dir: string,
  record: RunRecord,
  analysis: RunAnalysis,
  profiles?: ServiceProfile[],
): Promise<ReportFiles> {
  const data: ReportData = {
    format: "faultline-report/1",
    faults: faultReports(analysis.steps),
    record,
    analysis,
    ...(profiles ? { profiles } : {}),
  };
  return writeReportData(dir, data);
}

/** Writes the three files; `faults` is always derived afresh from the analysis (older reports gain it). */
export async function writeReportData(
  dir: string,
  input: Omit<ReportData, "faults"> & { faults?: unknown },
): Promise<ReportFiles> {
  const { format, record, analysis, profiles } = input;
  // A report leaves the machine (shared, attached to tickets): masked whole, whatever its parts hold.
  const data: ReportData = maskSecretsDeep({
    format,
    faults: faultReports(analysis.steps),
    record,
    analysis,
    ...(profiles ? { profiles: profiles.map(maskProfile) } : {}),
  });
  await mkdir(dir, { recursive: true });
  const files = {
    html: path.join(dir, "report.html"),
    json: path.join(dir, "report.json"),
    markdown: path.join(dir, "report.md"),
  };
  const html = renderHtml(data, await mermaidBundle());
  await Promise.all([
    writeFile(files.json, `${JSON.stringify(data, null, 2)}\n`),
    writeFile(files.html, html),
    writeFile(files.markdown, renderMarkdown(data)),
  ]);
  return files;
}

/** Reads a report.json (or the one inside a report directory). Throws InvalidInputError with a hint. */
export async function loadReport(from: string): Promise<ReportData> {
  const file = (await stat(from).catch(() => undefined))?.isDirectory()
    ? path.join(from, "report.json")
    : from;
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch {
    throw new InvalidInputError(`cannot read ${file}`, "pass a report directory or its report.json");
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new InvalidInputError(`${file} is not JSON`, "pass a report.json written by faultline");
  }
  const d = data as Partial<ReportData>;
  if (d?.format !== "faultline-report/1" || !d.record || !d.analysis || !Array.isArray(d.analysis.steps)) {
    throw new InvalidInputError(`${file} is not a faultline report`, 'expected format "faultline-report/1"');
  }
  // Reports written before `faults` existed are still valid: it is derived from the analysis.
  return { ...d, faults: faultReports(d.analysis.steps) } as ReportData;
}

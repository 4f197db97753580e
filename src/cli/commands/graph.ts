/** `faultline graph`: discover, then print the client -> server dependency graph and test order. */
import { Command } from "commander";
import { buildGraph } from "../../graph/build.js";
import { blastRadii, DEFAULT_MIN_CONFIDENCE, findCycles, TEST_ORDERS } from "../../graph/order.js";
import { renderGraphJson } from "../../graph/render-json.js";
import { renderMermaid } from "../../graph/render-mermaid.js";
import { renderGraphTable } from "../../graph/render-table.js";
import { addScopeOptions, parseChoice, parseFraction, parseInteger, type ScopeOptions } from "../options.js";
import { stderrProgress, warn } from "../progress.js";
import { discoverInScope } from "./discover.js";

export const GRAPH_FORMATS = ["table", "json", "mermaid"] as const;

interface GraphOptions extends ScopeOptions {
  format: string;
  order: string;
  minConfidence: string;
  seed?: string;
  deep?: boolean;
  quiet?: boolean;
}

export function graphCommand(): Command {
  const command = new Command("graph").description(
    "map which service calls which (client -> server), with evidence, test order and blast radius",
  );
  addScopeOptions(command)
    .option("-f, --format <format>", `output format: ${GRAPH_FORMATS.join(", ")}`, "table")
    .option("--order <order>", `test order: ${TEST_ORDERS.join(", ")}`, "leaves-first")
    .option("--seed <n>", "seed for --order random (same seed, same order)")
    .option(
      "--min-confidence <0..1>",
      "edges below this are shown but do not count for order and blast radius",
      String(DEFAULT_MIN_CONFIDENCE),
    )
    .option("--deep", "also fingerprint unknown ports with nmap -sV (slower)", false)
    .option("-q, --quiet", "no progress on stderr", false)
    .action(async (options: GraphOptions) => {
      // Validate everything before touching the engine.
      const format = parseChoice(options.format, GRAPH_FORMATS, "--format");
      const order = parseChoice(options.order, TEST_ORDERS, "--order");
      const minConfidence = parseFraction(options.minConfidence, "--min-confidence");
      const seed = options.seed !== undefined ? parseInteger(options.seed, "--seed") : undefined;

      const profiles = await discoverInScope(options, "graph");
      const progress = stderrProgress("graph", options.quiet);
      const started = performance.now();
      const graph = buildGraph(profiles, { order, seed, minConfidence });
      progress(
        `${graph.nodes.length} services, ${graph.edges.filter((e) => e.confidence >= minConfidence).length} dependencies (>= ${minConfidence}) in ${Math.round(performance.now() - started)}ms`,
      );
      for (const cycle of findCycles(graph, minConfidence)) {
        warn(`dependency cycle: ${cycle.join(" <-> ")} (tested together)`);
      }
      if (format === "json") process.stdout.write(renderGraphJson(graph));
      else if (format === "mermaid") process.stdout.write(renderMermaid(graph, { minConfidence }));
      else {
        process.stdout.write(
          renderGraphTable(graph, { blastRadius: blastRadii(graph, minConfidence), minConfidence }),
        );
      }
    });
  return command;
}

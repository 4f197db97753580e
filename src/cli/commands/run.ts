/**
 * `faultline run`: discover the stack, order it by the dependency graph, and inject one fault at a time
 * with recovery waits between. `--plan` prints the plan; `--dry-run` prints every engine call it would
 * make and changes nothing.
 */
import { readFile, writeFile } from "node:fs/promises";
import { Command } from "commander";
import type { DockerRuntime } from "../../docker/types.js";
import { FaultRevertError, InvalidInputError } from "../../errors.js";
import type { FaultRegistry } from "../../faults/registry.js";
import { defaultRegistry } from "../../faults/registry.js";
import { buildGraph } from "../../graph/build.js";
import { TEST_ORDERS, orderForTesting } from "../../graph/order.js";
import type { DependencyGraph } from "../../graph/types.js";
import { dryRunRuntime } from "../../run/dry-run.js";
import { NULL_JOURNAL } from "../../run/journal.js";
import { formatPlan, planExperiment, type ExperimentPlan } from "../../run/plan.js";
import type { FaultKind, RunRecord } from "../../run/record.js";
import { runExperiment } from "../../run/runner.js";
import { installSignalHandlers } from "../../run/signals.js";
import { TargetResolver, detectSelfContainerId } from "../../run/targeting.js";
import { parseDuration } from "../../util/duration.js";
import { addStateDirOption, openChaosSession } from "../chaos-session.js";
import { consoleObserver } from "../console-observer.js";
import {
  addScopeOptions,
  collect,
  parseChoice,
  parseInteger,
  resolveScope,
  type ScopeOptions,
} from "../options.js";
import { openRuntime } from "../runtime.js";
import { discoverInScope } from "./discover.js";

interface RunOptions extends ScopeOptions {
  kinds: string;
  services?: string;
  duration: string;
  recoveryWait: string;
  maxBlastRadius?: string;
  order: string;
  graph?: string;
  option: string[];
  plan?: boolean;
  dryRun?: boolean;
  record?: string;
  stateDir?: string;
  quiet?: boolean;
}

export function runCommand(): Command {
  const command = new Command("run").description(
    "run an experiment: one fault at a time over the stack, ordered by its dependency graph",
  );
  addStateDirOption(addScopeOptions(command))
    .option("--kinds <kinds>", "fault kinds to apply to each service, comma-separated", "pause,stop")
    .option("--services <ids>", "only these services, comma-separated")
    .option("-d, --duration <duration>", "how long each fault stays in effect", "10s")
    .option("--recovery-wait <duration>", "pause between faults for the stack to settle", "10s")
    .option("--max-blast-radius <n>", "skip services whose failure reaches more than n others")
    .option("--order <order>", `test order: ${TEST_ORDERS.join(", ")}`, "leaves-first")
    .option("--graph <file>", "use this graph (from `faultline graph --format json`) instead of discovering")
    .option(
      "-o, --option <kind.key=value>",
      "an option for one fault kind, e.g. kill.signal=SIGTERM (repeatable)",
      collect,
      [],
    )
    .option("--plan", "print the plan and exit", false)
    .option("--dry-run", "print every engine call the run would make, change nothing", false)
    .option("--record <file>", "write the run record (JSON) here")
    .option("-q, --quiet", "no discovery progress on stderr", false)
    .action(async (options: RunOptions) => {
      await run(options);
    });
  return command;
}

/** "kill.signal=SIGTERM" -> { kill: { signal: "SIGTERM" } }. */
export function parseKindOptions(
  pairs: readonly string[],
  kinds: readonly FaultKind[],
): Partial<Record<FaultKind, Record<string, unknown>>> {
  const out: Partial<Record<FaultKind, Record<string, unknown>>> = {};
  for (const pair of pairs) {
    const m = /^([a-z]+)\.([A-Za-z][\w-]*)=(.*)$/.exec(pair);
    if (!m)
      throw new InvalidInputError(
        `bad --option "${pair}"`,
        "use --option kind.key=value, e.g. kill.signal=SIGTERM",
      );
    const [, kind, key, value] = m as unknown as [string, FaultKind, string, string];
    if (!kinds.includes(kind)) {
      throw new InvalidInputError(
        `--option "${pair}" is for ${kind}, which is not in --kinds`,
        `--kinds is ${kinds.join(",")}`,
      );
    }
    out[kind] = { ...out[kind], [key]: value };
  }
  return out;
}

export function parseKinds(text: string, registry: FaultRegistry): FaultKind[] {
  const kinds = text
    .split(",")
    .map((k) => k.trim())
    .filter(Boolean);
  if (!kinds.length)
    throw new InvalidInputError("--kinds is empty", `use some of: ${registry.kinds().join(", ")}`);
  for (const k of kinds) registry.familyFor(k);
  return [...new Set(kinds)] as FaultKind[];
}

async function run(options: RunOptions): Promise<void> {
  // Everything the user typed is checked before the engine is touched.
  const registry = defaultRegistry();
  const kinds = parseKinds(options.kinds, registry);
  const kindOptions = parseKindOptions(options.option, kinds);
  const durationMs = parseDuration(options.duration, "--duration");
  const recoveryWaitMs = parseDuration(options.recoveryWait, "--recovery-wait");
  const maxBlastRadius =
    options.maxBlastRadius !== undefined
      ? parseInteger(options.maxBlastRadius, "--max-blast-radius")
      : undefined;
  const order = parseChoice(options.order, TEST_ORDERS, "--order");
  const scope = resolveScope(options);
  const services = options.services
    ?.split(",")
    .map((s) => s.trim())
    .filter(Boolean);

  const graph = await loadGraph(options, order);
  const real = await openRuntime();
  const containers = await real.list({ ...scope.selector, all: true });
  const plan = planExperiment({
    containers,
    graph,
    services,
    kinds,
    options: kindOptions,
    durationMs,
    recoveryWaitMs,
    maxBlastRadius,
    selfContainerId: detectSelfContainerId(),
  });
  if (options.plan) {
    process.stdout.write(`${formatPlan(plan)}\n`);
    return;
  }
  if (!plan.steps.length)
    throw new InvalidInputError("nothing to run: every service in scope was skipped", formatPlan(plan));

  const session = options.dryRun ? undefined : await openChaosSession(options);
  const runtime = session
    ? session.runtime
    : dryRunRuntime(real, (call) => process.stdout.write(`    would run: ${call}\n`));
  const resolver = new TargetResolver(runtime, scope.selector);
  await validateFaultOptions(plan, registry, resolver, runtime);

  const guard = installSignalHandlers();
  let record: RunRecord;
  try {
    record = await runExperiment(plan, {
      runtime,
      registry,
      journal: session?.journal ?? NULL_JOURNAL,
      resolver,
      project: scope.selector.project,
      dryRun: options.dryRun,
      signal: guard.signal,
      observer: options.dryRun
        ? {
            onBeforeInject: ({ index, step }) =>
              void process.stdout.write(`#${index + 1} ${step.description}\n`),
          }
        : consoleObserver(),
    });
  } finally {
    guard.dispose();
  }
  record.graphBefore = graph;
  if (options.record) {
    await writeFile(options.record, `${JSON.stringify(record, null, 2)}\n`);
  }
  const counts = new Map<string, number>();
  for (const s of record.steps)
    counts.set(s.outcome?.status ?? "?", (counts.get(s.outcome?.status ?? "?") ?? 0) + 1);
  process.stdout.write(
    `run ${record.runId} ${record.status}: ${[...counts].map(([k, n]) => `${n} ${k}`).join(", ")}\n`,
  );
  if (guard.exitCode !== undefined) process.exitCode = guard.exitCode;
  else if (record.status === "failed") {
    throw new FaultRevertError("some faults could not be reverted", "run `faultline revert` to retry them");
  }
}

/** A graph file when given (its order recomputed for --order), else discovery now. */
async function loadGraph(options: RunOptions, order: (typeof TEST_ORDERS)[number]): Promise<DependencyGraph> {
  if (options.graph) {
    let graph: DependencyGraph;
    try {
      graph = JSON.parse(await readFile(options.graph, "utf8")) as DependencyGraph;
    } catch (e) {
      throw new InvalidInputError(
        `cannot read the graph file ${options.graph}: ${(e as Error).message}`,
        "write one with `faultline graph --format json`",
      );
    }
    if (!Array.isArray(graph.nodes) || !Array.isArray(graph.edges)) {
      throw new InvalidInputError(
        `${options.graph} is not a faultline graph`,
        "write one with `faultline graph --format json`",
      );
    }
    return { ...graph, order: orderForTesting(graph, order) };
  }
  return buildGraph(await discoverInScope(options, "run"), { order });
}

/** Builds every kind once against the first target, so bad options fail before the first fault. */
async function validateFaultOptions(
  plan: ExperimentPlan,
  registry: FaultRegistry,
  resolver: TargetResolver,
  runtime: DockerRuntime,
): Promise<void> {
  const seen = new Set<FaultKind>();
  for (const step of plan.steps) {
    if (seen.has(step.kind)) continue;
    seen.add(step.kind);
    const target = await resolver.resolveService(step.service);
    await registry.create(step.kind, target, step.options, step.durationMs, {
      runtime,
      resolveService: (n) => resolver.resolveService(n),
    });
  }
}

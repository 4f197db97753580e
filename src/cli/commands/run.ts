/**
 * `faultline run`: discover the stack, order it by the dependency graph, and inject one fault at a time
 * with recovery waits between. `--out DIR` attaches the monitor (steady state before, the fault, recovery
 * after each step), analyses the impact and writes report.html/json/md there, also when the run is
 * aborted (safety envelope, SIGINT/SIGTERM). `--plan` prints the plan; `--dry-run` prints every engine
 * call it would make and changes nothing.
 */
import { readFile, writeFile } from "node:fs/promises";
import { Command } from "commander";
import { parseThresholds } from "../../analysis/thresholds.js";
import { describeVia } from "../../analysis/words.js";
import type { DockerRuntime } from "../../docker/types.js";
import { FaultRevertError, InvalidInputError } from "../../errors.js";
import type { FaultRegistry } from "../../faults/registry.js";
import { defaultRegistry } from "../../faults/registry.js";
import { buildGraph } from "../../graph/build.js";
import { TEST_ORDERS, orderForTesting } from "../../graph/order.js";
import type { DependencyGraph } from "../../graph/types.js";
import { createIntegrations } from "../../integrations/index.js";
import type { EnvelopeOptions } from "../../monitor/envelope.js";
import {
  assertRunnable,
  prepareExperiment,
  runSequence,
  validateSteps,
  type ExperimentRequest,
  type MonitorSettings,
  type SequenceResult,
  type StackView,
} from "../../run/experiment.js";
import { formatPlan } from "../../run/plan.js";
import type { FaultKind } from "../../faults/kinds.js";
import { installSignalHandlers } from "../../run/signals.js";
import { detectSelfContainerId } from "../../run/targeting.js";
import { formatDuration, parseDuration } from "../../util/duration.js";
import { addStateDirOption, openExperimentScope } from "../chaos-session.js";
import { runProgressObserver } from "../console-observer.js";
import {
  addScopeOptions,
  collect,
  parseChoice,
  parseFraction,
  parseInteger,
  resolveScope,
  type ScopeOptions,
} from "../options.js";
import { openRuntime } from "../runtime.js";
import { optionsForKind } from "../../api/scheduler.js";
import { discoverInScope } from "./discover.js";
import { runExperimentFile } from "./experiment-file.js";
import { documentToYaml, planToDocument } from "../../experiments/from-plan.js";

/** Exit code of a run the safety envelope stopped (the report is still written). */
export const ENVELOPE_ABORT_EXIT_CODE = 3;

export interface RunOptions extends ScopeOptions {
  kinds: string;
  services?: string;
  only?: string;
  duration: string;
  recovery: string;
  recoveryWait?: string;
  baseline: string;
  interval: string;
  out?: string;
  abortWhenDown: string;
  maxErrorRate?: string;
  maxProbeFailures?: string;
  envelopeFor: string;
  /** Explicit steady-state thresholds, "[service:]metric<value" (repeatable). */
  threshold?: string[];
  maxBlastRadius?: string;
  order: string;
  graph?: string;
  option: string[];
  plan?: boolean;
  dryRun?: boolean;
  record?: string;
  stateDir?: string;
  quiet?: boolean;
  /** An experiment document (YAML/JSON) instead of --kinds. */
  experiment?: string;
  /** With --plan: write the plan as an experiment document here. */
  save?: string;
}

export function runCommand(): Command {
  const command = new Command("run").description(
    "run an experiment: one fault at a time over the stack, ordered by its dependency graph",
  );
  addStateDirOption(addScopeOptions(command))
    .option("--kinds <kinds>", "fault kinds to apply to each service, comma-separated", "pause,stop")
    .option("--services <ids>", "only these services, comma-separated")
    .option("--only <ids>", "same as --services")
    .option("-d, --duration <duration>", "how long each fault stays in effect", "10s")
    .option(
      "--recovery <duration>",
      "after each revert: time for the stack to settle (and, with --out, to watch it recover)",
      "10s",
    )
    .option("--recovery-wait <duration>", "older name of --recovery")
    .option("--out <dir>", "monitor the stack and write report.html, report.json, report.md here")
    .option("--baseline <duration>", "with --out: steady state observed before each fault", "10s")
    .option("--interval <duration>", "with --out: monitor sampling interval", "1s")
    .option(
      "--abort-when-down <duration>",
      "with --out: abort when every service has been down this long",
      "15s",
    )
    .option("--max-error-rate <lines/s>", "with --out: abort when error log lines (all services) exceed this")
    .option("--max-probe-failures <ratio>", "with --out: abort when this share (0..1) of HTTP probes fail")
    .option("--envelope-for <duration>", "how long a --max-* limit must be exceeded to abort", "10s")
    .option(
      "--threshold <limit>",
      "with --out: an explicit steady-state limit on top of the learned one, e.g. latency_p95_ms<500, " +
        "web:error_rate<0.5/s, http_status_5xx_ratio<0.05 (repeatable; see docs/report.md)",
      collect,
      [],
    )
    .option("--max-blast-radius <n>", "skip services whose failure reaches more than n others")
    .option("--order <order>", `test order: ${TEST_ORDERS.join(", ")}`, "leaves-first")
    .option("--graph <file>", "use this graph (from `faultline graph --format json`) instead of discovering")
    .option(
      "-o, --option <kind.key=value>",
      "an option for one fault kind, e.g. kill.signal=SIGTERM (repeatable)",
      collect,
      [],
    )
    .option("--experiment <file>", "run this experiment document (YAML or JSON; see docs/experiments.md)")
    .option("--plan", "print the plan and exit", false)
    .option("--save <file>", "with --plan: also write the plan as an experiment document (YAML)")
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

export async function run(options: RunOptions): Promise<void> {
  if (options.experiment !== undefined) {
    if (options.plan)
      throw new InvalidInputError("--plan and --experiment do not mix", "use `faultline validate FILE`");
    return runExperimentFile(options.experiment, options);
  }
  if (options.save !== undefined && !options.plan)
    throw new InvalidInputError("--save goes with --plan", "or use `faultline plan --save FILE`");
  // Everything the user typed is checked before the engine is touched.
  const registry = defaultRegistry();
  const kinds = parseKinds(options.kinds, registry);
  const request: ExperimentRequest = {
    kinds,
    // As the API and the scheduler do: a kind's defaults under what the user gave.
    options: Object.fromEntries(
      kinds.map((k) => [k, optionsForKind(k, parseKindOptions(options.option, kinds))]),
    ),
    services: [options.services, options.only]
      .flatMap((list) => list?.split(",") ?? [])
      .map((s) => s.trim())
      .filter(Boolean),
    durationMs: parseDuration(options.duration, "--duration"),
    recoveryMs:
      options.recoveryWait !== undefined
        ? parseDuration(options.recoveryWait, "--recovery-wait")
        : parseDuration(options.recovery, "--recovery"),
    maxBlastRadius:
      options.maxBlastRadius !== undefined
        ? parseInteger(options.maxBlastRadius, "--max-blast-radius")
        : undefined,
  };
  const monitoring = monitoringOptions(options);
  const order = parseChoice(options.order, TEST_ORDERS, "--order");
  const scope = resolveScope(options);
  const progress = (text: string) => {
    if (!options.quiet) process.stderr.write(`[run] ${text}\n`);
  };

  let engine: DockerRuntime | undefined;
  const real = async () => (engine ??= await openRuntime());
  const prepared = await prepareExperiment({
    request,
    discover: () => loadStack(options, order, monitoring !== undefined),
    containers: async () => (await real()).list({ ...scope.selector, all: true }),
    selfContainerId: detectSelfContainerId(),
    monitor: monitoring,
  });
  const { plan } = prepared;
  if (options.plan) {
    process.stdout.write(`${formatPlan(plan)}\n`);
    if (options.save !== undefined) {
      const document = planToDocument({
        plan,
        scope: {
          ...(scope.selector.project ? { project: scope.selector.project } : {}),
          ...(scope.selector.labels?.length ? { labels: scope.selector.labels } : {}),
        },
        baselineMs: parseDuration(options.baseline, "--baseline"),
        thresholds: options.threshold ?? [],
        ...(request.maxBlastRadius !== undefined ? { maxBlastRadius: request.maxBlastRadius } : {}),
      });
      await writeFile(options.save, documentToYaml(document));
      process.stdout.write(`wrote ${options.save}: run it with faultline run --experiment ${options.save}\n`);
    }
    if (monitoring)
      process.stdout.write(
        `monitored: ${formatDuration(monitoring.baselineMs)} steady state before and ${formatDuration(request.recoveryMs)} recovery after each fault; report in ${monitoring.out}\n`,
      );
    return;
  }
  assertRunnable(plan);

  const experimentScope = await openExperimentScope(
    options,
    scope.selector,
    registry,
    (call) => process.stdout.write(`    would run: ${call}\n`),
    real,
  );
  await validateSteps(plan.steps, experimentScope);

  const guard = installSignalHandlers();
  let result: SequenceResult;
  try {
    result = await runSequence({
      scope: experimentScope,
      steps: plan.steps,
      recoveryMs: request.recoveryMs,
      graph: prepared.stack.graph,
      profiles: prepared.stack.profiles,
      containers: prepared.containers,
      ...(monitoring ? { monitor: { ...monitoring, integrations: createIntegrations() } } : {}),
      reportDir: monitoring?.out,
      signal: guard.signal,
      dryRun: options.dryRun,
      progress,
      observers: [runProgressObserver(options.dryRun)],
    });
  } finally {
    guard.dispose();
  }
  const { record, analysis, files } = result;
  for (const s of analysis?.steps ?? [])
    progress(
      `${s.kind} ${s.target}: ${s.severity}${
        s.impacted.length
          ? ` (impacted: ${s.impacted.map((i) => `${i.service} ${describeVia(i)}`).join(", ")})`
          : ""
      }`,
    );
  if (files) process.stdout.write(`${files.html}\n${files.json}\n${files.markdown}\n`);
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
  } else if (record.status === "aborted") {
    process.stderr.write(`faultline: run aborted: ${record.abortReason ?? "unknown reason"}\n`);
    process.exitCode = ENVELOPE_ABORT_EXIT_CODE;
  }
}

/** The monitor's settings and where the report goes. */
export interface MonitoringOptions extends MonitorSettings {
  out: string;
  envelope: EnvelopeOptions;
}

/** The monitor's settings, or undefined when no report was asked for (no --out: no monitoring). */
export function monitoringOptions(
  options: Pick<
    RunOptions,
    | "out"
    | "baseline"
    | "interval"
    | "abortWhenDown"
    | "maxErrorRate"
    | "maxProbeFailures"
    | "envelopeFor"
    | "threshold"
  >,
): MonitoringOptions | undefined {
  const thresholds = parseThresholds(options.threshold ?? []);
  if (options.out === undefined) {
    if (thresholds.length)
      throw new InvalidInputError(
        "--threshold needs --out",
        "thresholds judge the monitored steady state, which runs with --out DIR",
      );
    const needsOut = (["maxErrorRate", "maxProbeFailures"] as const).find((k) => options[k] !== undefined);
    if (needsOut)
      throw new InvalidInputError(
        `--${needsOut === "maxErrorRate" ? "max-error-rate" : "max-probe-failures"} needs --out`,
        "the safety envelope is part of the monitor, which runs with --out DIR",
      );
    return undefined;
  }
  if (!options.out.trim())
    throw new InvalidInputError("--out is empty", "pass a directory, e.g. --out report");
  const forMs = parseDuration(options.envelopeFor, "--envelope-for");
  const envelope: EnvelopeOptions = {
    allDownForMs: parseDuration(options.abortWhenDown, "--abort-when-down"),
    errorRateForMs: forMs,
    probeFailureForMs: forMs,
  };
  if (options.maxErrorRate !== undefined) {
    const n = Number(options.maxErrorRate);
    if (options.maxErrorRate.trim() === "" || !Number.isFinite(n) || n < 0)
      throw new InvalidInputError(
        `--max-error-rate "${options.maxErrorRate}" is not a number of lines per second`,
        "e.g. --max-error-rate 20",
      );
    envelope.maxErrorsPerSecond = n;
  }
  if (options.maxProbeFailures !== undefined)
    envelope.maxProbeFailureRatio = parseFraction(options.maxProbeFailures, "--max-probe-failures");
  const intervalMs = parseDuration(options.interval, "--interval");
  if (intervalMs < 100)
    throw new InvalidInputError(`--interval ${options.interval} is too short`, "use 100ms or more");
  return {
    out: options.out,
    baselineMs: parseDuration(options.baseline, "--baseline"),
    intervalMs,
    envelope,
    ...(thresholds.length ? { thresholds } : {}),
  };
}

/**
 * The stack to plan on: a graph file when given (its order recomputed for --order), else discovery now.
 * The monitor needs every service's profile, so a monitored run discovers even with --graph.
 */
async function loadStack(
  options: RunOptions,
  order: (typeof TEST_ORDERS)[number],
  monitored: boolean,
): Promise<StackView> {
  const profiles = monitored ? await discoverInScope(options, "run") : undefined;
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
    return { profiles, graph: { ...graph, order: orderForTesting(graph, order) } };
  }
  const discovered = profiles ?? (await discoverInScope(options, "run"));
  return { profiles, graph: buildGraph(discovered, { order }) };
}

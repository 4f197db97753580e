/**
 * `faultline run --experiment FILE` and `faultline validate FILE`: an experiment document from a file.
 * The file is read and checked before the engine is touched; its targets are resolved on the stack and
 * every step's options checked against its real target before anything is injected. A run is always
 * monitored: the verdict (did the hypothesis hold, and where) is printed and written into the report.
 */
import { buildGraph } from "../../graph/build.js";
import { defaultRegistry } from "../../faults/registry.js";
import { createIntegrations } from "../../integrations/index.js";
import { dryRunRuntime } from "../../run/dry-run.js";
import type { ExperimentScope } from "../../run/experiment.js";
import { NULL_JOURNAL } from "../../run/journal.js";
import { installSignalHandlers } from "../../run/signals.js";
import { TargetResolver, detectSelfContainerId } from "../../run/targeting.js";
import { formatDuration, parseDuration } from "../../util/duration.js";
import { InvalidInputError } from "../../errors.js";
import { loadExperimentFile, type LoadedExperiment } from "../../experiments/load.js";
import { prepareDocument, runDocument } from "../../experiments/run.js";
import { openChaosSession } from "../chaos-session.js";
import { runProgressObserver } from "../console-observer.js";
import { openRuntime } from "../runtime.js";
import { discoverInScope } from "./discover.js";

/** Exit code of an experiment whose hypothesis did not hold (the report is written). */
export const HYPOTHESIS_FAILED_EXIT_CODE = 4;

export interface ExperimentFileOptions {
  out?: string;
  interval: string;
  dryRun?: boolean;
  stateDir?: string;
  quiet?: boolean;
  /** Scope flags are refused: the document's scope is the scope. */
  project?: string;
  label?: string[];
}

function scopeOf(loaded: LoadedExperiment) {
  const { scope } = loaded.document;
  return {
    ...(scope.project ? { project: scope.project } : {}),
    ...(scope.labels ? { label: scope.labels } : {}),
  };
}

/** Loads the file and resolves it on the live stack; nothing changes. Returns a one-line summary. */
export async function validateExperimentFile(
  file: string,
  options: { quiet?: boolean; offline?: boolean },
): Promise<string> {
  const loaded = await loadExperimentFile(file);
  const steps = loaded.document.method.length;
  if (options.offline) return `${file}: valid (${steps} step(s); targets not resolved: --offline)`;
  const scope = scopeOf(loaded);
  const profiles = await discoverInScope({ ...scope, quiet: options.quiet ?? true }, "validate");
  const runtime = await openRuntime();
  const resolver = new TargetResolver(runtime, {
    ...(scope.project ? { project: scope.project } : {}),
    ...(scope.label ? { labels: scope.label } : {}),
  });
  const { compiled } = await prepareDocument({
    loaded,
    stack: { profiles, graph: buildGraph(profiles) },
    containers: await resolver.containers(),
    scope: { registry: defaultRegistry(), resolver, runtime, selfContainerId: detectSelfContainerId() },
  });
  const targets = [...new Set(compiled.steps.map((s) => s.service))].join(", ");
  return `${file}: valid: "${compiled.title}", ${compiled.steps.length} fault(s) on ${targets}, about ${formatDuration(compiled.estimatedMs)}`;
}

export async function runExperimentFile(file: string, options: ExperimentFileOptions): Promise<void> {
  const loaded = await loadExperimentFile(file);
  if (options.project !== undefined || options.label?.length)
    throw new InvalidInputError(
      "--project/--label cannot be combined with --experiment",
      `the experiment's scope is in ${file} (scope:)`,
    );
  const intervalMs = parseDuration(options.interval, "--interval");
  const out = options.out ?? "report";
  const progress = (text: string) => {
    if (!options.quiet) process.stderr.write(`[run] ${text}\n`);
  };
  const scope = scopeOf(loaded);
  const selector = {
    ...(scope.project ? { project: scope.project } : {}),
    ...(scope.label ? { labels: scope.label } : {}),
  };
  const profiles = await discoverInScope({ ...scope, quiet: options.quiet }, "run");
  const stack = { profiles, graph: buildGraph(profiles) };
  const session = options.dryRun ? undefined : await openChaosSession(options);
  const runtime = session
    ? session.runtime
    : dryRunRuntime(await openRuntime(), (call) => process.stdout.write(`    would run: ${call}\n`));
  const resolver = new TargetResolver(runtime, selector);
  const experimentScope: ExperimentScope = {
    runtime,
    registry: defaultRegistry(),
    journal: session?.journal ?? NULL_JOURNAL,
    resolver,
    ...(selector.project ? { project: selector.project } : {}),
    selfContainerId: detectSelfContainerId(),
  };
  const containers = await resolver.containers();
  const prepared = await prepareDocument({ loaded, stack, containers, scope: experimentScope });
  progress(
    `experiment "${prepared.compiled.title}": ${prepared.compiled.steps.length} fault(s), about ${formatDuration(prepared.compiled.estimatedMs)}`,
  );
  const guard = installSignalHandlers();
  try {
    const { result, verdict } = await runDocument({
      prepared,
      scope: experimentScope,
      stack,
      containers,
      intervalMs,
      source: file,
      integrations: createIntegrations(),
      ...(options.dryRun ? {} : { reportDir: out }),
      signal: guard.signal,
      dryRun: options.dryRun,
      progress,
      observers: [runProgressObserver(options.dryRun)],
    });
    const { record, files } = result;
    if (files) process.stdout.write(`${files.html}\n${files.json}\n${files.markdown}\n`);
    process.stdout.write(`run ${record.runId} ${record.status}: ${prepared.compiled.title}\n`);
    if (!options.dryRun) {
      process.stdout.write(`${verdict.summary}\n`);
      for (const f of verdict.findings.slice(1)) process.stdout.write(`  also: ${f.where}: ${f.text}\n`);
      if (!verdict.held && guard.exitCode === undefined) process.exitCode = HYPOTHESIS_FAILED_EXIT_CODE;
    }
  } finally {
    guard.dispose();
  }
  if (guard.exitCode !== undefined) process.exitCode = guard.exitCode;
}

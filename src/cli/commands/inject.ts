/**
 * `faultline inject`: one fault on one service, in the foreground until it is reverted (after --duration,
 * on Ctrl-C, or on SIGTERM). Everything is validated before anything changes.
 */
import { Command } from "commander";
import { FaultInjectionError, FaultRevertError, InvalidInputError } from "../../errors.js";
import type { FaultRegistry } from "../../faults/registry.js";
import { defaultRegistry } from "../../faults/registry.js";
import { runSequence, validateSteps } from "../../run/experiment.js";
import { adHocStep } from "../../run/plan.js";
import type { RunRecord } from "../../run/record.js";
import { installSignalHandlers } from "../../run/signals.js";
import { parseDuration } from "../../util/duration.js";
import { addStateDirOption, openExperimentScope } from "../chaos-session.js";
import { consoleObserver } from "../console-observer.js";
import { addScopeOptions, collect, resolveScope, type ScopeOptions } from "../options.js";
import { warn } from "../progress.js";

/** CLI flag (commander's camelCase) -> the option name fault families read. */
const FAULT_OPTION_FLAGS = {
  signal: "signal",
  stopTimeout: "timeout",
  latency: "latency",
  jitter: "jitter",
  loss: "loss",
  rate: "rate",
  peer: "peer",
  port: "port",
  direction: "direction",
  dnsName: "name",
  dnsMode: "mode",
  status: "status",
  percent: "percent",
  delay: "delay",
  method: "method",
  path: "path",
  header: "header",
  workers: "workers",
  load: "load",
  bytes: "bytes",
} as const;

type FaultFlags = { [K in keyof typeof FAULT_OPTION_FLAGS]?: string | string[] };

interface InjectOptions extends ScopeOptions, FaultFlags {
  target: string;
  kind: string;
  duration: string;
  option: string[];
  stateDir?: string;
  dryRun?: boolean;
}

export function injectCommand(): Command {
  const command = new Command("inject").description(
    "inject one fault into one service and stay in the foreground until it is reverted",
  );
  addStateDirOption(addScopeOptions(command))
    .requiredOption("-t, --target <service>", "compose service name or container name")
    .requiredOption("-k, --kind <kind>", `fault kind: ${defaultRegistry().kinds().join(", ")}`)
    .option("-d, --duration <duration>", "how long the fault stays in effect", "30s")
    .option("--signal <signal>", "kill: the signal to send (default SIGKILL)")
    .option("--stop-timeout <seconds>", "stop/restart: seconds between SIGTERM and SIGKILL")
    .option("--latency <duration>", "latency: added delay, e.g. 200ms")
    .option("--jitter <duration>", "latency: variation, e.g. 20ms")
    .option("--loss <percent>", "loss: percent of packets dropped")
    .option("--rate <rate>", "bandwidth: cap, e.g. 1mbit")
    .option("--peer <service>", "network faults: only traffic with this service (repeatable)", collect, [])
    .option("--port <port>", "network faults: only connections on this server port (repeatable)", collect, [])
    .option("--direction <dir>", "network faults: out, in or both (http: in or out)")
    .option("--dns-name <name>", "dns: only queries for this name (repeatable)", collect, [])
    .option("--dns-mode <mode>", "dns: reject (default), nxdomain, servfail or timeout")
    .option("--status <code>", "http: answer selected requests with this status, e.g. 503")
    .option("--percent <percent>", "http: share of matching requests selected (default 100)")
    .option("--delay <duration>", "http: hold selected requests this long, e.g. 200ms (with --jitter)")
    .option("--method <method>", "http: only requests with this method (repeatable)", collect, [])
    .option(
      "--path <glob>",
      "http: only these paths: a glob (/orders*) or a prefix (repeatable)",
      collect,
      [],
    )
    .option("--header <name[:glob]>", "http: only requests with this header (repeatable)", collect, [])
    .option("--workers <n>", "cpu/memory: stress workers")
    .option("--load <percent>", "cpu: load per worker")
    .option("--bytes <size>", "memory: how much to allocate, e.g. 256m")
    .option("-o, --option <key=value>", "any other option of the fault kind (repeatable)", collect, [])
    .option("--dry-run", "print every engine call it would make, change nothing", false)
    .action(async (options: InjectOptions) => {
      await inject(options);
    });
  return command;
}

/** The options record handed to the fault family: only what the user actually gave. */
export function faultOptionsFromFlags(flags: FaultFlags & { option?: string[] }): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [flag, key] of Object.entries(FAULT_OPTION_FLAGS)) {
    const value = flags[flag as keyof FaultFlags];
    if (value === undefined || (Array.isArray(value) && value.length === 0)) continue;
    out[key] = Array.isArray(value) && value.length === 1 ? value[0] : value;
  }
  for (const pair of flags.option ?? []) {
    const eq = pair.indexOf("=");
    if (eq <= 0) throw new InvalidInputError(`bad --option "${pair}"`, "use --option key=value");
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}

async function inject(options: InjectOptions): Promise<void> {
  const registry: FaultRegistry = defaultRegistry();
  const kind = registry.parseKind(options.kind);
  const durationMs = parseDuration(options.duration, "--duration");
  const faultOptions = faultOptionsFromFlags(options);
  const scope = resolveScope(options);
  if (scope.warning) warn(scope.warning);

  const experimentScope = await openExperimentScope(options, scope.selector, registry, (call) =>
    process.stdout.write(`would run: ${call}\n`),
  );
  const target = await experimentScope.resolver.resolveService(options.target);
  const step = adHocStep(target, kind, faultOptions, durationMs);
  await validateSteps([step], experimentScope);

  const guard = installSignalHandlers();
  try {
    const { record } = await runSequence({
      scope: experimentScope,
      steps: [step],
      recoveryMs: 0,
      dryRun: options.dryRun,
      signal: guard.signal,
      observers: [
        options.dryRun
          ? { onBeforeInject: ({ fault }) => void process.stdout.write(`dry run: ${fault?.describe()}\n`) }
          : consoleObserver(),
      ],
    });
    failOnOutcome(record, guard.signal.aborted);
  } finally {
    guard.dispose();
  }
  if (guard.exitCode !== undefined) process.exitCode = guard.exitCode;
}

function failOnOutcome(record: RunRecord, signalled: boolean): void {
  const outcome = record.steps[0]?.outcome;
  if (outcome?.status === "injection-failed") throw new FaultInjectionError(outcome.error);
  // Cut short by something other than the user's signal: its target was removed or died mid-fault.
  if (outcome?.status === "aborted" && !signalled) {
    throw new FaultInjectionError(
      outcome.reason,
      outcome.reverted ? "the fault ended with it; nothing of it is left" : undefined,
    );
  }
  if (outcome?.status === "revert-failed") {
    throw new FaultRevertError(outcome.error, "run `faultline revert` to retry; the journal still holds it");
  }
}

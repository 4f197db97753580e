/**
 * `faultline serve`: faultline as a long-running service. An HTTP API for discovery, the graph, ad-hoc
 * faults and experiments, Prometheus metrics, and with --schedule a Chaos-Monkey that injects one fault
 * per cron tick. On start it recovers what an earlier faultline left in effect; on SIGTERM/SIGINT it
 * stops the scheduler, reverts everything in effect and exits.
 */
import { resolve } from "node:path";
import { Command } from "commander";
import { ChaosService } from "../../api/service.js";
import { createApp } from "../../api/app.js";
import { liveSignalsFor } from "../../api/live/index.js";
import { assertListenAllowed, assertReadToken, READ_TOKEN_NAMES, resolveApiToken } from "../../api/auth.js";
import { assertCronExpression, seededRandom } from "../../api/scheduler.js";
import { parseAllowedKinds, parseWeighting } from "../../api/chaos-targets.js";
import { parseWindow, type PacingRules } from "../../api/chaos-window.js";
import { InvalidInputError } from "../../errors.js";
import { closeServer, listen, parseListen } from "../../api/server.js";
import type { ContainerSelector, DockerRuntime } from "../../docker/types.js";
import { defaultRegistry } from "../../faults/registry.js";
import { createIntegrations } from "../../integrations/index.js";
import { Journal, resolveStateDir } from "../../run/journal.js";
import { parseAge } from "../../history/filter.js";
import { DEFAULT_RETENTION, openHistory, type Retention } from "../../history/store.js";
import { installSignalHandlers } from "../../run/signals.js";
import { detectSelfContainerId } from "../../run/targeting.js";
import { parseDuration } from "../../util/duration.js";
import { log } from "../../util/log.js";
import { addStateDirOption, printRecovery } from "../chaos-session.js";
import {
  addScopeOptions,
  collect,
  parseInteger,
  parseProjectName,
  resolveScope,
  type ScopeOptions,
} from "../options.js";
import { warn } from "../progress.js";
import { openRuntime } from "../runtime.js";
import { parseKindOptions, parseKinds } from "./run.js";

interface ServeOptions extends ScopeOptions {
  listen: string;
  schedule?: string;
  kinds: string;
  duration: string;
  baseline: string;
  recoveryWait: string;
  maxBlastRadius?: string;
  out: string;
  option: string[];
  seed?: string;
  exclude: string[];
  allow: string[];
  weighting: string;
  window: string[];
  minGap?: string;
  maxConcurrent: string;
  dailyCap?: string;
  paused?: boolean;
  stateDir?: string;
  keepReports: string;
  keepReportsFor: string;
  apiTokenFile?: string;
  apiReadTokenFile?: string;
}

/** An environment default; empty counts as unset (compose passes `${VAR:-}` through as ""). */
function env(name: string): string | undefined {
  const value = process.env[name]?.trim();
  return value ? value : undefined;
}

export function serveCommand(): Command {
  const command = new Command("serve").description(
    "run as a service: HTTP API for discovery, faults and experiments, /metrics, and Chaos-Monkey mode with --schedule",
  );
  addStateDirOption(addScopeOptions(command))
    .option(
      "--listen <host:port>",
      "where the API listens; other than loopback only with an API token",
      env("FAULTLINE_LISTEN") ?? "127.0.0.1:8080",
    )
    .option(
      "--api-token-file <path>",
      "file holding the bearer token the API requires (or set FAULTLINE_API_TOKEN)",
      env("FAULTLINE_API_TOKEN_FILE"),
    )
    .option(
      "--api-read-token-file <path>",
      "file holding a second token that reads /api/prometheus/targets and /healthz only (or set FAULTLINE_API_READ_TOKEN)",
      env("FAULTLINE_API_READ_TOKEN_FILE"),
    )
    .option(
      "--schedule <cron>",
      'Chaos-Monkey mode: one random fault per tick, e.g. "*/15 * * * *" (six fields: seconds first)',
      env("FAULTLINE_SCHEDULE"),
    )
    .option(
      "--kinds <kinds>",
      "fault kinds the scheduler and experiments use, comma-separated",
      env("FAULTLINE_KINDS") ?? "pause",
    )
    .option(
      "-d, --duration <duration>",
      "default time a fault stays in effect",
      env("FAULTLINE_DURATION") ?? "30s",
    )
    .option("--baseline <duration>", "experiments: steady state watched before each fault", "10s")
    .option("--recovery-wait <duration>", "experiments: recovery watched after each fault", "10s")
    .option(
      "--max-blast-radius <n>",
      "never fault services whose failure reaches more than n others",
      env("FAULTLINE_MAX_BLAST_RADIUS"),
    )
    .option(
      "--out <dir>",
      "where experiment reports are written",
      env("FAULTLINE_OUT") ?? "faultline-reports",
    )
    .option(
      "-o, --option <kind.key=value>",
      "default option for one fault kind, e.g. latency.latency=300ms (repeatable)",
      collect,
      [],
    )
    .option("--seed <n>", "seed the scheduler's random choices (same seed, same targets and kinds)")
    .option("--exclude <service>", "never fault this service on schedule (repeatable)", collect, [])
    .option(
      "--allow <service=kinds>",
      "only these kinds on this service on schedule, e.g. db=pause,latency (repeatable; else its faultline.kinds label)",
      collect,
      [],
    )
    .option(
      "--weighting <how>",
      "scheduled targets: uniform, or depended-on (more often the more services call it)",
      env("FAULTLINE_WEIGHTING") ?? "uniform",
    )
    .option(
      "--window <days hours zone>",
      'scheduled faults only then, e.g. "Mon-Fri 09:00-17:00 Europe/Rome" (repeatable: open when any is)',
      collect,
      env("FAULTLINE_WINDOW") ? [env("FAULTLINE_WINDOW")!] : [],
    )
    .option("--min-gap <duration>", "at least this long between scheduled faults", env("FAULTLINE_MIN_GAP"))
    .option(
      "--max-concurrent <n>",
      "no scheduled fault while n faults (any source) are in effect",
      env("FAULTLINE_MAX_CONCURRENT") ?? "1",
    )
    .option(
      "--daily-cap <n>",
      "at most n scheduled faults a day (the window's time zone)",
      env("FAULTLINE_DAILY_CAP"),
    )
    .option("--paused", "start with the schedule paused (resume with POST /api/schedule/resume)")
    .option(
      "--keep-reports <count>",
      "history: report files of the newest <count> runs are kept",
      String(DEFAULT_RETENTION.maxReports),
    )
    .option(
      "--keep-reports-for <age>",
      "history: report files older than this are removed (e.g. 7d, 12h)",
      "30d",
    )
    .action(async (options: ServeOptions) => {
      await serve(options);
    });
  return command;
}

async function serve(options: ServeOptions): Promise<void> {
  // Everything typed is checked before the engine is touched.
  const registry = defaultRegistry();
  const kinds = parseKinds(options.kinds, registry);
  const kindOptions = parseKindOptions(options.option, kinds);
  const durationMs = parseDuration(options.duration, "--duration");
  const baselineMs = parseDuration(options.baseline, "--baseline");
  const recoveryWaitMs = parseDuration(options.recoveryWait, "--recovery-wait");
  const maxBlastRadius =
    options.maxBlastRadius !== undefined
      ? parseInteger(options.maxBlastRadius, "--max-blast-radius")
      : undefined;
  const schedule = options.schedule ? assertCronExpression(options.schedule) : undefined;
  const seed = options.seed !== undefined ? parseInteger(options.seed, "--seed") : undefined;
  const monkey = {
    exclude: options.exclude,
    allowedKinds: parseAllowedKinds(options.allow, kinds),
    weighting: parseWeighting(options.weighting),
    pacing: parsePacing(options),
    paused: options.paused ?? false,
  };
  const address = parseListen(options.listen);
  const retention: Retention = {
    maxReports: parseInteger(options.keepReports, "--keep-reports"),
    maxReportAgeMs: parseAge(options.keepReportsFor, "--keep-reports-for"),
  };
  const apiToken = resolveApiToken({
    envToken: env("FAULTLINE_API_TOKEN"),
    tokenFile: options.apiTokenFile,
  });
  const readToken = resolveApiToken({
    envToken: env("FAULTLINE_API_READ_TOKEN"),
    tokenFile: options.apiReadTokenFile,
    names: READ_TOKEN_NAMES,
  });
  assertReadToken(readToken, apiToken);
  assertListenAllowed(address, apiToken);
  const envProject = env("FAULTLINE_PROJECT");
  const scope = resolveScope({
    ...options,
    project: options.project ?? (envProject ? parseProjectName(envProject) : undefined),
  });

  const runtime = await openRuntime();
  const selfContainerId = detectSelfContainerId();
  const selector = scope.warning
    ? await ownProjectScope(runtime, selfContainerId, scope.selector)
    : scope.selector;
  if (!selector.project && !selector.labels?.length && scope.warning) warn(scope.warning);

  const integrations = createIntegrations();
  const stateDir = resolveStateDir(options.stateDir);
  const history = openHistory(stateDir, retention);
  const service = new ChaosService({
    runtime,
    journal: new Journal(stateDir),
    ...(history ? { history } : {}),
    registry,
    selector,
    outDir: resolve(options.out),
    defaults: { kinds, durationMs, baselineMs, recoveryWaitMs, maxBlastRadius, kindOptions },
    schedule,
    monkey,
    rng: seed !== undefined ? seededRandom(seed) : undefined,
    selfContainerId,
    observers: integrations.observers,
    enrich: (analysis, record, profiles) => integrations.enrich(analysis, record, profiles),
  });

  const guard = installSignalHandlers();
  printRecovery(await service.start());
  // The live page's signals: probes of what the faults in effect hurt, only while someone watches.
  const signals = liveSignalsFor(service, runtime);
  let bound: Awaited<ReturnType<typeof listen>>;
  try {
    bound = await listen(
      createApp(service, { apiToken, readToken, live: { signals, shutdown: guard.signal } }),
      address,
    );
  } catch (e) {
    await signals.stop();
    await service.shutdown("could not listen");
    guard.dispose();
    throw e;
  }
  const { server, url } = bound;
  const scopeText = selector.project
    ? `project ${selector.project}`
    : (selector.labels ?? []).join(", ") || "all";
  process.stderr.write(
    `faultline: serving ${scopeText} on ${url}` +
      (apiToken ? " (API token required)" : "") +
      `; live page ${url}/` +
      (schedule ? `; chaos schedule "${schedule}" (${kinds.join(",")})` : "") +
      (integrations.active.length ? `; integrations: ${integrations.active.join(", ")}` : "") +
      "\n",
  );

  // Serve until SIGTERM/SIGINT: then stop the scheduler, revert everything in effect, close, exit.
  await new Promise<void>((done) => {
    const stop = () =>
      void (async () => {
        await signals.stop();
        await service.shutdown(String(guard.signal.reason));
        await closeServer(server);
        log.info("faultline serve stopped");
        done();
      })();
    if (guard.signal.aborted) stop();
    else guard.signal.addEventListener("abort", stop, { once: true });
  });
  guard.dispose();
  // A signal ended the service: that is the normal way to stop it.
  process.exitCode = 0;
}

/** The schedule's windows, gap, concurrency and daily cap, checked before anything starts. */
function parsePacing(options: ServeOptions): PacingRules {
  const maxConcurrent = parseInteger(options.maxConcurrent, "--max-concurrent");
  if (maxConcurrent < 1) {
    throw new InvalidInputError("--max-concurrent must be at least 1", "use --paused to inject nothing");
  }
  return {
    windows: options.window.map(parseWindow),
    ...(options.minGap !== undefined ? { minGapMs: parseDuration(options.minGap, "--min-gap") } : {}),
    maxConcurrent,
    ...(options.dailyCap !== undefined ? { dailyCap: parseInteger(options.dailyCap, "--daily-cap") } : {}),
  };
}

/** Without --project/--label, a faultline inside a compose stack serves that stack. */
async function ownProjectScope(
  runtime: DockerRuntime,
  selfContainerId: string | undefined,
  fallback: ContainerSelector,
): Promise<ContainerSelector> {
  if (!selfContainerId) return fallback;
  try {
    const self = await runtime.inspect(selfContainerId);
    return self.compose?.project ? { project: self.compose.project } : fallback;
  } catch {
    return fallback;
  }
}

/**
 * The dead-man switch for lifecycle faults. A paused or stopped container stays that way if faultline
 * is SIGKILLed and never restarts, so each such fault gets a tiny labelled container that sleeps until
 * the fault's deadline and then asks the engine itself, over the mounted socket, to undo the fault.
 * The base image already ships perl with IO::Socket::UNIX, so no image has to be built or pulled.
 * The normal revert removes the watchdog once the target is restored; AutoRemove cleans up after it fires.
 */
import type { HelperSpec } from "../docker/types.js";
import { LABELS } from "../docker/types.js";
import { FAULT_TIMEOUTS } from "./timeouts.js";

export const WATCHDOG_IMAGE = process.env.FAULTLINE_BASE_IMAGE ?? "debian:bookworm-slim";

/** How long after a fault's planned end the watchdog steps in: time for the normal revert to win. */
export const WATCHDOG_GRACE_MS = FAULT_TIMEOUTS.watchdogGraceMs;

/** Attempts at the engine call, one second apart. */
const WATCHDOG_TRIES = 10;
/**
 * The watchdog acts at its deadline and may keep at it this long (its tries plus slow engine answers);
 * an alarm ends it then, so one still there afterwards is stuck, not working.
 */
export const WATCHDOG_ACTING_WINDOW_MS = (WATCHDOG_TRIES + 5) * 1000;
/**
 * How long past its deadline label a watchdog is left to the engine before a startup sweep may call it
 * expired: its acting window plus grace for clocks and a busy engine. The deadline is when it *starts*
 * acting, so sweeping at the deadline could remove it mid-restore and leave the target stopped.
 */
export const WATCHDOG_SWEEP_MARGIN_MS = WATCHDOG_ACTING_WINDOW_MS + 10_000;

/** The label naming the call a watchdog makes, so a sweep that removes it can make the call itself. */
export const WATCHDOG_ACTION_LABEL = "faultline.watchdog-action";

export type WatchdogAction = "unpause" | "start";

export interface WatchdogRequest {
  runId: string;
  faultId: string;
  targetContainerId: string;
  action: WatchdogAction;
  /** Epoch ms at which to act. */
  deadline: number;
}

/**
 * Sleeps until the deadline, then POSTs /containers/<id>/<action> (unversioned, so any engine accepts it),
 * retrying a few times; 204 (done), 304 (already started) and 409 (not paused any more) all mean "restored".
 */
const WATCHDOG_SCRIPT = String.raw`
use strict; use IO::Socket::UNIX; use Time::HiRes qw(time sleep);
my ($deadline, $path) = @ARGV;
my $wait = $deadline / 1000 - time; sleep($wait) if $wait > 0;
alarm(${WATCHDOG_ACTING_WINDOW_MS / 1000});
for my $try (1 .. ${WATCHDOG_TRIES}) {
  my $s = IO::Socket::UNIX->new(Peer => "/var/run/docker.sock", Type => SOCK_STREAM);
  if ($s) {
    print $s "POST $path HTTP/1.0\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n";
    my $status = <$s> // ""; close $s;
    print "watchdog: POST $path -> $status";
    exit 0 if $status =~ m{^HTTP/\S+ (204|304|409)};
  }
  sleep 1;
}
exit 1;
`;

/** The socket the engine is reached on, so the watchdog talks to the same engine faultline does. */
export function engineSocketPath(env: NodeJS.ProcessEnv = process.env): string {
  return env.DOCKER_HOST?.startsWith("unix://") ? env.DOCKER_HOST.slice(7) : "/var/run/docker.sock";
}

export function watchdogSpec(request: WatchdogRequest, socketPath = engineSocketPath()): HelperSpec {
  const path = `/containers/${request.targetContainerId}/${request.action}`;
  return {
    image: WATCHDOG_IMAGE,
    role: "watchdog",
    cmd: ["perl", "-e", WATCHDOG_SCRIPT, String(request.deadline), path],
    labels: {
      [LABELS.run]: request.runId,
      [LABELS.fault]: request.faultId,
      [LABELS.target]: request.targetContainerId,
      [LABELS.deadline]: String(request.deadline),
      [WATCHDOG_ACTION_LABEL]: request.action,
    },
    binds: [`${socketPath}:/var/run/docker.sock`],
    networkMode: "none",
    autoRemove: true,
  };
}

/**
 * What a watchdog container guards (pure): its target and the call it makes, from its labels or, for a
 * watchdog started before the action label existed, from the engine path in its command.
 */
export function watchdogGuard(helper: {
  labels: Record<string, string>;
  command?: string[];
}): { targetId: string; action: WatchdogAction } | undefined {
  const path = helper.command?.at(-1) ?? "";
  const fromPath = /^\/containers\/([^/]+)\/(unpause|start)$/.exec(path);
  const labelled = helper.labels[WATCHDOG_ACTION_LABEL];
  const action = isWatchdogAction(labelled) ? labelled : (fromPath?.[2] as WatchdogAction | undefined);
  const targetId = helper.labels[LABELS.target] ?? fromPath?.[1];
  return action && targetId ? { targetId, action } : undefined;
}

function isWatchdogAction(value: string | undefined): value is WatchdogAction {
  return value === "unpause" || value === "start";
}

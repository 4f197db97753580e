/**
 * The dead-man switch for lifecycle faults. A paused or stopped container stays that way if faultline
 * is SIGKILLed and never restarts, so each such fault gets a tiny labelled container that sleeps until
 * the fault's deadline and then asks the engine itself, over the mounted socket, to undo the fault.
 * The base image already ships perl with IO::Socket::UNIX, so no image has to be built or pulled.
 * The normal revert removes the watchdog once the target is restored; AutoRemove cleans up after it fires.
 */
import type { HelperSpec } from "../docker/types.js";
import { LABELS } from "../docker/types.js";

export const WATCHDOG_IMAGE = process.env.FAULTLINE_BASE_IMAGE ?? "debian:bookworm-slim";

/** How long after a fault's planned end the watchdog steps in: time for the normal revert to win. */
export const WATCHDOG_GRACE_MS = 5_000;

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
for my $try (1 .. 10) {
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
    },
    binds: [`${socketPath}:/var/run/docker.sock`],
    networkMode: "none",
    autoRemove: true,
  };
}

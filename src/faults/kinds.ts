/** The fault vocabulary: which faults there are and how one can be applied. */

export type FaultKind =
  | "stop"
  | "kill"
  | "pause"
  | "restart"
  | "latency"
  | "loss"
  | "bandwidth"
  | "partition"
  | "dns"
  | "http"
  | "cpu"
  | "memory";

/**
 * The shortest duration each kind can honour, declared once per family. Lifecycle faults may last 0 (a
 * bare restart); network rules need a moment to be installed and seen; stress-ng counts its --timeout in
 * whole seconds, so a shorter stress fault would outlive what the user asked for.
 */
export const MIN_FAULT_DURATION_MS: Readonly<Record<FaultKind, number>> = {
  stop: 0,
  kill: 0,
  pause: 0,
  restart: 0,
  latency: 100,
  loss: 100,
  bandwidth: 100,
  partition: 100,
  dns: 100,
  http: 100,
  cpu: 1_000,
  memory: 1_000,
};

/** How a fault was actually applied; reports say which, since the kernel decides what is possible. */
export type FaultMechanism =
  | "docker-api"
  | "tc-netem"
  | "tc-tbf"
  | "iptables-statistic"
  | "iptables-drop"
  | "delay-proxy"
  | "dns-block"
  | "dns-responder"
  | "http-proxy"
  | "stress-ng";

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

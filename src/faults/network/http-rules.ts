/**
 * The rule plan of an http fault (pure): iptables REDIRECT feeds the agent's HTTP proxy with the
 * target's incoming requests (nat PREROUTING, for its HTTP ports) or with its requests to named peers
 * (nat OUTPUT, the proxy's own uid excluded so its upstream connections pass). Ports the user did not name
 * are found by the agent before it applies anything: each command naming "{httpPort}" is repeated per
 * port. Nothing needs netem, and nothing is installed in the target.
 */
import { httpProbe } from "../../discovery/probes/http.js";
import { InvalidInputError } from "../../errors.js";
import type {
  FlowReset,
  Hook,
  HttpPortsSpec,
  HttpProxySpec,
  NetworkCapabilities,
  RulePlan,
  RulePlanInput,
} from "./rules.js";
import { chainCommands, chainPrefix } from "./rules.js";

/** The placeholder the agent replaces with each HTTP port (one command per port). */
export const HTTP_PORT = "{httpPort}";

/** How long the proxy lets exchanges in flight finish at revert before it closes their connections. */
const DRAIN_SECONDS = 2;

export function httpPlan(input: RulePlanInput): RulePlan {
  const { options: o, tag } = input;
  const http = o.http;
  if (!http) throw new InvalidInputError("an http fault without its http options");
  if (!input.caps.redirect || !input.caps.owner) {
    throw new InvalidInputError(
      "this kernel has no iptables REDIRECT/owner match: http faults are unavailable",
    );
  }
  const prefix = chainPrefix(tag);
  const peers = input.peerIps.length ? input.peerIps : [undefined];
  const redirect = (addr: "-s" | "-d", listener: string) =>
    peers.map((ip) => [
      "-p",
      "tcp",
      "-m",
      "tcp",
      ...(ip ? [addr, `${ip}/32`] : []),
      "--dport",
      HTTP_PORT,
      "-j",
      "REDIRECT",
      "--to-ports",
      `{${listener}}`,
    ]);
  const hooks: Hook[] =
    http.direction === "in"
      ? // Requests arriving at the target's HTTP port; its own calls to itself (loopback) never pass here.
        [{ table: "nat", builtin: "PREROUTING", chain: `${prefix}-P`, rules: redirect("-s", "inPort") }]
      : [
          {
            table: "nat",
            builtin: "OUTPUT",
            chain: `${prefix}-O`,
            rules: [
              ["-m", "owner", "--uid-owner", String(input.proxyUid), "-j", "RETURN"],
              ["-d", "127.0.0.0/8", "-j", "RETURN"],
              ...redirect("-d", "outPort"),
            ],
          },
        ];
  const proxy: HttpProxySpec = {
    mode: "http",
    faultId: input.faultId,
    listeners: [{ name: http.direction === "in" ? "inPort" : "outPort" }],
    select: {
      methods: http.methods,
      paths: http.paths.map((p) => p.regex),
      headers: http.headers.map((h) => ({ name: h.name, value: h.value ?? null })),
      percent: http.percent,
    },
    ...(http.status !== undefined ? { status: http.status } : {}),
    delayMs: http.delayMs,
    jitterMs: http.jitterMs,
    drainSeconds: DRAIN_SECONDS,
  };
  const httpPorts: HttpPortsSpec = o.ports.length
    ? { ports: o.ports }
    : {
        ports: [],
        detect:
          http.direction === "in"
            ? { hosts: [], candidates: [] }
            : {
                hosts: input.peerIps,
                candidates: [...new Set([...(input.httpCandidatePorts ?? []), ...httpProbe.portHints])].sort(
                  (a, b) => a - b,
                ),
              },
      };
  const resetFlows = httpFlowReset(http.direction, input.peerIps, input.caps);
  return {
    mechanism: "http-proxy",
    ...chainCommands(input.faultId, hooks, []),
    proxy,
    httpPorts,
    ...(resetFlows ? { resetFlows } : {}),
  };
}

/**
 * REDIRECT acts on a connection's first packet: keep-alive connections opened before the fault would
 * never see it. Those in scope are reset so their clients reconnect through the proxy: incoming ones on
 * the HTTP port (from the peers, when named), or outgoing ones to the peers' HTTP port. Sockets are
 * destroyed where the kernel allows; else their conntrack entries go (by port: on such kernels an
 * incoming fault also resets the target's own calls to that port elsewhere).
 */
export function httpFlowReset(
  direction: "in" | "out",
  peerIps: string[],
  caps: NetworkCapabilities,
): FlowReset | undefined {
  const side = direction === "in" ? "sport" : "dport";
  if (caps.sockDestroy) {
    const peers = peerIps.length
      ? ["and", "(", ...peerIps.flatMap((ip, i) => [...(i ? ["or"] : []), "dst", `${ip}/32`]), ")"]
      : [];
    return {
      method: "sock-destroy",
      commands: [
        [
          ...["ss", "-K", "-4", "-t", "-n", "-H", "state", "established"],
          ...["(", side, "=", `:${HTTP_PORT}`, ")", ...peers, "and", "not", "dst", "127.0.0.0/8"],
        ],
      ],
    };
  }
  if (caps.conntrackDelete) {
    const ct = ["conntrack", "-D", "-p", "tcp", "--state", "ESTABLISHED", "--orig-port-dst", HTTP_PORT];
    const addr = direction === "in" ? "--orig-src" : "--orig-dst";
    return {
      method: "conntrack-delete",
      commands: peerIps.length ? peerIps.map((ip) => [...ct, addr, ip]) : [ct],
    };
  }
  return undefined;
}

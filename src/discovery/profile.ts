/** What discovery learns about one service. Plain data: the graph, planner and reports read it. */
import type { ContainerState, HealthInfo, NetworkAttachment, TransportProtocol } from "../docker/types.js";

export type ServiceKind =
  | "postgresql"
  | "mysql"
  | "redis"
  | "mongodb"
  | "rabbitmq"
  | "kafka"
  | "nats"
  | "mqtt"
  | "memcached"
  | "elasticsearch"
  | "smtp"
  | "grpc"
  | "http"
  | "tcp"
  | "worker"
  | "client"
  | "unknown";

/** Protocol recognised on one port by an active probe (or `nmap -sV` with --deep). */
export type ProbedProtocol =
  | "http"
  | "http2"
  | "grpc"
  | "redis"
  | "postgresql"
  | "mysql"
  | "mongodb"
  | "amqp"
  | "mqtt"
  | "nats"
  | "memcached"
  | "elasticsearch"
  | "kafka"
  | "smtp"
  | "banner"
  | "unknown";

export interface PortProfile {
  port: number;
  protocol: TransportProtocol;
  /** declared: in the image/compose (EXPOSE, ports); listening: found in the socket table or by connect. */
  source: "declared" | "listening" | "both";
  /** Address the socket is bound to when known ("0.0.0.0", "127.0.0.1", "::"). */
  bindAddress?: string;
  probe?: {
    protocol: ProbedProtocol;
    /** What the reply looked like, e.g. "+PONG" or "HTTP/1.1 200" (never secrets). */
    detail: string;
    latencyMs: number;
    via: "probe" | "nmap";
    /**
     * Set when `protocol` is "unknown": what the port did instead of matching, e.g. "no reply within
     * 1000 ms", "unrecognised binary greeting", "closed without a reply".
     */
    reason?: string;
  };
}

export interface HttpEndpoint {
  port: number;
  path: string;
  status: number;
  latencyMs: number;
  contentType?: string;
  /** `/metrics` answered in Prometheus text exposition format. */
  prometheus?: boolean;
}

/** A reference to another place found in an environment variable. */
export interface EnvReference {
  variable: string;
  /** Value with secrets masked, safe to print. */
  value: string;
  host: string;
  port?: number;
  scheme?: string;
  /** url, host-port, dsn, hostname, ip */
  form: "url" | "host-port" | "dsn" | "hostname" | "ip";
}

/** A live TCP connection seen in the container's socket table. */
export interface ConnectionObservation {
  localAddress: string;
  localPort: number;
  remoteAddress: string;
  remotePort: number;
  state: "established" | "syn-sent" | "time-wait" | "close-wait" | "other";
  /** inbound: the local port is one this container listens on; outbound: it opened the connection. */
  direction?: "inbound" | "outbound";
}

export interface ClassificationSignal {
  source: "probe" | "port" | "image" | "log" | "command" | "env" | "behaviour";
  kind: ServiceKind;
  weight: number;
  detail: string;
}

export interface Classification {
  kind: ServiceKind;
  confidence: number;
  signals: ClassificationSignal[];
}

export interface ServiceProfile {
  /** Stable id: the compose service name, else the container name. */
  id: string;
  containerId: string;
  containerName: string;
  compose?: { project: string; service: string };
  image: string;
  command: string[];
  state: ContainerState;
  restartPolicy: string;
  health: HealthInfo;
  labels: Record<string, string>;
  networks: NetworkAttachment[];
  hostname: string;
  ports: PortProfile[];
  endpoints: HttpEndpoint[];
  /** All env vars as KEY=value with secret values masked. */
  env: Record<string, string>;
  envReferences: EnvReference[];
  connections: ConnectionObservation[];
  /** Hosts, IPs and URLs mentioned in recent logs (raw tokens, resolved by the graph builder). */
  logMentions: string[];
  classification: Classification;
  /** Things that went wrong while profiling (timeouts, container vanished, binary logs …). */
  notes: string[];
  /**
   * Present when the container changed state while it was being profiled (stopped, was removed: "gone").
   * `state` is then the state at the end; what was read after the change may be incomplete.
   */
  stateChange?: { from: ContainerState; to: ContainerState; exitCode?: number };
}

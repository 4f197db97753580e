/** Plain-words descriptions of errors: "storefront: timeouts on HTTP calls to sessions (37 in 20 s)". */
import type { ServiceKind } from "../discovery/profile.js";
import type { ClientError, ErrorClassName, ErrorCount, ImpactedService } from "./types.js";

const NOUN: Record<ErrorClassName, string> = {
  timeout: "timeouts",
  refused: "refused or reset connections",
  dns: "DNS failures",
  http5xx: "HTTP 5xx errors",
  auth: "authentication failures",
  oom: "out-of-memory errors",
  crash: "crashes / stack traces",
  error: "errors",
};

const PROTOCOL: Partial<Record<ServiceKind, string>> = {
  http: "HTTP",
  grpc: "gRPC",
  postgresql: "PostgreSQL",
  mysql: "MySQL",
  redis: "Redis",
  mongodb: "MongoDB",
  rabbitmq: "AMQP",
  kafka: "Kafka",
  nats: "NATS",
  mqtt: "MQTT",
  memcached: "memcached",
  elasticsearch: "Elasticsearch",
  smtp: "SMTP",
};

export function errorClassNoun(cls: ErrorClassName): string {
  return NOUN[cls];
}

export function describeErrors(
  service: string,
  error: ErrorCount,
  windowSeconds: number,
  kindOf: (id: string) => ServiceKind | undefined,
): string {
  const secs = Math.max(1, Math.round(windowSeconds));
  const tail = `(${error.count} in ${secs} s)`;
  if (!error.peer) return `${service}: ${NOUN[error.class]} ${tail}`;
  const proto = PROTOCOL[kindOf(error.peer) ?? "unknown"];
  const calls = proto ? `on ${proto} calls to ${error.peer}` : `talking to ${error.peer}`;
  return `${service}: ${NOUN[error.class]} ${calls} ${tail}`;
}

/**
 * How an impacted service is linked to the fault's target: "direct", "transitive: cache → app → gate",
 * "transitive, a dependency", "hidden".
 */
export function describeVia(i: Pick<ImpactedService, "via" | "side" | "path">): string {
  const via = i.side === "dependency" ? `${i.via}, a dependency` : i.via;
  return i.path && i.path.length > 2 ? `${via}: ${i.path.join(" → ")}` : via;
}

/** "gate: clients saw HTTP 5xx errors from gate (web: 12, cron: 3)". */
export function describeClientErrors(service: string, errors: readonly ClientError[]): string {
  const byClass = new Map<ErrorClassName, ClientError[]>();
  for (const e of errors) byClass.set(e.class, [...(byClass.get(e.class) ?? []), e]);
  const parts = [...byClass].map(
    ([cls, list]) =>
      `${NOUN[cls]} from ${service} (${list.map((e) => `${e.client}: ${e.count}`).join(", ")})`,
  );
  return `${service}: clients saw ${parts.join("; ")}`;
}

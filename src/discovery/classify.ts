/**
 * What kind of service a container is, from everything discovery saw. Probe replies weigh most, then
 * well-known ports it really listens on, then the image name (and the command), then log patterns;
 * behaviour decides for containers that listen on nothing. Pure.
 */
import type {
  Classification,
  ClassificationSignal,
  ConnectionObservation,
  EnvReference,
  PortProfile,
  ProbedProtocol,
  ServiceKind,
} from "./profile.js";
import type { LogVerdict } from "./log-classifier.js";

export const WEIGHTS = {
  probe: 1.0,
  /** HTTP next to a datastore/broker protocol is usually its management or metrics port. */
  probeHttp: 0.9,
  probeGeneric: 0.5,
  nmap: 0.8,
  /** A listening (not merely declared) well-known port: what the process does, but ports get reused. */
  port: 0.5,
  /** Names are chosen by people: a strong hint, not proof (and a tool named after a server is no server). */
  image: 0.4,
  command: 0.35,
  /** Scaled by the share of voting lines; logs mention other services as much as their own. */
  log: 0.3,
  behaviour: 0.6,
} as const;

const PROTOCOL_KIND: Record<ProbedProtocol, ServiceKind | undefined> = {
  http: "http",
  http2: "http",
  grpc: "grpc",
  redis: "redis",
  postgresql: "postgresql",
  mysql: "mysql",
  mongodb: "mongodb",
  amqp: "rabbitmq",
  mqtt: "mqtt",
  nats: "nats",
  memcached: "memcached",
  elasticsearch: "elasticsearch",
  kafka: "kafka",
  smtp: "smtp",
  banner: "tcp",
  unknown: undefined,
};

const WELL_KNOWN_PORTS: Record<number, ServiceKind> = {
  5432: "postgresql",
  3306: "mysql",
  6379: "redis",
  27017: "mongodb",
  5672: "rabbitmq",
  9092: "kafka",
  4222: "nats",
  1883: "mqtt",
  11211: "memcached",
  9200: "elasticsearch",
  25: "smtp",
  587: "smtp",
  80: "http",
  8080: "http",
  8000: "http",
  3000: "http",
  5000: "http",
  50051: "grpc",
};

/** Words of an image or program name that name the server itself. */
const SERVER_WORDS: [RegExp, ServiceKind][] = [
  [/^(postgres|postgresql|postgis|pgvector|timescaledb)$/, "postgresql"],
  [/^(mysql|mysqld|mariadb|mariadbd|percona)$/, "mysql"],
  [/^(redis|redis-server|redis-stack-server|keydb|valkey|valkey-server|dragonfly)$/, "redis"],
  [/^(mongo|mongod|mongodb)$/, "mongodb"],
  [/^(rabbitmq|rabbitmq-server)$/, "rabbitmq"],
  [/^(kafka|cp-kafka|redpanda|kafka-server-start(\.sh)?)$/, "kafka"],
  [/^(nats|nats-server)$/, "nats"],
  [/^(mosquitto|eclipse-mosquitto|emqx|vernemq|hivemq)$/, "mqtt"],
  [/^(memcached)$/, "memcached"],
  [/^(elasticsearch|opensearch)$/, "elasticsearch"],
  [/^(exim|exim4|postfix|mailhog|mailpit|smtpd|opensmtpd)$/, "smtp"],
  [
    /^(nginx|httpd|apache2|caddy|traefik|envoy|haproxy|gunicorn|uvicorn|hypercorn|puma|unicorn|tomcat|jetty|node-red)$/,
    "http",
  ],
];

/** Words that turn a server name into a tool around it: "postgres-exporter", "redis-cli", "mongo-express". */
const TOOL_WORDS =
  /^(exporter|cli|client|ui|admin|commander|insight|express|operator|backup|dump|restore|migrate|migrations|dashboard|sidecar|proxy|bouncer|pgbouncer|pgadmin|pgadmin4|init|setup|tools|manager|console|web|gui|connect|rest|schema|registry|monitor|healthcheck|psql)$/;

/** "registry.example.com/bitnami/postgresql:16-debian" -> ["postgresql"]; "prom/postgres-exporter" -> ["postgres", "exporter"]. */
export function imageBase(name: string): string {
  const withoutTag = name.replace(/@sha256:[0-9a-f]+$/, "").replace(/:[^/:]*$/, "");
  return withoutTag.slice(withoutTag.lastIndexOf("/") + 1).toLowerCase();
}

export function nameWords(name: string): string[] {
  return imageBase(name).split(/[-_.]/).filter(Boolean);
}

/** The server kind a name denotes, unless another word marks it as a tool for that server. */
export function kindFromName(name: string): ServiceKind | undefined {
  const base = imageBase(name);
  const words = nameWords(name);
  if (words.some((w) => TOOL_WORDS.test(w))) return undefined;
  for (const [pattern, kind] of SERVER_WORDS) {
    if (pattern.test(base) || words.some((w) => pattern.test(w))) return kind;
  }
  return undefined;
}

/** The program the container runs: the first argv entries that are not shells, interpreters or wrappers. */
export function commandKind(argv: string[]): ServiceKind | undefined {
  const programs = argv
    .flatMap((a) => a.split(/\s+/))
    .slice(0, 6)
    .map((a) => a.slice(a.lastIndexOf("/") + 1))
    .filter((a) => a && !a.startsWith("-"));
  // `python -m http.server`, `python -m uvicorn app:app`
  if (/-m (http\.server|uvicorn|gunicorn|flask|hypercorn)\b/.test(argv.join(" "))) return "http";
  for (const p of programs) {
    if (
      /^(sh|bash|dash|tini|dumb-init|gosu|su-exec|exec|env|docker-entrypoint\.sh|entrypoint\.sh|python3?|node|java)$/.test(
        p,
      )
    ) {
      continue;
    }
    return kindFromName(p);
  }
  return undefined;
}

export interface ClassificationInput {
  ports: PortProfile[];
  image: string;
  command: string[];
  logVerdict?: LogVerdict;
  connections: ConnectionObservation[];
  envReferences: EnvReference[];
}

const WEB_PORTS = new Set([80, 443, 3000, 5000, 8000, 8080, 8081, 8443, 8888, 9000]);

export function collectSignals(input: ClassificationInput): ClassificationSignal[] {
  const signals: ClassificationSignal[] = [];
  for (const p of input.ports) {
    const kind = p.probe ? PROTOCOL_KIND[p.probe.protocol] : undefined;
    if (p.probe && kind) {
      const weight =
        p.probe.via === "nmap"
          ? WEIGHTS.nmap
          : kind === "http"
            ? WEIGHTS.probeHttp
            : kind === "tcp"
              ? WEIGHTS.probeGeneric
              : WEIGHTS.probe;
      signals.push({ source: "probe", kind, weight, detail: `${p.port}/${p.protocol}: ${p.probe.detail}` });
    } else if (p.source !== "declared" && WELL_KNOWN_PORTS[p.port] && p.protocol === "tcp") {
      signals.push({
        source: "port",
        kind: WELL_KNOWN_PORTS[p.port]!,
        weight: WEIGHTS.port,
        detail: `listens on ${p.port}`,
      });
    }
  }
  const imageKind = kindFromName(input.image);
  if (imageKind)
    signals.push({ source: "image", kind: imageKind, weight: WEIGHTS.image, detail: input.image });
  const cmdKind = commandKind(input.command);
  if (cmdKind) {
    signals.push({
      source: "command",
      kind: cmdKind,
      weight: WEIGHTS.command,
      detail: input.command.slice(0, 4).join(" "),
    });
  }
  if (input.logVerdict) {
    const v = input.logVerdict;
    signals.push({
      source: "log",
      kind: v.kind,
      weight: round(WEIGHTS.log * v.share),
      detail: `${v.votingLines} log lines look like ${v.label} (${Math.round(v.share * 100)}%)`,
    });
  }
  const listens = input.ports.some((p) => p.source !== "declared");
  if (!listens) {
    const outbound = input.connections.filter((c) => c.direction !== "inbound");
    const targets = [...outbound.map((c) => c.remotePort), ...input.envReferences.map((r) => r.port ?? 0)];
    if (outbound.length || input.envReferences.length) {
      const web = targets.some((t) => WEB_PORTS.has(t)) || input.envReferences.some((r) => r.form === "url");
      signals.push({
        source: "behaviour",
        kind: web ? "client" : "worker",
        weight: WEIGHTS.behaviour,
        detail: `listens on nothing, ${outbound.length} outgoing connection(s), ${input.envReferences.length} reference(s)`,
      });
    }
  }
  return signals;
}

/** Sums the strongest signal of each source per kind, so ten HTTP ports do not outvote one clear probe. */
export function classify(input: ClassificationInput): Classification {
  const signals = collectSignals(input);
  const perKind = new Map<ServiceKind, Map<string, number>>();
  for (const s of signals) {
    const bySource = perKind.get(s.kind) ?? new Map<string, number>();
    bySource.set(s.source, Math.max(bySource.get(s.source) ?? 0, s.weight));
    perKind.set(s.kind, bySource);
  }
  const scores = [...perKind.entries()]
    .map(([kind, bySource]) => ({ kind, score: [...bySource.values()].reduce((a, w) => a + w, 0) }))
    .sort((a, b) => b.score - a.score);
  const top = scores[0];
  if (!top) {
    const listens = input.ports.some((p) => p.source !== "declared");
    return { kind: listens ? "tcp" : "unknown", confidence: listens ? 0.2 : 0, signals };
  }
  const total = scores.reduce((a, s) => a + s.score, 0);
  const confidence = Math.min(0.99, (top.score / total) * Math.min(1, top.score));
  return { kind: top.kind, confidence: round(confidence), signals };
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}

/** Hand-written ServiceProfile fixtures for pure tests (graph, planner, reports): realistic, no Docker. */
import type {
  ConnectionObservation,
  EnvReference,
  PortProfile,
  ServiceKind,
  ServiceProfile,
} from "../../src/discovery/profile.js";
import type { NetworkAttachment } from "../../src/docker/types.js";

export interface ProfileSpec {
  project?: string;
  containerName?: string;
  hostname?: string;
  kind?: ServiceKind;
  kindConfidence?: number;
  /** Network name -> ip (aliases default to the service name, as compose does). */
  networks?: Record<string, string | { ip: string; aliases: string[] }>;
  /** TCP ports seen listening. */
  ports?: (number | PortProfile)[];
  env?: EnvReference[];
  connections?: ConnectionObservation[];
  logMentions?: string[];
  endpoints?: ServiceProfile["endpoints"];
}

export function makeProfile(service: string, spec: ProfileSpec = {}): ServiceProfile {
  const project = spec.project;
  const containerName = spec.containerName ?? (project ? `${project}-${service}-1` : service);
  const networks: NetworkAttachment[] = Object.entries(spec.networks ?? {}).map(([name, v], i) => ({
    name,
    networkId: `net${i}${name}`.padEnd(12, "0"),
    ip: typeof v === "string" ? v : v.ip,
    aliases: typeof v === "string" ? (project ? [service] : []) : v.aliases,
  }));
  const kind = spec.kind ?? "unknown";
  return {
    id: project ? service : containerName,
    containerId: `${containerName}`.padEnd(64, "0"),
    containerName,
    ...(project ? { compose: { project, service } } : {}),
    image: `example/${service}:latest`,
    command: [],
    state: "running",
    restartPolicy: "no",
    health: { status: "none", failingStreak: 0, test: [] },
    labels: project ? { "com.docker.compose.project": project, "com.docker.compose.service": service } : {},
    networks,
    hostname: spec.hostname ?? containerName.slice(0, 12),
    ports: (spec.ports ?? []).map((p) =>
      typeof p === "number" ? { port: p, protocol: "tcp", source: "listening", bindAddress: "0.0.0.0" } : p,
    ),
    endpoints: spec.endpoints ?? [],
    env: Object.fromEntries((spec.env ?? []).map((r) => [r.variable, r.value])),
    envReferences: spec.env ?? [],
    connections: spec.connections ?? [],
    logMentions: spec.logMentions ?? [],
    classification: { kind, confidence: spec.kindConfidence ?? 0.9, signals: [] },
    notes: [],
  };
}

export function urlRef(variable: string, url: string): EnvReference {
  const u = new URL(url);
  return {
    variable,
    value: u.password ? url.replace(`:${u.password}@`, ":****@") : url,
    host: u.hostname,
    ...(u.port ? { port: Number(u.port) } : {}),
    scheme: u.protocol.replace(/:$/, ""),
    form: "url",
  };
}

export function hostRef(variable: string, host: string, port?: number): EnvReference {
  return {
    variable,
    value: port !== undefined ? `${host}:${port}` : host,
    host,
    ...(port !== undefined ? { port } : {}),
    form: port !== undefined ? "host-port" : "hostname",
  };
}

export function established(local: string, remote: string): ConnectionObservation {
  const [la, lp] = local.split(":");
  const [ra, rp] = remote.split(":");
  return {
    localAddress: la!,
    localPort: Number(lp),
    remoteAddress: ra!,
    remotePort: Number(rp),
    state: "established",
  };
}

/**
 * A 3-tier compose stack with non-obvious names: `storefront` (client) -> `gateway` (http :8000) ->
 * `kv` (redis :6379) and `ledger` (postgresql :5432). Two networks: edge (client, web) and data (web, stores).
 * Each side of each live connection is seen, as in real socket tables.
 */
export function threeTierStack(project = "shop"): ServiceProfile[] {
  return [
    makeProfile("storefront", {
      project,
      kind: "client",
      networks: { [`${project}_edge`]: "172.20.0.5" },
      env: [urlRef("TARGET_URL", "http://gateway:8000/")],
      connections: [established("172.20.0.5:40112", "172.20.0.3:8000")],
      logMentions: ["http://gateway:8000/items"],
    }),
    makeProfile("gateway", {
      project,
      kind: "http",
      ports: [8000],
      networks: { [`${project}_edge`]: "172.20.0.3", [`${project}_data`]: "172.21.0.4" },
      env: [
        urlRef("CACHE_URL", "redis://kv:6379/0"),
        urlRef("DATABASE_URL", "postgres://app:****@ledger:5432/orders"),
      ],
      connections: [
        established("172.20.0.3:8000", "172.20.0.5:40112"),
        established("172.21.0.4:51234", "172.21.0.2:6379"),
        established("172.21.0.4:51240", "172.21.0.3:5432"),
      ],
      logMentions: ["172.20.0.5"],
    }),
    makeProfile("kv", {
      project,
      kind: "redis",
      ports: [6379],
      networks: { [`${project}_data`]: "172.21.0.2" },
      connections: [established("172.21.0.2:6379", "172.21.0.4:51234")],
    }),
    makeProfile("ledger", {
      project,
      kind: "postgresql",
      ports: [5432],
      networks: { [`${project}_data`]: "172.21.0.3" },
      connections: [established("172.21.0.3:5432", "172.21.0.4:51240")],
      logMentions: ["172.21.0.4"],
    }),
  ];
}

/**
 * A compose service as the monitor's peer map sees it: one address on the project's default network,
 * container id `<id>-cid` (what a fake engine keys on), hostname `<id>host`.
 */
export function addressedProfile(
  id: string,
  ip: string,
  options: { project?: string; aliases?: string[] } = {},
): ServiceProfile {
  const project = options.project ?? "stack";
  return {
    ...makeProfile(id, {
      project,
      hostname: `${id}host`,
      networks: { [`${project}_default`]: { ip, aliases: options.aliases ?? [] } },
    }),
    containerId: `${id}-cid`,
  };
}

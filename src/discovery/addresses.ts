/** Small pure predicates about hosts and addresses shared by env and log parsing. */

export const DEFAULT_PORTS: Record<string, number> = {
  http: 80,
  https: 443,
  ws: 80,
  wss: 443,
  postgres: 5432,
  postgresql: 5432,
  mysql: 3306,
  mariadb: 3306,
  redis: 6379,
  rediss: 6379,
  mongodb: 27017,
  amqp: 5672,
  amqps: 5671,
  nats: 4222,
  mqtt: 1883,
  mqtts: 8883,
  tcp: 0,
  kafka: 9092,
  memcached: 11211,
  smtp: 25,
  grpc: 0,
  elasticsearch: 9200,
  ftp: 21,
  ldap: 389,
};

/** Schemes whose URLs are connection strings to a datastore or broker rather than web addresses. */
export const DSN_SCHEMES = new Set([
  "postgres",
  "postgresql",
  "mysql",
  "mariadb",
  "redis",
  "rediss",
  "mongodb",
  "mongodb+srv",
  "amqp",
  "amqps",
  "nats",
  "mqtt",
  "mqtts",
  "kafka",
  "memcached",
  "sqlserver",
  "clickhouse",
  "cassandra",
]);

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

export function isIPv4(text: string): boolean {
  return IPV4.test(text);
}

export function isIPv6(text: string): boolean {
  return text.includes(":") && /^[0-9a-f:.]+$/i.test(text) && (text.match(/:/g)?.length ?? 0) >= 2;
}

/** RFC 1123 host name (labels of letters, digits, hyphens; underscores tolerated as compose allows them). */
export function isHostname(text: string): boolean {
  if (text.length === 0 || text.length > 253) return false;
  return text.split(".").every((label) => /^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$/i.test(label));
}

const FILE_EXTENSIONS = new Set(
  "py js mjs cjs ts tsx jsx go java kt scala rb c h cc cpp hpp rs php cs ex exs erl lua pl sh conf json yaml yml xml log txt html htm css ini toml cfg class jar so sql md pem crt key lock pid sock db rdb".split(
    " ",
  ),
);

/** A dotted name that is likely a host ("api.internal", "db.example.com"), not a file ("app.py"). */
export function isDottedHostname(text: string): boolean {
  if (!text.includes(".") || !isHostname(text) || isIPv4(text)) return false;
  const last = text.slice(text.lastIndexOf(".") + 1).toLowerCase();
  return /^[a-z][a-z-]*$/.test(last) && !FILE_EXTENSIONS.has(last);
}

export function validPort(n: number): boolean {
  return Number.isInteger(n) && n > 0 && n <= 65535;
}

/** Splits "host:port", "[v6]:port" or "host"; undefined when it is neither. */
export function splitHostPort(text: string): { host: string; port?: number } | undefined {
  const v6 = /^\[([0-9a-f:.]+)\](?::(\d{1,5}))?$/i.exec(text);
  if (v6) {
    const port = v6[2] ? Number(v6[2]) : undefined;
    return port === undefined || validPort(port) ? { host: v6[1] ?? "", port } : undefined;
  }
  const m = /^([^:/\s]+)(?::(\d{1,5}))?$/.exec(text);
  if (!m) return undefined;
  const port = m[2] ? Number(m[2]) : undefined;
  if (port !== undefined && !validPort(port)) return undefined;
  return { host: m[1] ?? "", port };
}

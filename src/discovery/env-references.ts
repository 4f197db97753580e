/**
 * References to other places found in environment variables: URLs, DSNs (URL and key=value forms),
 * host:port lists, bare IPs, and host names that name another service. Values are masked before
 * they are kept. Pure.
 */
import { maskEnvValue } from "../util/secrets.js";
import type { EnvReference } from "./profile.js";
import {
  DEFAULT_PORTS,
  DSN_SCHEMES,
  isDottedHostname,
  isHostname,
  isIPv4,
  splitHostPort,
  validPort,
} from "./addresses.js";

/** Variables that describe the container itself or the toolchain, never a peer. */
const IGNORED =
  /^(PATH|HOME|PWD|OLDPWD|HOSTNAME|SHLVL|TERM|LANG|LC_\w+|TZ|USER|SHELL|GPG_KEY|\w+_(VERSION|SHA256|SHA1|MD5|CHECKSUM))$/i;
const HOST_VARIABLE = /(^|_)(HOST|HOSTNAME|SERVER|ADDR|ADDRESS|ENDPOINT|BROKERS?|NODES?|SERVERS|HOSTS)$/i;
const URL_IN_TEXT = /\b([a-z][a-z0-9+.-]*):\/\/([^\s,;'"<>]+(?:,[^\s;'"<>/]+)*)/gi;

export function parseEnvEntries(env: string[]): [string, string][] {
  return env.map((entry) => {
    const eq = entry.indexOf("=");
    return eq < 0 ? [entry, ""] : [entry.slice(0, eq), entry.slice(eq + 1)];
  });
}

export function maskEnv(env: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of parseEnvEntries(env)) out[name] = maskEnvValue(name, value);
  return out;
}

/** Hosts (and their ports) of one URL's authority; mongodb-style "h1:1,h2:2" lists give several. */
export function urlHosts(scheme: string, rest: string): { host: string; port?: number }[] {
  const authority = rest.split(/[/?#]/)[0] ?? "";
  const hostPart = authority.includes("@") ? authority.slice(authority.lastIndexOf("@") + 1) : authority;
  const defaultPort = DEFAULT_PORTS[scheme.toLowerCase()] || undefined;
  return hostPart
    .split(",")
    .map((h) => splitHostPort(h))
    .filter((h): h is { host: string; port?: number } => h !== undefined && h.host.length > 0)
    .map((h) => ({ host: h.host.toLowerCase(), port: h.port ?? defaultPort }));
}

/** "host=db port=5432 user=app password=x" (libpq), also "Server=db;Port=5432" (ADO.NET). */
export function keyValueDsn(value: string): { host: string; port?: number } | undefined {
  const pairs = new Map<string, string>();
  for (const m of value.matchAll(/([A-Za-z_ ]+?)\s*=\s*('[^']*'|[^\s;]+)/g)) {
    pairs.set((m[1] ?? "").trim().toLowerCase(), (m[2] ?? "").replace(/^'|'$/g, ""));
  }
  const host = pairs.get("host") ?? pairs.get("hostname") ?? pairs.get("server") ?? pairs.get("data source");
  if (!host || pairs.size < 2) return undefined;
  // SQL Server writes "host,port".
  const [hostText = host, commaPort] = host.split(",");
  const hp = splitHostPort(hostText);
  if (!hp || !(isHostname(hp.host) || isIPv4(hp.host))) return undefined;
  const port = Number(pairs.get("port") ?? commaPort);
  return { host: hp.host.toLowerCase(), port: validPort(port) ? port : hp.port };
}

export interface EnvReferenceOptions {
  /** Names, aliases and hostnames of the services in scope (a bare value matching one is a reference). */
  knownHosts?: Iterable<string>;
}

export function parseEnvReferences(env: string[], options: EnvReferenceOptions = {}): EnvReference[] {
  const known = new Set([...(options.knownHosts ?? [])].map((h) => h.toLowerCase()));
  const entries = parseEnvEntries(env).filter(([name]) => !IGNORED.test(name));
  const values = new Map(entries);
  const refs: EnvReference[] = [];
  const seen = new Set<string>();
  const add = (variable: string, raw: string, ref: Omit<EnvReference, "variable" | "value">) => {
    const key = `${variable}|${ref.host}|${ref.port ?? ""}`;
    if (seen.has(key)) return;
    seen.add(key);
    refs.push({ variable, value: maskEnvValue(variable, raw), ...ref });
  };
  for (const [name, value] of entries) {
    if (!value || value.length > 4096) continue;
    let found = false;
    for (const m of value.matchAll(URL_IN_TEXT)) {
      const scheme = (m[1] ?? "").toLowerCase();
      if (scheme === "file" || scheme === "unix") continue;
      for (const h of urlHosts(scheme, m[2] ?? "")) {
        add(name, value, {
          host: h.host,
          port: h.port,
          scheme,
          form: DSN_SCHEMES.has(scheme) ? "dsn" : "url",
        });
        found = true;
      }
    }
    if (found) continue;
    const kv = /\b(host|server|hostname|data source)\s*=/i.test(value) ? keyValueDsn(value) : undefined;
    if (kv) {
      add(name, value, { host: kv.host, port: kv.port, form: "dsn" });
      continue;
    }
    for (const token of value.split(/[\s,;]+/).filter(Boolean)) {
      const hp = splitHostPort(token);
      if (!hp) continue;
      const host = hp.host.toLowerCase();
      if (host === "0.0.0.0" || host === "localhost" || host === "::") continue;
      if (hp.port !== undefined) {
        if (
          isIPv4(host) ||
          known.has(host) ||
          isDottedHostname(host) ||
          (HOST_VARIABLE.test(name) && isHostname(host) && /[a-z]/.test(host))
        ) {
          add(name, value, { host, port: hp.port, form: "host-port" });
        }
      } else if (isIPv4(host)) {
        add(name, value, { host, port: siblingPort(name, values), form: "ip" });
      } else if (known.has(host) || (HOST_VARIABLE.test(name) && isHostname(host) && /[a-z]/.test(host))) {
        add(name, value, { host, port: siblingPort(name, values), form: "hostname" });
      }
    }
  }
  return refs;
}

/** DB_HOST=db goes with DB_PORT=5432. */
function siblingPort(name: string, values: Map<string, string>): number | undefined {
  const prefix = name.replace(/(HOST|HOSTNAME|SERVER|ADDR|ADDRESS)$/i, "");
  if (prefix === name) return undefined;
  const port = Number(values.get(`${prefix}PORT`));
  return validPort(port) ? port : undefined;
}

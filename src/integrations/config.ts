/**
 * Which optional monitoring back-ends are configured, read from the environment. Each one is used only
 * when its URL is set; a malformed setting disables that back-end with a reason (never fatal: the
 * embedded Docker-only monitor is always there).
 */

export type HttpAuth =
  | { kind: "bearer"; token: string }
  | { kind: "basic"; user: string; password: string }
  | { kind: "apiKey"; apiKey: string };

export interface GrafanaConfig {
  url: string;
  auth: HttpAuth;
  timeoutMs: number;
  /** Pin annotations to one dashboard (otherwise they are organisation-wide, shown by tag). */
  dashboardUid?: string;
}

export interface PrometheusConfig {
  url: string;
  auth?: HttpAuth;
  timeoutMs: number;
  /** The label that names a service on scraped series (faultline's HTTP SD sets `service`). */
  serviceLabel: string;
  /** Range of rate() / histogram windows, in Prometheus duration syntax. */
  rateWindow: string;
}

export interface ElasticsearchConfig {
  url: string;
  auth?: HttpAuth;
  timeoutMs: number;
  /** Index pattern Logstash writes to. */
  index: string;
  /** Log lines fetched per service and window for classification. */
  maxLines: number;
}

export interface IntegrationsConfig {
  grafana?: GrafanaConfig;
  prometheus?: PrometheusConfig;
  elasticsearch?: ElasticsearchConfig;
  /** Settings that were present but unusable, in words. */
  problems: string[];
}

type Env = Record<string, string | undefined>;

const DEFAULT_TIMEOUT_MS = 5000;

export function integrationsConfig(env: Env = process.env): IntegrationsConfig {
  const problems: string[] = [];
  const out: IntegrationsConfig = { problems };
  const timeoutMs = positiveInt(env.FAULTLINE_INTEGRATION_TIMEOUT_MS, DEFAULT_TIMEOUT_MS, problems);

  const grafanaUrl = baseUrl("GRAFANA_URL", env, problems);
  if (grafanaUrl) {
    const auth = authFrom(env, "GRAFANA_TOKEN", "GRAFANA_USER", "GRAFANA_PASSWORD");
    if (!auth)
      problems.push(
        "GRAFANA_URL is set but neither GRAFANA_TOKEN nor GRAFANA_USER and GRAFANA_PASSWORD: annotations disabled",
      );
    else
      out.grafana = {
        url: grafanaUrl,
        auth,
        timeoutMs,
        ...(env.GRAFANA_DASHBOARD_UID ? { dashboardUid: env.GRAFANA_DASHBOARD_UID } : {}),
      };
  }

  const promUrl = baseUrl("PROMETHEUS_URL", env, problems);
  if (promUrl) {
    const auth = authFrom(env, "PROMETHEUS_TOKEN", "PROMETHEUS_USER", "PROMETHEUS_PASSWORD");
    const label = env.PROMETHEUS_SERVICE_LABEL ?? "service";
    const window = env.PROMETHEUS_RATE_WINDOW ?? "30s";
    if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(label))
      problems.push(
        `PROMETHEUS_SERVICE_LABEL "${label}" is not a Prometheus label name: Prometheus disabled`,
      );
    else if (!/^(\d+(ms|s|m|h))+$/.test(window))
      problems.push(
        `PROMETHEUS_RATE_WINDOW "${window}" is not a Prometheus duration (e.g. 30s): Prometheus disabled`,
      );
    else
      out.prometheus = {
        url: promUrl,
        ...(auth ? { auth } : {}),
        timeoutMs,
        serviceLabel: label,
        rateWindow: window,
      };
  }

  const esUrl = baseUrl("ELASTICSEARCH_URL", env, problems);
  if (esUrl) {
    const apiKey = env.ELASTICSEARCH_API_KEY;
    const auth: HttpAuth | undefined = apiKey
      ? { kind: "apiKey", apiKey }
      : authFrom(env, "ELASTICSEARCH_TOKEN", "ELASTICSEARCH_USER", "ELASTICSEARCH_PASSWORD");
    out.elasticsearch = {
      url: esUrl,
      ...(auth ? { auth } : {}),
      timeoutMs,
      index: env.ELASTICSEARCH_INDEX ?? "faultline-logs-*",
      maxLines: positiveInt(env.ELASTICSEARCH_MAX_LINES, 500, problems),
    };
  }
  return out;
}

function baseUrl(name: string, env: Env, problems: string[]): string | undefined {
  const raw = env[name]?.trim();
  if (!raw) return undefined;
  try {
    const u = new URL(raw);
    if (u.protocol !== "http:" && u.protocol !== "https:") throw new Error("not http(s)");
    // Credentials in the URL would end up in logs; they belong in the dedicated variables.
    if (u.username || u.password) {
      problems.push(`${name} must not carry credentials (use the _USER/_PASSWORD/_TOKEN variables)`);
      return undefined;
    }
    return u.toString().replace(/\/+$/, "");
  } catch {
    problems.push(`${name} is not an http(s) URL: "${raw}"`);
    return undefined;
  }
}

function authFrom(env: Env, token: string, user: string, password: string): HttpAuth | undefined {
  if (env[token]) return { kind: "bearer", token: env[token] };
  if (env[user] && env[password] !== undefined)
    return { kind: "basic", user: env[user], password: env[password] };
  return undefined;
}

function positiveInt(raw: string | undefined, fallback: number, problems: string[]): number {
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (Number.isInteger(n) && n > 0) return n;
  problems.push(`"${raw}" is not a positive integer; using ${fallback}`);
  return fallback;
}

/** The Authorization header for an auth setting. */
export function authorizationHeader(auth: HttpAuth | undefined): Record<string, string> {
  if (!auth) return {};
  if (auth.kind === "bearer") return { authorization: `Bearer ${auth.token}` };
  if (auth.kind === "apiKey") return { authorization: `ApiKey ${auth.apiKey}` };
  return { authorization: `Basic ${Buffer.from(`${auth.user}:${auth.password}`).toString("base64")}` };
}

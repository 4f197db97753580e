/** Which well-known paths an HTTP port serves (health, readiness, metrics, API docs), bounded and concurrent. */
import { request } from "node:http";
import type { HttpEndpoint } from "./profile.js";
import { mapLimit } from "../util/concurrency.js";

export const COMMON_PATHS: readonly string[] = [
  "/",
  "/health",
  "/healthz",
  "/ready",
  "/readyz",
  "/live",
  "/livez",
  "/status",
  "/metrics",
  "/actuator/health",
  "/actuator/prometheus",
  "/openapi.json",
  "/swagger.json",
  "/version",
];

const MAX_BODY = 64 * 1024;

/**
 * Prometheus text exposition: the 0.0.4 content type, or at least one `# TYPE name kind` line and a
 * sample line.
 */
export function isPrometheusText(contentType: string | undefined, body: string): boolean {
  if (contentType && /version=0\.0\.4|application\/openmetrics-text/i.test(contentType)) return true;
  const hasType =
    /^# TYPE [a-zA-Z_:][a-zA-Z0-9_:]* (counter|gauge|histogram|summary|untyped|info|stateset|gaugehistogram)\s*$/m.test(
      body,
    );
  const hasSample = /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})? (-?[0-9.eE+-]+|NaN|[+-]Inf)/m.test(body);
  return hasType && hasSample;
}

export interface HttpGetResult {
  status: number;
  latencyMs: number;
  contentType?: string;
  body: string;
}

export function httpGet(
  host: string,
  port: number,
  path: string,
  timeoutMs: number,
): Promise<HttpGetResult | undefined> {
  return new Promise((resolve) => {
    const started = Date.now();
    let settled = false;
    const done = (r: HttpGetResult | undefined) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      resolve(r);
    };
    const req = request(
      {
        host,
        port,
        path,
        method: "GET",
        headers: { "user-agent": "faultline-discovery", connection: "close" },
      },
      (res) => {
        const latencyMs = Date.now() - started;
        const chunks: Buffer[] = [];
        let size = 0;
        const finish = () =>
          done({
            status: res.statusCode ?? 0,
            latencyMs,
            contentType: res.headers["content-type"],
            body: Buffer.concat(chunks).toString("utf8"),
          });
        res.on("data", (c: Buffer) => {
          chunks.push(c);
          size += c.length;
          if (size >= MAX_BODY) finish();
        });
        res.on("end", finish);
        res.on("error", finish);
      },
    );
    const timer = setTimeout(() => done(undefined), timeoutMs);
    req.on("error", () => done(undefined));
    req.end();
  });
}

export interface EndpointScanOptions {
  timeoutMs: number;
  concurrency: number;
  paths?: readonly string[];
}

/**
 * Paths that answered with something other than 404/405 (a server without the path says 404). A path
 * that got no answer in time is asked once more when other paths did answer: the server is alive, and
 * one slow reply (a busy worker, a starved CPU) must not erase an endpoint from the profile.
 */
export async function scanHttpEndpoints(
  host: string,
  port: number,
  options: EndpointScanOptions,
): Promise<HttpEndpoint[]> {
  const paths = options.paths ?? COMMON_PATHS;
  const first = await mapLimit(paths, options.concurrency, (path) =>
    httpGet(host, port, path, options.timeoutMs),
  );
  const answered = first.some((r) => r !== undefined);
  const results = await mapLimit(
    paths,
    options.concurrency,
    async (path, i) =>
      first[i] ?? (answered ? await httpGet(host, port, path, options.timeoutMs) : undefined),
  );
  return results.flatMap((r, i): HttpEndpoint[] => {
    if (!r || r.status === 404 || r.status === 405 || r.status === 0) return [];
    const path = paths[i]!;
    const endpoint: HttpEndpoint = { port, path, status: r.status, latencyMs: r.latencyMs };
    if (r.contentType) endpoint.contentType = r.contentType;
    if (/metrics|prometheus/.test(path))
      endpoint.prometheus = r.status < 400 && isPrometheusText(r.contentType, r.body);
    return [endpoint];
  });
}

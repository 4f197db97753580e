import type { Probe, ProbeMatch } from "./types.js";

const MAX_HTTP_REPLY = 64 * 1024;

export function httpGetRequest(path = "/", host = "faultline"): Buffer {
  return Buffer.from(
    `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nUser-Agent: faultline-discovery\r\nAccept: */*\r\nConnection: close\r\n\r\n`,
  );
}

export interface ParsedHttpHead {
  version: string;
  status: number;
  headers: Record<string, string>;
  bodyOffset: number;
}

export function parseHttpHead(reply: Buffer): ParsedHttpHead | undefined {
  const text = reply.subarray(0, 16 * 1024).toString("latin1");
  const m = /^HTTP\/(\d(?:\.\d)?) (\d{3})/.exec(text);
  if (!m) return undefined;
  const end = text.indexOf("\r\n\r\n");
  const headers: Record<string, string> = {};
  for (const line of text
    .slice(0, end >= 0 ? end : undefined)
    .split("\r\n")
    .slice(1)) {
    const colon = line.indexOf(":");
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return {
    version: m[1] ?? "1.1",
    status: Number(m[2]),
    headers,
    bodyOffset: end >= 0 ? end + 4 : reply.length,
  };
}

/** Elasticsearch and OpenSearch answer `GET /` with cluster_name + tagline, and newer ones say so in a header. */
export function looksLikeElasticsearch(head: ParsedHttpHead, body: string): string | undefined {
  const product = head.headers["x-elastic-product"];
  if (product) return `X-Elastic-Product: ${product}`;
  if (body.includes('"cluster_name"') && (body.includes('"tagline"') || body.includes('"lucene_version"'))) {
    const cluster = /"cluster_name"\s*:\s*"([^"]{0,60})"/.exec(body)?.[1];
    return `cluster_name=${cluster ?? "?"}`;
  }
  return undefined;
}

export const httpProbe: Probe = {
  name: "http",
  request: httpGetRequest(),
  portHints: [
    80, 81, 3000, 4000, 5000, 8000, 8001, 8008, 8080, 8081, 8082, 8088, 8888, 9000, 9090, 9200, 15672,
  ],
  match(reply): ProbeMatch | undefined {
    const head = parseHttpHead(reply);
    if (!head) return undefined;
    const body = reply.subarray(head.bodyOffset, head.bodyOffset + 8192).toString("utf8");
    const es = looksLikeElasticsearch(head, body);
    if (es) return { protocol: "elasticsearch", detail: `HTTP/${head.version} ${head.status} ${es}` };
    const server = head.headers.server ? ` ${head.headers.server.slice(0, 40)}` : "";
    return { protocol: "http", detail: `HTTP/${head.version} ${head.status}${server}` };
  },
  complete(reply) {
    if (reply.length >= MAX_HTTP_REPLY) return true;
    const head = parseHttpHead(reply);
    if (!head || head.bodyOffset >= reply.length + 1) return false;
    const length = head.headers["content-length"];
    if (length !== undefined) return reply.length - head.bodyOffset >= Math.min(Number(length), 8192);
    if (/chunked/i.test(head.headers["transfer-encoding"] ?? "")) return reply.includes("\r\n0\r\n\r\n");
    return false;
  },
};

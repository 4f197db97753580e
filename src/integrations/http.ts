/** Bounded JSON over HTTP for the integrations: every call has a deadline and names the back-end. */
import { errorText } from "../errors.js";

export class IntegrationHttpError extends Error {
  constructor(
    readonly backend: string,
    message: string,
    readonly status?: number,
  ) {
    super(`${backend}: ${message}`);
    this.name = "IntegrationHttpError";
  }
}

export interface JsonRequest {
  method?: "GET" | "POST" | "PATCH" | "PUT" | "DELETE";
  headers?: Record<string, string>;
  body?: unknown;
  timeoutMs: number;
  signal?: AbortSignal;
}

export async function requestJson(backend: string, url: URL | string, req: JsonRequest): Promise<unknown> {
  const deadline = AbortSignal.timeout(req.timeoutMs);
  const signal = req.signal ? AbortSignal.any([req.signal, deadline]) : deadline;
  let res: Response;
  try {
    res = await fetch(url, {
      method: req.method ?? "GET",
      headers: {
        accept: "application/json",
        ...(req.body !== undefined ? { "content-type": "application/json" } : {}),
        ...req.headers,
      },
      ...(req.body !== undefined ? { body: JSON.stringify(req.body) } : {}),
      signal,
    });
  } catch (e) {
    const what = deadline.aborted ? `no answer within ${req.timeoutMs} ms` : errorText(e);
    throw new IntegrationHttpError(backend, `${req.method ?? "GET"} ${redact(url)}: ${what}`);
  }
  const text = await res.text().catch(() => "");
  let body: unknown = undefined;
  if (text) {
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
  }
  if (!res.ok) {
    const detail =
      body && typeof body === "object"
        ? ((body as { message?: unknown; error?: unknown }).message ?? (body as { error?: unknown }).error)
        : undefined;
    throw new IntegrationHttpError(
      backend,
      `${req.method ?? "GET"} ${redact(url)} answered ${res.status}${detail ? ` (${String(detail).slice(0, 200)})` : ""}`,
      res.status,
    );
  }
  if (text && body === undefined)
    throw new IntegrationHttpError(backend, `${redact(url)} did not answer JSON`, res.status);
  return body;
}

/** Query strings can carry PromQL; paths are enough to say where a call went. */
function redact(url: URL | string): string {
  const u = new URL(url);
  return `${u.origin}${u.pathname}`;
}

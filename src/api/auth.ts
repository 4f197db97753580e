/**
 * Who may use the API. The API injects faults into a stack, so with a token configured every request
 * must carry `Authorization: Bearer <token>`, except the read-only endpoints scrapers need
 * (GET /healthz, /metrics, /api/prometheus/targets). Without a token the API may only listen on loopback.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import { BlockList, isIP } from "node:net";
import type { NextFunction, Request, Response } from "express";
import { InvalidInputError } from "../errors.js";
import { UnauthorizedError } from "./errors.js";
import type { ListenAddress } from "./server.js";

/** Readable without a token: what Prometheus and health checks fetch; none of them can change anything. */
export const OPEN_ROUTES: readonly string[] = ["/healthz", "/metrics", "/api/prometheus/targets"];

/** Short tokens on a reachable port can be guessed; 16 characters is e.g. 8 random bytes as hex. */
export const MIN_TOKEN_LENGTH = 16;

const TOKEN_HINT = "e.g. the output of `openssl rand -hex 32`";

/** Exact paths only: a path express would also route elsewhere (case, trailing slash) needs the token. */
export function isOpenRequest(method: string, path: string): boolean {
  return (method === "GET" || method === "HEAD") && OPEN_ROUTES.includes(path);
}

/** A token must be usable as a header value and long enough not to be guessed. */
export function validateToken(token: string, source: string): string {
  if (!token) throw new InvalidInputError(`the API token from ${source} is empty`, TOKEN_HINT);
  if (!/^[\x21-\x7e]+$/.test(token)) {
    throw new InvalidInputError(
      `the API token from ${source} contains spaces or non-ASCII characters`,
      `use printable ASCII only, ${TOKEN_HINT}`,
    );
  }
  if (token.length < MIN_TOKEN_LENGTH) {
    throw new InvalidInputError(
      `the API token from ${source} is shorter than ${MIN_TOKEN_LENGTH} characters`,
      TOKEN_HINT,
    );
  }
  return token;
}

/**
 * The configured token: from a file (trailing newline ignored) or the FAULTLINE_API_TOKEN value, never
 * both, so there is no doubt which one is in force. Undefined when neither is set.
 */
export function resolveApiToken(sources: { envToken?: string; tokenFile?: string }): string | undefined {
  const { envToken, tokenFile } = sources;
  if (envToken && tokenFile) {
    throw new InvalidInputError(
      "both FAULTLINE_API_TOKEN and --api-token-file are set",
      "configure the API token one way only",
    );
  }
  if (tokenFile) {
    let text: string;
    try {
      text = readFileSync(tokenFile, "utf8");
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? String(e);
      throw new InvalidInputError(
        `cannot read --api-token-file "${tokenFile}": ${code}`,
        "the file holds the token alone",
      );
    }
    return validateToken(text.trim(), `--api-token-file "${tokenFile}"`);
  }
  return envToken ? validateToken(envToken.trim(), "FAULTLINE_API_TOKEN") : undefined;
}

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet("127.0.0.0", 8, "ipv4");
LOOPBACK.addAddress("::1", "ipv6");

/** 127.0.0.0/8, ::1 (any spelling, also IPv4-mapped) and "localhost"; wildcards and all else are not. */
export function isLoopbackHost(host: string): boolean {
  const h = host.trim().toLowerCase();
  if (h === "localhost") return true;
  const family = isIP(h);
  return family !== 0 && LOOPBACK.check(h, family === 4 ? "ipv4" : "ipv6");
}

/** An API reachable from other hosts without a token would let anyone inject faults: refuse it. */
export function assertListenAllowed(address: ListenAddress, token: string | undefined): void {
  if (token || isLoopbackHost(address.host)) return;
  throw new InvalidInputError(
    `refusing to serve the fault-injection API on non-loopback ${address.host} without an API token`,
    "set FAULTLINE_API_TOKEN or --api-token-file <path>, or listen on 127.0.0.1",
  );
}

function digest(text: string): Buffer {
  return createHash("sha256").update(text, "utf8").digest();
}

/** Constant-time: both sides are hashed to equal length first, so neither length nor prefix leaks. */
export function tokenMatches(presented: string, expected: string): boolean {
  return timingSafeEqual(digest(presented), digest(expected));
}

/** The bearer credentials of an Authorization header value (scheme case-insensitive, RFC 6750). */
export function bearerToken(header: string | undefined): string | undefined {
  const m = /^Bearer +(\S+)$/i.exec(header?.trim() ?? "");
  return m?.[1];
}

/** Express middleware enforcing the token; with none configured every request passes. */
export function requireBearerToken(token: string | undefined) {
  return (req: Request, res: Response, next: NextFunction): void => {
    if (!token || isOpenRequest(req.method, req.path)) return next();
    const presented = bearerToken(req.get("authorization"));
    if (presented !== undefined && tokenMatches(presented, token)) return next();
    res.set(
      "WWW-Authenticate",
      presented === undefined
        ? 'Bearer realm="faultline"'
        : 'Bearer realm="faultline", error="invalid_token"',
    );
    next(
      new UnauthorizedError(
        presented === undefined ? "this endpoint needs an API token" : "the API token is not valid",
        "send Authorization: Bearer <token>, the token faultline serve was started with (FAULTLINE_API_TOKEN or --api-token-file)",
      ),
    );
  };
}

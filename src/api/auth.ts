/**
 * Who may use the API. The API injects faults into a stack, so with a token configured every request
 * must carry `Authorization: Bearer <token>`, except the read-only endpoints scrapers need
 * (GET /healthz, /metrics, /api/prometheus/targets) and the live page's static files. Without a token the API may only listen on loopback.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import { BlockList, isIP } from "node:net";
import type { NextFunction, Request, Response } from "express";
import { InvalidInputError } from "../errors.js";
import { UnauthorizedError } from "./errors.js";
import { LIVE_PAGE_ROUTES } from "./live/routes.js";
import type { ListenAddress } from "./server.js";

/** Readable without a token: liveness and faultline's own counters; neither can change anything. */
export const OPEN_ROUTES: readonly string[] = ["/healthz", "/metrics"];
/** What the read token may fetch: the scraper endpoints, the targets document included. */
export const READ_ROUTES: readonly string[] = [...OPEN_ROUTES, "/api/prometheus/targets"];

/** Short tokens on a reachable port can be guessed; 16 characters is e.g. 8 random bytes as hex. */
export const MIN_TOKEN_LENGTH = 16;

const TOKEN_HINT = "e.g. the output of `openssl rand -hex 32`";

function isReadOf(routes: readonly string[], method: string, path: string): boolean {
  return (method === "GET" || method === "HEAD") && routes.includes(path);
}

/**
 * Exact paths only: a path express would also route elsewhere (case, trailing slash) needs the token.
 * The live page's HTML and assets are open too: they hold no data, and the page asks for the token.
 */
export function isOpenRequest(method: string, path: string): boolean {
  return isReadOf(OPEN_ROUTES, method, path) || isReadOf(LIVE_PAGE_ROUTES, method, path);
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

export interface TokenSources {
  envToken?: string;
  tokenFile?: string;
  /** How the two sources are called, for messages. */
  names?: { env: string; file: string };
}

const API_TOKEN_NAMES = { env: "FAULTLINE_API_TOKEN", file: "--api-token-file" };
export const READ_TOKEN_NAMES = { env: "FAULTLINE_API_READ_TOKEN", file: "--api-read-token-file" };

/**
 * The configured token: from a file (trailing newline ignored) or the environment value, never
 * both, so there is no doubt which one is in force. Undefined when neither is set.
 */
export function resolveApiToken(sources: TokenSources): string | undefined {
  const { envToken, tokenFile, names = API_TOKEN_NAMES } = sources;
  if (envToken && tokenFile) {
    throw new InvalidInputError(
      `both ${names.env} and ${names.file} are set`,
      "configure the token one way only",
    );
  }
  if (tokenFile) {
    let text: string;
    try {
      text = readFileSync(tokenFile, "utf8");
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? String(e);
      throw new InvalidInputError(
        `cannot read ${names.file} "${tokenFile}": ${code}`,
        "the file holds the token alone",
      );
    }
    return validateToken(text.trim(), `${names.file} "${tokenFile}"`);
  }
  return envToken ? validateToken(envToken.trim(), names.env) : undefined;
}

/** A read token only means something next to an API token, and must not be the same secret. */
export function assertReadToken(readToken: string | undefined, apiToken: string | undefined): void {
  if (!readToken) return;
  if (!apiToken) {
    throw new InvalidInputError(
      `${READ_TOKEN_NAMES.env} is set without an API token`,
      "without FAULTLINE_API_TOKEN everything is readable anyway; set both or neither",
    );
  }
  if (tokenMatches(readToken, apiToken)) {
    throw new InvalidInputError(
      "the read token is the API token",
      "use a different secret for reading, e.g. another `openssl rand -hex 32`",
    );
  }
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

/** Did the request show a token the server accepted (so it may see details, e.g. of /healthz)? */
export function isAuthenticated(res: Response): boolean {
  return res.locals.authenticated === true;
}

/**
 * Express middleware enforcing the token (and the read token on the read routes); with no token
 * configured every request passes, and counts as authenticated.
 */
export function requireBearerToken(token: string | undefined, readToken?: string) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const presented = bearerToken(req.get("authorization"));
    const valid =
      !token ||
      (presented !== undefined &&
        (tokenMatches(presented, token) ||
          (readToken !== undefined &&
            tokenMatches(presented, readToken) &&
            isReadOf(READ_ROUTES, req.method, req.path))));
    res.locals.authenticated = valid;
    if (valid || isOpenRequest(req.method, req.path)) return next();
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

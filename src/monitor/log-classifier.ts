/**
 * Classifies one log line into an error class and extracts the peer it mentions. Pure and cheap: the
 * monitor runs it on every line a service writes (up to a per-tick budget).
 *
 * Lines are tokenized with `natural`'s RegexpTokenizer (splitting on whitespace and punctuation but
 * keeping host:port, dotted names and URLs whole); keywords and phrases are matched on the lower-cased
 * word sequence so "Connection   refused" and "connection-refused" read the same.
 */
import type { ErrorClass } from "./types.js";
import type { PeerResolver } from "./peers.js";
import { createTokenizer } from "../util/natural.js";

/** Longer lines are classified on their first part only: enough for any error message worth naming. */
export const MAX_CLASSIFIED_LENGTH = 2048;

const tokenizer = createTokenizer(/[\s,;()[\]{}<>"'`|=]+/);

interface Rule {
  class: Exclude<ErrorClass, "none">;
  /** Phrases matched against " word word word " (words lower-cased, split on non-alphanumerics). */
  phrases: string[];
  /** Patterns matched against the raw line, for shapes words lose (status codes in access logs). */
  patterns?: RegExp[];
  /** The line says the process died (outranks the cause it names, except running out of memory). */
  fatal?: true;
}

// Order matters: the first matching rule wins, most specific first.
const RULES: Rule[] = [
  {
    class: "oom",
    phrases: [
      "out of memory",
      "outofmemory",
      "outofmemoryerror",
      "oomkilled",
      "oom killer",
      "cannot allocate memory",
      "memoryerror",
      "javascript heap out of memory",
      "oom command not allowed",
    ],
  },
  {
    // The process (or its thread) died: what runtimes print as they go down, not what apps log about an
    // error they handled ("Uncaught exception GET /api" from a web framework is not here). It outranks
    // the cause it names: "panic: dial tcp …: connection refused" is a crash attributed to that peer.
    class: "crash",
    fatal: true,
    phrases: [
      "segmentation fault",
      "sigsegv",
      "core dumped",
      "fatal python error",
      "unhandledpromiserejection",
      "terminate called after throwing",
    ],
    patterns: [
      /^(?:panic|fatal error): /,
      /^Exception in thread "/,
      /^Unhandled exception\. /,
      /\bthread '[^']*' panicked at\b/,
    ],
  },
  {
    class: "dns",
    phrases: [
      "enotfound",
      "eai again",
      "name or service not known",
      "temporary failure in name resolution",
      "could not resolve",
      "could not translate host name",
      "nodename nor servname",
      "no such host",
      "unknown host",
      "unknownhostexception",
      "name resolution",
      "getaddrinfo failed",
      "no address associated with hostname",
      "nxdomain",
    ],
  },
  {
    class: "refused",
    phrases: [
      "connection refused",
      "econnrefused",
      "connectionrefusederror",
      "connection reset",
      "econnreset",
      "reset by peer",
      "no route to host",
      "ehostunreach",
      "network is unreachable",
      "enetunreach",
      "broken pipe",
      "epipe",
      "connection aborted",
      "server closed the connection unexpectedly",
      "connection closed by",
      "remote end closed connection",
      "remotedisconnected",
    ],
  },
  {
    class: "http5xx",
    phrases: ["internal server error", "bad gateway", "service unavailable", "gateway timeout"],
    patterns: [
      /HTTP\/\d(?:\.\d)?"?\s+5\d\d\b/,
      /\b(?:status|status_code|statuscode|code|http_status)"?\s*[=:]?\s*"?5\d\d\b/i,
      /\b5\d\d\s+(?:error|server error)\b/i,
      // A client's own request line: "GET http://gate/ -> 502".
      /(?:->|→|=>)\s*5\d\d\b/,
    ],
  },
  {
    class: "timeout",
    phrases: [
      "timeout",
      "timed out",
      "timedout",
      "etimedout",
      "deadline exceeded",
      "timeouterror",
      "timeoutexception",
      "readtimeout",
      "connecttimeout",
      "connecttimeouterror",
      "readtimeouterror",
      "sockettimeout",
    ],
  },
  {
    class: "auth",
    phrases: [
      "authentication failed",
      "password authentication failed",
      "unauthorized",
      "access denied",
      "invalid credentials",
      "invalid password",
      "noauth",
      "wrongpass",
      "permission denied",
      "forbidden",
      "not authorized",
    ],
    patterns: [/HTTP\/\d(?:\.\d)?"?\s+40[13]\b/],
  },
  {
    class: "crash",
    phrases: [
      "traceback most recent call last",
      "panic",
      "segmentation fault",
      "sigsegv",
      "core dumped",
      "unhandledpromiserejection",
      "fatal error",
      "fatal",
      "exception in thread",
      "stack trace",
    ],
    // Not "uncaught exception": web frameworks log that for a request whose handler raised, and the
    // process lives on; it reads as an error, and its traceback's cause decides the record.
    // A frame line alone (`  File "…", line 42`, `    at …`) says where, not what: the record it belongs
    // to is classified as a whole (log-records.ts), by its most specific cause.
  },
  {
    class: "error",
    phrases: ["error", "err", "exception", "failed", "failure", "critical", "crit", "emerg", "severe"],
    // Status 000 on a client's request line (curl's "no answer at all"): the call failed, cause unsaid.
    patterns: [/(?:->|→|=>)\s*000\b/],
  },
];

/** Error classes from most to least specific: a record with several takes the first. */
export const CLASS_SPECIFICITY: readonly Exclude<ErrorClass, "none">[] = [
  ...new Set(RULES.filter((r) => !r.fatal).map((r) => r.class)),
];

/** Phrases that look like errors but say there are none ("0 errors", "error_count=0"). */
const NOT_ERRORS = [
  /\b0 (?:errors?|failed|failures?)\b/i,
  /\berrors?[_ ]?(?:count)?[=: ]+0\b/i,
  // Counters in summary lines: "ok=25 failed=0", "failures: 0".
  /\b(?:failed|failures?)[_ ]?(?:count|total)?[=: ]+0(?![.\d])/i,
  /\bno errors?\b/i,
  /\bwithout errors?\b/i,
];

export interface LineClass {
  class: ErrorClass;
  /** Service id when resolvable, else the host (or host:port) as written; undefined when none. */
  peer?: string;
  /** The line says the process died (a panic, a segfault, an uncaught exception ending a thread). */
  fatal?: true;
}

/** True for lines that are mostly not text (binary junk): they are counted but never classified. */
export function looksBinary(line: string): boolean {
  let odd = 0;
  const n = Math.min(line.length, 256);
  for (let i = 0; i < n; i++) {
    const c = line.charCodeAt(i);
    if ((c < 32 && c !== 9) || c === 0xfffd || (c >= 0x7f && c < 0xa0)) odd++;
  }
  return n > 0 && odd / n > 0.1;
}

/** Splits tokens into lower-case alphanumeric words: "ECONNREFUSED," -> ["econnrefused"]. */
function words(tokens: string[]): string {
  const out: string[] = [];
  for (const t of tokens) for (const w of t.toLowerCase().split(/[^a-z0-9]+/)) if (w) out.push(w);
  return ` ${out.join(" ")} `;
}

export function classifyLine(raw: string, peers?: PeerResolver, self?: string): LineClass {
  if (!raw || looksBinary(raw)) return { class: "none" };
  const line = raw.length > MAX_CLASSIFIED_LENGTH ? raw.slice(0, MAX_CLASSIFIED_LENGTH) : raw;
  const tokens = tokenizer.tokenize(line);
  const text = words(tokens);
  const rule = matchRule(line, text);
  if (!rule) return { class: "none" };
  const peer = peers ? findPeer(tokens, peers, self, clientAddress(line)) : undefined;
  return { class: rule.class, ...(peer ? { peer } : {}), ...(rule.fatal ? { fatal: true } : {}) };
}

/** The peer a line names (even an unclassified line, e.g. a `Caused by:` naming the host). */
export function linePeer(raw: string, peers: PeerResolver, self?: string): string | undefined {
  if (!raw || looksBinary(raw)) return undefined;
  const line = raw.length > MAX_CLASSIFIED_LENGTH ? raw.slice(0, MAX_CLASSIFIED_LENGTH) : raw;
  return findPeer(tokenizer.tokenize(line), peers, self, clientAddress(line));
}

function matchRule(line: string, text: string): Rule | undefined {
  for (const rule of RULES) {
    if (rule.phrases.some((p) => text.includes(` ${p} `))) {
      if (rule.class === "error" && NOT_ERRORS.some((re) => re.test(line))) continue;
      return rule;
    }
    if (rule.patterns?.some((re) => re.test(line))) return rule;
  }
  return undefined;
}

const URL_HOST = /^[a-z][a-z0-9+.-]*:\/\/(?:[^@/\s]*@)?(\[[^\]]+\]|[^:/?#\s]+)(?::(\d+))?/i;
const HOST_PORT = /^([a-z0-9][a-z0-9_.-]*):(\d{1,5})$/i;
const IPV4 = /^\d{1,3}(?:\.\d{1,3}){3}$/;

/**
 * Common/combined log format (`host ident user [date] "request" status ...`, what nginx, Apache,
 * gunicorn and Python's http.server write): the host there is the CLIENT that made the request.
 */
const ACCESS_LOG_CLIENT = /(?:^|\s)(\S+) - \S+ \[[^\]]+\] "[A-Z]+ /;

/**
 * Keys after which an address is the one that called this service, not one it depends on: nginx's
 * `client: 1.2.3.4`, logfmt's `client_ip=…`, `remote_addr=…`. Tokens arrive without the `=`.
 */
const CLIENT_KEYS = /^(?:client|client_?ip|client_?addr(?:ess)?|remote_?addr(?:ess)?|remote_?ip)$/i;

/** The client address an access-log line starts with, if it is one. */
export function clientAddress(line: string): string | undefined {
  return ACCESS_LOG_CLIENT.exec(line)?.[1];
}

/**
 * The first peer a line mentions, resolved to a service id when possible. URLs, host:port and IPs
 * count even when unknown (they clearly are addresses); bare words only when they are a known name.
 * The address of a client calling this service (`client`) is never its peer: it is not a dependency.
 */
export function findPeer(
  tokens: string[],
  peers: PeerResolver,
  self?: string,
  client?: string,
): string | undefined {
  let unresolved: string | undefined;
  let afterClientKey = false;
  for (const rawToken of tokens) {
    const token = rawToken.replace(/^[^a-z0-9[]+|[^a-z0-9\]/]+$/gi, "");
    const isClient = afterClientKey || (client !== undefined && token === client);
    afterClientKey = CLIENT_KEYS.test(token);
    if (!token || isClient) continue;
    let host: string | undefined;
    let port: string | undefined;
    let address = false;
    const url = URL_HOST.exec(token);
    const hp = url ? null : HOST_PORT.exec(token);
    if (url) [host, port, address] = [url[1]!.replace(/^\[|\]$/g, ""), url[2], true];
    else if (hp) [host, port, address] = [hp[1]!, hp[2], true];
    else if (IPV4.test(token)) [host, address] = [token, true];
    else if (peers.isKnownName(token)) host = token;
    else continue;
    const id = address ? peers.resolveAddress(host) : peers.resolve(host);
    if (id) {
      if (id !== self) return id;
      continue;
    }
    if (address && !unresolved && !/^(localhost|127\.\d+\.\d+\.\d+|0\.0\.0\.0)$/i.test(host))
      unresolved = port ? `${host}:${port}` : host;
  }
  return unresolved;
}

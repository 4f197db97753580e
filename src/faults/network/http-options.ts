/**
 * Validation of HTTP fault options (pure): which requests are selected (method, path, headers, a share of
 * them) and what happens to them (a status answered by the proxy, a delay, or both). Path and header
 * globs become regular expressions here, checked once, so the agent's proxy only compiles what passed.
 */
import { z } from "zod";
import { InvalidInputError } from "../../errors.js";
import { parseDuration } from "../../util/duration.js";

export interface HeaderMatch {
  /** Lower case. */
  name: string;
  /** The glob as given; absent: the header only has to be present. */
  glob?: string;
  /** Anchored regular expression source for the value (full match). */
  value?: string;
}

export interface PathMatch {
  /** As the user wrote it: a glob, or a prefix when it has none of * ? [. */
  pattern: string;
  /** Regular expression source, matched against the whole path (query string excluded). */
  regex: string;
}

export interface HttpOptions {
  /** in: requests the target receives on its HTTP port; out: requests it makes to its peers. */
  direction: "in" | "out";
  /** Answer selected requests with this status instead of forwarding them. */
  status?: number;
  /** Share of matching requests selected, (0, 100]. */
  percent: number;
  delayMs: number;
  jitterMs: number;
  /** Upper case; empty: any method. */
  methods: string[];
  /** Any of them; empty: any path. */
  paths: PathMatch[];
  /** All of them. */
  headers: HeaderMatch[];
}

const MAX_DELAY_MS = 60_000;
const METHOD = /^[A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]*$/;
const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;
/** What a glob's character class may hold: ranges and characters that are safe in both regex engines. */
const CLASS_CHARS = /^[A-Za-z0-9._~%/-]+$/;
const REGEX_SPECIAL = /[\\^$.|?*+()[\]{}]/;

/**
 * A glob as a regular expression source that Python's `re` and JavaScript read alike: `*` any run of
 * characters (slashes included), `?` one character, `[a-z]` / `[!a-z]` a class. Throws on what is not a
 * glob (an unclosed or empty class, a stray `]`, control characters) with the reason.
 */
export function globToRegex(glob: string): string {
  let out = "";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === "*") out += ".*";
    else if (c === "?") out += ".";
    else if (c === "[") {
      const close = glob.indexOf("]", i + 1);
      if (close < 0) throw new Error(`"[" at position ${i + 1} is never closed`);
      let body = glob.slice(i + 1, close);
      const negated = body.startsWith("!") || body.startsWith("^");
      if (negated) body = body.slice(1);
      if (!body) throw new Error(`empty character class at position ${i + 1}`);
      if (!CLASS_CHARS.test(body)) throw new Error(`character class [${body}] holds characters it may not`);
      out += `[${negated ? "^" : ""}${body}]`;
      i = close;
    } else if (c === "]") throw new Error(`"]" at position ${i + 1} closes nothing`);
    // eslint-disable-next-line no-control-regex
    else if (/[\u0000-\u001f\u007f]/.test(c)) throw new Error("control characters cannot match");
    else out += REGEX_SPECIAL.test(c) ? `\\${c}` : c;
  }
  return out;
}

const isGlob = (p: string) => /[*?[\]]/.test(p);

/** A path pattern: a glob, or a prefix when it has no glob characters ("/orders" = "/orders*"). */
export function parsePathPattern(pattern: string): PathMatch {
  if (pattern !== "*" && !pattern.startsWith("/")) {
    throw new InvalidInputError(
      `path "${pattern}" must start with "/"`,
      'e.g. path="/orders*" (a glob) or path="/orders" (a prefix)',
    );
  }
  if (/\s/.test(pattern)) throw new InvalidInputError(`path "${pattern}" holds white space`);
  try {
    const regex = isGlob(pattern) ? globToRegex(pattern) : `${globToRegex(pattern)}.*`;
    new RegExp(`^(?:${regex})$`);
    return { pattern, regex };
  } catch (e) {
    throw new InvalidInputError(
      `path "${pattern}" is not a valid glob: ${(e as Error).message}`,
      "* matches anything, ? one character, [a-z] a class; without them the path is a prefix",
    );
  }
}

/** "X-User: test*", "X-User=test*" or "X-User" (present with any value). */
export function parseHeaderMatch(text: string): HeaderMatch {
  const sep = /[:=]/.exec(text);
  const name = (sep ? text.slice(0, sep.index) : text).trim();
  const glob = sep ? text.slice(sep.index + 1).trim() : undefined;
  if (!HEADER_NAME.test(name)) {
    throw new InvalidInputError(
      `header "${text}" does not start with a header name`,
      'use "Name: value-glob" or "Name" (present with any value)',
    );
  }
  if (glob === undefined || glob === "") return { name: name.toLowerCase() };
  try {
    return { name: name.toLowerCase(), glob, value: globToRegex(glob) };
  } catch (e) {
    throw new InvalidInputError(`header "${text}": the value is not a valid glob: ${(e as Error).message}`);
  }
}

const listOf = <T extends z.ZodType>(item: T) =>
  z.preprocess((v) => {
    if (v === undefined || v === null || v === "") return [];
    return Array.isArray(v) ? v : [v];
  }, z.array(item));

/** Comma-separated text or a list: methods and paths (a path holds no comma worth keeping). */
const splitList = (v: unknown) =>
  typeof v === "string"
    ? v
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean)
    : v;

const duration = (what: string) =>
  z.union([z.number(), z.string()]).transform((v) => (typeof v === "number" ? v : parseDuration(v, what)));

/** The http kind's own options (peer and port scoping are every network kind's: see options.ts). */
export const HTTP_FIELDS = {
  status: z.coerce.number().int().min(200).max(599).optional(),
  percent: z.coerce.number().gt(0).lte(100).optional(),
  delay: duration("delay").optional(),
  jitter: duration("jitter").optional(),
  method: z.preprocess(splitList, listOf(z.string().regex(METHOD, "is not an HTTP method"))).optional(),
  methods: z.preprocess(splitList, listOf(z.string().regex(METHOD, "is not an HTTP method"))).optional(),
  path: z.preprocess(splitList, listOf(z.string().min(1))).optional(),
  paths: z.preprocess(splitList, listOf(z.string().min(1))).optional(),
  header: listOf(z.string().min(1)).optional(),
  headers: listOf(z.string().min(1)).optional(),
};

type HttpFields = z.output<z.ZodObject<typeof HTTP_FIELDS>> & { direction?: "in" | "out" };

/** Parses the HTTP part of an http fault's options; peer/port scoping is the network family's. */
export function parseHttpOptions(o: HttpFields): HttpOptions {
  const delayMs = o.delay ?? 0;
  const jitterMs = o.jitter ?? 0;
  if (o.status === undefined && o.delay === undefined) {
    throw new InvalidInputError(
      "an http fault needs a status to answer, a delay, or both",
      "e.g. --status 503 --percent 50, or --delay 300ms",
    );
  }
  if (o.delay !== undefined && !(delayMs > 0 && delayMs < MAX_DELAY_MS)) {
    throw new InvalidInputError(`delay ${delayMs} ms is out of range`, "use more than 0 and less than 60s");
  }
  if (jitterMs && !(jitterMs >= 0 && jitterMs < delayMs)) {
    throw new InvalidInputError(`jitter ${jitterMs} ms must be smaller than the delay (${delayMs} ms)`);
  }
  return {
    direction: o.direction ?? "in",
    ...(o.status !== undefined ? { status: o.status } : {}),
    percent: o.percent ?? 100,
    delayMs,
    jitterMs,
    methods: [...new Set([...(o.method ?? []), ...(o.methods ?? [])].map((m) => m.toUpperCase()))],
    paths: [...(o.path ?? []), ...(o.paths ?? [])].map(parsePathPattern),
    headers: [...(o.header ?? []), ...(o.headers ?? [])].map(parseHeaderMatch),
  };
}

/** "GET /orders* with x-user: test*", for descriptions. */
export function describeHttpSelection(h: HttpOptions): string {
  const method = h.methods.length ? h.methods.join("|") : "";
  const path = h.paths.length ? h.paths.map((p) => p.pattern).join("|") : "";
  const what = [method, path].filter(Boolean).join(" ") || "all";
  const headers = h.headers.length
    ? ` with ${h.headers.map((m) => (m.glob ? `${m.name}: ${m.glob}` : m.name)).join(" and ")}`
    : "";
  return `${h.percent < 100 ? `${h.percent}% of ` : ""}${what === "all" ? "all requests" : `${what} requests`}${headers}`;
}

/**
 * Hosts, IPs, host:port pairs and URLs mentioned in log lines (tokenised with natural). Raw tokens for
 * the graph builder to resolve; credentials in URLs masked. Pure and bounded: binary junk is skipped,
 * lines are length-capped, the result is capped.
 */
import { maskUrlCredentials } from "../util/secrets.js";
import { isDottedHostname, isIPv4, splitHostPort } from "./addresses.js";
import { createTokenizer } from "../util/natural.js";

const tokenizer = createTokenizer(/[\s"'`()[\]{}<>,;|=\\]+/);
const ANSI = new RegExp(`${String.fromCharCode(27)}\\[[0-9;?]*[A-Za-z]`, "g");
const URL_TOKEN = /^([a-z][a-z0-9+.-]*):\/\/(?:[^@/\s]*@)?(\[[0-9a-f:.]+\]|[^/:?#\s]+)(?::(\d{1,5}))?/i;

export interface LogMentionOptions {
  knownHosts?: Iterable<string>;
  maxMentions?: number;
  maxLineLength?: number;
}

export interface LogMentionResult {
  mentions: string[];
  binaryLines: number;
}

/** True when too much of the line is not text (a binary log, a core dump, compressed output). */
export function isBinaryLine(line: string): boolean {
  if (!line.length) return false;
  let bad = 0;
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09) || c === 0xfffd || (c >= 0x7f && c < 0xa0)) bad++;
  }
  return bad / line.length > 0.3;
}

/** The mention a token stands for, or undefined. */
export function mentionOf(rawToken: string, known: Set<string>): string | undefined {
  const token = rawToken.replace(/^[.:@#/]+|[.:,!?]+$/g, "");
  if (token.length < 2 || token.length > 300) return undefined;
  const url = URL_TOKEN.exec(token);
  if (url) {
    const scheme = (url[1] ?? "").toLowerCase();
    const host = (url[2] ?? "").toLowerCase();
    if (scheme === "file" || !host) return undefined;
    return maskUrlCredentials(`${scheme}://${host}${url[3] ? `:${url[3]}` : ""}`);
  }
  const hp = splitHostPort(token);
  if (!hp) {
    // "172.18.0.3:5432/db" or "db:5432/x": keep the authority part.
    const head = /^([^/\s]+)\//.exec(token)?.[1];
    return head && head !== token ? mentionOf(head, known) : undefined;
  }
  const host = hp.host.toLowerCase();
  const isKnown = known.has(host);
  if (isIPv4(host)) return host === "0.0.0.0" ? undefined : token.toLowerCase();
  if (hp.port !== undefined) {
    return isKnown || isDottedHostname(host) || host === "localhost" ? `${host}:${hp.port}` : undefined;
  }
  return isKnown ? host : undefined;
}

export function extractLogMentions(lines: string[], options: LogMentionOptions = {}): LogMentionResult {
  const known = new Set([...(options.knownHosts ?? [])].map((h) => h.toLowerCase()));
  const maxLine = options.maxLineLength ?? 2000;
  const counts = new Map<string, number>();
  let binaryLines = 0;
  for (const raw of lines) {
    const line = raw.slice(0, maxLine).replace(ANSI, "");
    if (isBinaryLine(line)) {
      binaryLines++;
      continue;
    }
    for (const token of tokenizer.tokenize(line)) {
      const mention = mentionOf(token, known);
      if (mention) counts.set(mention, (counts.get(mention) ?? 0) + 1);
    }
  }
  const mentions = [...counts.entries()]
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .slice(0, options.maxMentions ?? 50)
    .map(([m]) => m);
  return { mentions, binaryLines };
}

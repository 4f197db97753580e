/**
 * Secret masking, for every output (API answers, reports, logs, the CLI). Two independent tests, so a
 * secret caught by neither name nor shape alone is still caught by the other:
 * - by name: a variable, key or option whose words say secret (PASSWORD, MYSQL_PWD, GH_PAT, JWT_SIGNING,
 *   apiToken …) has its whole value masked;
 * - by shape: URL userinfo (split where URL parsers split it: at the last @), known token prefixes
 *   (GitHub, GitLab, Slack, Stripe, AWS, Google, npm, JWT, PEM private keys), credentials after
 *   Bearer/Basic, `-p<password>` and `--password value` on command lines, and high-entropy values
 *   standing next to a secret word.
 * Pure and synchronous: the log stream and the API's JSON serialisation call it on every write.
 */

export const MASK = "****";

/** Words that make a name secret wherever they stand in it. */
const SECRET_WORDS = new Set([
  "AUTH",
  "AUTHORIZATION",
  "CREDS",
  "KEY",
  "OAUTH",
  "PASS",
  "PAT",
  "PRIVATEKEY",
  "REQUIREPASS",
  "SALT",
  "SIGNING",
]);
/** Words ending like this are secret too: PGPASSWORD, CLIENTSECRET, MASTERAUTH, MYSQL_PWD. */
const SECRET_SUFFIX = /(PASSWORD|PASSWD|PASSPHRASE|PWD|SECRETS?|TOKENS?|APIKEY|ACCESSKEY|CREDENTIALS?|AUTH)$/;
/** Names that end like a secret and are not: the shell's working directories. */
const NOT_SECRET = new Set(["PWD", "OLDPWD"]);

/** The words of a name in any style: SNAKE_CASE, kebab-case, dotted.keys, camelCase. */
function nameWords(name: string): string[] {
  return name
    .split(/[^A-Za-z0-9]+|(?<=[a-z0-9])(?=[A-Z])/)
    .filter(Boolean)
    .map((w) => w.toUpperCase());
}

export function isSecretName(name: string): boolean {
  if (NOT_SECRET.has(name.toUpperCase())) return false;
  return nameWords(name).some((w) => SECRET_WORDS.has(w) || SECRET_SUFFIX.test(w));
}

/** Credentials with a recognisable shape, wherever they appear (after gitleaks' and secretlint's rules). */
const KNOWN_TOKENS = [
  /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----/g,
  /\bgh[pousr]_[A-Za-z0-9]{20,}/g,
  /\bgithub_pat_[A-Za-z0-9_]{20,}/g,
  /\bglpat-[A-Za-z0-9_-]{20,}/g,
  /\bxox[abposr]-[A-Za-z0-9-]{10,}/g,
  /\b[spr]k_(?:live|test)_[A-Za-z0-9]{16,}/g,
  /\bsk-[A-Za-z0-9_-]{20,}/g,
  /\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/g,
  /\bAIza[0-9A-Za-z_-]{35}/g,
  /\bnpm_[A-Za-z0-9]{36}/g,
  /\bdckr_pat_[A-Za-z0-9_-]{20,}/g,
  /\bSG\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}/g,
  /\beyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/g,
];
const KNOWN_TOKEN = new RegExp(KNOWN_TOKENS.map((r) => r.source).join("|"));

function bitsPerChar(text: string): number {
  const counts = new Map<string, number>();
  for (const ch of text) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  let bits = 0;
  for (const n of counts.values()) bits -= (n / text.length) * Math.log2(n / text.length);
  return bits;
}

/**
 * Does a value look like a credential rather than a word, a number or an id? Known prefixes always;
 * otherwise 16+ token characters mixing letters and digits with high entropy (a UUID's dashes and
 * a word's letters both fall short).
 */
export function looksLikeSecretValue(value: string): boolean {
  if (KNOWN_TOKEN.test(value)) return true;
  if (value.length < 16 || !/^[A-Za-z0-9+/=_.~-]+$/.test(value)) return false;
  if (!/[A-Za-z]/.test(value) || !/\d/.test(value)) return false;
  if (/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value)) return false;
  if (/^[0-9a-f]{32,}$/i.test(value)) return true;
  return bitsPerChar(value) >= 3.5;
}

/** scheme://authority: the authority ends where URL parsers end it (/ ? # or whitespace, or quotes in text). */
const URL_AUTHORITY = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s/?#"'<>]*)/gi;

/**
 * Masks URL userinfo: the password always, the user name too when it is a key (a Sentry DSN, a token
 * used as user). The userinfo ends at the last @ of the authority, as in the WHATWG URL parser, so a
 * password containing @ is masked whole.
 */
export function maskUrlCredentials(text: string): string {
  return text.replace(URL_AUTHORITY, (whole, scheme: string, authority: string) => {
    const at = authority.lastIndexOf("@");
    if (at < 0) return whole;
    const userinfo = authority.slice(0, at);
    const colon = userinfo.indexOf(":");
    const user = colon < 0 ? userinfo : userinfo.slice(0, colon);
    const shownUser = looksLikeSecretValue(user) ? MASK : user;
    return `${scheme}${shownUser}${colon < 0 ? "" : `:${MASK}`}${authority.slice(at)}`;
  });
}

const AUTH_SCHEME = /\b(Bearer|Token)(\s+)([A-Za-z0-9._~+/=-]+)/gi;
const BASIC_AUTH = /\b(Basic)(\s+)([A-Za-z0-9+/]{6,}={0,2})(?![A-Za-z0-9+/=])/gi;
/** key=value, key: value, "key":"value" (the value quoted or up to whitespace, a comma or a brace). */
const KEY_VALUE = /(["']?)\b([A-Za-z_][A-Za-z0-9_.-]*)\1(\s*[=:]\s*)("[^"]*"|'[^']*'|[^\s,;}&]+)/g;
/** --password value, --requirepass value (a separate word). */
const FLAG_VALUE = /(^|\s)(--?[A-Za-z][A-Za-z0-9_-]*)(\s+)("[^"]*"|'[^']*'|[^\s-][^\s]*)/g;
/** -p<password>, as mysql and mysqladmin take it; a port (-p8080) stays. */
const DASH_P = /(^|[\s'"])-p('[^']*'|"[^"]*"|[^\s'"]+)/g;
/** A secret word, then a separator, then the value it names ("signing key 9f86…", "token S3cr…"). */
const WORD_THEN_VALUE =
  /\b(password|passwd|pwd|secret|token|key|pat|signing|credentials?|auth)(s?\b[\s:=]+)(["']?)([A-Za-z0-9+/=_.~-]{16,})\3/gi;

function quoted(value: string, replacement: string): string {
  const q = value[0];
  return (q === '"' || q === "'") && value.endsWith(q) && value.length >= 2
    ? `${q}${replacement}${q}`
    : replacement;
}

function basicCredentials(encoded: string): boolean {
  try {
    return Buffer.from(encoded, "base64").toString("utf8").includes(":");
  } catch {
    return false;
  }
}

/** Masks every secret free text may hold (log lines, commands, health output, error messages). */
export function maskSecretsInText(text: string): string {
  if (!text) return text;
  let out = text;
  for (const pattern of KNOWN_TOKENS) out = out.replace(pattern, MASK);
  out = maskUrlCredentials(out);
  out = out.replace(AUTH_SCHEME, (whole, scheme: string, gap: string, credentials: string) =>
    credentials === MASK || credentials.length < 6 ? whole : `${scheme}${gap}${MASK}`,
  );
  out = out.replace(BASIC_AUTH, (whole, scheme: string, gap: string, encoded: string) =>
    basicCredentials(encoded) ? `${scheme}${gap}${MASK}` : whole,
  );
  out = out.replace(KEY_VALUE, (whole, q: string, key: string, sep: string, value: string) => {
    if (!isSecretName(key) || value === MASK || /^(Bearer|Basic|Token)$/i.test(value)) return whole;
    return `${q}${key}${q}${sep}${quoted(value, MASK)}`;
  });
  out = out.replace(FLAG_VALUE, (whole, lead: string, flag: string, gap: string, value: string) =>
    isSecretName(flag.replace(/^-+/, "")) && value !== MASK
      ? `${lead}${flag}${gap}${quoted(value, MASK)}`
      : whole,
  );
  out = out.replace(DASH_P, (whole, lead: string, value: string) =>
    /^[\d:]+$/.test(value) || value === MASK ? whole : `${lead}-p${MASK}`,
  );
  out = out.replace(WORD_THEN_VALUE, (whole, word: string, sep: string, q: string, value: string) =>
    looksLikeSecretValue(value) ? `${word}${sep}${q}${MASK}${q}` : whole,
  );
  return out;
}

/** A command line as argv: a secret-named flag masks the next argument too (`--requirepass x`). */
export function maskArgs(args: readonly string[]): string[] {
  return args.map((arg, i) => {
    const previous = i > 0 ? args[i - 1]! : "";
    if (/^--?[A-Za-z][\w-]*$/.test(previous) && isSecretName(previous.replace(/^-+/, ""))) return MASK;
    return maskSecretsInText(arg);
  });
}

/** The value of an environment variable (or any named setting) as it may be shown. */
export function maskEnvValue(name: string, value: string): string {
  if (isSecretName(name) && value.length) return MASK;
  return maskSecretsInText(value);
}

/** Nested deeper than this, a value is not faultline's own data: shown as a mask rather than walked. */
const MAX_MASK_DEPTH = 64;

/**
 * A copy of any JSON-like value with every string masked: whole when its key is secret-named, by shape
 * otherwise. Keys, numbers, booleans and the structure stay as they are.
 */
export function maskSecretsDeep<T>(value: T): T {
  return maskValue(value, undefined, 0) as T;
}

function maskValue(raw: unknown, key: string | undefined, depth: number): unknown {
  // As JSON.stringify would see it (a Date becomes its ISO string).
  const toJson = (raw as { toJSON?: () => unknown } | null)?.toJSON;
  const value = typeof toJson === "function" ? toJson.call(raw) : raw;
  if (typeof value === "string")
    return key !== undefined ? maskEnvValue(key, value) : maskSecretsInText(value);
  if (value === null || typeof value !== "object") return value;
  if (depth >= MAX_MASK_DEPTH) return MASK;
  if (Array.isArray(value)) return value.map((v) => maskValue(v, undefined, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = maskValue(v, k, depth + 1);
  return out;
}

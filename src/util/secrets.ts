/** Env var names whose values are secrets; their values never reach any output. */
const SECRET_NAME =
  /(PASS(WORD|WD)?|SECRET|TOKEN|(API|PRIVATE|ACCESS|SECRET)_?KEY|^KEY$|_KEY$|CREDENTIAL|AUTH)/i;

export const MASK = "****";

export function isSecretName(name: string): boolean {
  return SECRET_NAME.test(name);
}

/** Masks the password part of URLs/DSNs ("postgres://user:pw@db/x" -> "postgres://user:****@db/x"). */
export function maskUrlCredentials(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/[^:/@\s]*:)([^@\s]+)(@)/gi, `$1${MASK}$3`);
}

/** Masks key=value / key: value pairs whose key looks secret, and URL credentials, in free text such as log lines. */
export function maskSecretsInText(text: string): string {
  return maskUrlCredentials(text).replace(
    /\b((?:[A-Za-z_][A-Za-z0-9_]*?)?(?:pass(?:word|wd)?|secret|token|api_?key)[A-Za-z0-9_]*)(\s*[=:]\s*)("[^"]*"|'[^']*'|\S+)/gi,
    `$1$2${MASK}`,
  );
}

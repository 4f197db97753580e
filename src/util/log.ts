import pino from "pino";
import { maskSecretsDeep } from "./secrets.js";

/**
 * Every line is masked as it is written, whatever a caller put in it (an engine error quoting a command
 * line, an env var, a URL with its password): the log is an output like any other.
 */
function maskLine(line: string): string {
  try {
    return `${JSON.stringify(maskSecretsDeep(JSON.parse(line) as unknown))}\n`;
  } catch {
    return line;
  }
}

/** A logger writing JSON lines to `destination`, secrets masked. */
export function createLogger(destination: pino.DestinationStream, level = "info"): pino.Logger {
  return pino({ level, base: undefined, hooks: { streamWrite: maskLine } }, destination);
}

/**
 * Progress and diagnostics go to stderr so stdout stays clean for pipes (`faultline graph --format json | jq`).
 * FAULTLINE_LOG_LEVEL=debug|info|warn|silent.
 */
export const log = createLogger(
  pino.destination({ dest: 2, sync: true }),
  process.env.FAULTLINE_LOG_LEVEL ?? "info",
);

export type Logger = typeof log;

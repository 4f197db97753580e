import pino from "pino";

/**
 * Progress and diagnostics go to stderr so stdout stays clean for pipes (`faultline graph --format json | jq`).
 * FAULTLINE_LOG_LEVEL=debug|info|warn|silent.
 */
export const log = pino(
  { level: process.env.FAULTLINE_LOG_LEVEL ?? "info", base: undefined },
  pino.destination({ dest: 2, sync: true }),
);

export type Logger = typeof log;

/** Where the Docker engine is: DOCKER_HOST as the docker CLI reads it, or an explicit socket. */
import { InvalidInputError } from "../errors.js";

const DEFAULT_SOCKET = "/var/run/docker.sock";

export interface DockerEngineOptions {
  /** Path of the engine's unix socket; defaults to DOCKER_HOST or /var/run/docker.sock. */
  socketPath?: string;
  /** Overrides the DOCKER_HOST environment variable (tests). */
  dockerHost?: string;
}

/** Where the engine listens: a unix socket, or a plain-TCP host and port. */
export type EngineAddress =
  { socketPath: string } | { host: string; port: number; protocol: "http" | "https" };

/**
 * DOCKER_HOST as the docker CLI reads it: unix:///path or tcp://host:port (https when DOCKER_TLS_VERIFY
 * is set). Anything else is refused rather than silently replaced by the default socket. Pure.
 */
export function parseDockerHost(value: string | undefined, tlsVerify?: string): EngineAddress {
  if (value === undefined || value === "") return { socketPath: DEFAULT_SOCKET };
  const unix = /^unix:\/\/(\/.+)$/.exec(value);
  if (unix) return { socketPath: unix[1]! };
  const tcp = /^tcp:\/\/(\[[0-9a-fA-F:]+\]|[^:/]+)(?::(\d+))?\/?$/.exec(value);
  if (tcp) {
    const tls = tlsVerify !== undefined && tlsVerify !== "" && tlsVerify !== "0";
    const port = tcp[2] ? Number(tcp[2]) : tls ? 2376 : 2375;
    if (port > 0 && port < 65536) {
      return { host: tcp[1]!.replace(/^\[|\]$/g, ""), port, protocol: tls ? "https" : "http" };
    }
  }
  throw new InvalidInputError(
    `DOCKER_HOST "${value}" is not supported`,
    "use unix:///path/to/docker.sock or tcp://host:port, or unset it for /var/run/docker.sock",
  );
}

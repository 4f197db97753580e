/** Binding the API: "host:port" parsing, a bounded listen, and a close that does not wait on idle keep-alives. */
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Express } from "express";
import { InvalidInputError } from "../errors.js";

export interface ListenAddress {
  host: string;
  port: number;
}

/** "127.0.0.1:8080", "[::1]:8080", ":8080" or "8080" (host defaults to 127.0.0.1); port 0 = any free port. */
export function parseListen(text: string): ListenAddress {
  const t = text.trim();
  const bad = () =>
    new InvalidInputError(`--listen "${text}" is not host:port`, "e.g. --listen 127.0.0.1:8080 or :8080");
  const m = /^(\d+)$/.exec(t) ?? /^\[([0-9a-fA-F:.]+)\]:(\d+)$/.exec(t) ?? /^([^:[\]\s]*):(\d+)$/.exec(t);
  if (!m) throw bad();
  const [host, portText] = m.length === 2 ? ["", m[1]!] : [m[1]!, m[2]!];
  const port = Number(portText);
  if (!Number.isInteger(port) || port > 65535) throw bad();
  return { host: host || "127.0.0.1", port };
}

export function listen(app: Express, address: ListenAddress): Promise<{ server: Server; url: string }> {
  return new Promise((resolve, reject) => {
    const server = app.listen(address.port, address.host);
    server.once("error", (e: NodeJS.ErrnoException) =>
      reject(
        new InvalidInputError(
          `cannot listen on ${address.host}:${address.port}: ${e.code ?? e.message}`,
          e.code === "EADDRINUSE" ? "pick another port with --listen" : undefined,
        ),
      ),
    );
    server.once("listening", () => {
      const { address: host, port } = server.address() as AddressInfo;
      const shown = host.includes(":") ? `[${host}]` : host;
      resolve({ server, url: `http://${shown}:${port}` });
    });
  });
}

/** Stops accepting, ends idle connections, and resolves when the server is closed (bounded). */
export function closeServer(server: Server, timeoutMs = 5000): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      server.closeAllConnections();
      resolve();
    }, timeoutMs);
    server.close(() => {
      clearTimeout(timer);
      resolve();
    });
    server.closeIdleConnections();
  });
}

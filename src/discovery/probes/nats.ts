import type { Probe } from "./types.js";

/** NATS servers greet every client with `INFO {json}`. */
export const natsProbe: Probe = {
  name: "nats",
  portHints: [4222, 6222],
  match(reply) {
    const text = reply.subarray(0, 4096).toString("utf8");
    if (!text.startsWith("INFO {")) return undefined;
    const end = text.indexOf("\n");
    const json = text.slice(5, end >= 0 ? end : undefined).trim();
    try {
      const info = JSON.parse(json) as { version?: unknown; server_id?: unknown };
      if (info.server_id === undefined && info.version === undefined) return undefined;
      return { protocol: "nats", detail: `INFO version ${String(info.version ?? "?")}` };
    } catch {
      return text.includes('"server_id"') ? { protocol: "nats", detail: "INFO" } : undefined;
    }
  },
  complete: (reply) => reply.includes("\n"),
};

import type { Probe } from "./types.js";
import { firstLine } from "./types.js";

/** RESP inline-free PING; a Redis (or a compatible server) answers +PONG, or an auth/protected-mode error. */
export const redisProbe: Probe = {
  name: "redis",
  request: Buffer.from("*1\r\n$4\r\nPING\r\n"),
  portHints: [6379, 6380, 16379, 26379],
  match(reply) {
    const line = firstLine(reply);
    if (/^\+PONG$/.test(line)) return { protocol: "redis", detail: "+PONG" };
    if (/^-(NOAUTH|DENIED|WRONGPASS|LOADING|MASTERDOWN)\b/.test(line)) {
      return { protocol: "redis", detail: line.split(" ")[0] ?? line };
    }
    return undefined;
  },
  complete: (reply) => reply.includes("\r\n"),
};

import type { Probe } from "./types.js";
import { firstLine } from "./types.js";

export const memcachedProbe: Probe = {
  name: "memcached",
  request: Buffer.from("version\r\n"),
  portHints: [11211],
  match(reply) {
    const line = firstLine(reply);
    const m = /^VERSION (\S+)$/.exec(line);
    return m ? { protocol: "memcached", detail: `VERSION ${m[1]}` } : undefined;
  },
  complete: (reply) => reply.includes("\r\n"),
};

import type { Probe } from "./types.js";
import { printable } from "./types.js";

/**
 * MySQL/MariaDB speak first: a packet (3-byte little-endian length, sequence 0) holding either the
 * handshake (protocol 10, NUL-terminated server version) or an ERR packet (0xff, error code, message),
 * e.g. "Host '…' is not allowed to connect" when the client address is not granted.
 */
export const mysqlProbe: Probe = {
  name: "mysql",
  portHints: [3306, 3307, 33060, 4000],
  match(reply) {
    if (reply.length < 5) return undefined;
    const length = reply[0]! | (reply[1]! << 8) | (reply[2]! << 16);
    if (reply[3] !== 0 || length < 2 || length > 1024) return undefined;
    const payload = reply.subarray(4, 4 + length);
    if (payload[0] === 0x0a) {
      const end = payload.indexOf(0, 1);
      if (end < 2) return undefined;
      const version = payload.subarray(1, end).toString("latin1");
      if (!/^[\x20-\x7e]+$/.test(version) || !/\d/.test(version)) return undefined;
      return { protocol: "mysql", detail: `handshake v10 ${version}` };
    }
    if (payload[0] === 0xff && payload.length >= 3) {
      const code = payload.readUInt16LE(1);
      if (code < 1000 || code > 5000) return undefined;
      return { protocol: "mysql", detail: `ERR ${code} ${printable(payload.subarray(3), 50)}` };
    }
    return undefined;
  },
  complete(reply) {
    if (reply.length < 4) return false;
    const length = reply[0]! | (reply[1]! << 8) | (reply[2]! << 16);
    return reply.length >= 4 + length;
  },
};

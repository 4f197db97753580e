import type { Probe } from "./types.js";

/** SSLRequest (length 8, code 80877103): a PostgreSQL server answers exactly one byte, 'S' or 'N'. */
export const SSL_REQUEST = Buffer.from([0x00, 0x00, 0x00, 0x08, 0x04, 0xd2, 0x16, 0x2f]);

export const postgresqlProbe: Probe = {
  name: "postgresql",
  request: SSL_REQUEST,
  portHints: [5432, 5433, 6432, 26257],
  match(reply) {
    if (reply.length === 1 && (reply[0] === 0x53 || reply[0] === 0x4e)) {
      return { protocol: "postgresql", detail: `SSLRequest -> ${reply[0] === 0x53 ? "S" : "N"}` };
    }
    // Servers built without SSL negotiation answer with an ErrorResponse: 'E', int32 length, fields.
    if (reply[0] === 0x45 && reply.length > 5 && /SFATAL|VFATAL/.test(reply.toString("latin1"))) {
      return { protocol: "postgresql", detail: "ErrorResponse FATAL" };
    }
    return undefined;
  },
  complete: (reply) => reply.length >= 1,
};

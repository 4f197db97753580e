import type { Probe } from "./types.js";

const API_VERSIONS = 18;
export const KAFKA_CORRELATION_ID = 0x464c5401;
const UNSUPPORTED_VERSION = 35;

/** ApiVersions v0: every Kafka broker (and compatible: Redpanda) answers it before authentication. */
export function kafkaApiVersionsRequest(): Buffer {
  const clientId = Buffer.from("faultline");
  const body = Buffer.alloc(2 + 2 + 4 + 2 + clientId.length);
  body.writeInt16BE(API_VERSIONS, 0);
  body.writeInt16BE(0, 2);
  body.writeInt32BE(KAFKA_CORRELATION_ID, 4);
  body.writeInt16BE(clientId.length, 8);
  clientId.copy(body, 10);
  const size = Buffer.alloc(4);
  size.writeInt32BE(body.length);
  return Buffer.concat([size, body]);
}

export const kafkaProbe: Probe = {
  name: "kafka",
  request: kafkaApiVersionsRequest(),
  portHints: [9092, 9093, 9094, 29092],
  match(reply) {
    if (reply.length < 14) return undefined;
    const size = reply.readInt32BE(0);
    if (size < 10 || size > 1024 * 1024) return undefined;
    if (reply.readInt32BE(4) !== KAFKA_CORRELATION_ID) return undefined;
    const error = reply.readInt16BE(8);
    if (error !== 0 && error !== UNSUPPORTED_VERSION) return undefined;
    const count = reply.readInt32BE(10);
    if (count < 0 || count > 500) return undefined;
    return { protocol: "kafka", detail: `ApiVersions error=${error} apis=${count}` };
  },
  complete: (reply) => reply.length >= 4 && reply.length >= 4 + reply.readInt32BE(0),
};

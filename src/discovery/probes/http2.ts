/**
 * HTTP/2 with prior knowledge (h2c) and gRPC. The request is the client preface, an empty SETTINGS
 * frame and a gRPC health-check call; gRPC is told apart from plain h2 by its trailers (grpc-status
 * arrives in a HEADERS frame that ends the stream), since the header values themselves are usually
 * Huffman-coded.
 */
import type { Probe } from "./types.js";

const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
const DATA = 0x0;
const HEADERS = 0x1;
const RST_STREAM = 0x3;
const SETTINGS = 0x4;
const GOAWAY = 0x7;
const END_STREAM = 0x1;
const END_HEADERS = 0x4;

export interface H2Frame {
  type: number;
  flags: number;
  streamId: number;
  payload: Buffer;
}

export function frame(type: number, flags: number, streamId: number, payload: Buffer): Buffer {
  const header = Buffer.alloc(9);
  header.writeUIntBE(payload.length, 0, 3);
  header[3] = type;
  header[4] = flags;
  header.writeUInt32BE(streamId & 0x7fffffff, 5);
  return Buffer.concat([header, payload]);
}

function literal(nameIndex: number, value: string): Buffer {
  const v = Buffer.from(value);
  // Literal without indexing, indexed name (4-bit prefix), value not Huffman-coded.
  const prefix = nameIndex < 15 ? [nameIndex] : [0x0f, nameIndex - 15];
  return Buffer.concat([Buffer.from(prefix), Buffer.from([v.length]), v]);
}

function literalNewName(name: string, value: string): Buffer {
  const n = Buffer.from(name);
  const v = Buffer.from(value);
  return Buffer.concat([Buffer.from([0x00, n.length]), n, Buffer.from([v.length]), v]);
}

export function grpcHealthRequest(): Buffer {
  const headerBlock = Buffer.concat([
    Buffer.from([0x83, 0x86]), // :method POST, :scheme http (static table)
    literal(4, "/grpc.health.v1.Health/Check"),
    literal(1, "faultline"),
    literal(31, "application/grpc"),
    literalNewName("te", "trailers"),
  ]);
  return Buffer.concat([
    PREFACE,
    frame(SETTINGS, 0, 0, Buffer.alloc(0)),
    frame(HEADERS, END_HEADERS, 1, headerBlock),
    frame(DATA, END_STREAM, 1, Buffer.from([0, 0, 0, 0, 0])),
  ]);
}

export function parseFrames(buf: Buffer): H2Frame[] {
  const frames: H2Frame[] = [];
  let at = 0;
  while (at + 9 <= buf.length) {
    const length = buf.readUIntBE(at, 3);
    if (at + 9 + length > buf.length) break;
    frames.push({
      type: buf[at + 3] ?? 0,
      flags: buf[at + 4] ?? 0,
      streamId: buf.readUInt32BE(at + 5) & 0x7fffffff,
      payload: buf.subarray(at + 9, at + 9 + length),
    });
    at += 9 + length;
  }
  return frames;
}

export const http2Probe: Probe = {
  name: "http2",
  request: grpcHealthRequest(),
  portHints: [50051, 50052, 9090, 8443, 10000],
  match(reply) {
    const frames = parseFrames(reply);
    const first = frames[0];
    if (!first || first.type !== SETTINGS || first.streamId !== 0 || first.payload.length % 6 !== 0) {
      return undefined;
    }
    const headers = frames.filter((f) => f.type === HEADERS && f.streamId === 1);
    const trailers =
      headers.length >= 2 ||
      (headers.length === 1 && (headers[0]!.flags & END_STREAM) !== 0 && headers[0]!.payload[0] === 0x88);
    const mentionsGrpc = headers.some((h) => h.payload.includes("grpc"));
    if (headers.length && (trailers || mentionsGrpc)) {
      return { protocol: "grpc", detail: "h2c, gRPC trailers on health check" };
    }
    return { protocol: "http2", detail: "h2c SETTINGS" };
  },
  complete(reply) {
    return parseFrames(reply).some(
      (f) =>
        f.type === GOAWAY ||
        (f.streamId === 1 &&
          (f.type === RST_STREAM ||
            ((f.type === HEADERS || f.type === DATA) && (f.flags & END_STREAM) !== 0))),
    );
  },
};

/** Some h2c servers send their SETTINGS before the client speaks: not a banner, so keep probing. */
export function isServerPreface(reply: Buffer): boolean {
  const first = parseFrames(reply)[0];
  return first !== undefined && first.type === SETTINGS && first.streamId === 0;
}

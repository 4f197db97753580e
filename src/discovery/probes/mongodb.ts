import type { Probe } from "./types.js";

const OP_REPLY = 1;
const OP_MSG = 2013;
export const MONGO_REQUEST_ID = 0x46_4c_54_01;

function bsonHelloDocument(): Buffer {
  const hello = Buffer.concat([Buffer.from([0x10]), Buffer.from("hello\0"), int32(1)]);
  const db = Buffer.concat([Buffer.from([0x02]), Buffer.from("$db\0"), int32(6), Buffer.from("admin\0")]);
  const body = Buffer.concat([hello, db, Buffer.from([0x00])]);
  return Buffer.concat([int32(body.length + 4), body]);
}

function int32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32LE(n);
  return b;
}

/** OP_MSG `{hello: 1, $db: "admin"}` (MongoDB >= 3.6 and every wire-compatible server). */
export function mongoHelloMessage(): Buffer {
  const body = Buffer.concat([int32(0), Buffer.from([0x00]), bsonHelloDocument()]);
  const header = Buffer.concat([int32(16 + body.length), int32(MONGO_REQUEST_ID), int32(0), int32(OP_MSG)]);
  return Buffer.concat([header, body]);
}

/** Reads an int32 BSON field by name from anywhere in a reply (enough for a verdict, not a BSON parser). */
export function bsonInt32Field(buf: Buffer, name: string): number | undefined {
  const key = Buffer.concat([Buffer.from([0x10]), Buffer.from(`${name}\0`)]);
  const at = buf.indexOf(key);
  if (at < 0 || at + key.length + 4 > buf.length) return undefined;
  return buf.readInt32LE(at + key.length);
}

export const mongodbProbe: Probe = {
  name: "mongodb",
  request: mongoHelloMessage(),
  portHints: [27017, 27018, 27019],
  match(reply) {
    if (reply.length < 16) return undefined;
    const length = reply.readInt32LE(0);
    const responseTo = reply.readInt32LE(8);
    const opCode = reply.readInt32LE(12);
    if (responseTo !== MONGO_REQUEST_ID || (opCode !== OP_MSG && opCode !== OP_REPLY)) return undefined;
    if (length < 16 || length > 48 * 1024 * 1024) return undefined;
    const wire = bsonInt32Field(reply, "maxWireVersion");
    const known = wire !== undefined || reply.includes("ismaster") || reply.includes("isWritablePrimary");
    if (!known) return undefined;
    return { protocol: "mongodb", detail: `hello reply maxWireVersion=${wire ?? "?"}` };
  },
  complete: (reply) => reply.length >= 4 && reply.length >= reply.readInt32LE(0),
};

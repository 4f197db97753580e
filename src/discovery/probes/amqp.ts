import type { Probe } from "./types.js";

/**
 * AMQP 0-9-1: after the protocol header the broker sends Connection.Start (method frame type 1,
 * channel 0, class 10, method 10), or echoes the header of the version it does speak.
 */
export const AMQP_HEADER = Buffer.from([0x41, 0x4d, 0x51, 0x50, 0x00, 0x00, 0x09, 0x01]);

export const amqpProbe: Probe = {
  name: "amqp",
  request: AMQP_HEADER,
  portHints: [5672, 5671],
  match(reply) {
    if (reply.length >= 8 && reply.subarray(0, 4).toString("latin1") === "AMQP") {
      return { protocol: "amqp", detail: `protocol header ${[...reply.subarray(4, 8)].join(".")}` };
    }
    if (reply.length >= 11 && reply[0] === 1 && reply.readUInt16BE(1) === 0) {
      const cls = reply.readUInt16BE(7);
      const method = reply.readUInt16BE(9);
      if (cls === 10 && method === 10) {
        const product = /productS[\s\S]{4}([\x20-\x7e]{1,40})/.exec(reply.toString("latin1"))?.[1];
        const version = reply.length >= 13 ? `${reply[11]}-${reply[12]}` : "?";
        return { protocol: "amqp", detail: `Connection.Start ${version}${product ? ` ${product}` : ""}` };
      }
    }
    return undefined;
  },
  complete: (reply) => reply.length >= 7 && reply.length >= 8 + reply.readUInt32BE(3),
};

import type { Probe } from "./types.js";

const CLIENT_ID = "faultline-probe";

/** MQTT 3.1.1 CONNECT (clean session, keep-alive 60 s); a broker answers CONNACK (0x20, length 2). */
export function mqttConnectPacket(): Buffer {
  const id = Buffer.from(CLIENT_ID);
  const variable = Buffer.from([0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x04, 0x02, 0x00, 0x3c]);
  const payload = Buffer.concat([Buffer.from([0x00, id.length]), id]);
  const remaining = variable.length + payload.length;
  return Buffer.concat([Buffer.from([0x10, remaining]), variable, payload]);
}

export const mqttProbe: Probe = {
  name: "mqtt",
  request: mqttConnectPacket(),
  portHints: [1883, 8883],
  match(reply) {
    if (reply.length >= 4 && reply[0] === 0x20 && reply[1] === 0x02 && (reply[2]! & 0xfe) === 0) {
      return { protocol: "mqtt", detail: `CONNACK rc=${reply[3]}` };
    }
    return undefined;
  },
  complete: (reply) => reply.length >= 4,
};

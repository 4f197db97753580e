/**
 * Docker multiplexes stdout and stderr of non-TTY containers into frames:
 * [stream type (1 byte), 0, 0, 0, payload length (4 bytes, big endian)] + payload.
 */
export interface StreamFrame {
  stream: "stdout" | "stderr";
  data: Buffer;
}

export function splitDockerStream(buf: Buffer): StreamFrame[] {
  const frames: StreamFrame[] = [];
  let offset = 0;
  while (offset + 8 <= buf.length) {
    const type = buf[offset];
    const size = buf.readUInt32BE(offset + 4);
    if (type !== 1 && type !== 2 && type !== 0) {
      // Not multiplexed after all (TTY container): the whole buffer is one stream.
      return [{ stream: "stdout", data: buf }];
    }
    const end = Math.min(buf.length, offset + 8 + size);
    frames.push({ stream: type === 2 ? "stderr" : "stdout", data: buf.subarray(offset + 8, end) });
    offset = end;
  }
  return frames;
}

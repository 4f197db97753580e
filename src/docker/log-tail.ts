/**
 * Turns a container's log stream into at most `lines` lines while it arrives, bounded in memory: reading
 * stops after `maxBytes`, a line keeps at most `maxLineLength` bytes (the rest is dropped as it
 * arrives, so one endless line costs no more than a short one), and lines that are not text are counted.
 * Pure: the engine adapter feeds it chunks and destroys the stream when `push` says to stop.
 */
import type { LogTailSummary } from "./types.js";

export interface LogTailLimits {
  lines: number;
  maxBytes: number;
  maxLineLength: number;
  /** Docker's 8-byte frame headers precede each chunk of output (containers without a TTY). */
  multiplexed: boolean;
}

interface PendingLine {
  parts: Buffer[];
  size: number;
  cut: boolean;
}

export class LogTailCollector {
  private readonly out: string[] = [];
  private readonly pending = new Map<number, PendingLine>();
  private header = Buffer.alloc(0);
  private frameStream = 1;
  private frameLeft = 0;
  private bytes = 0;
  private cutLines = 0;
  private binaryLines = 0;
  private stopped = false;

  constructor(private readonly limits: LogTailLimits) {}

  /** Feeds received bytes; returns false once the byte cap is reached (stop reading then). */
  push(chunk: Buffer): boolean {
    if (this.stopped) return false;
    const room = this.limits.maxBytes - this.bytes;
    const data = chunk.length > room ? chunk.subarray(0, room) : chunk;
    this.bytes += data.length;
    if (this.limits.multiplexed) this.demux(data);
    else this.text(1, data);
    if (this.bytes >= this.limits.maxBytes) this.stopped = true;
    return !this.stopped;
  }

  /** Flushes unterminated lines and reports what was kept and what was cut. */
  finish(): LogTailSummary & { lines: string[] } {
    for (const stream of [...this.pending.keys()]) this.flush(stream);
    const lines = this.out.slice(-this.limits.lines);
    return {
      lines,
      bytesRead: this.bytes,
      byteCapReached: this.stopped,
      cutLines: this.cutLines,
      binaryLines: this.binaryLines,
    };
  }

  private demux(data: Buffer): void {
    let at = 0;
    while (at < data.length) {
      if (this.frameLeft === 0) {
        const need = 8 - this.header.length;
        this.header = Buffer.concat([this.header, data.subarray(at, at + need)]);
        at += Math.min(need, data.length - at);
        if (this.header.length < 8) return;
        const type = this.header[0] ?? 1;
        this.frameStream = type === 2 ? 2 : 1;
        this.frameLeft = this.header.readUInt32BE(4);
        this.header = Buffer.alloc(0);
        continue;
      }
      const take = Math.min(this.frameLeft, data.length - at);
      this.text(this.frameStream, data.subarray(at, at + take));
      this.frameLeft -= take;
      at += take;
    }
  }

  /** Splits text on newlines, per stream (stdout and stderr lines interleave frame by frame). */
  private text(stream: number, data: Buffer): void {
    let start = 0;
    for (let nl = data.indexOf(0x0a, start); nl >= 0; nl = data.indexOf(0x0a, start)) {
      this.append(stream, data.subarray(start, nl));
      this.flush(stream);
      start = nl + 1;
    }
    if (start < data.length) this.append(stream, data.subarray(start));
  }

  private append(stream: number, part: Buffer): void {
    const line = this.pending.get(stream) ?? { parts: [], size: 0, cut: false };
    this.pending.set(stream, line);
    const room = this.limits.maxLineLength - line.size;
    if (part.length > room) line.cut = true;
    if (room > 0) {
      const kept = part.subarray(0, room);
      line.parts.push(kept);
      line.size += kept.length;
    }
  }

  private flush(stream: number): void {
    const line = this.pending.get(stream);
    this.pending.delete(stream);
    if (!line) return;
    const raw = Buffer.concat(line.parts);
    let text = raw.toString("utf8").replace(/\r$/, "");
    // A cut through a multi-byte character is not binary: drop the undecodable tail.
    if (line.cut) text = text.replace(/\ufffd{1,3}$/, "");
    if (!text.length) return;
    if (line.cut) this.cutLines++;
    if (looksBinary(raw, text)) this.binaryLines++;
    this.out.push(text);
    // Only the newest `lines` are returned: do not keep more than twice that.
    if (this.out.length > this.limits.lines * 2) this.out.splice(0, this.out.length - this.limits.lines);
  }
}

/** Not text: NUL or other control bytes, or bytes that are not valid UTF-8. */
export function looksBinary(raw: Buffer, decoded: string): boolean {
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x08\x0e-\x1a\x1c-\x1f\x7f]/.test(decoded)) return true;
  // U+FFFD in the decoded text but not encoded in the raw bytes (EF BF BD): an invalid sequence.
  const replacements = decoded.split("\ufffd").length - 1;
  if (replacements === 0) return false;
  let literal = 0;
  for (let i = raw.indexOf("\ufffd"); i >= 0; i = raw.indexOf("\ufffd", i + 3)) literal++;
  return replacements > literal;
}

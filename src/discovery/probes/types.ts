/**
 * nmap-style probes: bytes to send (or none, for servers that speak first) and a pure matcher over the
 * reply. The runner in runner.ts does the I/O; everything here is unit-tested on real reply bytes.
 */
import type { ProbedProtocol } from "../profile.js";

export interface ProbeMatch {
  protocol: ProbedProtocol;
  /** Short, printable description of what identified it (never secrets). */
  detail: string;
}

export interface Probe {
  name: string;
  /** Bytes to send right after connecting; absent for banner probes (read what the server says first). */
  request?: Buffer;
  /** Ports where this protocol usually lives: tried first there. */
  portHints: readonly number[];
  /** Decides from the bytes received so far; undefined when they are not this protocol (yet). */
  match(reply: Buffer): ProbeMatch | undefined;
  /** True once enough bytes arrived to decide, so the runner stops waiting early. */
  complete?(reply: Buffer): boolean;
}

/** Printable ASCII excerpt of a reply for details and notes (control bytes dropped, length capped). */
export function printable(buf: Buffer, max = 60): string {
  const text = buf
    .subarray(0, max * 2)
    .toString("latin1")
    .replace(/[^\x20-\x7e]+/g, " ")
    .trim();
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

export function firstLine(buf: Buffer, max = 80): string {
  const text = buf.subarray(0, 512).toString("latin1");
  const end = text.search(/\r?\n/);
  return printable(Buffer.from(end >= 0 ? text.slice(0, end) : text, "latin1"), max);
}

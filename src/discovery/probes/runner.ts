/** The I/O half of probing: connect, optionally send, collect a bounded reply, hand it to the matchers. */
import { Socket } from "node:net";
import type { ProbedProtocol } from "../profile.js";
import { firstMatch, planProbes } from "./catalog.js";
import { isServerPreface } from "./http2.js";
import type { Probe } from "./types.js";
import { printable } from "./types.js";

const MAX_REPLY_BYTES = 64 * 1024;

export interface ExchangeResult {
  connected: boolean;
  data: Buffer;
  /** Time from connect to the first reply byte, or to the end when nothing came. */
  latencyMs: number;
  error?: string;
}

export interface ExchangeOptions {
  timeoutMs: number;
  complete?: (data: Buffer) => boolean;
  signal?: AbortSignal;
}

/** One bounded connection: never longer than timeoutMs, never more than 64 KiB kept. */
export function exchange(
  host: string,
  port: number,
  request: Buffer | undefined,
  options: ExchangeOptions,
): Promise<ExchangeResult> {
  return new Promise((resolve) => {
    const socket = new Socket();
    const chunks: Buffer[] = [];
    let size = 0;
    let connected = false;
    let started = Date.now();
    let firstByteAt: number | undefined;
    let settled = false;
    const finish = (error?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal?.removeEventListener("abort", onAbort);
      socket.destroy();
      const data = Buffer.concat(chunks);
      resolve({ connected, data, latencyMs: (firstByteAt ?? Date.now()) - started, error });
    };
    const onAbort = () => finish("aborted");
    const timer = setTimeout(() => finish(connected ? undefined : "connect timeout"), options.timeoutMs);
    options.signal?.addEventListener("abort", onAbort, { once: true });
    if (options.signal?.aborted) return finish("aborted");
    socket.on("connect", () => {
      connected = true;
      started = Date.now();
      if (request) socket.write(request);
    });
    socket.on("data", (chunk: Buffer) => {
      firstByteAt ??= Date.now();
      chunks.push(chunk);
      size += chunk.length;
      if (size >= MAX_REPLY_BYTES) return finish();
      if (options.complete?.(Buffer.concat(chunks))) finish();
    });
    socket.on("error", (e: NodeJS.ErrnoException) => finish(e.code ?? e.message));
    socket.on("close", () => finish());
    socket.connect(port, host);
  });
}

export interface PortIdentification {
  protocol: ProbedProtocol;
  detail: string;
  latencyMs: number;
  /** Why the protocol is "unknown": the port accepted connections but nothing matched. */
  reason?: string;
}

export interface IdentifyOptions {
  /** Bound of each probe connection. */
  probeTimeoutMs: number;
  /** How long to listen for a server that speaks first. */
  bannerMs: number;
  /** Bound for the whole port. */
  budgetMs: number;
  signal?: AbortSignal;
}

export interface IdentifyResult {
  /** A verdict whenever the port accepted a connection ("unknown" with a reason when nothing matched). */
  match?: PortIdentification;
  notes: string[];
}

/** What the port did across all attempts, for the verdict when no probe matched. */
interface Observed {
  connected: boolean;
  /** The first unmatched reply, if any probe got bytes back. */
  reply?: Buffer;
  /** Some connection was closed by the server before it said anything. */
  closedSilently: boolean;
  /** Longest time a connection waited for bytes that never came. */
  waitedMs: number;
}

/** Runs the probe plan for one TCP port and returns the first verdict, or notes on why there is none. */
export async function identifyPort(
  host: string,
  port: number,
  options: IdentifyOptions,
): Promise<IdentifyResult> {
  const notes: string[] = [];
  const budget = AbortSignal.timeout(options.budgetMs);
  const signal = options.signal ? AbortSignal.any([options.signal, budget]) : budget;
  const seen: Observed = { connected: false, closedSilently: false, waitedMs: 0 };
  for (const step of planProbes(port)) {
    if (signal.aborted) {
      notes.push(`port ${port}: probing stopped after ${options.budgetMs} ms`);
      break;
    }
    if (step.kind === "banner") {
      const r = await exchange(host, port, undefined, {
        timeoutMs: options.bannerMs,
        complete: (d) => step.probes.some((p) => p.complete?.(d) && p.match(d)),
        signal,
      });
      if (!r.connected) {
        if (seen.connected) continue;
        notes.push(`port ${port}: cannot connect to ${host} (${r.error ?? "refused"})`);
        return { notes };
      }
      if (!r.data.length) observe(seen, r, options.bannerMs);
      if (r.data.length && !isServerPreface(r.data)) {
        const m = firstMatch(step.probes, r.data);
        if (m) return { match: { ...m, latencyMs: r.latencyMs }, notes };
        return {
          match: {
            protocol: "unknown",
            detail: `speaks first: ${printable(r.data, 40) || hexHead(r.data)}`,
            latencyMs: r.latencyMs,
            reason: `unrecognised ${isMostlyText(r.data) ? "text" : "binary"} greeting`,
          },
          notes: [...notes, `port ${port}: unrecognised greeting`],
        };
      }
      continue;
    }
    const result = await firstRequestMatch(host, port, step.probes, options.probeTimeoutMs, signal, seen);
    if (result) return { match: result, notes };
  }
  if (!signal.aborted || notes.length === 0) notes.push(`port ${port}: no probe recognised the protocol`);
  const unknown = unknownVerdict(seen);
  return unknown ? { match: unknown, notes } : { notes };
}

/** Records one unmatched exchange: bytes, a wait that ran out (or was cut by the budget), or a close. */
function observe(seen: Observed, r: ExchangeResult, timeoutMs: number): void {
  if (!r.connected) return;
  seen.connected = true;
  if (r.data.length) seen.reply ??= r.data;
  else if (r.error === "aborted" || (r.error === undefined && r.latencyMs >= timeoutMs - 50)) {
    seen.waitedMs = Math.max(seen.waitedMs, r.latencyMs);
  } else seen.closedSilently = true;
}

/** The verdict for a port that accepted connections but matched no probe: what it did instead. */
export function unknownVerdict(seen: Observed): PortIdentification | undefined {
  if (!seen.connected) return undefined;
  if (seen.reply) {
    const text = isMostlyText(seen.reply);
    return {
      protocol: "unknown",
      detail: `replied: ${(text && printable(seen.reply, 40)) || hexHead(seen.reply)}`,
      latencyMs: 0,
      reason: `unrecognised ${text ? "text" : "binary"} reply`,
    };
  }
  if (seen.waitedMs > 0) {
    return {
      protocol: "unknown",
      detail: "accepts connections, never replies",
      latencyMs: 0,
      reason: `no reply within ${seen.waitedMs} ms`,
    };
  }
  return {
    protocol: "unknown",
    detail: "accepts connections, closes them silently",
    latencyMs: 0,
    reason: "closed without a reply",
  };
}

/** Probes of one step run at once, each on its own connection; the earliest in order that matched wins. */
async function firstRequestMatch(
  host: string,
  port: number,
  probes: Probe[],
  timeoutMs: number,
  signal: AbortSignal,
  seen: Observed,
): Promise<PortIdentification | undefined> {
  const results = await Promise.all(
    probes.map(async (p) => {
      const r = await exchange(host, port, p.request, { timeoutMs, signal, complete: p.complete });
      const m = r.data.length ? p.match(r.data) : undefined;
      if (!m) observe(seen, r, timeoutMs);
      return m ? { ...m, latencyMs: r.latencyMs } : undefined;
    }),
  );
  return results.find((r) => r !== undefined);
}

function isMostlyText(buf: Buffer): boolean {
  const head = buf.subarray(0, 256);
  let readable = 0;
  for (const b of head) if ((b >= 0x20 && b < 0x7f) || b === 0x0a || b === 0x0d || b === 0x09) readable++;
  return head.length > 0 && readable / head.length >= 0.9;
}

function hexHead(buf: Buffer): string {
  return buf.subarray(0, 12).toString("hex");
}

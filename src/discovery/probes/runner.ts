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
  match?: PortIdentification;
  notes: string[];
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
        notes.push(`port ${port}: cannot connect to ${host} (${r.error ?? "refused"})`);
        return { notes };
      }
      if (r.data.length && !isServerPreface(r.data)) {
        const m = firstMatch(step.probes, r.data);
        if (m) return { match: { ...m, latencyMs: r.latencyMs }, notes };
        return {
          match: {
            protocol: "unknown",
            detail: `speaks first: ${printable(r.data, 40) || hexHead(r.data)}`,
            latencyMs: r.latencyMs,
          },
          notes: [...notes, `port ${port}: unrecognised greeting`],
        };
      }
      continue;
    }
    const result = await firstRequestMatch(host, port, step.probes, options.probeTimeoutMs, signal);
    if (result) return { match: result, notes };
  }
  if (!signal.aborted || notes.length === 0) notes.push(`port ${port}: no probe recognised the protocol`);
  return { notes };
}

/** Probes of one step run at once, each on its own connection; the earliest in order that matched wins. */
async function firstRequestMatch(
  host: string,
  port: number,
  probes: Probe[],
  timeoutMs: number,
  signal: AbortSignal,
): Promise<PortIdentification | undefined> {
  const results = await Promise.all(
    probes.map(async (p) => {
      const r = await exchange(host, port, p.request, { timeoutMs, signal, complete: p.complete });
      const m = r.data.length ? p.match(r.data) : undefined;
      return m ? { ...m, latencyMs: r.latencyMs } : undefined;
    }),
  );
  return results.find((r) => r !== undefined);
}

function hexHead(buf: Buffer): string {
  return buf.subarray(0, 12).toString("hex");
}

/**
 * Socket tables for every container in scope, from the cheapest source that works: the host's /proc,
 * else one batched helper container, else a connect scan of common ports (no connections then).
 */
import type { ContainerInfo, DockerRuntime } from "../../docker/types.js";
import type { ConnectionObservation } from "../profile.js";
import { errorText } from "../../errors.js";
import { mapLimit } from "../../util/concurrency.js";
import { connectScan } from "./connect-scan.js";
import { readTablesViaHelper } from "./helper-proc.js";
import { readHostProcTables } from "./host-proc.js";
import {
  parseProcNetTables,
  summarizeSockets,
  type ListeningSocket,
  type ProcNetTables,
} from "./proc-net.js";

export type SocketSource = "auto" | "host" | "helper" | "scan";

export interface SocketReading {
  via: "host-proc" | "helper" | "connect-scan" | "none";
  listening: ListeningSocket[];
  connections: ConnectionObservation[];
  notes: string[];
}

export interface CollectSocketsOptions {
  source: SocketSource;
  helperImage: string;
  helperTimeoutMs: number;
  scanTimeoutMs: number;
  /** Address to connect-scan, when the fallback is needed. */
  addressOf: (c: ContainerInfo) => string | undefined;
  onProgress?: (msg: string) => void;
  signal?: AbortSignal;
}

function fromTables(tables: ProcNetTables, via: "host-proc" | "helper"): SocketReading {
  const summary = summarizeSockets(parseProcNetTables(tables));
  return { via, ...summary, notes: [] };
}

export async function collectSockets(
  runtime: DockerRuntime,
  containers: ContainerInfo[],
  options: CollectSocketsOptions,
): Promise<Map<string, SocketReading>> {
  const each = collectSocketsEach(runtime, containers, options);
  const readings = new Map<string, SocketReading>();
  for (const [id, reading] of each) readings.set(id, await reading);
  return readings;
}

/**
 * The same readings, one promise per container, each settling as soon as that container's table is
 * read: a caller can profile the first containers while the kernel still walks the others' tables
 * (each walk costs milliseconds of kernel time whatever the namespace holds). Containers the host's
 * /proc cannot show wait for the one batched fallback. The promises never reject.
 */
export function collectSocketsEach(
  runtime: DockerRuntime,
  containers: ContainerInfo[],
  options: CollectSocketsOptions,
): Map<string, Promise<SocketReading>> {
  const running = containers.filter((c) => c.state === "running" && c.pid > 0);
  const useHost = options.source === "auto" || options.source === "host";
  const host = new Map(
    running.map((c) => [
      c.id,
      useHost ? readHostProcTables(c.pid, c.id).catch(() => undefined) : Promise.resolve(undefined),
    ]),
  );
  const fallback = (async () => {
    const settled = await Promise.all(running.map(async (c) => [c, await host.get(c.id)!] as const));
    const pending = settled.filter(([, tables]) => !tables).map(([c]) => c);
    return pending.length ? collectFallback(runtime, pending, options) : new Map<string, SocketReading>();
  })();
  const readings = new Map<string, Promise<SocketReading>>();
  for (const c of containers) {
    if (!running.includes(c)) {
      readings.set(
        c.id,
        Promise.resolve({
          via: "none",
          listening: [],
          connections: [],
          notes: [`not running (${c.state}): no socket table`],
        }),
      );
      continue;
    }
    readings.set(
      c.id,
      host.get(c.id)!.then(async (tables) => {
        if (tables) return fromTables(tables, "host-proc");
        return (
          (await fallback).get(c.id) ?? {
            via: "none",
            listening: [],
            connections: [],
            notes: ["socket table unreadable"],
          }
        );
      }),
    );
  }
  return readings;
}

/** One helper container for every namespace the host's /proc cannot show, else a connect scan. */
async function collectFallback(
  runtime: DockerRuntime,
  containers: ContainerInfo[],
  options: CollectSocketsOptions,
): Promise<Map<string, SocketReading>> {
  const readings = new Map<string, SocketReading>();
  let pending = containers;
  const helperNotes: string[] = [];
  if (options.source === "auto" || options.source === "helper") {
    options.onProgress?.(
      `reading socket tables of ${pending.length} container(s) through one helper container`,
    );
    try {
      const tables = await readTablesViaHelper(
        runtime.helpers,
        pending.map((c) => ({ containerId: c.id, pid: c.pid })),
        { image: options.helperImage, timeoutMs: options.helperTimeoutMs, signal: options.signal },
      );
      for (const [id, t] of tables) readings.set(id, fromTables(t, "helper"));
    } catch (e) {
      helperNotes.push(`socket helper failed: ${errorText(e)}`);
    }
    pending = pending.filter((c) => !readings.has(c.id));
  }
  await mapLimit(pending, 4, async (c) => {
    const address = options.addressOf(c);
    const notes = [
      ...helperNotes,
      "socket table unreadable: listening ports from a TCP connect scan (no UDP, no connections)",
    ];
    if (!address) {
      readings.set(c.id, {
        via: "none",
        listening: [],
        connections: [],
        notes: [...notes, "no reachable address to scan"],
      });
      return;
    }
    const declared = c.exposedPorts.filter((p) => p.protocol === "tcp").map((p) => p.port);
    const open = await connectScan(address, declared, { timeoutMs: options.scanTimeoutMs, concurrency: 32 });
    readings.set(c.id, {
      via: "connect-scan",
      listening: open.map((port) => ({ port, protocol: "tcp", bindAddress: address })),
      connections: [],
      notes,
    });
  });
  return readings;
}

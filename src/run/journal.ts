/**
 * The fault journal: an append-only JSONL file, fsync'd on every write, written BEFORE each change and
 * after each revert, so a faultline that was killed mid-fault can be followed by one that undoes it.
 * One line per record; a crash can tear only the last line, which reading skips.
 *
 * Several faultline processes may share a state dir (a service and CLI runs), so every write holds a
 * lock file for the few milliseconds it takes. That lock is what makes compaction safe: once the file
 * passes COMPACT_AFTER_BYTES, the write that closes a fault rewrites it (atomically, by rename) without
 * the faults nothing can still act on, so an always-on service's journal stays bounded.
 */
import { mkdirSync } from "node:fs";
import { open, readFile, rename, stat, unlink } from "node:fs/promises";
import { hostname } from "node:os";
import { dirname, join, resolve } from "node:path";
import { OperationTimeoutError } from "../errors.js";
import type { JournalFaultEntry } from "../faults/fault.js";
import { WATCHDOG_SWEEP_MARGIN_MS } from "../faults/watchdog.js";
import { log } from "../util/log.js";
import { sleep } from "../util/time.js";

export const JOURNAL_FILE = "journal.jsonl";
const LOCK_FILE = "journal.lock";

/** Past this size the next write that closes a fault compacts the journal. */
export const COMPACT_AFTER_BYTES = 256 * 1024;
/** A write holds the lock for milliseconds: one held longer was left by a process that died holding it. */
const LOCK_STALE_MS = 10_000;
const LOCK_WAIT_MS = 15_000;

/** --state-dir, else FAULTLINE_STATE_DIR, else ./.faultline */
export function resolveStateDir(
  explicit?: string,
  env: NodeJS.ProcessEnv = process.env,
  cwd = process.cwd(),
): string {
  return resolve(cwd, explicit ?? env.FAULTLINE_STATE_DIR ?? ".faultline");
}

/** Which process wrote a record: recovery reverts only faults whose owner is gone. */
export interface JournalOwner {
  pid: number;
  host: string;
}

export type JournalRecord =
  | { type: "intent"; at: string; owner: JournalOwner; project?: string; entry: JournalFaultEntry }
  | { type: "update"; at: string; entry: JournalFaultEntry }
  | { type: "reverted"; at: string; faultId: string; by: JournalOwner };

/** An intent with no "reverted" record yet, with its latest entry. */
export interface PendingFault {
  entry: JournalFaultEntry;
  owner: JournalOwner;
  project?: string;
  intendedAt: string;
}

/** What the runner needs from a journal; the dry run swaps in one that writes nothing. */
export interface FaultJournal {
  intent(entry: JournalFaultEntry, project?: string): Promise<void>;
  update(entry: JournalFaultEntry): Promise<void>;
  reverted(faultId: string): Promise<void>;
}

export interface JournalOptions {
  /** Compact once the file is larger than this (bytes). */
  compactAfterBytes?: number;
  now?: () => number;
}

export class Journal implements FaultJournal {
  readonly path: string;
  private readonly lockPath: string;
  private readonly owner: JournalOwner = { pid: process.pid, host: hostname() };
  private readonly compactAfterBytes: number;
  private readonly now: () => number;

  constructor(stateDir: string, options: JournalOptions = {}) {
    this.path = join(stateDir, JOURNAL_FILE);
    this.lockPath = join(stateDir, LOCK_FILE);
    this.compactAfterBytes = options.compactAfterBytes ?? COMPACT_AFTER_BYTES;
    this.now = options.now ?? Date.now;
  }

  async intent(entry: JournalFaultEntry, project?: string): Promise<void> {
    await this.append({
      type: "intent",
      at: now(),
      owner: this.owner,
      ...(project ? { project } : {}),
      entry,
    });
  }

  async update(entry: JournalFaultEntry): Promise<void> {
    await this.append({ type: "update", at: now(), entry });
  }

  async reverted(faultId: string): Promise<void> {
    await this.append({ type: "reverted", at: now(), faultId, by: this.owner }, { compact: true });
  }

  async records(): Promise<JournalRecord[]> {
    let text: string;
    try {
      text = await readFile(this.path, "utf8");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw e;
    }
    return parseJournal(text, this.path);
  }

  async pendingFaults(): Promise<PendingFault[]> {
    return pendingFrom(await this.records());
  }

  /**
   * Appends one line and fsyncs before returning. A torn line left by a crash is closed with a newline
   * first, so this record stays readable.
   */
  private async append(record: JournalRecord, options: { compact?: boolean } = {}): Promise<void> {
    mkdirSync(dirname(this.path), { recursive: true });
    await this.locked(async () => {
      const file = await open(this.path, "a+");
      let size: number;
      try {
        size = (await file.stat()).size;
        let prefix = "";
        if (size > 0) {
          const last = Buffer.alloc(1);
          await file.read(last, 0, 1, size - 1);
          if (last[0] !== 0x0a) prefix = "\n";
        }
        const line = `${prefix}${JSON.stringify({ v: 1, ...record })}\n`;
        await file.appendFile(line, "utf8");
        await file.sync();
        size += Buffer.byteLength(line);
      } finally {
        await file.close();
      }
      if (options.compact && size > this.compactAfterBytes) await this.compact(size);
    });
  }

  /**
   * Rewrites the journal with only what recovery can still need (compactRecords), through a new file
   * renamed over the old one: a reader sees the old journal or the new one, never half of either. A
   * failure leaves the old journal as it was.
   */
  private async compact(sizeBefore: number): Promise<void> {
    const tmp = `${this.path}.${process.pid}.tmp`;
    try {
      const kept = compactRecords(await this.records(), this.now());
      const file = await open(tmp, "w");
      try {
        await file.writeFile(kept.map((r) => `${JSON.stringify({ v: 1, ...r })}\n`).join(""), "utf8");
        await file.sync();
      } finally {
        await file.close();
      }
      await rename(tmp, this.path);
      const dir = await open(dirname(this.path), "r");
      await dir.sync().finally(() => dir.close());
      log.debug({ sizeBefore, records: kept.length }, "journal compacted");
    } catch (e) {
      await unlink(tmp).catch(() => undefined);
      log.warn(
        { err: e, path: this.path },
        "could not compact the journal; it keeps growing until the next try",
      );
    }
  }

  /** Runs `work` holding the state dir's journal lock (an exclusive-create file naming its holder). */
  private async locked<T>(work: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + LOCK_WAIT_MS;
    for (;;) {
      try {
        const lock = await open(this.lockPath, "wx");
        await lock.writeFile(JSON.stringify(this.owner)).finally(() => lock.close());
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
        if (await this.breakStaleLock()) continue;
        if (Date.now() > deadline) {
          throw new OperationTimeoutError(
            `the journal lock ${this.lockPath} has been held for over ${LOCK_WAIT_MS / 1000} s`,
            "another faultline is writing to this state dir; if none is running, remove the lock file",
          );
        }
        await sleep(5 + Math.random() * 15);
      }
    }
    try {
      return await work();
    } finally {
      await unlink(this.lockPath).catch(() => undefined);
    }
  }

  /** Removes a lock whose holder died (same host, pid gone) or that is older than any write takes. */
  private async breakStaleLock(): Promise<boolean> {
    let holder: Partial<JournalOwner> = {};
    let age = 0;
    try {
      age = Date.now() - (await stat(this.lockPath)).mtimeMs;
      holder = JSON.parse(await readFile(this.lockPath, "utf8")) as Partial<JournalOwner>;
    } catch (e) {
      // Released in between: try again at once. Being written right now: wait, unless it is old.
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return true;
      if (age <= LOCK_STALE_MS) return false;
    }
    const dead =
      holder.host === hostname() &&
      typeof holder.pid === "number" &&
      holder.pid !== process.pid &&
      !processExists(holder.pid);
    if (!dead && age <= LOCK_STALE_MS) return false;
    await unlink(this.lockPath).catch(() => undefined);
    log.warn({ lock: this.lockPath, holder }, "removed a stale journal lock");
    return true;
  }
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * What a compacted journal keeps (pure): every fault still pending, as one intent with its newest entry,
 * and a closed fault only while a helper of it could still be alive to be judged by a sweep (its deadline
 * plus the watchdog's acting window has not passed), as its intent and its "reverted" record. Everything
 * else (the faults of every earlier run, closed and past) drops out.
 */
export function compactRecords(records: readonly JournalRecord[], now: number): JournalRecord[] {
  const faults = new Map<
    string,
    { intent?: Extract<JournalRecord, { type: "intent" }>; reverted?: JournalRecord }
  >();
  const of = (id: string) => {
    let f = faults.get(id);
    if (!f) faults.set(id, (f = {}));
    return f;
  };
  for (const r of records) {
    if (r.type === "intent") of(r.entry.faultId).intent = r;
    else if (r.type === "update") {
      const f = faults.get(r.entry.faultId);
      if (f?.intent) f.intent = { ...f.intent, entry: r.entry };
    } else of(r.faultId).reverted = r;
  }
  const kept: JournalRecord[] = [];
  for (const { intent, reverted } of faults.values()) {
    if (!intent) continue;
    if (!reverted) kept.push(intent);
    else if (intent.entry.deadline + WATCHDOG_SWEEP_MARGIN_MS > now) kept.push(intent, reverted);
  }
  return kept;
}

/** Parses JSONL, skipping unreadable lines (a torn last line is expected after a crash; others are logged). */
export function parseJournal(text: string, source = "journal"): JournalRecord[] {
  const lines = text.split("\n");
  const out: JournalRecord[] = [];
  lines.forEach((line, i) => {
    if (!line.trim()) return;
    try {
      const parsed = JSON.parse(line) as JournalRecord & { v?: number };
      if (parsed && typeof parsed === "object" && typeof parsed.type === "string") out.push(parsed);
    } catch {
      const isLast = lines.slice(i + 1).every((l) => !l.trim());
      if (!isLast) log.warn({ source, line: i + 1 }, "skipping an unreadable journal line");
    }
  });
  return out;
}

/** Intents without a "reverted" record, each with the newest version of its entry. */
export function pendingFrom(records: JournalRecord[]): PendingFault[] {
  const pending = new Map<string, PendingFault>();
  for (const r of records) {
    if (r.type === "intent") {
      pending.set(r.entry.faultId, { entry: r.entry, owner: r.owner, project: r.project, intendedAt: r.at });
    } else if (r.type === "update") {
      const p = pending.get(r.entry.faultId);
      if (p) p.entry = r.entry;
    } else if (r.type === "reverted") {
      pending.delete(r.faultId);
    }
  }
  return [...pending.values()];
}

/** A journal that remembers nothing: for dry runs, which change nothing and so have nothing to undo. */
export const NULL_JOURNAL: FaultJournal = {
  async intent() {},
  async update() {},
  async reverted() {},
};

function now(): string {
  return new Date().toISOString();
}

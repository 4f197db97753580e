/**
 * The fault journal: an append-only JSONL file, fsync'd on every write, written BEFORE each change and
 * after each revert, so a faultline that was killed mid-fault can be followed by one that undoes it.
 * One line per record; a crash can tear only the last line, which reading skips.
 */
import { mkdirSync } from "node:fs";
import { open, readFile } from "node:fs/promises";
import { hostname } from "node:os";
import { dirname, join, resolve } from "node:path";
import type { JournalFaultEntry } from "../faults/fault.js";
import { log } from "../util/log.js";

export const JOURNAL_FILE = "journal.jsonl";

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

export class Journal implements FaultJournal {
  readonly path: string;
  private readonly owner: JournalOwner = { pid: process.pid, host: hostname() };

  constructor(stateDir: string) {
    this.path = join(stateDir, JOURNAL_FILE);
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
    await this.append({ type: "reverted", at: now(), faultId, by: this.owner });
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
  private async append(record: JournalRecord): Promise<void> {
    mkdirSync(dirname(this.path), { recursive: true });
    const file = await open(this.path, "a+");
    try {
      const { size } = await file.stat();
      let prefix = "";
      if (size > 0) {
        const last = Buffer.alloc(1);
        await file.read(last, 0, 1, size - 1);
        if (last[0] !== 0x0a) prefix = "\n";
      }
      await file.appendFile(`${prefix}${JSON.stringify({ v: 1, ...record })}\n`, "utf8");
      await file.sync();
    } finally {
      await file.close();
    }
  }
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

/**
 * The run history: one SQLite file (better-sqlite3, synchronous and in-process) under the state dir that
 * every faultline sharing that dir writes to (WAL mode, so a CLI run and `serve` can write at once). A
 * row is opened when a run starts and closed when it ends; a row still open whose faultline is gone is
 * closed as interrupted by the next one that opens the store. Report files are kept under a retention
 * limit (count and age); the rows themselves stay.
 */
import { randomUUID } from "node:crypto";
import { mkdirSync, readdirSync, rmdirSync, unlinkSync } from "node:fs";
import { hostname } from "node:os";
import { dirname, join } from "node:path";
import Database from "better-sqlite3";
import type { Severity } from "../analysis/types.js";
import { errorText } from "../errors.js";
import type { ReportFiles } from "../report/write.js";
import { log } from "../util/log.js";
import {
  SEVERITY_ORDER,
  type HistoryEnd,
  type HistoryRun,
  type HistoryStart,
  type HistoryStatus,
  type ImpactedSummary,
  type RunSource,
} from "./summary.js";

export const HISTORY_FILE = "history.db";

/** Report files kept by default: the newest 200 runs' and none older than 30 days. */
export const DEFAULT_RETENTION: Retention = { maxReports: 200, maxReportAgeMs: 30 * 24 * 3600_000 };

export interface Retention {
  /** Runs whose report files are kept, newest first. */
  maxReports: number;
  /** Report files of runs that started longer ago than this are removed. */
  maxReportAgeMs: number;
}

export interface HistoryFilter {
  /** Runs started at or after this instant. */
  since?: Date;
  /** Runs with this service among their targets. */
  target?: string;
  /** Runs whose worst severity is this one or worse. */
  severity?: Severity;
  source?: RunSource;
  limit?: number;
}

/** What a run sequence needs from history: one row opened at its start and closed at its end. */
export interface RunHistory {
  begin(run: HistoryStart): void;
  finish(id: string, end: HistoryEnd): void;
}

/** The process writing rows: a restarted faultline can reuse a pid (pid 1 in a container), never a session. */
interface Owner {
  pid: number;
  host: string;
  session: string;
}

const SCHEMA_VERSION = 1;

interface Row {
  id: string;
  source: RunSource;
  project: string | null;
  title: string | null;
  owner_pid: number;
  owner_host: string;
  owner_session: string;
  started_at: string;
  ended_at: string | null;
  status: HistoryStatus;
  reason: string | null;
  targets: string;
  kinds: string;
  severity: Severity | null;
  severity_rank: number | null;
  verdict_held: number | null;
  verdict_summary: string | null;
  impacted: string;
  report_html: string | null;
  report_json: string | null;
  report_markdown: string | null;
  reports_pruned_at: string | null;
}

export class HistoryStore implements RunHistory {
  readonly path: string;
  private readonly db: Database.Database;
  private readonly owner: Owner = { pid: process.pid, host: hostname(), session: randomUUID() };

  constructor(
    path: string,
    private readonly retention: Retention = DEFAULT_RETENTION,
  ) {
    this.path = path;
    mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path);
    this.db.pragma("journal_mode = WAL");
    this.db.pragma("busy_timeout = 5000");
    this.migrate();
  }

  /** The history of a state dir (<state dir>/history.db). */
  static inStateDir(stateDir: string, retention?: Retention): HistoryStore {
    return new HistoryStore(join(stateDir, HISTORY_FILE), retention);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  begin(run: HistoryStart): void {
    this.db
      .prepare(
        `INSERT INTO runs (id, source, project, title, owner_pid, owner_host, owner_session, started_at, status, targets, kinds, impacted)
         VALUES (@id, @source, @project, @title, @pid, @host, @session, @startedAt, 'running', @targets, @kinds, '[]')`,
      )
      .run({
        id: run.id,
        source: run.source,
        project: run.project ?? null,
        title: run.title ?? null,
        ...this.owner,
        startedAt: run.startedAt,
        targets: JSON.stringify(run.targets),
        kinds: JSON.stringify(run.kinds),
      });
  }

  finish(id: string, end: HistoryEnd): void {
    this.db
      .prepare(
        `UPDATE runs SET ended_at = @endedAt, status = @status, reason = @reason, severity = @severity,
           severity_rank = @rank, verdict_held = @held, verdict_summary = @verdictSummary, impacted = @impacted,
           report_html = @html, report_json = @json, report_markdown = @markdown,
           targets = COALESCE(@targets, targets), kinds = COALESCE(@kinds, kinds), title = COALESCE(@title, title)
         WHERE id = @id`,
      )
      .run({
        id,
        endedAt: end.endedAt,
        status: end.status,
        reason: end.reason ?? null,
        severity: end.severity ?? null,
        rank: end.severity ? SEVERITY_ORDER.indexOf(end.severity) : null,
        held: end.verdict ? Number(end.verdict.held) : null,
        verdictSummary: end.verdict?.summary ?? null,
        impacted: JSON.stringify(end.impacted),
        html: end.reports?.html ?? null,
        json: end.reports?.json ?? null,
        markdown: end.reports?.markdown ?? null,
        targets: end.targets ? JSON.stringify(end.targets) : null,
        kinds: end.kinds ? JSON.stringify(end.kinds) : null,
        title: end.title ?? null,
      });
    this.prune();
  }

  /**
   * Closes as interrupted every open run whose faultline is gone (this process's own open runs stay
   * open). Another host's processes are assumed alive, as the fault journal assumes. Returns their ids.
   */
  closeInterrupted(now = new Date()): string[] {
    const open = this.db.prepare(`SELECT * FROM runs WHERE status = 'running'`).all() as Row[];
    const dead = open.filter((r) => !this.ownerAlive(r));
    const close = this.db.prepare(
      `UPDATE runs SET status = 'interrupted', ended_at = @endedAt, reason = @reason WHERE id = @id AND status = 'running'`,
    );
    this.db.transaction(() => {
      for (const r of dead)
        close.run({
          id: r.id,
          endedAt: now.toISOString(),
          reason: `the faultline running it (pid ${r.owner_pid}) stopped before the run ended`,
        });
    })();
    return dead.map((r) => r.id);
  }

  get(id: string): HistoryRun | undefined {
    const row = this.db.prepare(`SELECT * FROM runs WHERE id = ?`).get(id) as Row | undefined;
    return row ? fromRow(row) : undefined;
  }

  /** Newest first. */
  list(filter: HistoryFilter = {}): HistoryRun[] {
    const where: string[] = [];
    const params: Record<string, unknown> = {};
    if (filter.since) {
      where.push("started_at >= @since");
      params.since = filter.since.toISOString();
    }
    if (filter.target) {
      where.push("EXISTS (SELECT 1 FROM json_each(runs.targets) WHERE value = @target)");
      params.target = filter.target;
    }
    if (filter.severity) {
      where.push("severity_rank >= @rank");
      params.rank = SEVERITY_ORDER.indexOf(filter.severity);
    }
    if (filter.source) {
      where.push("source = @source");
      params.source = filter.source;
    }
    const sql = `SELECT * FROM runs ${where.length ? `WHERE ${where.join(" AND ")}` : ""}
      ORDER BY started_at DESC, rowid DESC ${filter.limit ? "LIMIT @limit" : ""}`;
    if (filter.limit) params.limit = filter.limit;
    return (this.db.prepare(sql).all(params) as Row[]).map(fromRow);
  }

  /**
   * Removes the report files beyond the retention limit (newest `maxReports` kept, none older than
   * `maxReportAgeMs`); the rows stay, marked. Only the three files a report wrote are removed, and their
   * directory only when that leaves it empty (a CLI run's --out may be a directory the user keeps).
   */
  prune(now = new Date()): string[] {
    const withReports = this.db
      .prepare(`SELECT * FROM runs WHERE report_json IS NOT NULL ORDER BY started_at DESC, rowid DESC`)
      .all() as Row[];
    const oldest = now.getTime() - this.retention.maxReportAgeMs;
    const expired = withReports.filter(
      (r, i) => i >= this.retention.maxReports || Date.parse(r.started_at) < oldest,
    );
    const mark = this.db.prepare(
      `UPDATE runs SET report_html = NULL, report_json = NULL, report_markdown = NULL, reports_pruned_at = @at WHERE id = @id`,
    );
    for (const r of expired) {
      const files = [r.report_html, r.report_json, r.report_markdown].filter((f): f is string => !!f);
      for (const f of files) removeQuietly(f);
      for (const dir of new Set(files.map((f) => dirname(f)))) removeIfEmpty(dir);
      mark.run({ id: r.id, at: now.toISOString() });
    }
    return expired.map((r) => r.id);
  }

  private ownerAlive(row: Row): boolean {
    if (row.owner_session === this.owner.session) return true;
    if (row.owner_host !== this.owner.host) return true;
    // The same pid under another session is a restarted faultline (pid 1 again in a container).
    if (row.owner_pid === this.owner.pid) return false;
    try {
      process.kill(row.owner_pid, 0);
      return true;
    } catch (e) {
      return (e as NodeJS.ErrnoException).code === "EPERM";
    }
  }

  private migrate(): void {
    const version = this.db.pragma("user_version", { simple: true }) as number;
    if (version > SCHEMA_VERSION)
      throw new Error(
        `${this.path} was written by a newer faultline (history schema ${version}; this one reads ${SCHEMA_VERSION})`,
      );
    if (version === SCHEMA_VERSION) return;
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS runs (
        id TEXT PRIMARY KEY,
        source TEXT NOT NULL,
        project TEXT,
        title TEXT,
        owner_pid INTEGER NOT NULL,
        owner_host TEXT NOT NULL,
        owner_session TEXT NOT NULL,
        started_at TEXT NOT NULL,
        ended_at TEXT,
        status TEXT NOT NULL,
        reason TEXT,
        targets TEXT NOT NULL,
        kinds TEXT NOT NULL,
        severity TEXT,
        severity_rank INTEGER,
        verdict_held INTEGER,
        verdict_summary TEXT,
        impacted TEXT NOT NULL,
        report_html TEXT,
        report_json TEXT,
        report_markdown TEXT,
        reports_pruned_at TEXT
      );
      CREATE INDEX IF NOT EXISTS runs_started ON runs (started_at);
      CREATE INDEX IF NOT EXISTS runs_status ON runs (status);
      PRAGMA user_version = ${SCHEMA_VERSION};
    `);
  }
}

/**
 * The state dir's history with the runs of faultlines that are gone closed as interrupted; undefined
 * (with a warning) when it cannot be opened: a run is not refused for want of its record.
 */
export function openHistory(stateDir: string, retention?: Retention): HistoryStore | undefined {
  try {
    const store = HistoryStore.inStateDir(stateDir, retention);
    const interrupted = store.closeInterrupted();
    if (interrupted.length)
      log.info({ runs: interrupted }, "closed runs left open by a faultline that stopped as interrupted");
    return store;
  } catch (e) {
    log.warn({ err: e, stateDir }, `run history unavailable: ${errorText(e)}`);
    return undefined;
  }
}

function fromRow(r: Row): HistoryRun {
  const reports: ReportFiles | undefined =
    r.report_html && r.report_json && r.report_markdown
      ? { html: r.report_html, json: r.report_json, markdown: r.report_markdown }
      : undefined;
  return {
    id: r.id,
    source: r.source,
    ...(r.project ? { project: r.project } : {}),
    ...(r.title ? { title: r.title } : {}),
    startedAt: r.started_at,
    ...(r.ended_at ? { endedAt: r.ended_at } : {}),
    status: r.status,
    ...(r.reason ? { reason: r.reason } : {}),
    targets: JSON.parse(r.targets) as string[],
    kinds: JSON.parse(r.kinds) as string[],
    ...(r.severity ? { severity: r.severity } : {}),
    ...(r.verdict_held !== null
      ? { verdict: { held: r.verdict_held === 1, summary: r.verdict_summary ?? "" } }
      : {}),
    impacted: JSON.parse(r.impacted) as ImpactedSummary[],
    ...(reports ? { reports } : {}),
    ...(r.reports_pruned_at ? { reportsPrunedAt: r.reports_pruned_at } : {}),
  };
}

function removeQuietly(file: string): void {
  try {
    unlinkSync(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
  }
}

function removeIfEmpty(dir: string): void {
  try {
    if (readdirSync(dir).length === 0) rmdirSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
  }
}

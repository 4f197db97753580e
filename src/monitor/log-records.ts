/**
 * Groups log lines into records the way log shippers do (Logstash/Filebeat `multiline`): a record
 * starts at a line that is not a continuation, and the indented frames of a stack trace, its
 * `Traceback (most recent call last):`, `Caused by:`, `During handling of the above exception…` and
 * `... N more` lines belong to the record above them. Each record is classified once, by its most
 * specific cause: a web server whose query timed out writes one `timeout` record naming the database,
 * not one `crash` per frame of the traceback that reports it.
 *
 * Memory is bounded: an open record keeps only its first line, the line that decides its class and a
 * few flags (never its frames); it ends after `maxLines` lines, after `flushAfterMs` without a new
 * line, or — at a drain — once it has been open for `maxOpenMs`, so nothing is held across ticks for
 * long. Pure: time comes in as arguments.
 */
import { CLASS_SPECIFICITY, classifyLine, linePeer, type LineClass } from "./log-classifier.js";
import type { PeerResolver } from "./peers.js";
import type { ErrorClass } from "./types.js";

type Cls = Exclude<ErrorClass, "none">;

export interface LogRecordOptions {
  /** Lines one record may absorb; the next continuation line starts a new (tail) record. Default 500. */
  maxLines?: number;
  /** A line arriving later than this after the previous one never continues its record (ms). Default 250. */
  flushAfterMs?: number;
  /** A drain that may hold a still-growing record holds it at most this long (ms). Default 2000. */
  maxOpenMs?: number;
}

/** A finished record, classified. */
export interface LogRecord extends LineClass {
  /** Physical lines in the record. */
  lines: number;
  /** The record's first line (cut to its first 2048 characters). */
  first: string;
  /** The line that decided the class, when it is not the first one. */
  deciding?: string;
  /** Wall time of the record's first line. */
  at: number;
}

/**
 * How the record reads its next lines.
 * - `plain`: a log line, possibly with indented continuation lines (classified).
 * - `python`: inside a Python traceback's frames (`File "…"` and source lines, never classified);
 *   the first unindented line is the final exception line.
 * - `python-done`: after that line: indented lines continue its message; a chained traceback may follow.
 * - `stack`: a Java / Node.js / .NET stack (`at …` frames, `... N more`, `Caused by:`).
 * - `go`: a Go panic or fatal error with its goroutine dump.
 * - `node`: Node.js's report of an uncaught exception (`/app/x.js:3`, the source line, a caret), up to
 *   the exception line, after which it reads as a `stack`.
 */
type Mode = "plain" | "python" | "python-done" | "stack" | "go" | "node";

interface OpenRecord {
  first: string;
  at: number;
  lastNow: number;
  openedNow: number;
  lines: number;
  mode: Mode;
  /** Has frames or a traceback header: a stack trace, a crash unless a more specific cause shows. */
  trace: boolean;
  /** Started with a continuation line (its head was already counted, or never seen). */
  tail: boolean;
  best?: { class: Cls; line: string; peer?: string };
  /** The first peer any classified line of the record named. */
  anyPeer?: string;
  /** A line said the process died: the record is a crash whatever cause it names (but out of memory). */
  fatal: boolean;
  /**
   * An exception line (`org.x.FooException: …`, `Error: …`) right after a record's line: it belongs to
   * that record only when stack frames follow it (logback writes the message, then the exception).
   * Decided by the next line.
   */
  provisional?: { line: string; at: number; now: number };
}

/** Log lines longer than this are read (and classified) on their first part only. */
const SHAPE_LENGTH = 2048;

const BLANK = /^\s*$/;
const INDENTED = /^\s/;
const TRACEBACK = /^\s*Traceback \(most recent call last\):\s*$/;
const CHAINED = /^(?:During handling of the above exception|The above exception was the direct cause)\b/;
const CAUSED_BY = /^\s*(?:Caused by|Suppressed|Wrapped by):\s/;
const STACK_FRAME = /^\s+at\s+\S/;
const OMITTED = /^\s+\.\.\.\s*\d+\s+(?:more|common frames omitted)\b/;
const PYTHON_FRAME = /^\s*File\s+"[^"]+",\s+line\s+\d+/;
/** The last line of a Python traceback: `psycopg2.OperationalError: …`, `KeyboardInterrupt`. */
const PYTHON_FINAL = /^[A-Za-z_][\w.]*(?::(?:\s|$)|$)/;
/** A line that names an exception first: `java.net.ConnectException: …`, `Error: connect …`. */
const EXCEPTION_LINE = /^(?:[A-Za-z_$][\w$]*\.)*[\w$]*(?:Error|Exception|Throwable)(?::\s.*|:?)$/;
/** Where Node.js says an uncaught exception was thrown: `/app/server.js:12`, `file:///app/x.mjs:3`. */
const NODE_HEADER = /^(?:file:\/\/)?\/\S+\.[cm]?[jt]sx?:\d+$/;
const GO_HEADER = /^(?:panic: |fatal error: |goroutine \d+ \[)/;
/** Goroutine dump lines: `goroutine 1 [running]:`, `main.main()`, `created by …`, `[signal SIGSEGV…`. */
const GO_DUMP =
  /^(?:goroutine \d+ \[|created by |\[signal |exit status \d+$|panic: |[\w./-]+(?:\(\*?\w+\)[\w./-]*)?(?:\[[^\]]*\])?\(.*\)(?: in goroutine \d+)?$)/;
/** The end of a printed object (Node.js prints an error's properties after its stack). */
const CLOSING = /^[}\]]\)?[,;]?$/;

/** Assembles records from lines; `onRecord` receives each finished one. */
export class LogRecords {
  private open?: OpenRecord;
  private readonly maxLines: number;
  private readonly flushAfterMs: number;
  private readonly maxOpenMs: number;

  constructor(
    private readonly onRecord: (record: LogRecord) => void,
    private readonly peers?: PeerResolver,
    private readonly self?: string,
    options: LogRecordOptions = {},
  ) {
    this.maxLines = Math.max(1, options.maxLines ?? 500);
    this.flushAfterMs = Math.max(0, options.flushAfterMs ?? 250);
    this.maxOpenMs = Math.max(0, options.maxOpenMs ?? 2000);
  }

  /** One line; `at` is its wall time (for examples), `now` a monotonic clock reading (ms). */
  push(raw: string, at: number, now: number): void {
    // Shapes are read from the start of a line: a huge line costs no more than this.
    const line = raw.length > SHAPE_LENGTH ? raw.slice(0, SHAPE_LENGTH) : raw;
    const open = this.open;
    if (open && (now - open.lastNow > this.flushAfterMs || open.lines >= this.maxLines)) this.finishOpen();
    if (this.open?.provisional) {
      const p = this.open.provisional;
      if (STACK_FRAME.test(line) || OMITTED.test(line)) {
        // Frames follow: the exception line is part of this record (the message's exception).
        this.open.provisional = undefined;
        this.open.lines++;
        this.classifyInto(this.open, p.line);
        this.open.mode = "stack";
        this.open.trace = true;
      } else {
        this.open.provisional = undefined;
        this.finishOpen();
        this.open = this.start(p.line, p.at, p.now);
      }
    }
    const current = this.open;
    if (current && this.continues(current, line)) {
      current.lines++;
      current.lastNow = now;
      return;
    }
    if (current?.mode === "plain" && EXCEPTION_LINE.test(line)) {
      current.provisional = { line, at, now };
      current.lastNow = now;
      return;
    }
    this.finishOpen();
    this.open = this.start(line, at, now);
  }

  /**
   * Finishes the open record. With `hold`, a record that may still grow (its last line is recent and it
   * has not been open for `maxOpenMs`) stays open for the next call.
   */
  flush(now: number, hold = false): void {
    const open = this.open;
    if (!open) return;
    if (hold && now - open.lastNow <= this.flushAfterMs && now - open.openedNow < this.maxOpenMs) return;
    this.finishOpen();
  }

  /** True while a record is open (not yet counted). */
  get pending(): boolean {
    return this.open !== undefined;
  }

  private start(line: string, at: number, now: number): OpenRecord {
    const rec: OpenRecord = {
      first: line,
      at,
      lastNow: now,
      openedNow: now,
      lines: 1,
      mode: "plain",
      trace: false,
      tail: false,
      fatal: false,
    };
    if (TRACEBACK.test(line)) [rec.mode, rec.trace] = ["python", true];
    else if (GO_HEADER.test(line)) [rec.mode, rec.trace] = ["go", true];
    else if (NODE_HEADER.test(line)) [rec.mode, rec.trace] = ["node", true];
    else if (STACK_FRAME.test(line) || OMITTED.test(line))
      [rec.mode, rec.trace, rec.tail] = ["stack", true, true];
    else if (PYTHON_FRAME.test(line)) [rec.mode, rec.trace, rec.tail] = ["python", true, true];
    else if (INDENTED.test(line) || CAUSED_BY.test(line) || CHAINED.test(line)) rec.tail = true;
    if (rec.mode === "plain" || rec.mode === "go" || CAUSED_BY.test(line)) this.classifyInto(rec, line, true);
    return rec;
  }

  /** Absorbs `line` into `rec` when it continues it (classifying it when it carries a message). */
  private continues(rec: OpenRecord, line: string): boolean {
    if (BLANK.test(line)) return true;
    if (TRACEBACK.test(line)) {
      [rec.mode, rec.trace] = ["python", true];
      return true;
    }
    if (CHAINED.test(line)) return true;
    if (CAUSED_BY.test(line)) {
      [rec.mode, rec.trace] = ["stack", true];
      this.classifyInto(rec, line);
      return true;
    }
    switch (rec.mode) {
      case "python":
        // Frames and source lines say where, not what: never classified (`timeout=self.timeout`).
        if (INDENTED.test(line)) return true;
        if (!PYTHON_FINAL.test(line)) return false;
        rec.mode = "python-done";
        this.classifyInto(rec, line);
        return true;
      case "go":
        if (GO_DUMP.test(line)) {
          if (line.startsWith("[signal ") || line.startsWith("panic: ")) this.classifyInto(rec, line);
          return true;
        }
        // `\t/app/main.go:12 +0x1d`: a file line of the dump.
        return INDENTED.test(line);
      case "node":
        if (EXCEPTION_LINE.test(line) || line.startsWith("[")) {
          // `Error: connect ECONNREFUSED …`, `[UnhandledPromiseRejection: …]`: the message, then the stack.
          rec.mode = "stack";
          this.classifyInto(rec, line);
          return true;
        }
        // The source line and the caret under it (never classified: code is not a message).
        return rec.lines < 4 || INDENTED.test(line);
      case "stack":
        if (STACK_FRAME.test(line) || OMITTED.test(line) || CLOSING.test(line)) return true;
        break;
      case "plain":
      case "python-done":
        if (STACK_FRAME.test(line) || OMITTED.test(line)) {
          [rec.mode, rec.trace] = ["stack", true];
          return true;
        }
        if (PYTHON_FRAME.test(line)) {
          [rec.mode, rec.trace] = ["python", true];
          return true;
        }
        break;
    }
    if (!INDENTED.test(line)) return false;
    this.classifyInto(rec, line);
    return true;
  }

  private classifyInto(rec: OpenRecord, line: string, first = false): void {
    const c = classifyLine(line, this.peers, this.self);
    if (c.class === "none") {
      // "Caused by: …PSQLException: Connection to store:5432 refused." names the peer; another line the cause.
      if (rec.anyPeer === undefined && this.peers && (rec.trace || !first))
        rec.anyPeer = linePeer(line, this.peers, this.self);
      return;
    }
    if (c.peer && rec.anyPeer === undefined) rec.anyPeer = c.peer;
    if (c.fatal) rec.fatal = true;
    if (!rec.best || CLASS_SPECIFICITY.indexOf(c.class) < CLASS_SPECIFICITY.indexOf(rec.best.class))
      rec.best = { class: c.class, line, ...(c.peer ? { peer: c.peer } : {}) };
  }

  private finishOpen(): void {
    const rec = this.open;
    if (!rec) return;
    this.open = undefined;
    const provisional = rec.provisional;
    this.onRecord(finish(rec));
    // An exception line no frames followed is a record of its own.
    if (provisional) this.onRecord(finish(this.start(provisional.line, provisional.at, provisional.now)));
  }
}

function finish(rec: OpenRecord): LogRecord {
  let cls: ErrorClass = rec.best?.class ?? "none";
  if (rec.fatal && cls !== "oom") cls = "crash";
  // A stack trace whose cause is no more specific than "an error" reports a crash; a tail's head was
  // already counted (or never seen), so its frames alone prove nothing.
  if (rec.trace && !rec.tail && (cls === "none" || cls === "error")) cls = "crash";
  const deciding = rec.best?.line;
  const peer = cls === "none" ? undefined : (rec.best?.peer ?? rec.anyPeer);
  return {
    class: cls,
    ...(peer ? { peer } : {}),
    lines: rec.lines,
    first: rec.first,
    ...(deciding !== undefined && deciding !== rec.first ? { deciding } : {}),
    at: rec.at,
  };
}

/** The records `lines` form when written together (pure; for tests and one-shot batches). */
export function groupLogRecords(
  lines: readonly string[],
  peers?: PeerResolver,
  self?: string,
  options?: LogRecordOptions,
): LogRecord[] {
  const out: LogRecord[] = [];
  const records = new LogRecords((r) => out.push(r), peers, self, options);
  for (const line of lines) records.push(line, 0, 0);
  records.flush(0);
  return out;
}

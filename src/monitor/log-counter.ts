/**
 * Per-service log accounting with bounded memory: counters per tick plus a few example lines. Lines are
 * grouped into records first (log-records.ts: a stack trace is one record, classified once by its most
 * specific cause), so `errors` and `byClass` count records while `lines` counts lines. A
 * service writing megabytes per second (or binary junk) costs at most `classifyBudget` classifications
 * per tick; the rest are only counted, as `dropped`. That count travels with every sample: analysis
 * extrapolates error rates over it and reports say "error counts are lower bounds: N lines not
 * classified", so a flood never passes for a quiet service.
 */
import { maskSecretsInText } from "../util/secrets.js";
import { LogRecords, type LogRecord, type LogRecordOptions } from "./log-records.js";
import type { PeerResolver } from "./peers.js";
import type { ErrorClass, LogExample, LogSummary } from "./types.js";

type Cls = Exclude<ErrorClass, "none">;

export interface LogCounterOptions {
  /** Lines classified per tick; beyond that lines are counted as `dropped` (error counts become lower bounds). */
  classifyBudget?: number;
  /** Distinct peers tracked per tick (others are folded into "other"). */
  maxPeers?: number;
  /** Example lines kept per (step, class). */
  examplesPerClass?: number;
  /** Example lines kept in total for this service. */
  maxExamples?: number;
  /** Example lines are cut to this length. */
  exampleLength?: number;
  /** Multi-line record bounds (lines per record, flush timeout). */
  records?: LogRecordOptions;
  /** Monotonic clock (ms) that times records out; performance.now by default. */
  now?: () => number;
}

export class LogCounter {
  private lines = 0;
  private errors = 0;
  private dropped = 0;
  private byClass: Partial<Record<Cls, number>> = {};
  private peers = new Map<string, { class: Cls; peer: string; count: number }>();
  private readonly examples: LogExample[] = [];
  private readonly exampleKeys = new Map<string, number>();
  private readonly budget: number;
  private readonly maxPeers: number;
  private readonly perClass: number;
  private readonly maxExamples: number;
  private readonly exampleLength: number;
  private stepId: string | undefined;
  private readonly records: LogRecords;
  private readonly clock: () => number;

  constructor(
    private readonly service: string,
    resolver: PeerResolver,
    options: LogCounterOptions = {},
  ) {
    this.budget = options.classifyBudget ?? 2000;
    this.maxPeers = options.maxPeers ?? 20;
    this.perClass = options.examplesPerClass ?? 2;
    this.maxExamples = options.maxExamples ?? 60;
    this.exampleLength = options.exampleLength ?? 400;
    this.clock = options.now ?? (() => performance.now());
    this.records = new LogRecords((r) => this.count(r), resolver, service, options.records);
  }

  /** Examples recorded from now on belong to this step. */
  setStep(stepId: string | undefined): void {
    this.stepId = stepId;
  }

  add(line: string, at: number = Date.now()): void {
    this.lines++;
    if (this.lines - this.dropped > this.budget) {
      this.dropped++;
      return;
    }
    this.records.push(line, at, this.clock());
  }

  private count(c: LogRecord): void {
    if (c.class === "none") return;
    this.errors++;
    this.byClass[c.class] = (this.byClass[c.class] ?? 0) + 1;
    if (c.peer) {
      const key = `${c.class}\u0000${c.peer}`;
      const entry = this.peers.get(key);
      if (entry) entry.count++;
      else if (this.peers.size < this.maxPeers)
        this.peers.set(key, { class: c.class, peer: c.peer, count: 1 });
    }
    this.keepExample(c.class, c.peer, c, c.at);
  }

  private keepExample(cls: Cls, peer: string | undefined, record: LogRecord, at: number): void {
    if (this.examples.length >= this.maxExamples) return;
    const key = `${this.stepId ?? ""}\u0000${cls}`;
    const n = this.exampleKeys.get(key) ?? 0;
    if (n >= this.perClass) return;
    this.exampleKeys.set(key, n + 1);
    // A trace shows its first line and the line that named the cause, not its frames.
    const cut =
      record.deciding === undefined
        ? cutTo(record.first, this.exampleLength)
        : `${cutTo(record.first, Math.floor(this.exampleLength / 2))}\n…\n${cutTo(record.deciding, Math.ceil(this.exampleLength / 2))}`;
    this.examples.push({
      service: this.service,
      ...(this.stepId ? { stepId: this.stepId } : {}),
      class: cls,
      ...(peer ? { peer } : {}),
      // Masked at capture so secrets never sit in memory-resident report data.
      line: maskSecretsInText(replaceControlChars(cut)),
      at,
    });
  }

  /**
   * The counts since the last drain; resets them. Finishes the record being written first, unless
   * `holdOpenRecord` and it may still grow (its last line is younger than the record flush timeout):
   * then it is counted by the next drain. Batches (no more lines coming) drain without holding.
   */
  drain(options: { holdOpenRecord?: boolean } = {}): LogSummary {
    this.records.flush(this.clock(), options.holdOpenRecord ?? false);
    const summary: LogSummary = {
      lines: this.lines,
      errors: this.errors,
      byClass: this.byClass,
      peers: [...this.peers.values()],
      dropped: this.dropped,
    };
    this.lines = this.errors = this.dropped = 0;
    this.byClass = {};
    this.peers = new Map();
    return summary;
  }

  exampleLines(): readonly LogExample[] {
    return this.examples;
  }
}

function cutTo(line: string, length: number): string {
  return line.length > length ? `${line.slice(0, length)}…` : line;
}

/** Control characters (terminal escapes, NULs) never reach a report; tabs and newlines stay. */
function replaceControlChars(text: string): string {
  let out = "";
  for (const ch of text) {
    const c = ch.charCodeAt(0);
    out += (c < 32 && c !== 9 && c !== 10) || c === 0x7f ? "\ufffd" : ch;
  }
  return out;
}

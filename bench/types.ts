/**
 * The contract every bench module follows, so `npm run bench` can run them all and print one JSON
 * document. A module is a file `bench/<name>.bench.ts` whose default export is a `BenchModule` named
 * `<name>` (`npm run bench -- <name>` runs only that one).
 * Figures are reported as ratios against a baseline measured in the same run, so they mean the same
 * thing on a slow laptop and a fast server.
 */
export interface BenchContext {
  /** Progress for humans; goes to stderr. */
  log(line: string): void;
  /** Aborted on SIGINT/SIGTERM or when the module's time budget runs out: stop and clean up. */
  signal: AbortSignal;
}

export interface BenchResult {
  name: string;
  /** What faultline measured, e.g. { totalMs: 1830, "phase.logsMs": 210 }. */
  metrics: Record<string, number>;
  /** The same figures for the baseline (e.g. plain `docker inspect`), measured in this run. */
  baseline: Record<string, number>;
  /** metric / baseline for each comparable figure. */
  ratios: Record<string, number>;
  /** Human-readable target, e.g. "totalMs < 3000". */
  target: string;
  pass: boolean;
  notes?: string[];
}

export interface BenchModule {
  name: string;
  description: string;
  /** Upper bound for the whole module including set-up and clean-up (default 10 minutes). */
  timeoutMs?: number;
  run(context: BenchContext): Promise<BenchResult>;
}

/** Median of a list of numbers (0 for an empty list). */
export function median(values: number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function ratio(value: number, baseline: number): number {
  return baseline > 0 ? Math.round((value / baseline) * 100) / 100 : 0;
}

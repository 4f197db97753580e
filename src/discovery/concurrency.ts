/** Small async helpers discovery uses to stay bounded in time and in parallelism. */

/** Maps with at most `limit` calls in flight; results keep the input order. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i] as T, i);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return results;
}

/** One implementation for the whole code base; re-exported so discovery's imports stay local. */
export { withTimeout } from "../util/time.js";

export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

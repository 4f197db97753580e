/** Small robust statistics for comparing a fault window with its baseline. Pure. */

export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Median absolute deviation (unscaled). */
export function mad(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const m = median(values);
  return median(values.map((v) => Math.abs(v - m)));
}

/** 1.4826·MAD estimates the standard deviation for normal data while ignoring outliers. */
export const MAD_TO_SIGMA = 1.4826;

/**
 * Robust z-score of `x` against a baseline. `floor` is the smallest scale that counts: a perfectly
 * flat baseline (MAD 0) would otherwise make any wiggle infinitely significant.
 */
export function robustZ(x: number, baseline: readonly number[], floor: number): number {
  const m = median(baseline);
  const scale = Math.max(MAD_TO_SIGMA * mad(baseline), floor, Number.EPSILON);
  return (x - m) / scale;
}

/**
 * Cliff's delta: P(during > baseline) − P(during < baseline), in [-1, 1]. Non-parametric effect size;
 * |d| ≥ 0.147 small, ≥ 0.33 medium, ≥ 0.474 large (Romano et al.).
 */
export function cliffsDelta(baseline: readonly number[], during: readonly number[]): number {
  if (baseline.length === 0 || during.length === 0) return 0;
  const b = [...baseline].sort((x, y) => x - y);
  let more = 0;
  let less = 0;
  for (const x of during) {
    // Counting by binary search keeps this O(n log n) for long runs.
    const lo = lowerBound(b, x);
    const hi = upperBound(b, x);
    less += b.length - hi;
    more += lo;
  }
  return (more - less) / (baseline.length * during.length);
}

function lowerBound(sorted: readonly number[], x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function upperBound(sorted: readonly number[], x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid]! <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export function cliffMagnitude(d: number): "negligible" | "small" | "medium" | "large" {
  const a = Math.abs(d);
  return a < 0.147 ? "negligible" : a < 0.33 ? "small" : a < 0.474 ? "medium" : "large";
}

export function sum(values: readonly number[]): number {
  let s = 0;
  for (const v of values) s += v;
  return s;
}

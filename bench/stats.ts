/** Small statistics helpers for benchmark figures. */

/** Median of a list (mean of the two middle values for an even count); NaN when empty. */
export function median(values: ReadonlyArray<number>): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

/** Rounds to `digits` decimals, keeping NaN and infinities as they are (JSON turns them into null). */
export function round(value: number, digits = 1): number {
  if (!Number.isFinite(value)) return value;
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

/** `a / b`, or NaN when `b` is 0 (a ratio that cannot be formed, shown as '-'). */
export function ratio(a: number, b: number): number {
  return b === 0 ? Number.NaN : a / b;
}

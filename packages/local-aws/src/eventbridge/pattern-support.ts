/**
 * What the pieces of the event-pattern engine share: the error type, the
 * failure helper that names path and given value, and JSON type guards.
 */

/** A JSON scalar as the matcher sees it. */
export type Scalar = string | number | boolean | null;
/** A test of one event leaf value. */
export type ValueTest = (value: Scalar) => boolean;
export type JsonObject = Readonly<Record<string, unknown>>;

/** A pattern that is not well formed; the message says what was wrong, what was given and where. */
export class EventPatternError extends Error {
  /**
   * @param message full human-readable message
   * @param path dotted path inside the pattern where the problem is (`detail.$or[1].c-count`),
   *   or `undefined` when the problem is the pattern as a whole
   */
  constructor(
    message: string,
    readonly path?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Throws an {@link EventPatternError} saying what is wrong, what was given and where. */
export function fail(path: ReadonlyArray<string>, problem: string, given: unknown): never {
  const where = path.length > 0 ? ` at path ${path.join('.')}` : '';
  throw new EventPatternError(
    `Invalid event pattern: ${problem}, given ${describe(given)}${where}`,
    path.length > 0 ? path.join('.') : undefined,
  );
}

/** A value as JSON for a message, cut to 80 characters. */
export function describe(value: unknown): string {
  if (value === undefined) return 'undefined';
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function isScalar(value: unknown): value is Scalar {
  return (
    value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean'
  );
}

/**
 * Event Ruler compares numbers as its `ComparableNumber`: only within
 * [-5e9, 5e9], and only to 6 digits after the decimal point (the value is
 * shifted by 5e9, scaled by 1e6 and truncated). The Event Ruler README states
 * the same limits for numeric matching. Returns that key, computed with the
 * same double arithmetic, or undefined for a number outside the range.
 * https://github.com/aws/event-ruler/blob/main/src/main/software/amazon/event/ruler/ComparableNumber.java
 */
export function comparableNumber(value: number): number | undefined {
  if (!(value >= -NUMERIC_LIMIT && value <= NUMERIC_LIMIT)) return undefined;
  return Math.trunc(1e6 * (NUMERIC_LIMIT + value));
}

/** The largest magnitude numeric matching handles. */
export const NUMERIC_LIMIT = 5e9;

/**
 * Whether two numbers match as an exact value does in Event Ruler: equal, or
 * equal as comparable numbers (its rule compiler adds a numeric-equality matcher
 * for every number of a pattern, next to the literal one).
 */
export function sameNumber(a: number, b: number): boolean {
  if (a === b) return true;
  const key = comparableNumber(a);
  return key !== undefined && key === comparableNumber(b);
}

/**
 * The EventBridge event-pattern engine of the local runtime.
 *
 * Pure logic, no I/O. It serves two callers: the local EventBridge emulator,
 * which routes PutEvents entries to the targets of the stack's
 * `AWS::Events::Rule` patterns, and the local event source mappings, which
 * apply Lambda `FilterCriteria` to DynamoDB stream records and SQS messages
 * (Lambda documents that its filter syntax is EventBridge's).
 *
 * Semantics follow the AWS documentation and, where the documentation is
 * silent, Event Ruler (`aws/event-ruler`), the matching library EventBridge
 * is built on:
 * - a pattern object matches when every field in it matches (AND); the array
 *   of match values of a field matches when any value matches (OR);
 * - a field named in the pattern but absent from the event fails, except under
 *   `{"exists": false}`;
 * - when the event holds an array, a match value matches if it matches any
 *   element; arrays of objects are matched element by element, so two fields
 *   never match from two different elements (Event Ruler's "array-consistent"
 *   matching);
 * - operators apply to leaf values only: a field whose value is an object has
 *   no leaf value, so `exists: true` fails and `exists: false` matches on it.
 */

import { compileOperator, OPERATORS } from './pattern-operators';
import {
  describe,
  EventPatternError,
  fail,
  isObject,
  isScalar,
  type JsonObject,
  type Scalar,
  type ValueTest,
} from './pattern-support';

export { EventPatternError } from './pattern-support';

export type PatternScalar = string | number | boolean | null;

/** A string operand that may be matched case-insensitively, as `prefix` and `suffix` allow. */
export type StringOrIgnoreCase = string | { readonly 'equals-ignore-case': string };

/** What `anything-but` may exclude. */
export type AnythingButOperand =
  | string
  | number
  | ReadonlyArray<string>
  | ReadonlyArray<number>
  | { readonly prefix: string | ReadonlyArray<string> }
  | { readonly suffix: string | ReadonlyArray<string> }
  | { readonly 'equals-ignore-case': string | ReadonlyArray<string> }
  | { readonly wildcard: string | ReadonlyArray<string> };

/** A content-filter operator object; exactly one key. */
export type PatternOperator =
  | { readonly prefix: StringOrIgnoreCase }
  | { readonly suffix: StringOrIgnoreCase }
  | { readonly 'equals-ignore-case': string }
  | { readonly wildcard: string }
  | { readonly 'anything-but': AnythingButOperand }
  | { readonly numeric: ReadonlyArray<string | number> }
  | { readonly exists: boolean }
  | { readonly cidr: string };

/** One element of a field's match array. */
export type PatternMatchValue = PatternScalar | PatternOperator;

/**
 * A validated event pattern: fields map to nested patterns or to arrays of
 * match values; `$or` maps to an array of at least two sub-patterns.
 */
export interface EventPattern {
  readonly [field: string]: EventPattern | ReadonlyArray<PatternMatchValue> | ReadonlyArray<EventPattern>;
}

/** One entry of a Lambda event source mapping's `FilterCriteria.Filters`. */

/**
 * Check that an event pattern is well formed and return it as an {@link EventPattern}.
 *
 * Accepts the pattern as an object or as a JSON string (the form CloudFormation
 * and `FilterCriteria` hold). Checks that it is an object of objects and
 * arrays, that arrays are non-empty and hold only literals or operator objects,
 * that operator names are known, and that each operator's argument has the
 * right type and shape.
 *
 * @throws EventPatternError when the pattern is not well formed
 */
export function validateEventPattern(pattern: unknown): EventPattern {
  return compilePatternAndMatcher(pattern).pattern;
}

/**
 * Validate a pattern once and return a matcher for events.
 *
 * The matcher never throws: any value is accepted as an event, and a
 * non-object event simply has none of the pattern's fields.
 *
 * @throws EventPatternError when the pattern is not well formed
 * @example
 * const isOrderPlaced = compileEventPattern({ source: ['com.example.orders'], 'detail-type': ['OrderPlaced'] });
 * const deliver = events.filter(isOrderPlaced);
 */
export function compileEventPattern(pattern: unknown): (event: unknown) => boolean {
  return compilePatternAndMatcher(pattern).matcher;
}

/**
 * Whether `event` matches `pattern`; validates the pattern on every call, so
 * prefer {@link compileEventPattern} on hot paths.
 *
 * @throws EventPatternError when the pattern is not well formed
 */
export function matchesEventPattern(pattern: unknown, event: unknown): boolean {
  return compilePatternAndMatcher(pattern).matcher(event);
}

// ---------------------------------------------------------------------------
// Compilation

type NodeMatcher = (node: unknown) => boolean;
type LeafMatcher = (values: ReadonlyArray<Scalar>) => boolean;

const OR_KEY = '$or';

// Event Ruler refuses operator names (and the names it reserves for future
// operators) as field names inside `$or`, because there they would be ambiguous.
const RESERVED_IN_OR = new Set<string>([
  ...OPERATORS,
  'exactly',
  '=',
  '<',
  '<=',
  '>',
  '>=',
  'regex',
  'not-wildcard',
  'not-equals-ignore-case',
  'date-after',
  'date-on-or-after',
  'date-before',
  'date-on-or-before',
  'in-date-range',
  'ip-address-in-range',
  'ip-address-not-in-range',
]);

const NO_VALUES: ReadonlyArray<Scalar> = [];

/**
 * Validates a pattern and compiles it: the parsed pattern and its matcher.
 * @internal shared with `filter-criteria.ts`
 */
export function compilePatternAndMatcher(pattern: unknown): { pattern: EventPattern; matcher: NodeMatcher } {
  const parsed = parsePatternText(pattern);
  if (!isObject(parsed)) {
    throw new EventPatternError(
      `Invalid event pattern: the pattern must be a JSON object, given ${describe(parsed)}`,
    );
  }
  return { pattern: parsed as EventPattern, matcher: compileObject(parsed, [], false) };
}

function parsePatternText(pattern: unknown): unknown {
  if (typeof pattern !== 'string') return pattern;
  try {
    return JSON.parse(pattern);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new EventPatternError(
      `Invalid event pattern: not valid JSON (${reason}), given ${describe(pattern)}`,
      undefined,
      { cause: error },
    );
  }
}

function compileObject(pattern: JsonObject, path: ReadonlyArray<string>, insideOr: boolean): NodeMatcher {
  const entries = Object.entries(pattern);
  if (entries.length === 0) fail(path, 'an object in a pattern must have at least one field', pattern);
  const checks: Array<(obj: JsonObject | undefined) => boolean> = [];
  for (const [key, value] of entries) {
    if (key === OR_KEY) {
      checks.push(compileOr(value, path));
      continue;
    }
    const fieldPath = [...path, key];
    if (insideOr && RESERVED_IN_OR.has(key)) {
      fail(fieldPath, `"${key}" is an operator name and cannot be a field name inside "$or"`, pattern);
    }
    if (Array.isArray(value)) {
      const leaf = compileLeaf(value, fieldPath);
      checks.push((obj) => leaf(leafValues(fieldOf(obj, key))));
    } else if (isObject(value)) {
      const child = compileObject(value, fieldPath, insideOr);
      checks.push((obj) => matchNested(child, fieldOf(obj, key)));
    } else {
      fail(fieldPath, `"${key}" must be an object or an array of match values`, value);
    }
  }
  return (node) => {
    const obj = isObject(node) ? node : undefined;
    for (const check of checks) {
      if (!check(obj)) return false;
    }
    return true;
  };
}

function compileOr(value: unknown, path: ReadonlyArray<string>): (obj: JsonObject | undefined) => boolean {
  const orPath = [...path, OR_KEY];
  if (!Array.isArray(value) || value.length < 2) {
    fail(orPath, '"$or" expects an array of at least two pattern objects', value);
  }
  const branches = value.map((branch, index) => {
    const branchPath = [...path, `${OR_KEY}[${index}]`];
    if (!isObject(branch)) fail(branchPath, 'each "$or" branch must be a pattern object', branch);
    return compileObject(branch, branchPath, true);
  });
  return (obj) => branches.some((branch) => branch(obj));
}

function compileLeaf(values: ReadonlyArray<unknown>, path: ReadonlyArray<string>): LeafMatcher {
  if (values.length === 0) fail(path, 'a match array must not be empty', values);
  const tests: ValueTest[] = [];
  let matchPresent = false;
  let matchAbsent = false;
  for (const value of values) {
    if (isScalar(value)) {
      tests.push((candidate) => candidate === value);
    } else if (isObject(value)) {
      const operator = compileOperator(value, path);
      if (typeof operator === 'function') tests.push(operator);
      else if (operator.exists) matchPresent = true;
      else matchAbsent = true;
    } else {
      fail(path, 'a match value must be a string, number, boolean, null or an operator object', value);
    }
  }
  const test = anyOf(tests);
  return (candidates) => {
    if (candidates.length === 0) return matchAbsent;
    return matchPresent || (test !== undefined && candidates.some(test));
  };
}

// ---------------------------------------------------------------------------
// Matching

function fieldOf(obj: JsonObject | undefined, key: string): unknown {
  return obj !== undefined && Object.hasOwn(obj, key) ? obj[key] : undefined;
}

/**
 * A nested pattern against an event value. An array of objects matches when
 * one element matches the whole sub-pattern, which keeps matches consistent
 * within one element; an empty array, like a missing field, has no fields.
 */
function matchNested(child: NodeMatcher, value: unknown): boolean {
  if (!Array.isArray(value)) return child(value);
  const elements = flattenArray(value);
  if (elements.length === 0) return child(undefined);
  return elements.some(child);
}

/** The leaf values of a field: its scalar, or the scalars of its (nested) array. Objects have none. */
function leafValues(value: unknown): ReadonlyArray<Scalar> {
  if (isScalar(value)) return [value];
  if (!Array.isArray(value)) return NO_VALUES;
  return flattenArray(value).filter(isScalar);
}

function flattenArray(values: ReadonlyArray<unknown>): unknown[] {
  return values.some(Array.isArray) ? values.flat(Number.POSITIVE_INFINITY) : [...values];
}

function anyOf(tests: ReadonlyArray<ValueTest>): ValueTest | undefined {
  const [only, ...more] = tests;
  if (only === undefined) return undefined;
  if (more.length === 0) return only;
  return (value) => tests.some((test) => test(value));
}

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
 *   no leaf value, so `exists: true` fails and `exists: false` matches on it;
 * - field names are joined with "." (User Guide, "Considerations when creating
 *   event patterns"; Event Ruler README, "Compiled rules and JSON keys with
 *   dots"): `{"a.b": [...]}` and `{"a": {"b": [...]}}` are the same pattern, and
 *   both match `{"a": {"b": ...}}` and `{"a.b": ...}` in an event;
 * - when a pattern gives one field twice, the last one is used (User Guide);
 * - numbers match as Event Ruler's comparable numbers: 300, 300.0 and 3.0e2
 *   are equal (its rule compiler adds numeric equality next to the literal;
 *   the User Guide still says they differ, and JSON.parse cannot tell them
 *   apart anyway), numeric matching covers [-5e9, 5e9] to 6 decimal places;
 * - `$or` is the Or primitive when its value is an array of at least two
 *   pattern objects without operator names as fields, and an ordinary field
 *   name otherwise (Event Ruler's backward compatibility).
 *
 * Sources: https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern.html,
 * https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html,
 * https://github.com/aws/event-ruler (README, JsonRuleCompiler, GenericMachine.addRule, ComparableNumber).
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
  sameNumber,
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
//
// A pattern is first read into a tree of single-segment fields (a dotted key
// is split where Event Ruler joins; the last pattern given for a field wins),
// then compiled into matchers over that tree.

type NodeMatcher = (node: unknown) => boolean;
type LeafMatcher = (values: ReadonlyArray<Scalar>) => boolean;

/** How `$or` keys are read: as the Or primitive (Event Ruler's JsonRuleCompiler) or as field names (its legacy RuleCompiler). */
type OrReading = 'primitive' | 'field';

interface PatternNode {
  /** By field-name segment, in pattern order. */
  readonly fields: Map<string, PatternField>;
  /** Each `$or` of this object: a match needs one branch of every group. */
  readonly ors: PatternNode[][];
}

interface PatternField {
  leaf?: LeafMatcher;
  nested?: PatternNode;
}

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
 *
 * `$or` follows Event Ruler's Machine.addRule: the pattern is read with `$or`
 * as the Or primitive first; when that reading is not valid (a `$or` that is not
 * an array of at least two objects, or a branch that names an operator), the
 * whole pattern is read again with `$or` as an ordinary field name ("The
 * backward compatibility of using "$or" as field name", Event Ruler README).
 * @internal shared with `filter-criteria.ts`
 */
export function compilePatternAndMatcher(pattern: unknown): { pattern: EventPattern; matcher: NodeMatcher } {
  const parsed = parsePatternText(pattern);
  if (!isObject(parsed)) {
    throw new EventPatternError(
      `Invalid event pattern: the pattern must be a JSON object, given ${describe(parsed)}`,
    );
  }
  const root = readPattern(parsed);
  const matcher = compileNode(root);
  return { pattern: parsed as EventPattern, matcher: (event) => matcher(withDottedKeysExpanded(event)) };
}

function readPattern(pattern: JsonObject): PatternNode {
  try {
    return readObject(pattern, [], 'primitive', false);
  } catch (primitiveError) {
    if (!(primitiveError instanceof EventPatternError) || !mentionsOr(pattern)) throw primitiveError;
    try {
      return readObject(pattern, [], 'field', false);
    } catch (fieldError) {
      const reason =
        fieldError instanceof Error ? fieldError.message.replace(/^Invalid event pattern: /, '') : '';
      throw new EventPatternError(
        `${primitiveError.message} (read as an ordinary field name instead, "$or" is not valid either: ${reason})`,
        primitiveError.path,
        { cause: fieldError },
      );
    }
  }
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

/** Reads the fields of `pattern` into `node` (a new node unless given). */
function readObject(
  pattern: JsonObject,
  path: ReadonlyArray<string>,
  orReading: OrReading,
  insideOr: boolean,
  node: PatternNode = { fields: new Map(), ors: [] },
): PatternNode {
  const entries = Object.entries(pattern);
  if (entries.length === 0) fail(path, 'an object in a pattern must have at least one field', pattern);
  for (const [key, value] of entries) {
    if (key === OR_KEY && orReading === 'primitive') {
      node.ors.push(readOr(value, path));
      continue;
    }
    const fieldPath = [...path, key];
    if (insideOr && RESERVED_IN_OR.has(key)) {
      fail(fieldPath, `"${key}" is an operator name and cannot be a field name inside "$or"`, pattern);
    }
    // Event Ruler joins field names with "." when it compiles a pattern, so a dotted key is a path.
    const field = fieldAt(node, key.split('.'));
    if (Array.isArray(value)) {
      field.leaf = compileLeaf(value, fieldPath);
    } else if (isObject(value)) {
      field.nested = readObject(value, fieldPath, orReading, insideOr, field.nested);
    } else {
      fail(fieldPath, `"${key}" must be an object or an array of match values`, value);
    }
  }
  return node;
}

function readOr(value: unknown, path: ReadonlyArray<string>): PatternNode[] {
  const orPath = [...path, OR_KEY];
  if (!Array.isArray(value) || value.length < 2) {
    fail(orPath, '"$or" expects an array of at least two pattern objects', value);
  }
  return value.map((branch, index) => {
    const branchPath = [...path, `${OR_KEY}[${index}]`];
    if (!isObject(branch)) fail(branchPath, 'each "$or" branch must be a pattern object', branch);
    return readObject(branch, branchPath, 'primitive', true);
  });
}

/** The field at `segments` below `node`, created (with the objects above it) when new. */
function fieldAt(node: PatternNode, segments: ReadonlyArray<string>): PatternField {
  const [first, ...rest] = segments;
  const name = first ?? '';
  let field = node.fields.get(name);
  if (field === undefined) {
    field = {};
    node.fields.set(name, field);
  }
  if (rest.length === 0) return field;
  field.nested ??= { fields: new Map(), ors: [] };
  return fieldAt(field.nested, rest);
}

function mentionsOr(value: unknown): boolean {
  if (Array.isArray(value)) return value.some(mentionsOr);
  if (!isObject(value)) return false;
  return Object.entries(value).some(([key, field]) => key === OR_KEY || mentionsOr(field));
}

function compileNode(node: PatternNode): NodeMatcher {
  const checks: Array<(obj: JsonObject | undefined) => boolean> = [];
  for (const [name, field] of node.fields) {
    const { leaf, nested } = field;
    if (leaf !== undefined) checks.push((obj) => leaf(leafValues(fieldOf(obj, name))));
    if (nested !== undefined) {
      const child = compileNode(nested);
      checks.push((obj) => matchNested(child, fieldOf(obj, name)));
    }
  }
  for (const group of node.ors) {
    const branches = group.map(compileNode);
    checks.push((obj) => branches.some((branch) => branch(obj)));
  }
  return (value) => {
    const obj = isObject(value) ? value : undefined;
    for (const check of checks) {
      if (!check(obj)) return false;
    }
    return true;
  };
}

function compileLeaf(values: ReadonlyArray<unknown>, path: ReadonlyArray<string>): LeafMatcher {
  if (values.length === 0) fail(path, 'a match array must not be empty', values);
  const tests: ValueTest[] = [];
  let matchPresent = false;
  let matchAbsent = false;
  for (const value of values) {
    if (typeof value === 'number') {
      tests.push((candidate) => typeof candidate === 'number' && sameNumber(candidate, value));
    } else if (isScalar(value)) {
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

// ---------------------------------------------------------------------------
// Events with dotted keys
//
// Event Ruler flattens an event into name/value pairs joined with ".", so an
// event key "a.b" is the same field as "b" inside "a" (README, "Compiled rules
// and JSON keys with dots"). Such events are expanded into nesting once, then
// matched like any other; events without dotted keys are matched as they are.
// Events are small, so the scan runs on every match rather than being cached
// (a cache keyed by the event object would go stale if a caller mutated it).

function withDottedKeysExpanded(event: unknown): unknown {
  return hasDottedKey(event) ? expandDottedKeys(event) : event;
}

function hasDottedKey(value: unknown): boolean {
  if (Array.isArray(value)) return value.some(hasDottedKey);
  if (!isObject(value)) return false;
  return Object.entries(value).some(([key, field]) => key.includes('.') || hasDottedKey(field));
}

function expandDottedKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(expandDottedKeys);
  if (!isObject(value)) return value;
  const expanded: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(value))
    insertAt(expanded, key.split('.'), expandDottedKeys(field));
  return expanded;
}

function insertAt(target: Record<string, unknown>, segments: ReadonlyArray<string>, value: unknown): void {
  const [first = '', ...rest] = segments;
  const inserted = rest.reduceRight<unknown>((inner, segment) => ({ [segment]: inner }), value);
  target[first] = Object.hasOwn(target, first) ? mergeFields(target[first], inserted) : inserted;
}

/**
 * Two event values that land on the same field name: objects merge field by
 * field, an object merges into each object of an array, and anything else
 * becomes one list of values (a name with several values, as Ruler sees it).
 */
function mergeFields(existing: unknown, added: unknown): unknown {
  if (isObject(existing) && isObject(added)) {
    const merged: Record<string, unknown> = { ...existing };
    for (const [key, field] of Object.entries(added)) insertAt(merged, [key], field);
    return merged;
  }
  if (Array.isArray(existing) && isObject(added) && existing.some(isObject)) {
    return existing.map((element) => (isObject(element) ? mergeFields(element, added) : element));
  }
  return [...asList(existing), ...asList(added)];
}

function asList(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [value];
}

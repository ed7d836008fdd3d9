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

/** A literal in a pattern: matched exactly against the event value. */
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
export interface FilterCriteriaFilter {
  /** The event pattern as a JSON string, exactly as CloudFormation holds it. */
  readonly Pattern: string;
}

/** The event source whose records a `FilterCriteria` applies to. */
export type FilterCriteriaKind = 'dynamodb' | 'sqs';

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
  return compileRoot(pattern).pattern;
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
  return compileRoot(pattern).matcher;
}

/**
 * Whether `event` matches `pattern`; validates the pattern on every call, so
 * prefer {@link compileEventPattern} on hot paths.
 *
 * @throws EventPatternError when the pattern is not well formed
 */
export function matchesEventPattern(pattern: unknown, event: unknown): boolean {
  return compileRoot(pattern).matcher(event);
}

/**
 * Validate a Lambda `FilterCriteria` once and return a matcher for records.
 *
 * Lambda semantics: no filters lets every record through; otherwise a record
 * passes when ANY filter matches it. For `'sqs'`, a `body` that parses as a
 * JSON object or array is matched as that JSON, so patterns can address
 * `body.x`; any other body is matched as a plain string. As Lambda documents,
 * a filter that treats `body` as JSON drops plain-string bodies, and a filter
 * that treats `body` as a plain string drops JSON bodies. For `'dynamodb'`,
 * the pattern applies to the stream record as Lambda delivers it
 * (`eventName`, `dynamodb.NewImage.<attr>.S`, ...).
 *
 * @throws EventPatternError naming the filter index when a pattern is not well formed
 * @example
 * const accept = compileFilterCriteria(
 *   [{ Pattern: '{"eventName":["INSERT"],"dynamodb":{"NewImage":{"type":{"S":["outbox"]}}}}' }],
 *   'dynamodb',
 * );
 * const batch = records.filter(accept);
 */
export function compileFilterCriteria(
  filters: ReadonlyArray<FilterCriteriaFilter> | undefined,
  kind: FilterCriteriaKind,
): (record: unknown) => boolean {
  if (filters === undefined || filters.length === 0) return () => true;
  const compiled = filters.map((filter, index) => compileFilter(filter, index));
  return (record) => {
    const prepared = prepareRecord(record, kind);
    return compiled.some((filter) => evaluateFilter(filter, prepared));
  };
}

/**
 * Whether a record passes a Lambda `FilterCriteria` (see
 * {@link compileFilterCriteria} for the semantics). Compiled patterns are
 * cached by their JSON text, so calling this per record stays cheap.
 *
 * @throws EventPatternError naming the filter index when a pattern is not well formed
 */
export function matchesFilterCriteria(
  filters: ReadonlyArray<FilterCriteriaFilter> | undefined,
  record: unknown,
  kind: FilterCriteriaKind,
): boolean {
  if (filters === undefined || filters.length === 0) return true;
  const prepared = prepareRecord(record, kind);
  return filters.some((filter, index) => evaluateFilter(cachedFilter(filter, index), prepared));
}

// ---------------------------------------------------------------------------
// Compilation

type Scalar = string | number | boolean | null;
type ValueTest = (value: Scalar) => boolean;
type NodeMatcher = (node: unknown) => boolean;
type LeafMatcher = (values: ReadonlyArray<Scalar>) => boolean;
type JsonObject = Readonly<Record<string, unknown>>;

const OR_KEY = '$or';

const OPERATORS = [
  'prefix',
  'suffix',
  'equals-ignore-case',
  'wildcard',
  'anything-but',
  'numeric',
  'exists',
  'cidr',
] as const;

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

function compileRoot(pattern: unknown): { pattern: EventPattern; matcher: NodeMatcher } {
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

function compileOperator(operator: JsonObject, path: ReadonlyArray<string>): ValueTest | { exists: boolean } {
  const [name, ...others] = Object.keys(operator);
  if (name === undefined || others.length > 0) {
    fail(path, 'an operator object must have exactly one key', operator);
  }
  const operand = operator[name];
  switch (name) {
    case 'prefix':
    case 'suffix': {
      if (isObject(operand)) {
        const ignoreCase = singleKey(operand, 'equals-ignore-case');
        if (typeof ignoreCase !== 'string') {
          fail(path, `"${name}" expects a string or {"equals-ignore-case": string}`, operand);
        }
        return onStrings(stringTest(`${name}-ignore-case` as const, ignoreCase));
      }
      if (typeof operand !== 'string') fail(path, `"${name}" expects a string`, operand);
      return onStrings(stringTest(name, operand));
    }
    case 'equals-ignore-case': {
      if (typeof operand !== 'string') fail(path, '"equals-ignore-case" expects a string', operand);
      return onStrings(stringTest(name, operand));
    }
    case 'wildcard': {
      if (typeof operand !== 'string') fail(path, '"wildcard" expects a string', operand);
      return onStrings(wildcardTest(operand, path, 'wildcard'));
    }
    case 'anything-but':
      return compileAnythingBut(operand, path);
    case 'numeric':
      return compileNumeric(operand, path);
    case 'exists': {
      if (typeof operand !== 'boolean') fail(path, '"exists" expects true or false', operand);
      return { exists: operand };
    }
    case 'cidr':
      return compileCidr(operand, path);
    default:
      return fail(path, `unknown operator "${name}" (supported: ${OPERATORS.join(', ')})`, operator);
  }
}

type StringTestKind =
  | 'prefix'
  | 'suffix'
  | 'prefix-ignore-case'
  | 'suffix-ignore-case'
  | 'equals-ignore-case';

function stringTest(kind: StringTestKind, operand: string): (value: string) => boolean {
  switch (kind) {
    case 'prefix':
      return (value) => value.startsWith(operand);
    case 'suffix':
      return (value) => value.endsWith(operand);
    case 'prefix-ignore-case': {
      const folded = foldCase(operand);
      return (value) => foldCase(value).startsWith(folded);
    }
    case 'suffix-ignore-case': {
      const folded = foldCase(operand);
      return (value) => foldCase(value).endsWith(folded);
    }
    case 'equals-ignore-case': {
      const folded = foldCase(operand);
      return (value) => foldCase(value) === folded;
    }
  }
}

/**
 * `*` matches any run of characters (including none); `\*` is a literal
 * asterisk and `\\` a literal backslash. Event Ruler rejects `**` and any
 * other backslash escape, so we do too.
 */
function wildcardTest(
  operand: string,
  path: ReadonlyArray<string>,
  operator: string,
): (value: string) => boolean {
  let source = '';
  for (let i = 0; i < operand.length; i++) {
    const char = operand.charAt(i);
    if (char === '*') {
      if (operand.charAt(i + 1) === '*') {
        fail(path, `"${operator}" does not allow consecutive "*" characters`, operand);
      }
      source += '[\\s\\S]*';
    } else if (char === '\\') {
      const next = operand.charAt(i + 1);
      if (next !== '*' && next !== '\\') {
        fail(path, `"${operator}" allows "\\" only before "*" or "\\"`, operand);
      }
      source += escapeRegExp(next);
      i++;
    } else {
      source += escapeRegExp(char);
    }
  }
  const regExp = new RegExp(`^${source}$`);
  return (value) => regExp.test(value);
}

const ANYTHING_BUT_SHAPE =
  '"anything-but" expects a string, a number, a non-empty list of only strings or only numbers, ' +
  'or an object with one of prefix, suffix, equals-ignore-case, wildcard';

function compileAnythingBut(operand: unknown, path: ReadonlyArray<string>): ValueTest {
  if (typeof operand === 'string' || typeof operand === 'number') {
    return (value) => value !== operand;
  }
  if (Array.isArray(operand)) {
    if (operand.length > 0 && operand.every((item) => typeof item === 'string')) {
      const excluded = new Set<unknown>(operand);
      return (value) => !(typeof value === 'string' && excluded.has(value));
    }
    if (operand.length > 0 && operand.every((item) => typeof item === 'number')) {
      const excluded = new Set<unknown>(operand);
      return (value) => !(typeof value === 'number' && excluded.has(value));
    }
    return fail(path, ANYTHING_BUT_SHAPE, operand);
  }
  if (!isObject(operand)) return fail(path, ANYTHING_BUT_SHAPE, operand);

  const [name, ...others] = Object.keys(operand);
  if (name === undefined || others.length > 0) fail(path, ANYTHING_BUT_SHAPE, operand);
  const inner = operand[name];
  const operands = typeof inner === 'string' ? [inner] : inner;
  const subPath = [...path, 'anything-but'];
  if (
    !Array.isArray(operands) ||
    operands.length === 0 ||
    !operands.every((item) => typeof item === 'string')
  ) {
    return fail(
      subPath,
      `"${name}" inside "anything-but" expects a string or a non-empty list of strings`,
      inner,
    );
  }
  let tests: Array<(value: string) => boolean>;
  switch (name) {
    case 'prefix':
    case 'suffix':
      if (operands.some((item) => item === '')) {
        fail(subPath, `"${name}" inside "anything-but" must not be empty`, inner);
      }
      tests = operands.map((item) => stringTest(name, item));
      break;
    case 'equals-ignore-case':
      tests = operands.map((item) => stringTest(name, item));
      break;
    case 'wildcard':
      tests = operands.map((item) => wildcardTest(item, subPath, 'wildcard'));
      break;
    default:
      return fail(path, ANYTHING_BUT_SHAPE, operand);
  }
  // Like Event Ruler, the nested operators only ever match strings, so any
  // non-string value is "anything but" them.
  return (value) => typeof value !== 'string' || !tests.some((test) => test(value));
}

const NUMERIC_SHAPE =
  '"numeric" expects ["=", n], [">" or ">=", n], ["<" or "<=", n] or [">" or ">=", n, "<" or "<=", n]';

function compileNumeric(operand: unknown, path: ReadonlyArray<string>): ValueTest {
  if (!Array.isArray(operand) || operand.length === 0) return fail(path, NUMERIC_SHAPE, operand);
  const comparisons: Array<{ op: string; bound: number }> = [];
  for (let i = 0; i < operand.length; i += 2) {
    const op: unknown = operand[i];
    const bound: unknown = operand[i + 1];
    if (op !== '=' && op !== '<' && op !== '<=' && op !== '>' && op !== '>=') {
      return fail(path, `"numeric" has an unknown comparison ${describe(op)} (use =, <, <=, >, >=)`, operand);
    }
    if (typeof bound !== 'number' || !Number.isFinite(bound)) {
      return fail(path, `"numeric" expects a number after "${op}"`, operand);
    }
    comparisons.push({ op, bound });
  }
  const [first, second, ...rest] = comparisons;
  if (first === undefined || rest.length > 0) return fail(path, NUMERIC_SHAPE, operand);
  const isLower = first.op === '>' || first.op === '>=';
  if (second !== undefined && (!isLower || (second.op !== '<' && second.op !== '<='))) {
    return fail(path, NUMERIC_SHAPE, operand);
  }
  if (second !== undefined) {
    const empty =
      first.bound > second.bound || (first.bound === second.bound && (first.op === '>' || second.op === '<'));
    if (empty) fail(path, `"numeric" range is empty (${first.bound} to ${second.bound})`, operand);
  }
  const tests = comparisons.map(({ op, bound }) => numericComparison(op, bound));
  return (value) => typeof value === 'number' && tests.every((test) => test(value));
}

function numericComparison(op: string, bound: number): (value: number) => boolean {
  switch (op) {
    case '=':
      return (value) => value === bound;
    case '<':
      return (value) => value < bound;
    case '<=':
      return (value) => value <= bound;
    case '>':
      return (value) => value > bound;
    default:
      return (value) => value >= bound;
  }
}

function compileCidr(operand: unknown, path: ReadonlyArray<string>): ValueTest {
  const shape = '"cidr" expects an IPv4 or IPv6 CIDR block such as "10.0.0.0/24"';
  if (typeof operand !== 'string') return fail(path, shape, operand);
  const [address, prefixText, ...extra] = operand.split('/');
  const network = address === undefined ? undefined : parseIp(address);
  if (
    network === undefined ||
    prefixText === undefined ||
    extra.length > 0 ||
    !/^\d{1,3}$/.test(prefixText)
  ) {
    return fail(path, shape, operand);
  }
  const width = network.family === 4 ? 32 : 128;
  const prefixLength = Number(prefixText);
  if (prefixLength > width)
    return fail(path, `${shape}; the prefix length must be at most ${width}`, operand);
  const hostBits = BigInt(width - prefixLength);
  const base = network.value >> hostBits;
  return (value) => {
    if (typeof value !== 'string') return false;
    const ip = parseIp(value);
    return ip !== undefined && ip.family === network.family && ip.value >> hostBits === base;
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

// ---------------------------------------------------------------------------
// FilterCriteria

interface CompiledFilter {
  readonly matcher: NodeMatcher;
  /** How the filter treats an SQS `body`: as JSON (an object), as a plain string (a match array), or not at all. */
  readonly body: 'json' | 'plain' | 'none';
}

interface PreparedRecord {
  readonly record: unknown;
  readonly body: 'json' | 'plain' | 'none';
}

// Patterns come from the stack's templates, so the cache stays small; the cap
// only guards against a caller that builds patterns dynamically.
const FILTER_CACHE_LIMIT = 1000;
const filterCache = new Map<string, CompiledFilter>();

function cachedFilter(filter: FilterCriteriaFilter, index: number): CompiledFilter {
  const key = isObject(filter) && typeof filter.Pattern === 'string' ? filter.Pattern : undefined;
  const cached = key === undefined ? undefined : filterCache.get(key);
  if (cached !== undefined) return cached;
  const compiled = compileFilter(filter, index);
  if (key !== undefined) {
    if (filterCache.size >= FILTER_CACHE_LIMIT) filterCache.clear();
    filterCache.set(key, compiled);
  }
  return compiled;
}

function compileFilter(filter: FilterCriteriaFilter, index: number): CompiledFilter {
  const where = `FilterCriteria.Filters[${index}].Pattern`;
  if (!isObject(filter) || !('Pattern' in filter)) {
    throw new EventPatternError(`Invalid event pattern: ${where} is missing, given ${describe(filter)}`);
  }
  try {
    const { pattern, matcher } = compileRoot(filter.Pattern);
    const body = pattern.body;
    return { matcher, body: Array.isArray(body) ? 'plain' : isObject(body) ? 'json' : 'none' };
  } catch (error) {
    if (!(error instanceof EventPatternError)) throw error;
    throw new EventPatternError(`${where}: ${error.message}`, error.path, { cause: error });
  }
}

function prepareRecord(record: unknown, kind: FilterCriteriaKind): PreparedRecord {
  if (kind !== 'sqs' || !isObject(record) || typeof record.body !== 'string') return { record, body: 'none' };
  const parsed = parseJsonStructure(record.body);
  if (parsed === undefined) return { record, body: 'plain' };
  return { record: { ...record, body: parsed }, body: 'json' };
}

function evaluateFilter(filter: CompiledFilter, prepared: PreparedRecord): boolean {
  // Lambda drops a message whose body format disagrees with the filter's (documented in
  // "Properly filtering Amazon SQS messages") rather than trying to match it.
  if (filter.body === 'json' && prepared.body === 'plain') return false;
  if (filter.body === 'plain' && prepared.body === 'json') return false;
  return filter.matcher(prepared.record);
}

/** The body as JSON when it is a JSON object or array; `undefined` for anything else. */
function parseJsonStructure(body: string): unknown {
  const start = body.trimStart().charAt(0);
  if (start !== '{' && start !== '[') return undefined;
  try {
    return JSON.parse(body);
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------
// Helpers

function fail(path: ReadonlyArray<string>, problem: string, given: unknown): never {
  const where = path.length > 0 ? ` at path ${path.join('.')}` : '';
  throw new EventPatternError(
    `Invalid event pattern: ${problem}, given ${describe(given)}${where}`,
    path.length > 0 ? path.join('.') : undefined,
  );
}

function describe(value: unknown): string {
  if (value === undefined) return 'undefined';
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isScalar(value: unknown): value is Scalar {
  return (
    value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean'
  );
}

function singleKey(obj: JsonObject, key: string): unknown {
  const keys = Object.keys(obj);
  return keys.length === 1 && keys[0] === key ? obj[key] : undefined;
}

function onStrings(test: (value: string) => boolean): ValueTest {
  return (value) => typeof value === 'string' && test(value);
}

function anyOf(tests: ReadonlyArray<ValueTest>): ValueTest | undefined {
  const [only, ...more] = tests;
  if (only === undefined) return undefined;
  if (more.length === 0) return only;
  return (value) => tests.some((test) => test(value));
}

function foldCase(value: string): string {
  return value.toLowerCase();
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

interface IpAddress {
  readonly family: 4 | 6;
  readonly value: bigint;
}

function parseIp(text: string): IpAddress | undefined {
  const v4 = parseIpv4(text);
  if (v4 !== undefined) return { family: 4, value: v4 };
  const v6 = parseIpv6(text);
  return v6 === undefined ? undefined : { family: 6, value: v6 };
}

function parseIpv4(text: string): bigint | undefined {
  const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (match === null) return undefined;
  let value = 0n;
  for (const part of match.slice(1)) {
    const octet = Number(part);
    if (octet > 255) return undefined;
    value = (value << 8n) | BigInt(octet);
  }
  return value;
}

function parseIpv6(text: string): bigint | undefined {
  if (!/^[0-9a-fA-F:.]+$/.test(text)) return undefined;
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const [headText = '', tailText] = halves;
  const head = parseIpv6Groups(headText, tailText === undefined);
  const tail = tailText === undefined ? [] : parseIpv6Groups(tailText, true);
  if (head === undefined || tail === undefined) return undefined;
  const missing = 8 - head.length - tail.length;
  if (tailText === undefined ? missing !== 0 : missing < 1) return undefined;
  const groups = [...head, ...new Array<number>(Math.max(missing, 0)).fill(0), ...tail];
  return groups.reduce((value, group) => (value << 16n) | BigInt(group), 0n);
}

/** Hex groups of one side of `::`; an embedded IPv4 address may only end the address. */
function parseIpv6Groups(text: string, mayEndWithIpv4: boolean): number[] | undefined {
  if (text === '') return [];
  const parts = text.split(':');
  const groups: number[] = [];
  for (const [index, part] of parts.entries()) {
    if (mayEndWithIpv4 && index === parts.length - 1 && part.includes('.')) {
      const v4 = parseIpv4(part);
      if (v4 === undefined) return undefined;
      groups.push(Number(v4 >> 16n), Number(v4 & 0xffffn));
    } else if (/^[0-9a-fA-F]{1,4}$/.test(part)) {
      groups.push(Number.parseInt(part, 16));
    } else {
      return undefined;
    }
  }
  return groups;
}

/**
 * Lambda `FilterCriteria` on top of the event-pattern engine: which records an
 * event source mapping hands to the function. Lambda documents that its filter
 * syntax is EventBridge's ("Lambda event filtering",
 * https://docs.aws.amazon.com/lambda/latest/dg/invocation-eventfiltering.html).
 */
import { compilePatternAndMatcher } from './event-pattern';
import { describe, EventPatternError, isObject } from './pattern-support';

type NodeMatcher = (node: unknown) => boolean;

export interface FilterCriteriaFilter {
  /** The event pattern as a JSON string, exactly as CloudFormation holds it. */
  readonly Pattern: string;
}

/** The event source whose records a `FilterCriteria` applies to. */
export type FilterCriteriaKind = 'dynamodb' | 'sqs';

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
    const { pattern, matcher } = compilePatternAndMatcher(filter.Pattern);
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

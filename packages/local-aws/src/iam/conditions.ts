/**
 * Condition operators, as the IAM User Guide defines them ("IAM JSON policy
 * elements: Condition operators", "Single-valued vs. multivalued context keys"):
 *
 * - A key missing from the request context makes the condition false, except
 *   that negated operators (StringNotEquals, ArnNotLike...) are then true,
 *   `...IfExists` is then true, and `Null` tests exactly for absence.
 * - Several values for one key: any of them may match (OR); for a negated
 *   operator, the request value must match none of them.
 * - `ForAllValues:` every request value must satisfy the operator; true when the
 *   key is missing or empty. `ForAnyValue:` at least one must; false when missing.
 * - A multivalued key without a set operator is read as `ForAnyValue` (and its
 *   negated form as "no request value matches"); AWS asks for a set operator there.
 * - There is no `StringLikeIgnoreCase` in IAM, so there is none here.
 */
import type { ContextLookup, ContextValue } from './context';
import type { ConditionClause } from './policy-document';
import { matchesArn, matchesWildcard, substituteVariables } from './wildcard';

type Positive = (policyValue: string, requestValue: string, lookup: ContextLookup) => boolean;

interface OperatorSpec {
  readonly negated: boolean;
  readonly positive: Positive;
}

const exact =
  (ignoreCase: boolean): Positive =>
  (policy, request, lookup) => {
    const expected = substituteVariables(policy, lookup);
    if (expected === undefined) return false;
    return ignoreCase ? expected.toLowerCase() === request.toLowerCase() : expected === request;
  };
const like: Positive = (policy, request, lookup) => matchesWildcard(policy, request, { lookup });
const arn: Positive = (policy, request, lookup) => matchesArn(policy, request, lookup);

function numeric(compare: (a: number, b: number) => boolean): Positive {
  return (policy, request) => {
    const a = Number(request);
    const b = Number(policy);
    return request.trim() !== '' && !Number.isNaN(a) && !Number.isNaN(b) && compare(a, b);
  };
}

/** ISO 8601 or epoch seconds, as the Date operators accept. */
function parseDate(value: string): number {
  return /^\d+(\.\d+)?$/.test(value.trim()) ? Number(value) * 1000 : Date.parse(value);
}

function date(compare: (a: number, b: number) => boolean): Positive {
  return (policy, request) => {
    const a = parseDate(request);
    const b = parseDate(policy);
    return !Number.isNaN(a) && !Number.isNaN(b) && compare(a, b);
  };
}

function ipv4(address: string): number | undefined {
  const parts = address.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0;
  for (const part of parts) {
    const octet = Number(part);
    if (!/^\d{1,3}$/.test(part) || octet > 255) return undefined;
    value = value * 256 + octet;
  }
  return value;
}

/** IPv4 CIDR blocks; IPv6 values only match when written identically. */
const ipAddress: Positive = (policy, request) => {
  const [network, bits] = policy.split('/');
  const base = ipv4(network ?? '');
  const address = ipv4(request);
  if (base === undefined || address === undefined) return policy === request;
  const prefix = bits === undefined ? 32 : Number(bits);
  const size = 2 ** (32 - prefix);
  return Math.floor(base / size) === Math.floor(address / size);
};

const positiveOf = (positive: Positive): OperatorSpec => ({ negated: false, positive });
const negatedOf = (positive: Positive): OperatorSpec => ({ negated: true, positive });

const OPERATORS: ReadonlyMap<string, OperatorSpec> = new Map([
  ['StringEquals', positiveOf(exact(false))],
  ['StringNotEquals', negatedOf(exact(false))],
  ['StringEqualsIgnoreCase', positiveOf(exact(true))],
  ['StringNotEqualsIgnoreCase', negatedOf(exact(true))],
  ['StringLike', positiveOf(like)],
  ['StringNotLike', negatedOf(like)],
  ['NumericEquals', positiveOf(numeric((a, b) => a === b))],
  ['NumericNotEquals', negatedOf(numeric((a, b) => a === b))],
  ['NumericLessThan', positiveOf(numeric((a, b) => a < b))],
  ['NumericLessThanEquals', positiveOf(numeric((a, b) => a <= b))],
  ['NumericGreaterThan', positiveOf(numeric((a, b) => a > b))],
  ['NumericGreaterThanEquals', positiveOf(numeric((a, b) => a >= b))],
  ['DateEquals', positiveOf(date((a, b) => a === b))],
  ['DateNotEquals', negatedOf(date((a, b) => a === b))],
  ['DateLessThan', positiveOf(date((a, b) => a < b))],
  ['DateLessThanEquals', positiveOf(date((a, b) => a <= b))],
  ['DateGreaterThan', positiveOf(date((a, b) => a > b))],
  ['DateGreaterThanEquals', positiveOf(date((a, b) => a >= b))],
  ['Bool', positiveOf((policy, request) => policy.toLowerCase() === request.toLowerCase())],
  ['BinaryEquals', positiveOf((policy, request) => policy === request)],
  ['IpAddress', positiveOf(ipAddress)],
  ['NotIpAddress', negatedOf(ipAddress)],
  ['ArnEquals', positiveOf(arn)],
  ['ArnLike', positiveOf(arn)],
  ['ArnNotEquals', negatedOf(arn)],
  ['ArnNotLike', negatedOf(arn)],
]);

/** Every base operator name this module evaluates (`Null` included). */
export const CONDITION_OPERATORS: ReadonlySet<string> = new Set([...OPERATORS.keys(), 'Null']);

/** An operator split into its set qualifier, base name and IfExists suffix. */
export interface ParsedOperator {
  readonly set?: 'ForAllValues' | 'ForAnyValue';
  readonly base: string;
  readonly ifExists: boolean;
}

const parsedCache = new Map<string, ParsedOperator | undefined>();

/** Splits `ForAnyValue:StringLikeIfExists`; undefined for an unknown set qualifier. */
export function parseOperator(operator: string): ParsedOperator | undefined {
  if (parsedCache.has(operator)) return parsedCache.get(operator);
  const colon = operator.indexOf(':');
  const qualifier = colon >= 0 ? operator.slice(0, colon) : undefined;
  let base = colon >= 0 ? operator.slice(colon + 1) : operator;
  const ifExists = base.endsWith('IfExists') && base !== 'IfExists';
  if (ifExists) base = base.slice(0, -'IfExists'.length);
  const parsed: ParsedOperator | undefined =
    qualifier === undefined || qualifier === 'ForAllValues' || qualifier === 'ForAnyValue'
      ? { set: qualifier, base, ifExists }
      : undefined;
  parsedCache.set(operator, parsed);
  return parsed;
}

function asList(value: ContextValue | undefined): readonly string[] {
  if (value === undefined) return [];
  return typeof value === 'string' ? [value] : value;
}

/** Evaluates one condition clause against the request context. Unknown operators never match. */
export function evaluateCondition(clause: ConditionClause, lookup: ContextLookup): boolean {
  const parsed = parseOperator(clause.operator);
  if (parsed === undefined) return false;
  const requestValues = asList(lookup(clause.key));
  const missing = requestValues.length === 0;
  if (parsed.base === 'Null') {
    // "Null": {"key": "true"} holds when the key is absent (or an empty set).
    return clause.values.some((value) => (value.toLowerCase() === 'true') === missing);
  }
  const spec = OPERATORS.get(parsed.base);
  if (spec === undefined) return false;
  if (missing && parsed.ifExists) return true;
  const satisfies = (requestValue: string) => {
    const matched = clause.values.some((policyValue) => spec.positive(policyValue, requestValue, lookup));
    return spec.negated ? !matched : matched;
  };
  if (parsed.set === 'ForAllValues') return missing || requestValues.every(satisfies);
  if (parsed.set === 'ForAnyValue') return !missing && requestValues.some(satisfies);
  if (missing) return spec.negated;
  return spec.negated ? requestValues.every(satisfies) : requestValues.some(satisfies);
}

/** All clauses of a statement hold (AND across operators and keys). */
export function conditionsHold(clauses: readonly ConditionClause[], lookup: ContextLookup): boolean {
  for (const clause of clauses) if (!evaluateCondition(clause, lookup)) return false;
  return true;
}

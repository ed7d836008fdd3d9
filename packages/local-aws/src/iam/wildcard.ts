/**
 * IAM wildcard matching: `*` (any run of characters) and `?` (one character) in
 * Action, Resource, StringLike and ArnLike values, plus policy variables
 * (`${aws:PrincipalArn}`, and the escapes `${*}`, `${?}`, `${$}`).
 *
 * IAM User Guide, "IAM JSON policy elements: Resource" and "IAM policy elements:
 * Variables and tags": wildcards may appear anywhere in a Resource value; a
 * variable whose key is not in the request context makes the element not match.
 */
import type { ContextLookup } from './context';

const cache = new Map<string, RegExp>();
const CACHE_LIMIT = 10_000;
const VARIABLE = /\$\{([^}]+)\}/g;

function escapeLiteral(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
}

function globSource(pattern: string): string {
  let source = '';
  for (const char of pattern) {
    if (char === '*') source += '.*';
    else if (char === '?') source += '.';
    else source += escapeLiteral(char);
  }
  return source;
}

/**
 * Compiles a wildcard pattern to an anchored RegExp. Patterns without policy
 * variables are cached: the same few hundred patterns are matched on every call.
 */
export function wildcardRegExp(pattern: string, ignoreCase = false): RegExp {
  const key = `${ignoreCase ? 'i' : 's'}${pattern}`;
  const cached = cache.get(key);
  if (cached) return cached;
  const compiled = new RegExp(`^${globSource(pattern)}$`, ignoreCase ? 'is' : 's');
  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.set(key, compiled);
  return compiled;
}

/**
 * Replaces policy variables in a pattern, keeping wildcards outside them live.
 * Returns undefined when a variable names a key the request does not carry.
 */
function expandVariables(pattern: string, lookup: ContextLookup, ignoreCase: boolean): RegExp | undefined {
  let source = '';
  let last = 0;
  for (const match of pattern.matchAll(VARIABLE)) {
    const index = match.index ?? 0;
    source += globSource(pattern.slice(last, index));
    last = index + match[0].length;
    const [name, fallback] = (match[1] ?? '').split(/,\s*/, 2);
    const special = { '*': '*', '?': '?', $: '$' }[name ?? ''];
    if (special !== undefined) {
      source += escapeLiteral(special);
      continue;
    }
    const value = lookup(name ?? '');
    if (typeof value === 'string') source += escapeLiteral(value);
    else if (fallback !== undefined) source += escapeLiteral(fallback.replace(/^'|'$/g, ''));
    else return undefined;
  }
  source += globSource(pattern.slice(last));
  return new RegExp(`^${source}$`, ignoreCase ? 'is' : 's');
}

/** Does `value` match the wildcard `pattern` (with policy variables resolved from `lookup`)? */
export function matchesWildcard(
  pattern: string,
  value: string,
  options: { readonly ignoreCase?: boolean; readonly lookup?: ContextLookup } = {},
): boolean {
  if (pattern === '*') return true;
  if (options.lookup && pattern.includes('${')) {
    const expanded = expandVariables(pattern, options.lookup, options.ignoreCase === true);
    return expanded?.test(value) === true;
  }
  return wildcardRegExp(pattern, options.ignoreCase).test(value);
}

/**
 * ArnLike/ArnEquals: "each of the six colon-delimited components of the ARN is
 * checked separately and each can include wildcards" (IAM User Guide, condition
 * operators, ARN). The sixth component is everything after the fifth colon.
 */
export function matchesArn(pattern: string, arn: string, lookup?: ContextLookup): boolean {
  if (pattern === '*') return true;
  const patternParts = splitArn(pattern);
  const arnParts = splitArn(arn);
  if (patternParts === undefined || arnParts === undefined) return false;
  return patternParts.every((part, i) => matchesWildcard(part, arnParts[i] ?? '', { lookup }));
}

function splitArn(arn: string): string[] | undefined {
  const parts: string[] = [];
  let rest = arn;
  for (let i = 0; i < 5; i++) {
    const colon = rest.indexOf(':');
    if (colon < 0) return undefined;
    parts.push(rest.slice(0, colon));
    rest = rest.slice(colon + 1);
  }
  parts.push(rest);
  return parts;
}

/**
 * Replaces policy variables in a value compared literally (StringEquals,
 * NumericEquals...). Undefined when a variable's key is not in the context.
 */
export function substituteVariables(text: string, lookup: ContextLookup): string | undefined {
  if (!text.includes('${')) return text;
  let missing = false;
  const result = text.replace(VARIABLE, (_, inner: string) => {
    const [name, fallback] = inner.split(/,\s*/, 2);
    if (name === '*' || name === '?' || name === '$') return name;
    const value = lookup(name ?? '');
    if (typeof value === 'string') return value;
    if (fallback !== undefined) return fallback.replace(/^'|'$/g, '');
    missing = true;
    return '';
  });
  return missing ? undefined : result;
}

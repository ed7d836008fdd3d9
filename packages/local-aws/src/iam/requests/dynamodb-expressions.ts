/**
 * Just enough of DynamoDB's expression syntax to find what IAM conditions look
 * at: the partition-key equality of a KeyConditionExpression (for
 * `dynamodb:LeadingKeys`) and the top-level attribute names of projection and
 * update expressions (for `dynamodb:Attributes`). Developer Guide, "Using
 * expressions in DynamoDB".
 */

type Names = Readonly<Record<string, string>> | undefined;

/** `#n` through ExpressionAttributeNames; a plain name as written. */
function resolveName(token: string, names: Names): string {
  return token.startsWith('#') ? (names?.[token] ?? token) : token;
}

/** The first element of a document path: `#a.b[2]` → the name `#a` stands for. */
function topName(path: string, names: Names): string {
  const first = path.trim().split(/[.[]/, 1)[0] ?? '';
  return resolveName(first, names);
}

/** Splits on commas outside parentheses (function arguments). */
function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const char of text) {
    if (char === '(') depth++;
    if (char === ')') depth--;
    if (char === ',' && depth === 0) {
      parts.push(current);
      current = '';
    } else current += char;
  }
  if (current.trim() !== '') parts.push(current);
  return parts;
}

const NAME = '#[A-Za-z0-9_]+|[A-Za-z_][A-Za-z0-9_]*';
const VALUE = ':[A-Za-z0-9_]+';

/**
 * The value placeholders compared with `=` to `partitionKey` in a
 * KeyConditionExpression (`#pk = :v`, `:v = pk`). DynamoDB requires exactly one
 * such equality; several are returned as found.
 */
export function partitionKeyPlaceholders(expression: string, partitionKey: string, names: Names): string[] {
  const found: string[] = [];
  const forward = new RegExp(String.raw`(${NAME})\s*(?<![<>!])=(?!=)\s*(${VALUE})`, 'g');
  const reverse = new RegExp(String.raw`(${VALUE})\s*(?<![<>!])=(?!=)\s*(${NAME})`, 'g');
  for (const match of expression.matchAll(forward)) {
    if (resolveName(match[1] ?? '', names) === partitionKey && match[2]) found.push(match[2]);
  }
  for (const match of expression.matchAll(reverse)) {
    if (resolveName(match[2] ?? '', names) === partitionKey && match[1]) found.push(match[1]);
  }
  return found;
}

/** Top-level attribute names of a ProjectionExpression (`a, #b.c, d[0]`). */
export function projectionNames(expression: string, names: Names): string[] {
  return [...new Set(splitTopLevel(expression).map((path) => topName(path, names)))];
}

/** Top-level attribute names an UpdateExpression writes (SET, REMOVE, ADD, DELETE clauses). */
export function updatedNames(expression: string, names: Names): string[] {
  const result = new Set<string>();
  const clauses = expression.split(/\b(SET|REMOVE|ADD|DELETE)\b/i);
  for (let i = 1; i < clauses.length; i += 2) {
    const keyword = (clauses[i] ?? '').toUpperCase();
    for (const action of splitTopLevel(clauses[i + 1] ?? '')) {
      const path = keyword === 'SET' ? action.split('=', 1)[0] : action.trim().split(/\s+/, 1)[0];
      if (path !== undefined && path.trim() !== '') result.add(topName(path, names));
    }
  }
  return [...result];
}

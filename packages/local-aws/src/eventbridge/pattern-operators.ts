/**
 * The content-filtering operators of event patterns ("Comparison operators for
 * use in event patterns", https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html):
 * prefix, suffix, equals-ignore-case, wildcard, anything-but, numeric, exists
 * and cidr, each validated once and compiled to a test of one leaf value.
 */
import { parseIp } from './ip-address';
import {
  comparableNumber,
  describe,
  fail,
  isObject,
  type JsonObject,
  NUMERIC_LIMIT,
  sameNumber,
  type ValueTest,
} from './pattern-support';

/** The operator names patterns may use. */
export const OPERATORS = [
  'prefix',
  'suffix',
  'equals-ignore-case',
  'wildcard',
  'anything-but',
  'numeric',
  'exists',
  'cidr',
] as const;

/** Compiles one operator object: a value test, or the `exists` flag. */
export function compileOperator(
  operator: JsonObject,
  path: ReadonlyArray<string>,
): ValueTest | { exists: boolean } {
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
      const excluded = operand as number[];
      return (value) => !(typeof value === 'number' && excluded.some((number) => sameNumber(number, value)));
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
    if (comparableNumber(bound) === undefined) {
      return fail(
        path,
        `"numeric" bounds must be between -${NUMERIC_LIMIT} and ${NUMERIC_LIMIT}, as Event Ruler's are (${bound} is not)`,
        operand,
      );
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
  const tests = comparisons.map(({ op, bound }) => numericComparison(op, comparableNumber(bound) ?? 0));
  return (value) => {
    if (typeof value !== 'number') return false;
    // A number outside Event Ruler's range has no comparable form, so no numeric test matches it.
    const key = comparableNumber(value);
    return key !== undefined && tests.every((test) => test(key));
  };
}

/** A comparison of comparable-number keys. */
function numericComparison(op: string, bound: number): (key: number) => boolean {
  switch (op) {
    case '=':
      return (key) => key === bound;
    case '<':
      return (key) => key < bound;
    case '<=':
      return (key) => key <= bound;
    case '>':
      return (key) => key > bound;
    default:
      return (key) => key >= bound;
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

function singleKey(obj: JsonObject, key: string): unknown {
  const keys = Object.keys(obj);
  return keys.length === 1 && keys[0] === key ? obj[key] : undefined;
}

function onStrings(test: (value: string) => boolean): ValueTest {
  return (value) => typeof value === 'string' && test(value);
}

function foldCase(value: string): string {
  return value.toLowerCase();
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/**
 * Policy documents as the evaluator reads them: every field normalised to
 * arrays of strings, template intrinsics already resolved. Parsing never
 * throws on a policy AWS would accept; what it cannot read becomes an issue
 * (and a value that matches nothing), so one bad statement does not hide the rest.
 */
import { CONDITION_OPERATORS, parseOperator } from './conditions';

/** Allow or Deny. */
export type Effect = 'Allow' | 'Deny';

/** The Principal (or NotPrincipal) element of a resource-based policy statement. */
export interface PrincipalElement {
  /** `"Principal": "*"` or `{"AWS": "*"}`: everyone, including anonymous callers. */
  readonly everyone: boolean;
  /** Account ids, account root ARNs, role ARNs, assumed-role session ARNs. */
  readonly aws: readonly string[];
  /** Service principals, e.g. `events.amazonaws.com`. */
  readonly service: readonly string[];
  readonly federated: readonly string[];
  readonly canonicalUser: readonly string[];
}

/** One condition: operator (with its qualifiers) applied to one key with one or more values. */
export interface ConditionClause {
  /** As written, e.g. `ForAllValues:StringLike` or `ArnEqualsIfExists`. */
  readonly operator: string;
  readonly key: string;
  readonly values: readonly string[];
}

/** A statement of an identity-based or resource-based policy. */
export interface PolicyStatement {
  readonly sid?: string;
  readonly effect: Effect;
  readonly actions?: readonly string[];
  readonly notActions?: readonly string[];
  readonly resources?: readonly string[];
  readonly notResources?: readonly string[];
  readonly principal?: PrincipalElement;
  readonly notPrincipal?: PrincipalElement;
  readonly conditions: readonly ConditionClause[];
  /** Where the statement comes from, for reports: `<policy logical id>#<index>`. */
  readonly origin: string;
}

/** Something in the template the IAM emulation could not read, or reads differently from AWS. */
export interface PolicyIssue {
  /** `error`: permissions may be narrower or wider than on AWS; `warning`: informational. */
  readonly severity: 'error' | 'warning';
  readonly where: string;
  readonly message: string;
}

/** Turns a template value (string or intrinsic) into a string; throws when it cannot. */
export type ValueResolver = (value: unknown, where: string) => string;

/**
 * Marks a value that could not be resolved. ARNs, action names and context
 * values never contain NUL, so the marker matches nothing.
 */
export const UNRESOLVED = '\u0000unresolved';

/** Collects issues while reading one template. */
export class IssueLog {
  readonly issues: PolicyIssue[] = [];
  add(severity: PolicyIssue['severity'], where: string, message: string): void {
    this.issues.push({ severity, where, message });
  }
}

/** Resolves with `resolve`; on failure records an error and returns {@link UNRESOLVED}. */
export function resolveOrMark(value: unknown, where: string, resolve: ValueResolver, log: IssueLog): string {
  try {
    return resolve(value, where);
  } catch (error) {
    log.add('error', where, `cannot resolve ${JSON.stringify(value)}: ${(error as Error).message}`);
    return UNRESOLVED;
  }
}

function stringList(value: unknown, where: string, resolve: ValueResolver, log: IssueLog): string[] {
  const items = Array.isArray(value) ? value : [value];
  return items.map((item, i) => resolveOrMark(item, `${where}[${i}]`, resolve, log));
}

function readPrincipal(
  value: unknown,
  where: string,
  resolve: ValueResolver,
  log: IssueLog,
): PrincipalElement {
  const empty = { everyone: false, aws: [], service: [], federated: [], canonicalUser: [] };
  if (value === '*') return { ...empty, everyone: true };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    log.add('error', where, `Principal must be "*" or an object (given ${JSON.stringify(value)})`);
    return empty;
  }
  const element = value as Record<string, unknown>;
  const list = (key: string) =>
    element[key] === undefined ? [] : stringList(element[key], `${where}.${key}`, resolve, log);
  const aws = list('AWS');
  for (const key of Object.keys(element)) {
    if (!['AWS', 'Service', 'Federated', 'CanonicalUser'].includes(key))
      log.add('error', where, `unknown principal type ${key}`);
  }
  return {
    everyone: aws.includes('*'),
    aws: aws.filter((entry) => entry !== '*'),
    service: list('Service'),
    federated: list('Federated'),
    canonicalUser: list('CanonicalUser'),
  };
}

function readConditions(value: unknown, where: string, resolve: ValueResolver, log: IssueLog) {
  const clauses: ConditionClause[] = [];
  if (value === undefined) return clauses;
  if (typeof value !== 'object' || value === null) {
    log.add('error', where, `Condition must be an object (given ${JSON.stringify(value)})`);
    return clauses;
  }
  for (const [operator, block] of Object.entries(value)) {
    const parsed = parseOperator(operator);
    if (parsed === undefined || !CONDITION_OPERATORS.has(parsed.base)) {
      // AWS rejects such a policy (MalformedPolicyDocument); locally the clause never matches.
      log.add('error', `${where}.${operator}`, `unknown condition operator ${operator}`);
    }
    if (typeof block !== 'object' || block === null) {
      log.add('error', `${where}.${operator}`, `must map condition keys to values`);
      continue;
    }
    for (const [key, values] of Object.entries(block)) {
      clauses.push({
        operator,
        key,
        values: stringList(values, `${where}.${operator}.${key}`, resolve, log),
      });
    }
  }
  return clauses;
}

/**
 * Could this statement decide a request to one of `services`? Statements whose
 * Action names only other services (logs, xray...) are dropped before their
 * resources are resolved: the runtime has no ARN for a log group, and no
 * request to those services is ever authorized locally.
 */
function concernsServices(statement: Record<string, unknown>, services: ReadonlySet<string> | undefined) {
  if (services === undefined || statement.Action === undefined) return true;
  const actions = Array.isArray(statement.Action) ? statement.Action : [statement.Action];
  return actions.some((action) => {
    if (typeof action !== 'string') return true;
    const prefix = action.split(':', 1)[0]?.toLowerCase() ?? '';
    return action === '*' || prefix.includes('*') || prefix.includes('?') || services.has(prefix);
  });
}

/**
 * Reads the statements of one policy document.
 * @param origin names the policy in reports and issues (e.g. its logical id)
 * @param services when given, keeps only statements that can concern these service prefixes
 */
export function readPolicyDocument(
  document: unknown,
  origin: string,
  resolve: ValueResolver,
  log: IssueLog,
  services?: ReadonlySet<string>,
): PolicyStatement[] {
  const raw = (document as { Statement?: unknown } | undefined)?.Statement;
  if (raw === undefined) {
    log.add('error', origin, 'policy document has no Statement');
    return [];
  }
  const statements = Array.isArray(raw) ? raw : [raw];
  return statements.flatMap((entry, index): PolicyStatement[] => {
    const where = `${origin}#${index}`;
    if (typeof entry !== 'object' || entry === null) {
      log.add('error', where, `statement must be an object (given ${JSON.stringify(entry)})`);
      return [];
    }
    const s = entry as Record<string, unknown>;
    if (!concernsServices(s, services)) return [];
    if (s.Effect !== 'Allow' && s.Effect !== 'Deny') {
      log.add('error', where, `Effect must be Allow or Deny (given ${JSON.stringify(s.Effect)})`);
      return [];
    }
    const optional = (key: string) =>
      s[key] === undefined ? undefined : stringList(s[key], `${where}.${key}`, resolve, log);
    const statement: PolicyStatement = {
      sid: typeof s.Sid === 'string' ? s.Sid : undefined,
      effect: s.Effect,
      actions: optional('Action'),
      notActions: optional('NotAction'),
      resources: optional('Resource'),
      notResources: optional('NotResource'),
      principal:
        s.Principal === undefined
          ? undefined
          : readPrincipal(s.Principal, `${where}.Principal`, resolve, log),
      notPrincipal:
        s.NotPrincipal === undefined
          ? undefined
          : readPrincipal(s.NotPrincipal, `${where}.NotPrincipal`, resolve, log),
      conditions: readConditions(s.Condition, `${where}.Condition`, resolve, log),
      origin: where,
    };
    if (statement.actions === undefined && statement.notActions === undefined)
      log.add('error', where, 'statement has neither Action nor NotAction');
    return [statement];
  });
}

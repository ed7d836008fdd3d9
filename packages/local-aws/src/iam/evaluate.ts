/**
 * Policy evaluation for a request within one account, as the IAM User Guide
 * describes it ("Policy evaluation logic", "Policy evaluation for requests
 * within a single account"):
 *
 * 1. An explicit Deny in any applicable policy (identity-based or resource-based) wins.
 * 2. Otherwise the request is allowed if an identity-based policy allows it, or if
 *    the resource-based policy allows it for this principal ("if either the
 *    identity-based policy or the resource-based policy within the same account
 *    allows the request and the other doesn't, the request is still allowed").
 * 3. Otherwise it is implicitly denied.
 *
 * A resource policy naming the account (`"AWS": "123456789012"` or
 * `arn:aws:iam::123456789012:root`) delegates to the account's identity
 * policies: it grants nothing by itself, but its Deny statements apply to every
 * principal of the account. Naming the role ARN or the session ARN grants directly.
 */
import { conditionsHold } from './conditions';
import type { ContextLookup } from './context';
import type { PolicyStatement, PrincipalElement } from './policy-document';
import { matchesWildcard } from './wildcard';

/** Who makes a request, once its credentials are known. */
export type CallerPrincipal =
  | {
      readonly kind: 'role-session';
      /** `arn:aws:sts::<account>:assumed-role/<role>/<session>`, as error messages show it. */
      readonly arn: string;
      readonly roleArn: string;
      readonly roleName: string;
      readonly sessionName: string;
      readonly accountId: string;
    }
  | { readonly kind: 'service'; readonly service: string }
  | { readonly kind: 'anonymous' };

/** One action on one resource that AWS would authorize for a request. */
export interface AuthorizationRequest {
  /** `service:Action`, e.g. `dynamodb:PutItem`. */
  readonly action: string;
  /** The resource ARN (or `*` for actions without resource-level permissions). */
  readonly resource: string;
  /** Request-specific context keys (`dynamodb:LeadingKeys`, `aws:SourceArn`...). */
  readonly context: Readonly<Record<string, string | readonly string[] | undefined>>;
}

/** Why a request was denied, worded as AWS words it at the end of AccessDenied messages. */
export type DenialReason = 'implicit-deny' | 'explicit-deny-identity' | 'explicit-deny-resource';

/** The outcome of evaluating one {@link AuthorizationRequest}. */
export type Decision =
  | {
      readonly allowed: true;
      readonly grantedBy: 'identity-based' | 'resource-based';
      readonly statement: PolicyStatement;
    }
  | { readonly allowed: false; readonly reason: DenialReason; readonly statement?: PolicyStatement };

/** What {@link evaluatePolicies} needs. */
export interface EvaluationInput {
  readonly principal: CallerPrincipal;
  readonly accountId: string;
  /** Statements of the principal's identity-based policies (none for services and anonymous callers). */
  readonly identityStatements: readonly PolicyStatement[];
  /** Statements of the resource's resource-based policy, if it has one. */
  readonly resourceStatements: readonly PolicyStatement[];
  readonly action: string;
  readonly resource: string;
  /** The full request context, principal keys included. */
  readonly lookup: ContextLookup;
}

type PrincipalMatch = 'direct' | 'account' | 'none';

function matchPrincipal(
  element: PrincipalElement,
  principal: CallerPrincipal,
  accountId: string,
): PrincipalMatch {
  if (element.everyone) return 'direct';
  switch (principal.kind) {
    case 'role-session': {
      if (element.aws.some((entry) => entry === principal.arn || entry === principal.roleArn))
        return 'direct';
      const root = `arn:aws:iam::${accountId}:root`;
      return element.aws.some((entry) => entry === accountId || entry === root) ? 'account' : 'none';
    }
    case 'service':
      return element.service.includes(principal.service) ? 'direct' : 'none';
    case 'anonymous':
      return 'none';
  }
}

function matchesActionAndResource(
  statement: PolicyStatement,
  action: string,
  resource: string,
  lookup: ContextLookup,
) {
  const actionMatches = (patterns: readonly string[]) =>
    patterns.some((pattern) => matchesWildcard(pattern, action, { ignoreCase: true }));
  if (statement.actions !== undefined && !actionMatches(statement.actions)) return false;
  if (statement.notActions !== undefined && actionMatches(statement.notActions)) return false;
  const resourceMatches = (patterns: readonly string[]) =>
    patterns.some((pattern) => matchesWildcard(pattern, resource, { lookup }));
  if (statement.resources !== undefined && !resourceMatches(statement.resources)) return false;
  if (statement.notResources !== undefined && resourceMatches(statement.notResources)) return false;
  return true;
}

/** How a resource-policy statement's Principal/NotPrincipal applies to the caller. */
function principalScope(statement: PolicyStatement, input: EvaluationInput): PrincipalMatch {
  if (statement.principal !== undefined)
    return matchPrincipal(statement.principal, input.principal, input.accountId);
  if (statement.notPrincipal !== undefined)
    return matchPrincipal(statement.notPrincipal, input.principal, input.accountId) === 'none'
      ? 'direct'
      : 'none';
  return 'none';
}

function applies(statement: PolicyStatement, input: EvaluationInput): boolean {
  return (
    matchesActionAndResource(statement, input.action, input.resource, input.lookup) &&
    conditionsHold(statement.conditions, input.lookup)
  );
}

/** Decides one action on one resource. Pure: the same input always gives the same decision. */
export function evaluatePolicies(input: EvaluationInput): Decision {
  for (const statement of input.identityStatements) {
    if (statement.effect === 'Deny' && applies(statement, input))
      return { allowed: false, reason: 'explicit-deny-identity', statement };
  }
  for (const statement of input.resourceStatements) {
    if (
      statement.effect === 'Deny' &&
      principalScope(statement, input) !== 'none' &&
      applies(statement, input)
    )
      return { allowed: false, reason: 'explicit-deny-resource', statement };
  }
  for (const statement of input.identityStatements) {
    if (statement.effect === 'Allow' && applies(statement, input))
      return { allowed: true, grantedBy: 'identity-based', statement };
  }
  for (const statement of input.resourceStatements) {
    if (
      statement.effect === 'Allow' &&
      principalScope(statement, input) === 'direct' &&
      applies(statement, input)
    )
      return { allowed: true, grantedBy: 'resource-based', statement };
  }
  return { allowed: false, reason: 'implicit-deny' };
}

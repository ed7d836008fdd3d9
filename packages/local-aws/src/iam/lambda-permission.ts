/**
 * `AWS::Lambda::Permission` as the statement Lambda adds to the function's
 * resource-based policy (what GetPolicy returns after AddPermission): the
 * principal, the action on the function ARN, and conditions `ArnLike
 * AWS:SourceArn`, `StringEquals AWS:SourceAccount`, `StringEquals
 * aws:PrincipalOrgID`, `StringEquals lambda:FunctionUrlAuthType` and
 * `Bool lambda:InvokedViaFunctionUrl` for the properties that are set
 * (Lambda Developer Guide, "Viewing resource-based IAM policies in Lambda").
 */
import type {
  ConditionClause,
  IssueLog,
  PolicyStatement,
  PrincipalElement,
  ValueResolver,
} from './policy-document';
import { resolveOrMark, UNRESOLVED } from './policy-document';

interface PermissionContext {
  readonly resolve: ValueResolver;
  readonly log: IssueLog;
  readonly options: { readonly region: string; readonly accountId: string };
}

function principalElement(principal: string): PrincipalElement {
  const empty = { everyone: false, aws: [], service: [], federated: [], canonicalUser: [] };
  if (principal === '*') return { ...empty, everyone: true };
  if (/\.amazonaws\.com(\.cn)?$/.test(principal)) return { ...empty, service: [principal] };
  return { ...empty, aws: [principal] };
}

/** The function ARN and policy statement of one AWS::Lambda::Permission, or undefined if unreadable. */
export function readLambdaPermission(
  logicalId: string,
  p: Readonly<Record<string, unknown>>,
  context: PermissionContext,
): { functionArn: string; statement: PolicyStatement } | undefined {
  const value = (key: string) =>
    p[key] === undefined
      ? undefined
      : resolveOrMark(p[key], `${logicalId}.${key}`, context.resolve, context.log);
  const functionName = value('FunctionName');
  const principal = value('Principal');
  const action = value('Action');
  if (functionName === undefined || principal === undefined || action === undefined) {
    context.log.add('error', logicalId, 'AWS::Lambda::Permission needs FunctionName, Principal and Action');
    return undefined;
  }
  const functionArn =
    functionName === UNRESOLVED || functionName.startsWith('arn:')
      ? functionName
      : `arn:aws:lambda:${context.options.region}:${context.options.accountId}:function:${functionName}`;
  const conditions: ConditionClause[] = [];
  const add = (operator: string, key: string, v: string | undefined) => {
    if (v !== undefined) conditions.push({ operator, key, values: [v] });
  };
  add('ArnLike', 'AWS:SourceArn', value('SourceArn'));
  add('StringEquals', 'AWS:SourceAccount', value('SourceAccount'));
  add('StringEquals', 'aws:PrincipalOrgID', value('PrincipalOrgID'));
  add('StringEquals', 'lambda:FunctionUrlAuthType', value('FunctionUrlAuthType'));
  add('Bool', 'lambda:InvokedViaFunctionUrl', value('InvokedViaFunctionUrl'));
  if (p.EventSourceToken !== undefined)
    context.log.add('warning', logicalId, 'EventSourceToken (Alexa) is not evaluated locally');
  return {
    functionArn,
    statement: {
      sid: logicalId,
      effect: 'Allow',
      actions: [action],
      resources: [functionArn],
      principal: principalElement(principal),
      conditions,
      origin: logicalId,
    },
  };
}

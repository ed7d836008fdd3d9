/**
 * EventBridge (JSON 1.1, `X-Amz-Target: AWSEvents.<Operation>`) requests → IAM
 * authorizations ("Actions, resources, and condition keys for Amazon
 * EventBridge"):
 *
 * - PutEvents: `events:PutEvents` on the bus of each entry (EventBusName as a
 *   name or ARN; the account's `default` bus when absent), with the entry's
 *   `events:source` and `events:detail-type`. One denied entry denies the call.
 * - Rule operations on `rule/[<bus>/]<name>`, bus operations on
 *   `event-bus/<name>`, archive and replay operations on `archive/<name>` and
 *   `replay/<name>`; List* operations on `*`.
 */
import type { AuthorizationRequest } from '../evaluate';
import { type JsonBody, type LocalAccount, type MappedRequest, operationOf, requiredString } from './types';

const RULE_OPERATIONS: Readonly<Record<string, string>> = {
  PutRule: 'Name',
  DeleteRule: 'Name',
  DescribeRule: 'Name',
  EnableRule: 'Name',
  DisableRule: 'Name',
  PutTargets: 'Rule',
  RemoveTargets: 'Rule',
  ListTargetsByRule: 'Rule',
};
const BUS_OPERATIONS = new Set(['DescribeEventBus', 'CreateEventBus', 'DeleteEventBus', 'UpdateEventBus']);
const ARCHIVE_OPERATIONS = new Set(['CreateArchive', 'DescribeArchive', 'UpdateArchive', 'DeleteArchive']);
const REPLAY_OPERATIONS = new Set(['StartReplay', 'DescribeReplay', 'CancelReplay']);
const LIST_OPERATIONS = new Set([
  'ListRules',
  'ListEventBuses',
  'ListArchives',
  'ListReplays',
  'ListRuleNamesByTarget',
]);

/** The ARN of a bus given by name or ARN; `default` when absent. */
export function eventBusArn(nameOrArn: unknown, env: LocalAccount): string {
  const name = typeof nameOrArn === 'string' && nameOrArn !== '' ? nameOrArn : 'default';
  return name.startsWith('arn:') ? name : `arn:aws:events:${env.region}:${env.accountId}:event-bus/${name}`;
}

function busName(nameOrArn: unknown): string {
  const name = typeof nameOrArn === 'string' && nameOrArn !== '' ? nameOrArn : 'default';
  return name.startsWith('arn:') ? name.replace(/^.*:event-bus\//, '') : name;
}

/** `arn:aws:events:<region>:<account>:rule/[<bus>/]<rule>`: rules of the default bus have no bus segment. */
export function eventRuleArn(ruleName: string, eventBusName: unknown, env: LocalAccount): string {
  const bus = busName(eventBusName);
  const path = bus === 'default' ? ruleName : `${bus}/${ruleName}`;
  return `arn:aws:events:${env.region}:${env.accountId}:rule/${path}`;
}

function putEventsAuthorizations(body: JsonBody, env: LocalAccount): AuthorizationRequest[] {
  const seen = new Map<string, AuthorizationRequest>();
  for (const entry of (body.Entries ?? []) as JsonBody[]) {
    const resource = eventBusArn(entry.EventBusName, env);
    const source = typeof entry.Source === 'string' ? entry.Source : undefined;
    const detailType = typeof entry.DetailType === 'string' ? entry.DetailType : undefined;
    const key = JSON.stringify([resource, source, detailType]);
    if (!seen.has(key))
      seen.set(key, {
        action: 'events:PutEvents',
        resource,
        context: { 'events:source': source, 'events:detail-type': detailType },
      });
  }
  return [...seen.values()];
}

/** Authorizations of one EventBridge request; undefined for an operation this module does not map. */
export function mapEventBridgeRequest(
  target: string | undefined,
  body: JsonBody,
  env: LocalAccount,
): MappedRequest | undefined {
  const operation = operationOf(target, 'AWSEvents');
  if (operation === undefined) return undefined;
  const action = `events:${operation}`;
  const arn = `arn:aws:events:${env.region}:${env.accountId}`;
  let resource: string;
  if (operation === 'PutEvents') return { operation, authorizations: putEventsAuthorizations(body, env) };
  const ruleField = RULE_OPERATIONS[operation];
  if (ruleField !== undefined)
    resource = eventRuleArn(requiredString(body, ruleField, operation), body.EventBusName, env);
  else if (BUS_OPERATIONS.has(operation)) resource = eventBusArn(body.Name, env);
  else if (ARCHIVE_OPERATIONS.has(operation))
    resource = `${arn}:archive/${requiredString(body, 'ArchiveName', operation)}`;
  else if (REPLAY_OPERATIONS.has(operation))
    resource = `${arn}:replay/${requiredString(body, 'ReplayName', operation)}`;
  else if (LIST_OPERATIONS.has(operation)) resource = '*';
  else return undefined;
  return { operation, authorizations: [{ action, resource, context: {} }] };
}

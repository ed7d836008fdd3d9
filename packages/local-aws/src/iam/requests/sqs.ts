/**
 * SQS (AWS JSON 1.0 protocol, `X-Amz-Target: AmazonSQS.<Operation>`, QueueUrl
 * in the body) requests → IAM authorizations, per "Amazon SQS API permissions:
 * Actions and resource reference" (SQS Developer Guide):
 *
 * - Batch operations are authorized as their single form: SendMessageBatch as
 *   `sqs:SendMessage`, DeleteMessageBatch as `sqs:DeleteMessage`,
 *   ChangeMessageVisibilityBatch as `sqs:ChangeMessageVisibility`.
 * - GetQueueUrl and CreateQueue on the ARN of QueueName; ListQueues on
 *   `arn:aws:sqs:<region>:<account>:*`.
 * - StartMessageMoveTask: `sqs:StartMessageMoveTask`, `sqs:ReceiveMessage`,
 *   `sqs:DeleteMessage`, `sqs:GetQueueAttributes` on the source (dead-letter)
 *   queue and `sqs:SendMessage` on DestinationArn when given;
 *   ListMessageMoveTasks: `sqs:ListMessageMoveTasks` and `sqs:GetQueueAttributes`;
 *   CancelMessageMoveTask: like ListMessageMoveTasks plus ReceiveMessage and
 *   DeleteMessage, on the source ARN inside the TaskHandle.
 */
import type { AuthorizationRequest } from '../evaluate';
import {
  type JsonBody,
  type LocalAccount,
  type MappedRequest,
  operationOf,
  RequestMappingError,
  requiredString,
} from './types';

/** Marks an ARN that could not be derived; it matches no policy resource. */
const UNKNOWN_QUEUE = '\u0000unresolved';

/** `arn:aws:sqs:<region>:<account>:<name>` from a queue URL (`http(s)://<host>/<account>/<name>`); ARNs pass through. */
export function queueArnFromUrl(queueUrl: string, where: LocalAccount): string {
  if (queueUrl.startsWith('arn:')) return queueUrl;
  const [account, name, ...rest] = queueUrl
    .replace(/^[a-z]+:\/\/[^/]+/i, '')
    .split('/')
    .filter(Boolean);
  if (name === undefined || rest.length > 0 || queueUrl.includes('\u0000')) return UNKNOWN_QUEUE;
  const region = /(?:^|\/\/)sqs\.([a-z0-9-]+)\./.exec(queueUrl)?.[1] ?? where.region;
  return `arn:aws:sqs:${region}:${account ?? where.accountId}:${name}`;
}

const SINGLE_FORM: Readonly<Record<string, string>> = {
  SendMessageBatch: 'SendMessage',
  DeleteMessageBatch: 'DeleteMessage',
  ChangeMessageVisibilityBatch: 'ChangeMessageVisibility',
};

const QUEUE_URL_OPERATIONS = new Set([
  'SendMessage',
  'SendMessageBatch',
  'ReceiveMessage',
  'DeleteMessage',
  'DeleteMessageBatch',
  'ChangeMessageVisibility',
  'ChangeMessageVisibilityBatch',
  'GetQueueAttributes',
  'SetQueueAttributes',
  'PurgeQueue',
  'DeleteQueue',
  'TagQueue',
  'UntagQueue',
  'ListQueueTags',
  'ListDeadLetterSourceQueues',
  'AddPermission',
  'RemovePermission',
]);

const on = (resource: string, ...actions: string[]): AuthorizationRequest[] =>
  actions.map((action) => ({ action: `sqs:${action}`, resource, context: {} }));

/** The source queue ARN inside a CancelMessageMoveTask TaskHandle (base64 JSON with `sourceArn`). */
function taskHandleSource(handle: string): string {
  try {
    const decoded = JSON.parse(Buffer.from(handle, 'base64').toString('utf8')) as { sourceArn?: unknown };
    return typeof decoded.sourceArn === 'string' ? decoded.sourceArn : UNKNOWN_QUEUE;
  } catch {
    return UNKNOWN_QUEUE;
  }
}

/** Authorizations of one SQS request; undefined for an operation this module does not map. */
export function mapSqsRequest(
  target: string | undefined,
  body: JsonBody,
  env: LocalAccount,
): MappedRequest | undefined {
  const operation = operationOf(target, 'AmazonSQS');
  if (operation === undefined) return undefined;
  const named = (field: string) => {
    const name = requiredString(body, field, operation);
    const owner =
      typeof body.QueueOwnerAWSAccountId === 'string' ? body.QueueOwnerAWSAccountId : env.accountId;
    return `arn:aws:sqs:${env.region}:${owner}:${name}`;
  };
  let authorizations: AuthorizationRequest[];
  if (QUEUE_URL_OPERATIONS.has(operation)) {
    const arn = queueArnFromUrl(requiredString(body, 'QueueUrl', operation), env);
    authorizations = on(arn, SINGLE_FORM[operation] ?? operation);
  } else if (operation === 'GetQueueUrl' || operation === 'CreateQueue') {
    authorizations = on(named('QueueName'), operation);
  } else if (operation === 'ListQueues') {
    authorizations = on(`arn:aws:sqs:${env.region}:${env.accountId}:*`, operation);
  } else if (operation === 'StartMessageMoveTask') {
    const source = requiredString(body, 'SourceArn', operation);
    authorizations = on(
      source,
      'StartMessageMoveTask',
      'ReceiveMessage',
      'DeleteMessage',
      'GetQueueAttributes',
    );
    if (typeof body.DestinationArn === 'string')
      authorizations.push(...on(body.DestinationArn, 'SendMessage'));
  } else if (operation === 'ListMessageMoveTasks') {
    authorizations = on(
      requiredString(body, 'SourceArn', operation),
      'ListMessageMoveTasks',
      'GetQueueAttributes',
    );
  } else if (operation === 'CancelMessageMoveTask') {
    const source = taskHandleSource(requiredString(body, 'TaskHandle', operation));
    authorizations = on(
      source,
      'CancelMessageMoveTask',
      'ReceiveMessage',
      'DeleteMessage',
      'GetQueueAttributes',
    );
  } else {
    return undefined;
  }
  if (authorizations.some((a) => a.resource === UNKNOWN_QUEUE))
    throw new RequestMappingError(
      operation,
      `cannot tell the queue ARN from the request (given ${JSON.stringify(body.QueueUrl ?? body.TaskHandle)})`,
    );
  return { operation, authorizations };
}

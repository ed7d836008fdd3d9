import { setTimeout as sleep } from 'node:timers/promises';
import { isDeepStrictEqual } from 'node:util';
import {
  type AttributeValue,
  DescribeTableCommand,
  DynamoDBClient,
  GetItemCommand,
  QueryCommand,
} from '@aws-sdk/client-dynamodb';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import {
  awsClientConfig,
  type DeployedStack,
  E2eConfigurationError,
  type RequiredOutputs,
} from './deployed-stack';
import { describeCause } from './order-api-client';

/** The deployed stack did not answer, or answered that a resource in its outputs does not exist. */
export class DeployedStackUnreachableError extends E2eConfigurationError {
  constructor(stack: DeployedStack, what: string, cause: unknown) {
    const where = stack.target.kind === 'localstack' ? stack.target.endpoint : `AWS region ${stack.region}`;
    const reason = describeCause(cause);
    const hint =
      stack.target.kind === 'aws'
        ? 'Are AWS credentials for the deploying account available, and is the stack still deployed?'
        : reason.includes('ENOTFOUND')
          ? 'The host name did not resolve: *.localhost.localstack.cloud resolves to 127.0.0.1 through public DNS only, ' +
            'and the Function URL in the outputs uses it too.'
          : 'Is LocalStack running, and was the stack deployed with `npm run local:deploy`?';
    super(`${what} at ${where} failed: ${reason}. ${hint} (outputs read from ${stack.outputsFile})`);
    this.cause = cause;
  }
}

/** What the two example consumers have written for one order. */
export interface ReadModels {
  /** `VIEW#order-projection#Order#<id>`: the ordered consumer's view, absent until its first event. */
  readonly projection: { readonly lastSequence: number; readonly status: string } | null;
  /** `VIEW#order-activity#Order#<id>`: the unordered consumer's counter. */
  readonly activity: { readonly eventCount: number } | null;
}

/** Queues that hold failed messages, keyed by their output id. */
export const FAILURE_QUEUES = [
  'relayFailureQueueUrl',
  'orderProjectionDeadLetterQueueUrl',
  'orderActivityDeadLetterQueueUrl',
  'orderActivityTargetDeadLetterQueueUrl',
] as const satisfies ReadonlyArray<keyof RequiredOutputs>;

/** Read access to the deployed table and queues. */
export class PipelineProbes {
  private readonly dynamodb: DynamoDBClient;
  private readonly sqs: SQSClient;

  constructor(private readonly stack: DeployedStack) {
    const config = awsClientConfig(stack);
    this.dynamodb = new DynamoDBClient(config);
    this.sqs = new SQSClient(config);
  }

  /**
   * Fails fast, with the endpoint and the outputs file in the message, when the stack is not
   * there: the table must exist and every failure queue must answer.
   *
   * @throws DeployedStackUnreachableError
   */
  async assertReachable(): Promise<void> {
    const { tableName } = this.stack.outputs;
    try {
      await this.dynamodb.send(new DescribeTableCommand({ TableName: tableName }));
    } catch (error) {
      throw new DeployedStackUnreachableError(this.stack, `DescribeTable on '${tableName}'`, error);
    }
    for (const output of FAILURE_QUEUES) {
      const queueUrl = this.stack.outputs[output];
      try {
        await this.queueDepth(queueUrl);
      } catch (error) {
        throw new DeployedStackUnreachableError(this.stack, `GetQueueAttributes on ${queueUrl}`, error);
      }
    }
  }

  /** Both read models of an order, read strongly consistently. */
  async readModels(orderId: string): Promise<ReadModels> {
    const [projection, activity] = await Promise.all([
      this.getItem(`VIEW#order-projection#Order#${orderId}`, 'VIEW'),
      this.getItem(`VIEW#order-activity#Order#${orderId}`, 'VIEW'),
    ]);
    return {
      projection: projection
        ? { lastSequence: Number(projection.lastSequence), status: String(projection.status) }
        : null,
      activity: activity ? { eventCount: Number(activity.eventCount) } : null,
    };
  }

  /** The order's outbox items (`OUTBOX#…`), in sequence order. */
  async outboxItems(orderId: string): Promise<Array<{ sequence: number; eventType: string }>> {
    const items: Array<{ sequence: number; eventType: string }> = [];
    let exclusiveStartKey: Record<string, AttributeValue> | undefined;
    do {
      const page = await this.dynamodb.send(
        new QueryCommand({
          TableName: this.stack.outputs.tableName,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :outbox)',
          ExpressionAttributeValues: { ':pk': { S: `Order#${orderId}` }, ':outbox': { S: 'OUTBOX#' } },
          ProjectionExpression: '#sequence, eventType',
          ExpressionAttributeNames: { '#sequence': 'sequence' },
          ConsistentRead: true,
          ExclusiveStartKey: exclusiveStartKey,
        }),
      );
      for (const item of page.Items ?? []) {
        const plain = unmarshall(item);
        items.push({ sequence: Number(plain.sequence), eventType: String(plain.eventType) });
      }
      exclusiveStartKey = page.LastEvaluatedKey;
    } while (exclusiveStartKey);
    return items;
  }

  /** Messages in a queue: visible, in flight and delayed. */
  async queueDepth(queueUrl: string): Promise<number> {
    const { Attributes } = await this.sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: queueUrl,
        AttributeNames: [
          'ApproximateNumberOfMessages',
          'ApproximateNumberOfMessagesNotVisible',
          'ApproximateNumberOfMessagesDelayed',
        ],
      }),
    );
    return (
      Number(Attributes?.ApproximateNumberOfMessages ?? 0) +
      Number(Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0) +
      Number(Attributes?.ApproximateNumberOfMessagesDelayed ?? 0)
    );
  }

  destroy(): void {
    this.dynamodb.destroy();
    this.sqs.destroy();
  }

  private async getItem(pk: string, sk: string): Promise<Record<string, unknown> | undefined> {
    const { Item } = await this.dynamodb.send(
      new GetItemCommand({
        TableName: this.stack.outputs.tableName,
        Key: { pk: { S: pk }, sk: { S: sk } },
        ConsistentRead: true,
      }),
    );
    return Item ? unmarshall(Item) : undefined;
  }
}

/**
 * Reads `observe()` until it deep-equals `expected` or `timeoutMs` passes, and returns the
 * last observation either way, so the caller's assertion shows the difference.
 */
export async function observeUntil<T>(
  observe: () => Promise<T>,
  expected: T,
  { timeoutMs, intervalMs = 1000 }: { timeoutMs: number; intervalMs?: number },
): Promise<{ observed: T; matched: boolean; elapsedMs: number }> {
  const start = Date.now();
  for (;;) {
    const observed = await observe();
    const elapsedMs = Date.now() - start;
    if (isDeepStrictEqual(observed, expected)) return { observed, matched: true, elapsedMs };
    if (elapsedMs + intervalMs > timeoutMs) return { observed, matched: false, elapsedMs };
    await sleep(intervalMs);
  }
}

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
import { AGGREGATE_TYPES } from '../../contract/aggregates';
import { commandPk, consumerItemPk, formatAggregateKey, KEYS } from '../../contract/keys';
import { describeCause } from '../../tools/order-api/client';
import { awsClientConfig, type DeployedStack, E2eConfigurationError } from './deployed-stack';

/** The deployed stack did not answer, or answered that a resource in its outputs does not exist. */
export class DeployedStackUnreachableError extends E2eConfigurationError {
  constructor(stack: DeployedStack, what: string, cause: unknown) {
    const { target } = stack;
    const where =
      target.kind === 'local'
        ? `the local pipeline (pid ${target.pid})`
        : target.kind === 'localstack'
          ? target.endpoint
          : `AWS region ${stack.region}`;
    const reason = describeCause(cause);
    const hint =
      target.kind === 'aws'
        ? 'Are AWS credentials for the deploying account available, and is the stack still deployed?'
        : target.kind === 'local'
          ? `Is \`npm start -- --keep\` still running, and is ${target.stateFile} from that run?`
          : reason.includes('ENOTFOUND')
            ? 'The host name did not resolve: *.localhost.localstack.cloud resolves to 127.0.0.1 through public DNS only, ' +
              'and the Function URL in the outputs uses it too.'
            : 'Is LocalStack running, and was the stack deployed with `npm run local:deploy`?';
    super(`${what} at ${where} failed: ${reason}. ${hint} (outputs read from ${stack.outputsFile})`);
    this.cause = cause;
  }
}

/** An order's events as the suite counts them: how many, and the status the last one left. */
export interface OrderOutcome {
  readonly eventCount: number;
  readonly finalStatus: string;
}

/** How the suite reads the read model of one consumer it knows, and what it expects there. */
export interface ReadModelSpec {
  /** The part of the consumer's item for an order that the suite compares (null: no item). */
  read(item: Record<string, unknown> | undefined): unknown;
  /** What that part must be once the order's events are applied; null for an order with no events. */
  expected(outcome: OrderOutcome | null): unknown;
}

/**
 * The read models of the example consumers (functions/consumers/), whose items the kit's
 * `store` keeps in the outbox table at `consumerItemPk(<consumer>, 'Order#<id>')`.
 * A registered consumer not listed here is checked through its queues only (drained, and its
 * dead-letter queues empty), since the suite cannot know what it writes.
 */
export const KNOWN_READ_MODELS: Readonly<Record<string, ReadModelSpec>> = {
  // Ordered: the order's view, one field per order; lastSequence is the last event applied.
  'order-projection': {
    read: (item) => (item ? { lastSequence: Number(item.lastSequence), status: String(item.status) } : null),
    expected: (outcome) =>
      outcome ? { lastSequence: outcome.eventCount, status: outcome.finalStatus } : null,
  },
  // Unordered: a counter moved once per event.
  'order-activity': {
    read: (item) => (item ? { eventCount: Number(item.eventCount) } : null),
    expected: (outcome) => (outcome ? { eventCount: outcome.eventCount } : null),
  },
};

/** What each known consumer has written for one order, by consumer name. */
export type ReadModels = Readonly<Record<string, unknown>>;

/** Read access to the deployed table and queues. */
export class PipelineProbes {
  private readonly dynamodb: DynamoDBClient;
  private readonly sqs: SQSClient;
  /** The registered consumers whose read model the suite knows. */
  readonly readModelConsumers: ReadonlyArray<string>;

  constructor(private readonly stack: DeployedStack) {
    this.dynamodb = new DynamoDBClient(awsClientConfig(stack, 'dynamodb'));
    this.sqs = new SQSClient(awsClientConfig(stack, 'sqs'));
    this.readModelConsumers = stack.resources.consumers
      .map(({ consumer }) => consumer.name)
      .filter((name) => name in KNOWN_READ_MODELS);
  }

  /**
   * Fails fast, with the endpoint and the outputs file in the message, when the stack is not
   * there: the table must exist and every consumer queue and failure queue must answer.
   *
   * @throws DeployedStackUnreachableError
   */
  async assertReachable(): Promise<void> {
    const { tableName, consumers, failureQueues } = this.stack.resources;
    try {
      await this.dynamodb.send(new DescribeTableCommand({ TableName: tableName }));
    } catch (error) {
      throw new DeployedStackUnreachableError(this.stack, `DescribeTable on '${tableName}'`, error);
    }
    const queueUrls = [...consumers.map((c) => c.queueUrl), ...failureQueues.map((q) => q.url)];
    for (const queueUrl of queueUrls) {
      try {
        await this.queueDepth(queueUrl);
      } catch (error) {
        throw new DeployedStackUnreachableError(this.stack, `GetQueueAttributes on ${queueUrl}`, error);
      }
    }
  }

  /** The read model of every known registered consumer for an order, read strongly consistently. */
  async readModels(orderId: string): Promise<ReadModels> {
    const key = formatAggregateKey(AGGREGATE_TYPES.order, orderId);
    return Object.fromEntries(
      await Promise.all(
        this.readModelConsumers.map(async (name) => {
          const spec = KNOWN_READ_MODELS[name];
          const item = await this.getItem(consumerItemPk(name, key), KEYS.viewSk);
          return [name, spec ? spec.read(item) : null] as const;
        }),
      ),
    );
  }

  /** What {@link readModels} must return for an order with this outcome (null: never committed). */
  expectedReadModels(outcome: OrderOutcome | null): ReadModels {
    return Object.fromEntries(
      this.readModelConsumers.map((name) => [name, KNOWN_READ_MODELS[name]?.expected(outcome) ?? null]),
    );
  }

  /** The order's outbox items (`OUTBOX#…`), in sequence order. */
  async outboxItems(orderId: string): Promise<Array<{ sequence: number; eventType: string }>> {
    const items: Array<{ sequence: number; eventType: string }> = [];
    let exclusiveStartKey: Record<string, AttributeValue> | undefined;
    do {
      const page = await this.dynamodb.send(
        new QueryCommand({
          TableName: this.stack.resources.tableName,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :outbox)',
          ExpressionAttributeValues: {
            ':pk': { S: formatAggregateKey(AGGREGATE_TYPES.order, orderId) },
            ':outbox': { S: KEYS.outboxSkPrefix },
          },
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

  /** Whether the writer recorded a command under this idempotency key (it does so in the command's transaction). */
  async commandRecorded(idempotencyKey: string): Promise<boolean> {
    return (await this.getItem(commandPk(idempotencyKey), KEYS.commandSk)) !== undefined;
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

  /** Depth of each queue, keyed by a label of the caller's choosing. */
  async queueDepths(
    queues: ReadonlyArray<{ readonly label: string; readonly url: string }>,
  ): Promise<Record<string, number>> {
    return Object.fromEntries(
      await Promise.all(queues.map(async ({ label, url }) => [label, await this.queueDepth(url)] as const)),
    );
  }

  destroy(): void {
    this.dynamodb.destroy();
    this.sqs.destroy();
  }

  private async getItem(pk: string, sk: string): Promise<Record<string, unknown> | undefined> {
    const { Item } = await this.dynamodb.send(
      new GetItemCommand({
        TableName: this.stack.resources.tableName,
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

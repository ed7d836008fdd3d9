import {
  type DynamoDBClient,
  GetItemCommand,
  type TransactionCanceledException,
  type TransactWriteItem,
  TransactWriteItemsCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { checkpointId, effectMarkerId, parkedEventId } from '../../contract/keys';
import { isAwsError, OutboxError } from '../shared/errors';
import { retryingTransactionConflicts } from '../shared/transaction-conflicts';
import type { Checkpoint } from './ordering';

/** The checkpoint or marker changed under the kit (a concurrent delivery); the record is retried. */
export class CheckpointConflictError extends OutboxError {
  constructor(what: string, options?: { cause?: unknown }) {
    super('CheckpointConflict', `${what} changed concurrently; the message will be retried`, options);
  }
}

/** A parked event as the kit stored it: the message that carried it. */
export interface ParkedMessage {
  readonly sequence: number;
  readonly body: string;
  /** String message attributes of the original message (the transport's). */
  readonly attributes: Readonly<Record<string, string>>;
  readonly messageId: string;
  readonly messageGroupId: string | undefined;
  readonly messageDeduplicationId: string | undefined;
}

/**
 * The consumer kit's own items in its table (the Powertools idempotency table), all under the
 * consumer's prefix `<consumer>#`: checkpoints and parked events of ordered consumers (never
 * expire), effect markers of unordered consumers (expire with the consumer's memory).
 */
export class KitPersistence {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
    private readonly consumer: string,
    private readonly memorySeconds: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** The checkpoint of an aggregate (strongly consistent), or undefined when there is none. */
  async readCheckpoint(aggregateKey: string): Promise<Checkpoint | undefined> {
    const { Item } = await this.client.send(
      new GetItemCommand({
        TableName: this.tableName,
        Key: { id: { S: checkpointId(this.consumer, aggregateKey) } },
        ConsistentRead: true,
      }),
    );
    if (!Item) return undefined;
    return { last: Number(Item.last?.N ?? '0'), parked: (Item.parked?.NS ?? []).map(Number) };
  }

  /**
   * Moves the checkpoint from `from` (undefined: there is none) to `to`, with the event's staged
   * writes, in one transaction; `releases` names a parked event whose item is deleted with it.
   *
   * @throws CheckpointConflictError when the checkpoint is no longer at `from`
   */
  async commitApply(
    aggregateKey: string,
    from: number | undefined,
    to: number,
    writes: ReadonlyArray<TransactWriteItem>,
    releases?: number,
  ): Promise<void> {
    const checkpoint = this.checkpointUpdate(aggregateKey, from, to, releases);
    const parkedDelete: TransactWriteItem[] =
      releases === undefined
        ? []
        : [
            {
              Delete: {
                TableName: this.tableName,
                Key: { id: { S: parkedEventId(this.consumer, aggregateKey, releases) } },
              },
            },
          ];
    await this.write(
      [{ Update: checkpoint }, ...parkedDelete, ...writes],
      `the checkpoint of ${aggregateKey}`,
    );
  }

  /**
   * Keeps an event that arrived before its predecessor: its message, and its sequence in the
   * checkpoint's parked set (creating the checkpoint at 0 if there is none).
   *
   * @throws CheckpointConflictError when the checkpoint is no longer at `last`
   */
  async park(aggregateKey: string, last: number, exists: boolean, message: ParkedMessage): Promise<void> {
    await this.write(
      [
        {
          Put: {
            TableName: this.tableName,
            Item: {
              id: { S: parkedEventId(this.consumer, aggregateKey, message.sequence) },
              body: { S: message.body },
              messageId: { S: message.messageId },
              attributes: { S: JSON.stringify(message.attributes) },
              ...(message.messageGroupId ? { messageGroupId: { S: message.messageGroupId } } : {}),
              ...(message.messageDeduplicationId
                ? { messageDeduplicationId: { S: message.messageDeduplicationId } }
                : {}),
              parkedAt: { S: new Date(this.now()).toISOString() },
            },
          },
        },
        {
          Update: {
            TableName: this.tableName,
            Key: { id: { S: checkpointId(this.consumer, aggregateKey) } },
            UpdateExpression:
              'SET #last = if_not_exists(#last, :zero), updatedAt = :now ADD parked :sequence',
            ConditionExpression: exists ? '#last = :last' : 'attribute_not_exists(id)',
            ExpressionAttributeNames: { '#last': 'last' },
            ExpressionAttributeValues: {
              ':zero': { N: '0' },
              ':now': { S: new Date(this.now()).toISOString() },
              ':sequence': { NS: [String(message.sequence)] },
              ...(exists ? { ':last': { N: String(last) } } : {}),
            },
          },
        },
      ],
      `the checkpoint of ${aggregateKey}`,
    );
  }

  /** A parked event's message, or undefined if it is gone (released by a concurrent delivery). */
  async readParked(aggregateKey: string, sequence: number): Promise<ParkedMessage | undefined> {
    const { Item } = await this.client.send(
      new GetItemCommand({
        TableName: this.tableName,
        Key: { id: { S: parkedEventId(this.consumer, aggregateKey, sequence) } },
        ConsistentRead: true,
      }),
    );
    if (!Item?.body?.S) return undefined;
    return {
      sequence,
      body: Item.body.S,
      attributes: JSON.parse(Item.attributes?.S ?? '{}') as Record<string, string>,
      messageId: Item.messageId?.S ?? '',
      messageGroupId: Item.messageGroupId?.S,
      messageDeduplicationId: Item.messageDeduplicationId?.S,
    };
  }

  /** Forgets a parked event that went to the dead-letter queue instead (the checkpoint stays). */
  async dropParked(aggregateKey: string, sequence: number): Promise<void> {
    await this.write(
      [
        {
          Delete: {
            TableName: this.tableName,
            Key: { id: { S: parkedEventId(this.consumer, aggregateKey, sequence) } },
          },
        },
        {
          Update: {
            TableName: this.tableName,
            Key: { id: { S: checkpointId(this.consumer, aggregateKey) } },
            UpdateExpression: 'DELETE parked :sequence',
            ExpressionAttributeValues: { ':sequence': { NS: [String(sequence)] } },
          },
        },
      ],
      `the checkpoint of ${aggregateKey}`,
    );
  }

  /**
   * Commits an unordered consumer's staged writes with the event's effect marker, which must be
   * new: 'applied', or 'already-applied' when the marker exists (the effect happened before, and
   * the function stopped before Powertools recorded it). A transaction conflict is retried.
   */
  async commitEffect(
    eventId: string,
    writes: ReadonlyArray<TransactWriteItem>,
  ): Promise<'applied' | 'already-applied'> {
    const expiration = Math.floor(this.now() / 1000) + this.memorySeconds;
    try {
      const command = new TransactWriteItemsCommand({
        TransactItems: [
          {
            Put: {
              TableName: this.tableName,
              Item: {
                id: { S: effectMarkerId(this.consumer, eventId) },
                expiration: { N: String(expiration) },
              },
              ConditionExpression: 'attribute_not_exists(id)',
            },
          },
          ...writes,
        ],
      });
      await retryingTransactionConflicts(() => this.client.send(command));
      return 'applied';
    } catch (error) {
      if (firstCancellation(error) === 0) return 'already-applied';
      throw error;
    }
  }

  private checkpointUpdate(aggregateKey: string, from: number | undefined, to: number, releases?: number) {
    return {
      TableName: this.tableName,
      Key: { id: { S: checkpointId(this.consumer, aggregateKey) } },
      UpdateExpression: `SET #last = :to, updatedAt = :now${releases === undefined ? '' : ' DELETE parked :released'}`,
      ConditionExpression: from === undefined ? 'attribute_not_exists(id)' : '#last = :from',
      ExpressionAttributeNames: { '#last': 'last' },
      ExpressionAttributeValues: {
        ':to': { N: String(to) },
        ':now': { S: new Date(this.now()).toISOString() },
        ...(from === undefined ? {} : { ':from': { N: String(from) } }),
        ...(releases === undefined ? {} : { ':released': { NS: [String(releases)] } }),
      },
    };
  }

  /**
   * One UpdateItem when that is all there is (half the cost of a transaction), else a
   * transaction; either is sent again while DynamoDB cancels it for a transaction conflict.
   */
  private async write(items: TransactWriteItem[], what: string): Promise<void> {
    try {
      const [only] = items;
      await retryingTransactionConflicts(async () => {
        if (items.length === 1 && only?.Update) await this.client.send(new UpdateItemCommand(only.Update));
        else await this.client.send(new TransactWriteItemsCommand({ TransactItems: items }));
      });
    } catch (error) {
      if (isAwsError(error, 'ConditionalCheckFailedException') || firstCancellation(error) !== undefined) {
        throw new CheckpointConflictError(what, { cause: error });
      }
      throw error;
    }
  }
}

/** Index of the first action whose condition failed in a cancelled transaction, if any did. */
function firstCancellation(error: unknown): number | undefined {
  if (!isAwsError(error, 'TransactionCanceledException')) return undefined;
  const index = ((error as TransactionCanceledException).CancellationReasons ?? []).findIndex(
    (reason) => reason.Code === 'ConditionalCheckFailed',
  );
  return index >= 0 ? index : undefined;
}

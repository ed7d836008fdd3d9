import {
  BatchGetItemCommand,
  type BatchGetItemCommandOutput,
  type DynamoDBClient,
  type KeysAndAttributes,
  QueryCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { type EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { SendMessageBatchCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { isAwsError } from '../shared/errors';
import { KEYS, outboxSk, PENDING, type StoredOutboxEvent } from '../shared/outbox-item';
import type {
  CursorStore,
  EntryFailure,
  EventBusPublisher,
  FailureSink,
  OutboxReader,
  PendingMarks,
  QueuePublisher,
  RelayFailureMessage,
} from './ports';

const BATCH_GET_MAX_KEYS = 100;

/** Cursors as items `{pk: <aggregate key>, sk: 'RELAY#CURSOR', publishedSequence}` in the outbox table. */
export class DynamoDbCursorStore implements CursorStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async get(aggregateKeys: ReadonlyArray<string>): Promise<Map<string, number>> {
    const cursors = new Map<string, number>();
    for (let i = 0; i < aggregateKeys.length; i += BATCH_GET_MAX_KEYS) {
      let request: Record<string, KeysAndAttributes> | undefined = {
        [this.tableName]: {
          Keys: aggregateKeys
            .slice(i, i + BATCH_GET_MAX_KEYS)
            .map((pk) => ({ pk: { S: pk }, sk: { S: KEYS.cursorSk } })),
          ConsistentRead: true,
          ProjectionExpression: 'pk, publishedSequence',
        },
      };
      for (let attempt = 0; request && Object.keys(request).length > 0; attempt++) {
        if (attempt > 0)
          await new Promise((resolve) => setTimeout(resolve, Math.min(1000, 25 * 2 ** attempt)));
        const response: BatchGetItemCommandOutput = await this.client.send(
          new BatchGetItemCommand({ RequestItems: request }),
        );
        for (const item of response.Responses?.[this.tableName] ?? []) {
          const plain = unmarshall(item);
          cursors.set(String(plain.pk), Number(plain.publishedSequence ?? 0));
        }
        request = response.UnprocessedKeys;
      }
    }
    return cursors;
  }

  async advance(aggregateKey: string, _from: number, to: number): Promise<void> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { pk: { S: aggregateKey }, sk: { S: KEYS.cursorSk } },
          UpdateExpression: 'SET publishedSequence = :to, updatedAt = :now',
          // Never backwards: a slower, older invocation must not undo a newer one's progress.
          ConditionExpression: 'attribute_not_exists(publishedSequence) OR publishedSequence < :to',
          ExpressionAttributeValues: { ':to': { N: String(to) }, ':now': { S: new Date().toISOString() } },
        }),
      );
    } catch (error) {
      // Another invocation already moved it as far or further.
      if (isAwsError(error, 'ConditionalCheckFailedException')) return;
      throw error;
    }
  }
}

/** Reads outbox items of one aggregate by sort-key range, strongly consistent. */
export class DynamoDbOutboxReader implements OutboxReader {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async readRange(
    aggregateKey: string,
    fromSequence: number,
    toSequence: number,
  ): Promise<Array<Record<string, unknown>>> {
    const items: Array<Record<string, unknown>> = [];
    let exclusiveStartKey: QueryCommand['input']['ExclusiveStartKey'];
    do {
      const response = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
          ExpressionAttributeValues: {
            ':pk': { S: aggregateKey },
            ':from': { S: outboxSk(fromSequence) },
            ':to': { S: outboxSk(toSequence) },
          },
          ConsistentRead: true,
          ExclusiveStartKey: exclusiveStartKey,
        }),
      );
      for (const item of response.Items ?? []) items.push(unmarshall(item));
      exclusiveStartKey = response.LastEvaluatedKey;
    } while (exclusiveStartKey);
    return items;
  }
}

/** Removes the pending-index attributes of published outbox items, one UpdateItem each. */
export class DynamoDbPendingMarks implements PendingMarks {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async clear(aggregateKey: string, sequences: ReadonlyArray<number>): Promise<void> {
    await Promise.all(
      sequences.map(async (sequence) => {
        try {
          await this.client.send(
            new UpdateItemCommand({
              TableName: this.tableName,
              Key: { pk: { S: aggregateKey }, sk: { S: outboxSk(sequence) } },
              UpdateExpression: 'REMOVE #shard, #since',
              // An UpdateItem on a missing key would create a stub item: only touch items that exist.
              ConditionExpression: 'attribute_exists(pk)',
              ExpressionAttributeNames: {
                '#shard': PENDING.shardAttribute,
                '#since': PENDING.sinceAttribute,
              },
            }),
          );
        } catch (error) {
          if (!isAwsError(error, 'ConditionalCheckFailedException')) throw error;
        }
      }),
    );
  }
}

/** PutEvents: Source/DetailType from the envelope, Detail = the envelope JSON as committed. */
export class EventBridgeBusPublisher implements EventBusPublisher {
  constructor(
    private readonly client: EventBridgeClient,
    private readonly eventBusName: string,
  ) {}

  async putEvents(events: ReadonlyArray<StoredOutboxEvent>): Promise<EntryFailure[]> {
    const response = await this.client.send(
      new PutEventsCommand({
        Entries: events.map((event) => ({
          EventBusName: this.eventBusName,
          Source: event.envelope.source,
          DetailType: event.envelope.type,
          Detail: event.json,
          Time: new Date(event.envelope.time),
        })),
      }),
    );
    const failures: EntryFailure[] = [];
    // FailedEntryCount says whether to look; Entries[i] lines up with the request's entry i.
    if ((response.FailedEntryCount ?? 0) === 0 && response.Entries?.length === events.length) return failures;
    events.forEach((_, index) => {
      const entry = response.Entries?.[index];
      if (!entry?.EventId || entry.ErrorCode) {
        failures.push({
          index,
          code: entry?.ErrorCode ?? 'MissingEntry',
          message: entry?.ErrorMessage ?? 'no result for entry',
        });
      }
    });
    return failures;
  }
}

/** SendMessageBatch to a FIFO queue: group = aggregate key, deduplication id = event id. */
export class SqsFifoPublisher implements QueuePublisher {
  constructor(private readonly client: SQSClient) {}

  async sendBatch(queueUrl: string, events: ReadonlyArray<StoredOutboxEvent>): Promise<EntryFailure[]> {
    const response = await this.client.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: events.map((event, index) => ({
          Id: String(index),
          MessageBody: event.json,
          MessageGroupId: event.pk,
          MessageDeduplicationId: event.envelope.id,
        })),
      }),
    );
    const succeeded = new Set((response.Successful ?? []).map((entry) => entry.Id));
    const failedById = new Map((response.Failed ?? []).map((entry) => [entry.Id, entry]));
    const failures: EntryFailure[] = [];
    events.forEach((_, index) => {
      const id = String(index);
      if (succeeded.has(id) && !failedById.has(id)) return;
      const failure = failedById.get(id);
      failures.push({
        index,
        code: failure?.Code ?? 'MissingEntry',
        message: failure?.Message ?? 'no result for entry',
      });
    });
    return failures;
  }
}

/** Sends unpublishable records to the relay failure queue with the reason as a message attribute. */
export class SqsFailureSink implements FailureSink {
  constructor(
    private readonly client: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async send(message: RelayFailureMessage): Promise<void> {
    await this.client.send(
      new SendMessageCommand({
        QueueUrl: this.queueUrl,
        MessageBody: JSON.stringify(message),
        MessageAttributes: {
          reason: { DataType: 'String', StringValue: message.reason },
          ...(message.aggregateKey
            ? { aggregateKey: { DataType: 'String', StringValue: message.aggregateKey } }
            : {}),
        },
      }),
    );
  }
}

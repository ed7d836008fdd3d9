import { type AttributeValue, type DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBBatchResponse, DynamoDBRecord } from 'aws-lambda';
import { ENTITY_TYPES } from '../contract/keys';
import type { EventBusPublisher } from '../functions/relay/ports';
import { decodeOutboxItem } from '../functions/relay/records';
import type { StoredOutboxEvent } from '../functions/shared/outbox-item';

/** What the naive relay publishes to, and where it keeps its cursors. */
export interface NaiveRelayTargets {
  /** PutEvents, called with one entry at a time (the product's EventBridge adapter, so the request is identical). */
  readonly eventBus: EventBusPublisher;
  readonly sqs: SQSClient;
  /** FIFO queues; each event is sent to each with its own SendMessage. */
  readonly queueUrls: ReadonlyArray<string>;
  /** The outbox table, where the per-aggregate cursors live. */
  readonly dynamodb: DynamoDBClient;
  readonly tableName: string;
  /** Sort key of the cursor items; a fresh one per run makes every run start from nothing. */
  readonly cursorSk: string;
}

/**
 * The baseline the relay is compared with: the straightforward outbox relay that publishes one
 * event per call, with the bookkeeping the relay had before its redesign. For each outbox record,
 * in stream order: one PutEvents with one entry, one SendMessage per FIFO queue (group =
 * aggregate key, deduplication id = event id), then one conditional UpdateItem of the
 * aggregate's publish cursor (`SET publishedSequence = :seq` if it is lower), as the
 * pre-redesign relay wrote a cursor per aggregate it published.
 *
 * State records are not needed by it and are skipped; so are undecodable outbox records (counted
 * in `skipped`). It is correct only while the stream delivers an aggregate's outbox records in
 * commit order (AWS promises order per item only), and because it is strictly sequential: at the
 * first failure it reports that record and every later one as batch item failures, so Lambda
 * retries from there. Lives in bench/ only: it is the measuring stick, not product code.
 */
export class NaiveRelay {
  skipped = 0;

  constructor(private readonly targets: NaiveRelayTargets) {}

  /** Processes one stream batch; the result is the Lambda partial batch response. */
  async handle(records: ReadonlyArray<DynamoDBRecord>): Promise<DynamoDBBatchResponse> {
    for (const [index, record] of records.entries()) {
      const image = record.dynamodb?.NewImage as Record<string, AttributeValue> | undefined;
      if (!image || image.entityType?.S !== ENTITY_TYPES.outbox) continue;
      const link = decodeOutboxItem(unmarshall(image), record.dynamodb?.Keys?.pk?.S);
      if (link.kind !== 'event') {
        this.skipped++;
        continue;
      }
      try {
        await this.publish(link.event);
      } catch {
        return {
          batchItemFailures: records
            .slice(index)
            .map((r) => ({ itemIdentifier: r.dynamodb?.SequenceNumber ?? '' })),
        };
      }
    }
    return { batchItemFailures: [] };
  }

  private async publish(event: StoredOutboxEvent): Promise<void> {
    const { pk, sequence, json } = event;
    const failures = await this.targets.eventBus.putEvents([event]);
    if (failures.length > 0) throw new Error(`PutEvents refused the entry: ${failures[0]?.code}`);
    for (const queueUrl of this.targets.queueUrls) {
      await this.targets.sqs.send(
        new SendMessageCommand({
          QueueUrl: queueUrl,
          MessageBody: json,
          MessageGroupId: pk,
          MessageDeduplicationId: event.envelope.id,
        }),
      );
    }
    try {
      await this.targets.dynamodb.send(
        new UpdateItemCommand({
          TableName: this.targets.tableName,
          Key: { pk: { S: pk }, sk: { S: this.targets.cursorSk } },
          UpdateExpression: 'SET publishedSequence = :seq, updatedAt = :now',
          ConditionExpression: 'attribute_not_exists(publishedSequence) OR publishedSequence < :seq',
          ExpressionAttributeValues: {
            ':seq': { N: String(sequence) },
            ':now': { S: new Date().toISOString() },
          },
        }),
      );
    } catch (error) {
      // Already at or past this sequence (a retried batch): nothing to move.
      if ((error as Error).name !== 'ConditionalCheckFailedException') throw error;
    }
  }
}

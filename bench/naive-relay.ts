import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBBatchResponse, DynamoDBRecord } from 'aws-lambda';
import type { EventBusPublisher } from '../functions/relay/ports';
import { decodeRecord } from '../functions/relay/relay';

/** What the naive relay publishes to. */
export interface NaiveRelayTargets {
  /** PutEvents, called with one entry at a time (the product's EventBridge adapter, so the request is identical). */
  readonly eventBus: EventBusPublisher;
  readonly sqs: SQSClient;
  /** FIFO queues; each event is sent to each with its own SendMessage. */
  readonly queueUrls: ReadonlyArray<string>;
}

/**
 * The baseline the relay is compared with: the straightforward outbox relay
 * that publishes one event per call. For each stream record, in stream order:
 * one PutEvents with one entry, then one SendMessage per FIFO queue (group =
 * aggregate key, deduplication id = event id).
 *
 * It is correct without a cursor only because it is strictly sequential: at the
 * first failure it reports that record and every later one as batch item
 * failures, so Lambda retries from there and per-aggregate order holds. It keeps
 * no cursors, so it reads and writes nothing in DynamoDB; it does not fill
 * stream gaps, and undecodable records are skipped (counted in `skipped`).
 * Lives in bench/ only: it is the measuring stick, not product code.
 */
export class NaiveRelay {
  skipped = 0;

  constructor(private readonly targets: NaiveRelayTargets) {}

  /** Processes one stream batch; the result is the Lambda partial batch response. */
  async handle(records: ReadonlyArray<DynamoDBRecord>): Promise<DynamoDBBatchResponse> {
    for (const [index, record] of records.entries()) {
      const link = decodeRecord(record);
      if (link.kind === 'poison') {
        this.skipped++;
        continue;
      }
      try {
        const failures = await this.targets.eventBus.putEvents([link.event]);
        if (failures.length > 0) throw new Error(`PutEvents refused the entry: ${failures[0]?.code}`);
        for (const queueUrl of this.targets.queueUrls) {
          await this.targets.sqs.send(
            new SendMessageCommand({
              QueueUrl: queueUrl,
              MessageBody: link.event.json,
              MessageGroupId: link.event.pk,
              MessageDeduplicationId: link.event.envelope.id,
            }),
          );
        }
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
}

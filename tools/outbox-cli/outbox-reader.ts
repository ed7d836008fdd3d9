import { type DynamoDBClient, ScanCommand, type ScanCommandInput } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { DynamoDbOutboxReader } from '../../functions/relay/aws-adapters';
import {
  fromOutboxItem,
  OUTBOX_ENTITY_TYPE,
  PENDING,
  type StoredOutboxEvent,
} from '../../functions/shared/outbox-item';

/** An outbox item read back for a replay. */
export interface ReadOutboxItem {
  /** The event, or why the item cannot be published. */
  readonly event?: StoredOutboxEvent;
  readonly error?: string;
  readonly pk: string;
  readonly sk: string;
  /** Whether the item still carries its pending mark (it is in the PendingIndex). */
  readonly pending: boolean;
}

/** Highest sequence an outbox sort key can hold (12 digits). */
export const MAX_SEQUENCE = 999_999_999_999;

/** One aggregate's outbox items with `from <= sequence <= to`, read with the relay's consistent Query. */
export async function readAggregate(
  dynamodb: DynamoDBClient,
  tableName: string,
  aggregateKey: string,
  from: number,
  to: number,
): Promise<ReadOutboxItem[]> {
  const items = await new DynamoDbOutboxReader(dynamodb, tableName).readRange(aggregateKey, from, to);
  return items.map(decode);
}

/**
 * Every outbox item whose event time is in `[since, until)`. There is no index on event time, so
 * this scans the whole table (filtered on `entityType` and `occurredAt`): it reads, and pays for,
 * every item of the table. An operator action, not something to run on a schedule.
 */
export async function scanTimeRange(
  dynamodb: DynamoDBClient,
  tableName: string,
  since: Date,
  until: Date,
): Promise<{ items: ReadOutboxItem[]; scanned: number }> {
  const items: ReadOutboxItem[] = [];
  let scanned = 0;
  let start: ScanCommandInput['ExclusiveStartKey'];
  do {
    const page = await dynamodb.send(
      new ScanCommand({
        TableName: tableName,
        // occurredAt is the envelope time, ISO-8601 in UTC with milliseconds, so it sorts as text.
        FilterExpression: 'entityType = :outbox AND occurredAt >= :since AND occurredAt < :until',
        ExpressionAttributeValues: {
          ':outbox': { S: OUTBOX_ENTITY_TYPE },
          ':since': { S: since.toISOString() },
          ':until': { S: until.toISOString() },
        },
        ExclusiveStartKey: start,
      }),
    );
    scanned += page.ScannedCount ?? 0;
    for (const item of page.Items ?? []) items.push(decode(unmarshall(item)));
    start = page.LastEvaluatedKey;
  } while (start !== undefined);
  return { items, scanned };
}

function decode(item: Record<string, unknown>): ReadOutboxItem {
  const base = {
    pk: String(item.pk),
    sk: String(item.sk),
    pending: item[PENDING.shardAttribute] !== undefined,
  };
  try {
    return { ...base, event: fromOutboxItem(item) };
  } catch (error) {
    return { ...base, error: (error as Error).message };
  }
}

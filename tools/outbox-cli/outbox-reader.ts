import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { ENTITY_TYPES } from '../../contract/keys';
import { DynamoDbOutboxReader } from '../../functions/relay/aws-adapters';
import { DynamoDbOutboxScanner } from '../../functions/sweeper/aws-adapters';
import { scanPages } from './table-scan';

/** Highest sequence an outbox sort key can hold (12 digits). */
export const MAX_SEQUENCE = 999_999_999_999;

/** One aggregate's outbox items (plain attributes) with `from <= sequence <= to`, with the relay's consistent Query. */
export async function readAggregate(
  dynamodb: DynamoDBClient,
  tableName: string,
  aggregateKey: string,
  from: number,
  to: number,
): Promise<Array<Record<string, unknown>>> {
  return new DynamoDbOutboxReader(dynamodb, tableName).readRange(aggregateKey, from, to);
}

/**
 * Every outbox item (plain attributes) whose event time is in `[since, until)`, with the sweeper's
 * filtered Scan: it reads, and pays for, every item of the table. An operator action.
 */
export async function scanTimeRange(
  dynamodb: DynamoDBClient,
  tableName: string,
  since: Date,
  until: Date,
): Promise<Array<Record<string, unknown>>> {
  const scanner = new DynamoDbOutboxScanner(dynamodb, tableName);
  const items: Array<Record<string, unknown>> = [];
  let cursor: string | undefined;
  do {
    const page = await scanner.scan(since.toISOString(), until.toISOString(), cursor, 1000);
    items.push(...page.items);
    cursor = page.cursor;
  } while (cursor);
  return items;
}

/** Every aggregate key with a state item, with a filtered Scan (for `backfill` of a whole consumer). */
export async function scanAggregateKeys(dynamodb: DynamoDBClient, tableName: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const page of scanPages(dynamodb, {
    TableName: tableName,
    FilterExpression: 'entityType = :aggregate',
    ExpressionAttributeValues: { ':aggregate': { S: ENTITY_TYPES.aggregate } },
    ProjectionExpression: 'pk',
    ConsistentRead: true,
  })) {
    for (const item of page.Items ?? []) keys.push(String(unmarshall(item).pk));
  }
  return keys.sort();
}

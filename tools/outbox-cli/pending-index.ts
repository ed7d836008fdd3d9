import { type DynamoDBClient, QueryCommand, type QueryCommandInput } from '@aws-sdk/client-dynamodb';
import { PENDING } from '../../functions/shared/outbox-item';
import { CliFailure } from './cli-io';

/** An entry of the sparse pending index: an outbox item not yet published everywhere. */
export interface PendingEntry {
  readonly pk: string;
  readonly sk: string;
  readonly pendingSince: string;
}

/**
 * The shard keys of the pending index, `PENDING#0`..`PENDING#<shards-1>`: every value the writer's
 * `pendingShard()` (functions/shared/outbox-item.ts) can produce.
 */
export function pendingShardKeys(): string[] {
  return Array.from({ length: PENDING.shards }, (_, shard) => `PENDING#${shard}`);
}

/** The oldest pending entry over all shards: one Query per shard, oldest first, Limit 1. */
export async function oldestPending(
  dynamodb: DynamoDBClient,
  tableName: string,
): Promise<PendingEntry | undefined> {
  const heads = await Promise.all(
    pendingShardKeys().map(async (shard) => {
      const page = await query(dynamodb, {
        TableName: tableName,
        IndexName: PENDING.indexName,
        KeyConditionExpression: '#shard = :shard',
        ExpressionAttributeNames: { '#shard': PENDING.shardAttribute },
        ExpressionAttributeValues: { ':shard': { S: shard } },
        ScanIndexForward: true,
        Limit: 1,
      });
      const item = page.Items?.[0];
      return item === undefined
        ? undefined
        : {
            pk: item.pk?.S ?? '',
            sk: item.sk?.S ?? '',
            pendingSince: item[PENDING.sinceAttribute]?.S ?? '',
          };
    }),
  );
  return heads
    .filter((entry): entry is PendingEntry => entry !== undefined)
    .sort((a, b) => a.pendingSince.localeCompare(b.pendingSince))[0];
}

/** How many entries have been pending since before `cutoff` (ISO-8601), over all shards. */
export async function countPendingBefore(
  dynamodb: DynamoDBClient,
  tableName: string,
  cutoff: string,
): Promise<number> {
  const counts = await Promise.all(
    pendingShardKeys().map(async (shard) => {
      let count = 0;
      let start: QueryCommandInput['ExclusiveStartKey'];
      do {
        const page = await query(dynamodb, {
          TableName: tableName,
          IndexName: PENDING.indexName,
          KeyConditionExpression: '#shard = :shard AND #since < :cutoff',
          ExpressionAttributeNames: { '#shard': PENDING.shardAttribute, '#since': PENDING.sinceAttribute },
          ExpressionAttributeValues: { ':shard': { S: shard }, ':cutoff': { S: cutoff } },
          Select: 'COUNT',
          ExclusiveStartKey: start,
        });
        count += page.Count ?? 0;
        start = page.LastEvaluatedKey;
      } while (start !== undefined);
      return count;
    }),
  );
  return counts.reduce((sum, n) => sum + n, 0);
}

async function query(dynamodb: DynamoDBClient, input: QueryCommandInput) {
  try {
    return await dynamodb.send(new QueryCommand(input));
  } catch (error) {
    if ((error as Error).name === 'ValidationException' && /index/i.test((error as Error).message)) {
      throw new CliFailure(
        `table ${input.TableName} has no ${PENDING.indexName}: ${(error as Error).message}`,
        'deploy the stack version that adds the pending index (lib/constructs/outbox-table.ts), or restart the local pipeline',
      );
    }
    throw error;
  }
}

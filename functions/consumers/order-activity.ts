import {
  DynamoDBClient,
  type TransactionCanceledException,
  TransactWriteItemsCommand,
} from '@aws-sdk/client-dynamodb';
import { requireEnv, requirePositiveIntEnv } from '../shared/env';
import { ENV } from '../shared/env-names';
import type { EventEnvelope } from '../shared/envelope';
import { isAwsError } from '../shared/errors';
import { type ConsumerContext, createConsumer, type RawConsumerDefinition, readOnce } from './kit';

export const CONSUMER_NAME = 'order-activity';
const settings = readOnce(() => ({
  tableName: requireEnv(ENV.tableName),
  idempotencyTableName: requireEnv(ENV.idempotencyTableName),
  ttlSeconds: requirePositiveIntEnv(ENV.idempotencyTtlSeconds),
}));
const dynamodb = new DynamoDBClient({});

/**
 * Counts events per order (an activity feed's counter), fed by an EventBridge
 * rule. Order does not matter here, so records run in parallel. It reads no payload, so it
 * is a raw consumer: it counts every event its rule delivers, whatever the type or version.
 *
 * The increment and an effect marker (`effect#order-activity#<event id>`, in the
 * idempotency table) commit in one transaction, and the marker must be new: the
 * count moves exactly once per event even if the function crashed after the
 * effect and before Powertools stored its idempotency record.
 */
export async function countActivity(
  event: EventEnvelope,
  { logger }: Pick<ConsumerContext, 'logger'>,
): Promise<void> {
  const { tableName, idempotencyTableName, ttlSeconds } = settings();
  const expiration = Math.floor(Date.now() / 1000) + ttlSeconds;
  try {
    await dynamodb.send(
      new TransactWriteItemsCommand({
        TransactItems: [
          {
            Put: {
              TableName: idempotencyTableName,
              Item: {
                id: { S: `effect#${CONSUMER_NAME}#${event.id}` },
                expiration: { N: String(expiration) },
              },
              ConditionExpression: 'attribute_not_exists(id)',
            },
          },
          {
            Update: {
              TableName: tableName,
              Key: {
                pk: { S: `VIEW#${CONSUMER_NAME}#${event.aggregatetype}#${event.aggregateid}` },
                sk: { S: 'VIEW' },
              },
              UpdateExpression: 'ADD eventCount :one SET lastEventType = :type, entityType = :view',
              ExpressionAttributeValues: {
                ':one': { N: '1' },
                ':type': { S: event.type },
                ':view': { S: 'VIEW' },
              },
            },
          },
        ],
      }),
    );
  } catch (error) {
    if (
      isAwsError(error, 'TransactionCanceledException') &&
      (error as TransactionCanceledException).CancellationReasons?.[0]?.Code === 'ConditionalCheckFailed'
    ) {
      logger.info('effect already applied for this event; skipped');
      return;
    }
    throw error;
  }
}

/** Unordered consumer behind an EventBridge rule: per-order activity counter. */
export const consumer: RawConsumerDefinition = { name: CONSUMER_NAME, ordered: false, handle: countActivity };

export const handler = createConsumer(consumer);

import { DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { ORDER_AGGREGATE_TYPE, ORDER_EVENT_TYPES } from '../events/order-events';
import { requireEnv } from '../shared/env';
import { ENV } from '../shared/env-names';
import type { EventEnvelope } from '../shared/envelope';
import { isAwsError, PermanentFailure } from '../shared/errors';
import { type ConsumerContext, createConsumer, defineConsumer, readOnce } from './kit';
import { applyOrderEvent, type OrderEvent, type OrderView, passOverEvent } from './order-view';

export const CONSUMER_NAME = 'order-projection';
const settings = readOnce(() => ({ tableName: requireEnv(ENV.tableName) }));
const dynamodb = new DynamoDBClient({});

/** Key of an order's view in the table. */
export function viewKey(event: Pick<EventEnvelope, 'aggregatetype' | 'aggregateid'>) {
  return {
    pk: { S: `VIEW#${CONSUMER_NAME}#${event.aggregatetype}#${event.aggregateid}` },
    sk: { S: 'VIEW' },
  };
}

/**
 * Applies one event to the order view, exactly once and in order.
 *
 * The write is conditional on the view's `lastSequence` being `sequence - 1`, so
 * the effect cannot happen twice even if idempotency records were lost. When the
 * condition fails, the stored view tells which case it is:
 * - `lastSequence >= sequence`: a stale duplicate (e.g. republished after the
 *   FIFO deduplication window); skipped.
 * - `lastSequence < sequence - 1`: a gap. The relay publishes each aggregate in
 *   order, so a gap means an earlier event of this order went to the DLQ. The
 *   order is quarantined: this event goes to the DLQ too (reason SequenceGap),
 *   and so will every later one, until an operator redrives the DLQ, which
 *   replays them in their original order. Applying past a gap would build a
 *   view that never existed.
 */
export async function project(event: OrderEvent, context: Pick<ConsumerContext, 'logger'>): Promise<void> {
  await advanceView(event, context, (current) => applyOrderEvent(current, event));
}

/**
 * The `skip` path: an event of a catalog type the projection does not handle. Its FIFO queue
 * carries every event of every aggregate, so an order's events it does not apply still take
 * their place in the order's sequence (same checks and conditional write as `project`, only
 * the position changes); without that, the next event would look like a gap and quarantine
 * the order. Events of other aggregate types have no view here and are passed over.
 */
export async function passOver(
  event: EventEnvelope,
  context: Pick<ConsumerContext, 'logger'>,
): Promise<void> {
  if (event.aggregatetype !== ORDER_AGGREGATE_TYPE) return;
  await advanceView(event, context, (current) => passOverEvent(current, event));
}

/** Writes `next(view)` if the view is exactly one event behind `event`; see {@link project}. */
async function advanceView(
  event: EventEnvelope,
  { logger }: Pick<ConsumerContext, 'logger'>,
  next: (current: OrderView | undefined) => OrderView,
): Promise<void> {
  const { tableName } = settings();
  const key = viewKey(event);
  const { Item } = await dynamodb.send(
    new GetItemCommand({ TableName: tableName, Key: key, ConsistentRead: true }),
  );
  const current = Item ? (unmarshall(Item) as OrderView) : undefined;
  const last = current?.lastSequence ?? 0;
  if (last >= event.sequence) {
    logger.info('stale event skipped', { lastSequence: last });
    return;
  }
  if (last !== event.sequence - 1) {
    throw new PermanentFailure(
      'SequenceGap',
      `expected sequence ${last + 1} for ${event.aggregatetype}#${event.aggregateid}, got ${event.sequence}`,
    );
  }
  const view = next(current);
  try {
    await dynamodb.send(
      new PutItemCommand({
        TableName: tableName,
        Item: { ...key, ...marshall({ ...view, entityType: 'VIEW' }) },
        ConditionExpression: current ? 'lastSequence = :last' : 'attribute_not_exists(pk)',
        ...(current ? { ExpressionAttributeValues: { ':last': { N: String(last) } } } : {}),
      }),
    );
  } catch (error) {
    // Someone applied this sequence between our read and write: the effect happened once, by them.
    if (isAwsError(error, 'ConditionalCheckFailedException')) {
      logger.info('concurrent apply detected; skipped');
      return;
    }
    throw error;
  }
}

/** Ordered consumer on the FIFO queue: keeps the order read model. */
export const consumer = defineConsumer({
  name: CONSUMER_NAME,
  ordered: true,
  handles: ORDER_EVENT_TYPES,
  handle: project,
  skip: passOver,
});

export const handler = createConsumer(consumer);

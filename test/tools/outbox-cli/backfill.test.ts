/**
 * `backfill` and `skip` against the real local engines, with the real consumer kit on the other
 * end: events committed by the outbox writer on DynamoDB Local, sent to one consumer's queue on
 * fauxqs, and applied (or parked, or stepped over) by an ordered consumer built on the kit, whose
 * checkpoints and parked events live in the kit table.
 */
import {
  type AttributeValue,
  DeleteItemCommand,
  GetItemCommand,
  PutItemCommand,
  ScanCommand,
} from '@aws-sdk/client-dynamodb';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { registeredConsumers } from '../../../contract/consumers';
import { checkpointId, consumerItemPk, consumerRecordPrefix, KEYS } from '../../../contract/keys';
import { STACK_OUTPUTS } from '../../../contract/stack-outputs';
import { TRANSPORT_ATTRIBUTES, VOID_MESSAGE_KIND } from '../../../contract/transport';
import { EXIT } from '../../../tools/outbox-cli/cli-io';
import {
  bodies,
  type CliHarness,
  commitEvents,
  drainQueue,
  EVENT_SOURCE,
  expireOutboxItems,
  orderedConsumer,
  startCliHarness,
} from './cli-harness';

let harness: CliHarness;
let tableName: string;
let kitTableName: string;
let fifoUrl: string;
let unorderedUrl: string;

beforeAll(async () => {
  harness = await startCliHarness();
  tableName = harness.output(STACK_OUTPUTS.tableName);
  kitTableName = harness.output(STACK_OUTPUTS.idempotencyTableName);
  fifoUrl = harness.output('OrderProjectionQueueUrl');
  unorderedUrl = harness.output('OrderActivityQueueUrl');
});

afterAll(async () => {
  await harness?.stop();
});

/** Every item of a table (plain keys and attributes as DynamoDB returns them). */
async function scan(table: string): Promise<Array<Record<string, AttributeValue>>> {
  const { Items = [] } = await harness.dynamo.client.send(
    new ScanCommand({ TableName: table, ConsistentRead: true }),
  );
  return Items;
}

/** The `id`s of the kit table, or the `pk`s of the app table. */
async function keys(table: string, attribute: 'id' | 'pk'): Promise<string[]> {
  return (await scan(table)).map((item) => item[attribute]?.S ?? '').sort();
}

// A backfill without --aggregate sends the whole table: each test starts from empty tables and queues.
afterEach(async () => {
  await harness.bus.waitForIdle();
  for (const item of await scan(tableName)) {
    const { pk, sk } = item;
    if (pk && sk)
      await harness.dynamo.client.send(new DeleteItemCommand({ TableName: tableName, Key: { pk, sk } }));
  }
  for (const { id } of await scan(kitTableName)) {
    if (id) await harness.dynamo.client.send(new DeleteItemCommand({ TableName: kitTableName, Key: { id } }));
  }
  for (const key of [
    'OrderProjectionQueueUrl',
    'OrderActivityQueueUrl',
    'OrderProjectionDeadLetterQueueUrl',
  ]) {
    await drainQueue(harness.sqs.client, harness.output(key));
  }
});

/** Sequences per message group, in the order the FIFO queue delivered them. */
function sequencesByGroup(messages: Awaited<ReturnType<typeof drainQueue>>): Record<string, number[]> {
  const groups: Record<string, number[]> = {};
  for (const message of messages) {
    const group = message.Attributes?.MessageGroupId ?? '';
    groups[group] = [...(groups[group] ?? []), Number(JSON.parse(message.Body ?? '{}').sequence)];
  }
  return groups;
}

async function checkpoint(aggregateKey: string): Promise<{ last: number; parked: number[] } | undefined> {
  const { Item } = await harness.dynamo.client.send(
    new GetItemCommand({
      TableName: kitTableName,
      Key: { id: { S: checkpointId('order-projection', aggregateKey) } },
      ConsistentRead: true,
    }),
  );
  if (!Item) return undefined;
  return {
    last: Number(Item.last?.N ?? 0),
    parked: (Item.parked?.NS ?? []).map(Number).sort((a, b) => a - b),
  };
}

describe('backfill of an ordered consumer', () => {
  it("sends one aggregate's history to that consumer's FIFO queue only, in sequence order", async () => {
    // Arrange: an order committed in two transactions.
    const events = [
      ...(await commitEvents(harness, 'Order#bf-1', 2)),
      ...(await commitEvents(harness, 'Order#bf-1', 1, { after: 2, types: ['OrderConfirmed'] })),
    ];

    // Act
    const run = await harness.run('backfill', '--consumer', 'order-projection', '--aggregate', 'Order#bf-1');
    await harness.bus.waitForIdle();

    // Assert
    expect(run.code).toBe(EXIT.ok);
    expect(run.out).toContain(
      'Backfill order-projection (ordered) from 1 aggregate → OrderProjectionQueueUrl',
    );
    expect(run.out).toContain('Sent 3 events.');
    expect(run.out).toContain('Done: order-projection has been sent every retained event.');
    const fifo = await drainQueue(harness.sqs.client, fifoUrl);
    expect(bodies(fifo)).toEqual(events);
    expect(fifo.map((message) => message.Attributes?.MessageDeduplicationId)).toEqual(
      events.map((e) => e.id),
    );
    expect(
      fifo.every(
        (message) => message.MessageAttributes?.[TRANSPORT_ATTRIBUTES.startsAggregate] === undefined,
      ),
    ).toBe(true);
    expect(await drainQueue(harness.sqs.client, unorderedUrl)).toEqual([]);
  });

  it('sends every aggregate of the table, each in order, and the consumer applies them all', async () => {
    // Arrange: a consumer that joined late: it has seen nothing of three orders.
    await commitEvents(harness, 'Order#bf-a', 2);
    await commitEvents(harness, 'Order#bf-b', 3);
    await commitEvents(harness, 'Order#bf-b', 1, { after: 3, types: ['OrderCancelled'] });
    await commitEvents(harness, 'Order#bf-c', 1);
    const consumer = orderedConsumer(harness, 'order-projection');

    // Act
    const run = await harness.run('backfill', '--consumer', 'order-projection');
    const delivery = await consumer.deliverFrom(fifoUrl);

    // Assert
    expect(run.code).toBe(EXIT.ok);
    expect(run.out).toContain('from 3 aggregates');
    expect(run.out).toContain('Sent 7 events.');
    expect(delivery.messages).toHaveLength(7);
    expect(delivery.batchItemFailures).toEqual([]);
    expect(Object.fromEntries(consumer.applied)).toEqual({
      'Order#bf-a': [1, 2],
      'Order#bf-b': [1, 2, 3, 4],
      'Order#bf-c': [1],
    });
    expect(await checkpoint('Order#bf-b')).toEqual({ last: 4, parked: [] });
  });

  it('skips an aggregate whose first events expired, naming it and --start-at-oldest, and exits 1', async () => {
    // Arrange
    await commitEvents(harness, 'Order#bf-expired', 4);
    await expireOutboxItems(harness, 'Order#bf-expired', [1, 2]);

    // Act
    const run = await harness.run(
      'backfill',
      '--consumer',
      'order-projection',
      '--aggregate',
      'Order#bf-expired',
    );

    // Assert
    expect(run.code).toBe(EXIT.failure);
    expect(run.err).toContain(
      'skipped Order#bf-expired: its events before #3 expired (rerun with --start-at-oldest to start it there)',
    );
    expect(run.out).toContain('Sent 0 events.');
    expect(run.out).toContain('Next: fix what is reported above and run the same backfill again');
    expect(await drainQueue(harness.sqs.client, fifoUrl)).toEqual([]);
  });

  it('with --start-at-oldest, marks the oldest retained event so the consumer starts the aggregate there', async () => {
    // Arrange
    await commitEvents(harness, 'Order#bf-oldest', 4);
    await expireOutboxItems(harness, 'Order#bf-oldest', [1, 2]);
    const consumer = orderedConsumer(harness, 'order-projection');

    // Act
    const run = await harness.run(
      'backfill',
      '--consumer',
      'order-projection',
      '--aggregate',
      'Order#bf-oldest',
      '--start-at-oldest',
    );
    const delivery = await consumer.deliverFrom(fifoUrl);
    const { messages } = delivery;

    // Assert
    expect(run.code).toBe(EXIT.ok);
    expect(sequencesByGroup(messages)).toEqual({ 'Order#bf-oldest': [3, 4] });
    expect(
      messages.map(
        (message) => message.MessageAttributes?.[TRANSPORT_ATTRIBUTES.startsAggregate]?.StringValue,
      ),
    ).toEqual(['true', undefined]);
    expect(delivery.batchItemFailures).toEqual([]);
    expect(consumer.applied.get('Order#bf-oldest')).toEqual([3, 4]);
  });

  it('says what it would send and sends nothing on a dry run', async () => {
    // Arrange
    await commitEvents(harness, 'Order#bf-dry', 3);

    // Act
    const run = await harness.run('backfill', '--consumer', 'order-projection', '--dry-run');

    // Assert
    expect(run.code).toBe(EXIT.ok);
    expect(run.out).toContain('Dry run: would send 3 events of 1 aggregate.');
    expect(await drainQueue(harness.sqs.client, fifoUrl)).toEqual([]);
  });
});

describe('backfill --reset', () => {
  /**
   * What the kit leaves behind for `order-projection` (Powertools idempotency records,
   * checkpoints, a parked event, its read model), and keys of other consumers next to it,
   * one of them with a name that starts like order-projection's.
   */
  async function consumerState(): Promise<void> {
    await commitEvents(harness, 'Order#rs-1', 2);
    await commitEvents(harness, 'Order#rs-2', 2);
    await harness.run('replay', '--aggregate', 'Order#rs-1', '--send-to', 'queues');
    await harness.run('replay', '--aggregate', 'Order#rs-2', '--from-sequence', '2', '--send-to', 'queues');
    const delivery = await orderedConsumer(harness, 'order-projection').deliverFrom(fifoUrl);
    expect(delivery.messages).toHaveLength(3);
    expect(delivery.batchItemFailures).toEqual([]);
    for (const id of [
      `${consumerRecordPrefix('order-projection-v2')}checkpoint#Order#rs-1`,
      `${consumerRecordPrefix('order-activity')}effect#e-1`,
    ]) {
      await harness.dynamo.client.send(
        new PutItemCommand({ TableName: kitTableName, Item: { id: { S: id } } }),
      );
    }
    for (const pk of [
      consumerItemPk('order-projection-v2', 'Order#rs-1'),
      consumerItemPk('order-activity', 'x'),
    ]) {
      await harness.dynamo.client.send(
        new PutItemCommand({ TableName: tableName, Item: { pk: { S: pk }, sk: { S: KEYS.viewSk } } }),
      );
    }
  }

  it('refuses without --yes, saying what it would delete, and deletes and sends nothing', async () => {
    // Arrange
    await consumerState();
    const [kitBefore, tableBefore] = [await keys(kitTableName, 'id'), await keys(tableName, 'pk')];

    // Act
    const run = await harness.run('backfill', '--consumer', 'order-projection', '--reset');

    // Assert
    expect(run.code).toBe(EXIT.failure);
    expect(run.err).toContain(
      'error: --reset deletes everything order-projection owns (its read model, checkpoints and idempotency records) before the backfill',
    );
    expect(run.err).toContain('Next: rerun with --yes to go ahead.');
    expect(await keys(kitTableName, 'id')).toEqual(kitBefore);
    expect(await keys(tableName, 'pk')).toEqual(tableBefore);
    expect(await drainQueue(harness.sqs.client, fifoUrl)).toEqual([]);
  });

  it("deletes only the keys with the consumer's own prefix, then sends the history, and the consumer rebuilds", async () => {
    // Arrange: the consumer received most of these events seconds ago, well within the FIFO
    // queue's 5-minute deduplication window.
    await consumerState();
    const kitBefore = await keys(kitTableName, 'id');
    const tableBefore = await keys(tableName, 'pk');
    const ownRecords = kitBefore.filter((id) => id.startsWith('order-projection#'));
    const ownItems = tableBefore.filter((pk) => pk.startsWith('VIEW#order-projection#'));
    expect(ownRecords).toContain(checkpointId('order-projection', 'Order#rs-2'));
    expect(ownRecords.some((id) => id.startsWith('order-projection#parked#Order#rs-2#'))).toBe(true);
    expect(ownItems).toEqual([consumerItemPk('order-projection', 'Order#rs-1')]);
    const rebuilt = orderedConsumer(harness, 'order-projection');

    // Act
    const run = await harness.run('backfill', '--consumer', 'order-projection', '--reset', '--yes');
    const kitAfter = await keys(kitTableName, 'id');
    const tableAfter = await keys(tableName, 'pk');
    const delivery = await rebuilt.deliverFrom(fifoUrl);

    // Assert
    expect(run.code).toBe(EXIT.ok);
    expect(run.out).toContain(
      `Reset order-projection: deleted ${ownRecords.length} kit records and ${ownItems.length} item.`,
    );
    expect(kitAfter).toEqual(kitBefore.filter((id) => !ownRecords.includes(id)));
    expect(kitAfter).toEqual(
      expect.arrayContaining(['order-projection-v2#checkpoint#Order#rs-1', 'order-activity#effect#e-1']),
    );
    expect(tableAfter).toEqual(tableBefore.filter((pk) => !ownItems.includes(pk)));
    expect(tableAfter).toEqual(
      expect.arrayContaining(['VIEW#order-projection-v2#Order#rs-1', 'VIEW#order-activity#x']),
    );
    expect(delivery.batchItemFailures).toEqual([]);
    expect(Object.fromEntries(rebuilt.applied)).toEqual({ 'Order#rs-1': [1, 2], 'Order#rs-2': [1, 2] });
    for (const message of delivery.messages) {
      const eventId = String(JSON.parse(message.Body ?? '{}').id);
      expect(message.Attributes?.MessageDeduplicationId).not.toBe(eventId);
      expect(message.Attributes?.MessageDeduplicationId?.startsWith(eventId)).toBe(true);
    }
  });
});

describe('backfill of an unordered consumer', () => {
  it('sends the events as EventBridge delivers them to its queue, and nothing to the FIFO queue', async () => {
    // Arrange
    const events = await commitEvents(harness, 'Order#bf-unordered', 2);

    // Act
    const run = await harness.run(
      'backfill',
      '--consumer',
      'order-activity',
      '--aggregate',
      'Order#bf-unordered',
    );

    // Assert
    expect(run.code).toBe(EXIT.ok);
    expect(run.out).toContain('Backfill order-activity (unordered) from 1 aggregate → OrderActivityQueueUrl');
    const received = bodies(await drainQueue(harness.sqs.client, unorderedUrl));
    expect(received.map((event) => event.detail)).toEqual(events);
    expect(received.map((event) => [event['detail-type'], event.source])).toEqual(
      events.map((event) => [event.type, EVENT_SOURCE]),
    );
    expect(await drainQueue(harness.sqs.client, fifoUrl)).toEqual([]);
  });
});

describe('backfill of a consumer that is not registered', () => {
  it('exits 2, naming what was given and the registered consumers', async () => {
    // Act
    const run = await harness.run('backfill', '--consumer', 'order-projektion');

    // Assert
    expect(run.code).toBe(EXIT.usage);
    expect(run.err).toContain(
      `error: order-projektion is not a registered consumer (contract/consumers.ts has ${registeredConsumers()
        .map((c) => c.name)
        .join(', ')})`,
    );
    expect(run.err).toContain('Run `npm run outbox -- backfill --help` for usage.');
  });
});

describe('skip', () => {
  it('sends a void marker for the sequence to the ordered consumer', async () => {
    // Act
    const run = await harness.run(
      'skip',
      '--consumer',
      'order-projection',
      '--aggregate',
      'Order#sk-1',
      '--sequence',
      '2',
      '--reason',
      'lost in a restore, ticket 42',
    );

    // Assert
    expect(run.code).toBe(EXIT.ok);
    expect(run.out).toContain('Sent a void marker for Order#sk-1 #2 to OrderProjectionQueueUrl');
    const [marker, ...more] = await drainQueue(harness.sqs.client, fifoUrl);
    expect(more).toEqual([]);
    expect(JSON.parse(marker?.Body ?? '{}')).toEqual({
      aggregatetype: 'Order',
      aggregateid: 'sk-1',
      sequence: 2,
      reason: 'OperatorSkip: lost in a restore, ticket 42',
    });
    expect(marker?.Attributes?.MessageGroupId).toBe('Order#sk-1');
    expect(marker?.MessageAttributes?.[TRANSPORT_ATTRIBUTES.kind]?.StringValue).toBe(VOID_MESSAGE_KIND);
  });

  it('lets the ordered consumer step over a missing event and apply the one parked behind it', async () => {
    // Arrange: event 2 of the order never reaches the consumer, so event 3 parks.
    await commitEvents(harness, 'Order#sk-2', 3);
    const consumer = orderedConsumer(harness, 'order-projection');
    for (const sequence of ['1', '3']) {
      await harness.run(
        'replay',
        '--aggregate',
        'Order#sk-2',
        '--from-sequence',
        sequence,
        '--to-sequence',
        sequence,
        '--send-to',
        'queues',
      );
      await consumer.deliverFrom(fifoUrl);
    }
    const parkedBefore = await checkpoint('Order#sk-2');
    const statusBefore = await harness.run('status', '--parked');

    // Act
    const run = await harness.run(
      'skip',
      '--consumer',
      'order-projection',
      '--aggregate',
      'Order#sk-2',
      '--sequence',
      '2',
      '--reason',
      'never written',
    );
    const delivery = await consumer.deliverFrom(fifoUrl);

    // Assert
    expect(parkedBefore).toEqual({ last: 1, parked: [3] });
    expect(statusBefore.out).toMatch(/order-projection\s+1 event/);
    expect(run.code).toBe(EXIT.ok);
    expect(delivery.messages).toHaveLength(1);
    expect(delivery.batchItemFailures).toEqual([]);
    expect(consumer.applied.get('Order#sk-2')).toEqual([1, 3]);
    expect(await checkpoint('Order#sk-2')).toEqual({ last: 3, parked: [] });
    expect((await harness.run('status', '--parked')).out).toMatch(/order-projection\s+0 events/);
  });

  it('refuses an unordered consumer, exit 1, and sends nothing', async () => {
    // Act
    const run = await harness.run(
      'skip',
      '--consumer',
      'order-activity',
      '--aggregate',
      'Order#sk-3',
      '--sequence',
      '1',
      '--reason',
      'x',
    );

    // Assert
    expect(run.code).toBe(EXIT.failure);
    expect(run.err).toContain(
      'error: order-activity is an unordered consumer: it has no sequence to step over',
    );
    expect(run.err).toContain('Next: skip is for ordered consumers.');
    expect(await drainQueue(harness.sqs.client, unorderedUrl)).toEqual([]);
    expect(await drainQueue(harness.sqs.client, fifoUrl)).toEqual([]);
  });
});

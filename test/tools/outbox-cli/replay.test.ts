/**
 * `replay` and `archive-replay` against the real local engines: events committed by the outbox
 * writer on DynamoDB Local, re-published through the relay core to the EventBridge emulator
 * (whose rule feeds the unordered consumer's queue) and to the ordered consumer's FIFO queue on
 * fauxqs; the archive on the EventBridge emulator.
 */
import { UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { registeredConsumers } from '../../../contract/consumers';
import { outboxSk } from '../../../contract/keys';
import { STACK_OUTPUTS } from '../../../contract/stack-outputs';
import { TRANSPORT_ATTRIBUTES, VOID_MESSAGE_KIND } from '../../../contract/transport';
import { EXIT } from '../../../tools/outbox-cli/cli-io';
import { plural } from '../../../tools/outbox-cli/format';
import {
  bodies,
  type CliHarness,
  commitEvents,
  drainQueue,
  EVENT_SOURCE,
  startCliHarness,
} from './cli-harness';

/** Every ordered consumer of the registry has a FIFO queue the relay core publishes to (a scaffolded one too). */
const ORDERED_QUEUES = plural(
  registeredConsumers().filter((c) => c.kind === 'ordered').length,
  'ordered queue',
);

let harness: CliHarness;
let fifoUrl: string;
let busTargetUrl: string;

beforeAll(async () => {
  harness = await startCliHarness();
  fifoUrl = harness.output('OrderProjectionQueueUrl');
  busTargetUrl = harness.output('OrderActivityQueueUrl');
});

afterAll(async () => {
  await harness?.stop();
});

// Each test starts with empty consumer queues.
afterEach(async () => {
  await harness.bus.waitForIdle();
  for (const key of ['OrderProjectionQueueUrl', 'OrderActivityQueueUrl', 'RelayFailureQueueUrl']) {
    await drainQueue(harness.sqs.client, harness.output(key));
  }
});

/** What reached the ordered consumer's FIFO queue, and (through the bus rule) the unordered one's. */
async function delivered() {
  await harness.bus.waitForIdle();
  const fifo = await drainQueue(harness.sqs.client, fifoUrl);
  const bus = bodies(await drainQueue(harness.sqs.client, busTargetUrl));
  return { fifo, bus };
}

describe('replay --aggregate', () => {
  it("re-publishes an aggregate's events through the relay core to the bus and, in order, to the FIFO queue", async () => {
    // Arrange: two transactions of one order, and another order that must not be sent.
    const events = [
      ...(await commitEvents(harness, 'Order#replay-1', 3)),
      ...(await commitEvents(harness, 'Order#replay-1', 2, {
        after: 3,
        types: ['OrderConfirmed', 'OrderCancelled'],
      })),
    ];
    await commitEvents(harness, 'Order#replay-other', 2);

    // Act
    const run = await harness.run('replay', '--aggregate', 'Order#replay-1');
    const { fifo, bus } = await delivered();

    // Assert
    expect(run.code).toBe(EXIT.ok);
    expect(run.out).toContain(
      `Read 5 outbox items (Order#replay-1, sequences 1..latest); destinations: the event bus and ${ORDERED_QUEUES}.`,
    );
    expect(run.out).toContain('Done: every destination confirmed all 5 events.');
    expect(bodies(fifo)).toEqual(events);
    expect(fifo.map((message) => message.Attributes?.MessageGroupId)).toEqual(
      Array(5).fill('Order#replay-1'),
    );
    expect(fifo.map((message) => message.Attributes?.MessageDeduplicationId)).toEqual(
      events.map((e) => e.id),
    );
    expect(bus.map((event) => (event.detail as { id: string }).id).sort()).toEqual(
      events.map((e) => e.id).sort(),
    );
    expect(bus.every((event) => event.source === EVENT_SOURCE)).toBe(true);
    expect(bus.map((event) => event['detail-type']).sort()).toEqual(events.map((e) => e.type).sort());
  });

  it('replays only the sequence range asked for, to the FIFO queues only with --send-to queues', async () => {
    // Arrange
    await commitEvents(harness, 'Order#replay-range', 5);

    // Act
    const run = await harness.run(
      'replay',
      '--aggregate',
      'Order#replay-range',
      '--from-sequence',
      '2',
      '--to-sequence',
      '3',
      '--send-to',
      'queues',
    );
    const { fifo, bus } = await delivered();

    // Assert
    expect(run.code).toBe(EXIT.ok);
    expect(run.out).toContain(`destinations: ${ORDERED_QUEUES}.`);
    expect(bodies(fifo).map((body) => body.sequence)).toEqual([2, 3]);
    expect(bus).toEqual([]);
  });

  it('sends to the bus only with --send-to bus', async () => {
    // Arrange
    const events = await commitEvents(harness, 'Order#replay-bus', 2);

    // Act
    const run = await harness.run('replay', '--aggregate', 'Order#replay-bus', '--send-to', 'bus');
    const { fifo, bus } = await delivered();

    // Assert
    expect(run.code).toBe(EXIT.ok);
    expect(fifo).toEqual([]);
    expect(bus.map((event) => (event.detail as { id: string }).id).sort()).toEqual(
      events.map((e) => e.id).sort(),
    );
  });

  it('sends nothing new on a second replay within five minutes: the FIFO queue drops the same event ids', async () => {
    // Arrange
    await commitEvents(harness, 'Order#replay-twice', 3);
    await harness.run('replay', '--aggregate', 'Order#replay-twice', '--send-to', 'queues');
    const first = await drainQueue(harness.sqs.client, fifoUrl);

    // Act
    const again = await harness.run('replay', '--aggregate', 'Order#replay-twice', '--send-to', 'queues');

    // Assert
    expect(first).toHaveLength(3);
    expect(again.code).toBe(EXIT.ok);
    expect(await drainQueue(harness.sqs.client, fifoUrl)).toEqual([]);
  });

  it('steps over an item no target can carry: failure queue with the reason, a void marker in its place, exit 1', async () => {
    // Arrange: the second of three outbox items is damaged after the commit.
    const events = await commitEvents(harness, 'Order#replay-poison', 3);
    await harness.dynamo.client.send(
      new UpdateItemCommand({
        TableName: harness.output(STACK_OUTPUTS.tableName),
        Key: { pk: { S: 'Order#replay-poison' }, sk: { S: outboxSk(2) } },
        UpdateExpression: 'SET envelope = :broken',
        ExpressionAttributeValues: { ':broken': { S: '{"not":"an envelope"}' } },
      }),
    );

    // Act
    const run = await harness.run('replay', '--aggregate', 'Order#replay-poison');
    const { fifo, bus } = await delivered();
    const failures = await drainQueue(harness.sqs.client, harness.output('RelayFailureQueueUrl'));

    // Assert
    expect(run.code).toBe(EXIT.failure);
    expect(run.err).toContain('note: Order#replay-poison OUTBOX#000000000002 is not a valid event');
    expect(run.out).toContain(
      `Published 2 events to the event bus and ${ORDERED_QUEUES}; 1 item sent to the relay failure queue.`,
    );
    expect(run.out).toContain('Done, except the items in the relay failure queue');
    expect(
      fifo.map((message) => message.MessageAttributes?.[TRANSPORT_ATTRIBUTES.kind]?.StringValue),
    ).toEqual([undefined, VOID_MESSAGE_KIND, undefined]);
    expect(bodies(fifo).map((body) => body.sequence)).toEqual([1, 2, 3]);
    expect(bus.map((event) => (event.detail as { id: string }).id).sort()).toEqual(
      [events[0]?.id, events[2]?.id].sort(),
    );
    expect(failures.map((message) => message.MessageAttributes?.reason?.StringValue)).toEqual([
      'MalformedOutboxItem',
    ]);
    expect(bodies(failures)[0]).toMatchObject({ aggregateKey: 'Order#replay-poison', sequence: 2 });
  });

  it('lists the events and sends nothing on a dry run', async () => {
    // Arrange
    const events = await commitEvents(harness, 'Order#replay-dry', 2);

    // Act
    const run = await harness.run('replay', '--aggregate', 'Order#replay-dry', '--dry-run');
    const { fifo, bus } = await delivered();

    // Assert
    expect(run.code).toBe(EXIT.ok);
    for (const event of events) expect(run.out).toContain(event.id);
    expect(run.out).toContain('Dry run: nothing was sent (2 items would be).');
    expect(fifo).toEqual([]);
    expect(bus).toEqual([]);
  });

  it('says there is nothing to replay for an aggregate without outbox items', async () => {
    // Act
    const run = await harness.run('replay', '--aggregate', 'Order#never-written');

    // Assert
    expect(run.code).toBe(EXIT.ok);
    expect(run.out).toContain('Nothing to replay.');
  });
});

describe('replay --since --until', () => {
  it('scans the time range, and asks for --yes before replaying more than 100 events', async () => {
    // Arrange: 101 events committed on 2001-01-01 (two transactions), one the day after.
    const time = new Date('2001-01-01T10:00:00Z');
    await commitEvents(harness, 'Order#bulk-2001', 60, { time });
    await commitEvents(harness, 'Order#bulk-2001', 41, { time, after: 60 });
    await commitEvents(harness, 'Order#bulk-2001-late', 1, { time: new Date('2001-01-02T00:00:00Z') });
    const range = [
      '--since',
      '2001-01-01T00:00:00Z',
      '--until',
      '2001-01-02T00:00:00Z',
      '--send-to',
      'queues',
    ];

    // Act
    const refused = await harness.run('replay', ...range);
    const sentBeforeYes = await drainQueue(harness.sqs.client, fifoUrl);
    const confirmed = await harness.run('replay', ...range, '--yes');

    // Assert
    expect(refused.code).toBe(EXIT.failure);
    expect(refused.out).toContain(
      'Read 101 outbox items (committed in [2001-01-01T00:00:00.000Z, 2001-01-02T00:00:00.000Z), by a table scan)',
    );
    expect(refused.err).toContain('error: 101 events match, more than 100');
    expect(refused.err).toContain('rerun with --yes to go ahead');
    expect(sentBeforeYes).toEqual([]);
    expect(confirmed.code).toBe(EXIT.ok);
    const fifo = await drainQueue(harness.sqs.client, fifoUrl);
    expect(new Set(fifo.map((message) => message.Attributes?.MessageGroupId))).toEqual(
      new Set(['Order#bulk-2001']),
    );
    expect(bodies(fifo).map((body) => body.sequence)).toEqual(Array.from({ length: 101 }, (_, i) => i + 1));
  });
});

describe('archive-replay', () => {
  it("replays the archived events of the range to the bus's rules, marked with replay-name", async () => {
    // Arrange: three events a second apart, published to the bus (and so archived).
    const events = [];
    for (const sequence of [1, 2, 3]) {
      const time = new Date(Date.parse('2002-02-02T10:00:00Z') + (sequence - 1) * 1000);
      events.push(...(await commitEvents(harness, 'Order#archived', 1, { time, after: sequence - 1 })));
    }
    expect((await harness.run('replay', '--aggregate', 'Order#archived', '--send-to', 'bus')).code).toBe(
      EXIT.ok,
    );
    await delivered();

    // Act
    const run = await harness.run(
      'archive-replay',
      '--since',
      '2002-02-02T10:00:01Z',
      '--until',
      '2002-02-02T11:00:00Z',
      '--name',
      'test-replay-2002',
    );
    const { fifo, bus } = await delivered();

    // Assert
    expect(run.code).toBe(EXIT.ok);
    expect(run.out).toContain(
      `Replay test-replay-2002: events of 2002-02-02T10:00:01.000Z to 2002-02-02T11:00:00.000Z from archive ${harness.output(STACK_OUTPUTS.eventArchiveName)}`,
    );
    expect(run.out).toContain('Done: replay test-replay-2002 completed.');
    expect(bus.map((event) => (event.detail as { id: string }).id).sort()).toEqual(
      events
        .slice(1)
        .map((e) => e.id)
        .sort(),
    );
    expect(bus.every((event) => event['replay-name'] === 'test-replay-2002')).toBe(true);
    expect(fifo).toEqual([]);
  });

  it('refuses a replay name that is taken, exit 2', async () => {
    // Arrange
    const range = [
      '--since',
      '2003-01-01T00:00:00Z',
      '--until',
      '2003-01-02T00:00:00Z',
      '--name',
      'taken-name',
    ];
    expect((await harness.run('archive-replay', ...range)).code).toBe(EXIT.ok);

    // Act
    const run = await harness.run('archive-replay', ...range);

    // Assert
    expect(run.code).toBe(EXIT.usage);
    expect(run.err).toContain('a replay named taken-name already exists: choose another --name');
  });

  it('names the archive that does not exist, exit 1', async () => {
    // Act
    const run = await harness.run(
      'archive-replay',
      '--since',
      '2003-01-01T00:00:00Z',
      '--until',
      '2003-01-02T00:00:00Z',
      '--archive',
      'no-such-archive',
    );

    // Assert
    expect(run.code).toBe(EXIT.failure);
    expect(run.err).toContain('archive no-such-archive does not exist');
    expect(run.err).toContain('Next: check --archive, or the EventArchiveName output.');
  });
});

/**
 * `npm run outbox` commands against the real local engines: DynamoDB Local with the stack's
 * tables (and its PendingIndex), the SQS emulator with the stack's queues, the EventBridge
 * emulator with the stack's bus, rules and an archive.
 */
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { outboxSk, PENDING } from '../../../functions/shared/outbox-item';
import { STACK_OUTPUTS } from '../../../lib/stack-outputs';
import { EXIT } from '../../../tools/outbox-cli/cli-io';
import type { StatusReport } from '../../../tools/outbox-cli/commands/status';
import { type CliHarness, drainQueue, startCliHarness, writeOutboxEvents } from './cli-harness';

let harness: CliHarness;
let tableName: string;

beforeAll(async () => {
  harness = await startCliHarness();
  tableName = output(STACK_OUTPUTS.tableName);
});

afterAll(async () => {
  await harness?.stop();
});

function output(key: string): string {
  const value = harness.outputs[key];
  if (value === undefined) throw new Error(`the harness outputs have no ${key}`);
  return value;
}

function bodies(messages: Array<{ Body?: string }>): Array<Record<string, unknown>> {
  return messages.map((message) => JSON.parse(message.Body ?? '{}'));
}

async function sendToQueue(queueUrl: string, body: string, extra: Record<string, unknown> = {}) {
  return harness.sqs.client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body, ...extra }));
}

const minutesAgo = (minutes: number) => new Date(Date.now() - minutes * 60_000);

describe('status', () => {
  it('exits 0 and says so when nothing is pending and every dead-letter queue is empty', async () => {
    // Act
    const run = await harness.run('status');

    // Assert
    expect(run.code).toBe(EXIT.ok);
    expect(run.out).toContain('none: every committed event is published');
    expect(run.out).toContain('OK: nothing overdue, every dead-letter queue is empty.');
  });

  it('reports the oldest unpublished event, the overdue count and every dead-letter queue depth, and exits 1', async () => {
    // Arrange
    await writeOutboxEvents(harness.dynamo.client, tableName, 'Order#status-old', 2, {
      firstTime: minutesAgo(20),
    });
    await writeOutboxEvents(harness.dynamo.client, tableName, 'Order#status-new', 1, {
      firstTime: new Date(),
    });
    await writeOutboxEvents(harness.dynamo.client, tableName, 'Order#status-done', 3, {
      firstTime: minutesAgo(60),
      pending: false,
    });
    const dlq = output('OrderProjectionDeadLetterQueueUrl');
    for (const n of [1, 2])
      await sendToQueue(dlq, `{"n":${n}}`, { MessageGroupId: 'g', MessageDeduplicationId: `s-${n}` });

    // Act
    const text = await harness.run('status');
    const json = await harness.run('status', '--json', '--older-than', '10');

    // Assert
    expect(text.code).toBe(EXIT.failure);
    expect(text.out).toMatch(
      /oldest unpublished\s+Order#status-old OUTBOX#000000000001, pending since .* \(20 min \d+ s ago\)/,
    );
    expect(text.out).toMatch(/pending > 5 min\s+2 events/);
    expect(text.out).toMatch(/OrderProjectionDeadLetterQueueUrl\s+2 visible\s+0 in flight/);
    expect(text.out).toMatch(/RelayFailureQueueUrl\s+0 visible/);
    expect(text.out).toContain('redrive --queue OrderProjectionDeadLetterQueueUrl');
    const report = JSON.parse(json.out) as StatusReport;
    expect(report).toMatchObject({
      oldestUnpublished: { pk: 'Order#status-old', sk: outboxSk(1) },
      overdue: { olderThanMinutes: 10, count: 2 },
      healthy: false,
    });
    expect(report.queues.map((queue) => queue.key)).toEqual([
      'OrderActivityDeadLetterQueueUrl',
      'OrderActivityTargetDeadLetterQueueUrl',
      'OrderProjectionDeadLetterQueueUrl',
      'RelayFailureQueueUrl',
    ]);

    // Cleanup: later tests start from empty dead-letter queues and no pending events.
    await drainQueue(harness.sqs.client, dlq);
    for (const aggregate of ['Order#status-old', 'Order#status-new']) {
      expect((await harness.run('replay', '--aggregate', aggregate)).code).toBe(EXIT.ok);
    }
    await Promise.all(
      ['OrderProjectionQueueUrl', 'OrderActivityQueueUrl'].map(async (key) => {
        await harness.bus.waitForIdle();
        await drainQueue(harness.sqs.client, output(key));
      }),
    );
  });
});

describe('replay', () => {
  it('publishes an aggregate to the ordered FIFO queue in sequence order, grouped by aggregate, deduplicated by event id', async () => {
    // Arrange
    const ids = await writeOutboxEvents(harness.dynamo.client, tableName, 'Order#replay-1', 5, {
      firstTime: minutesAgo(30),
    });
    await writeOutboxEvents(harness.dynamo.client, tableName, 'Order#replay-other', 2, {
      firstTime: minutesAgo(30),
    });

    // Act
    const run = await harness.run('replay', '--aggregate', 'Order#replay-1');
    await harness.bus.waitForIdle();

    // Assert
    expect(run.code).toBe(EXIT.ok);
    expect(run.out).toContain('Done: every destination confirmed all 5 events.');
    const fifo = await drainQueue(harness.sqs.client, output('OrderProjectionQueueUrl'));
    expect(bodies(fifo).map((body) => body.sequence)).toEqual([1, 2, 3, 4, 5]);
    expect(fifo.map((message) => message.Attributes?.MessageGroupId)).toEqual(
      Array(5).fill('Order#replay-1'),
    );
    expect(fifo.map((message) => message.Attributes?.MessageDeduplicationId)).toEqual(ids);
    const fromBus = bodies(await drainQueue(harness.sqs.client, output('OrderActivityQueueUrl')));
    expect(fromBus.map((event) => (event.detail as { id: string }).id).sort()).toEqual([...ids].sort());
  });

  it('clears the pending marks of the events every destination confirmed', async () => {
    // Arrange
    await writeOutboxEvents(harness.dynamo.client, tableName, 'Order#replay-marks', 2, {
      firstTime: minutesAgo(30),
    });

    // Act
    const run = await harness.run('replay', '--aggregate', 'Order#replay-marks');
    await harness.bus.waitForIdle();

    // Assert
    expect(run.out).toContain('Cleared the pending mark of 2 events.');
    const { Item } = await harness.dynamo.client.send(
      new GetItemCommand({
        TableName: tableName,
        Key: { pk: { S: 'Order#replay-marks' }, sk: { S: outboxSk(1) } },
      }),
    );
    expect(Item?.[PENDING.shardAttribute]).toBeUndefined();
    expect(Item?.[PENDING.sinceAttribute]).toBeUndefined();
    await Promise.all(
      ['OrderProjectionQueueUrl', 'OrderActivityQueueUrl'].map((key) =>
        drainQueue(harness.sqs.client, output(key)),
      ),
    );
  });

  it('replays only the sequence range asked for', async () => {
    // Arrange
    await writeOutboxEvents(harness.dynamo.client, tableName, 'Order#replay-range', 5, {
      firstTime: minutesAgo(30),
    });

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

    // Assert
    expect(run.code).toBe(EXIT.ok);
    const fifo = await drainQueue(harness.sqs.client, output('OrderProjectionQueueUrl'));
    expect(bodies(fifo).map((body) => body.sequence)).toEqual([2, 3]);
  });

  it('sends nothing on a second replay within five minutes: FIFO deduplication drops the same event ids', async () => {
    // Arrange
    await writeOutboxEvents(harness.dynamo.client, tableName, 'Order#replay-twice', 3, {
      firstTime: minutesAgo(30),
    });
    await harness.run('replay', '--aggregate', 'Order#replay-twice', '--send-to', 'queues');
    const first = await drainQueue(harness.sqs.client, output('OrderProjectionQueueUrl'));

    // Act
    const again = await harness.run('replay', '--aggregate', 'Order#replay-twice', '--send-to', 'queues');

    // Assert
    expect(first).toHaveLength(3);
    expect(again.code).toBe(EXIT.ok);
    expect(await drainQueue(harness.sqs.client, output('OrderProjectionQueueUrl'))).toEqual([]);
  });

  it('lists the events and sends nothing on a dry run', async () => {
    // Arrange
    const ids = await writeOutboxEvents(harness.dynamo.client, tableName, 'Order#replay-dry', 2, {
      firstTime: minutesAgo(30),
    });

    // Act
    const run = await harness.run('replay', '--aggregate', 'Order#replay-dry', '--dry-run');
    await harness.bus.waitForIdle();

    // Assert
    expect(run.code).toBe(EXIT.ok);
    for (const id of ids) expect(run.out).toContain(id);
    expect(run.out).toContain('Dry run: nothing was sent (2 events would be).');
    expect(await drainQueue(harness.sqs.client, output('OrderProjectionQueueUrl'))).toEqual([]);
    expect(await drainQueue(harness.sqs.client, output('OrderActivityQueueUrl'))).toEqual([]);
  });

  it('scans a time range, and asks for --yes before replaying more than 100 events', async () => {
    // Arrange
    await writeOutboxEvents(harness.dynamo.client, tableName, 'Order#bulk-2001', 101, {
      firstTime: new Date('2001-01-01T00:00:00Z'),
    });
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
    const sentBeforeYes = await drainQueue(harness.sqs.client, output('OrderProjectionQueueUrl'));
    const confirmed = await harness.run('replay', ...range, '--yes');

    // Assert
    expect(refused.code).toBe(EXIT.failure);
    expect(refused.out).toMatch(/Scanned \d+ items of .*: 101 events of 1 aggregate/);
    expect(refused.err).toContain('101 events match, more than 100');
    expect(refused.err).toContain('rerun with --yes');
    expect(sentBeforeYes).toEqual([]);
    expect(confirmed.code).toBe(EXIT.ok);
    const fifo = await drainQueue(harness.sqs.client, output('OrderProjectionQueueUrl'));
    expect(bodies(fifo).map((body) => body.sequence)).toEqual(Array.from({ length: 101 }, (_, i) => i + 1));
  });

  it('says there is nothing to replay for an aggregate without outbox items', async () => {
    // Act
    const run = await harness.run('replay', '--aggregate', 'Order#never-written');

    // Assert
    expect(run.code).toBe(EXIT.ok);
    expect(run.out).toContain('Nothing to replay.');
  });
});

describe('redrive', () => {
  it('moves FIFO dead-letter messages back in order, keeping group and deduplication ids and attributes, when StartMessageMoveTask is unavailable', async () => {
    // Arrange
    const dlq = output('OrderProjectionDeadLetterQueueUrl');
    const sent: Array<{ group: string; n: number }> = [];
    for (const [group, n] of [
      ['Order#a', 1],
      ['Order#b', 1],
      ['Order#a', 2],
      ['Order#a', 3],
      ['Order#b', 2],
    ] as const) {
      sent.push({ group, n });
      await sendToQueue(dlq, JSON.stringify({ group, n }), {
        MessageGroupId: group,
        MessageDeduplicationId: `redrive-${group}-${n}`,
        MessageAttributes: { reason: { DataType: 'String', StringValue: 'UnknownEventType' } },
      });
    }

    // Act
    const run = await harness.run('redrive', '--queue', 'OrderProjectionDeadLetterQueueUrl');

    // Assert
    expect(run.code).toBe(EXIT.ok);
    expect(run.out).toContain('StartMessageMoveTask is not available here (InvalidAction');
    expect(run.out).toContain(
      'Moved 5 messages to OrderProjectionQueueUrl (message group and deduplication ids kept).',
    );
    expect(await drainQueue(harness.sqs.client, dlq)).toEqual([]);
    const moved = await drainQueue(harness.sqs.client, output('OrderProjectionQueueUrl'));
    const byGroup = (group: string) =>
      moved
        .filter((message) => message.Attributes?.MessageGroupId === group)
        .map((message) => JSON.parse(message.Body ?? '{}').n);
    expect(byGroup('Order#a')).toEqual([1, 2, 3]);
    expect(byGroup('Order#b')).toEqual([1, 2]);
    expect(moved.map((message) => message.Attributes?.MessageDeduplicationId).sort()).toEqual(
      sent.map(({ group, n }) => `redrive-${group}-${n}`).sort(),
    );
    expect(
      moved.every((message) => message.MessageAttributes?.reason?.StringValue === 'UnknownEventType'),
    ).toBe(true);
  });

  it("moves the EventBridge target dead-letter queue's events to the consumer queue", async () => {
    // Arrange
    const targetDlq = output('OrderActivityTargetDeadLetterQueueUrl');
    await sendToQueue(targetDlq, '{"detail-type":"OrderPlaced","detail":{}}', {
      MessageAttributes: { ERROR_CODE: { DataType: 'String', StringValue: 'NO_PERMISSIONS' } },
    });

    // Act
    const run = await harness.run(
      'redrive',
      '--queue',
      'OrderActivityTargetDeadLetterQueueUrl',
      '--method',
      'copy',
    );

    // Assert
    expect(run.code).toBe(EXIT.ok);
    expect(run.out).toContain('Redrive OrderActivityTargetDeadLetterQueueUrl → OrderActivityQueueUrl');
    const moved = await drainQueue(harness.sqs.client, output('OrderActivityQueueUrl'));
    expect(moved.map((message) => message.MessageAttributes?.ERROR_CODE?.StringValue)).toEqual([
      'NO_PERMISSIONS',
    ]);
  });

  it('moves no more than --max-messages', async () => {
    // Arrange
    const dlq = output('OrderActivityDeadLetterQueueUrl');
    for (const n of [1, 2, 3]) await sendToQueue(dlq, `{"n":${n}}`);

    // Act
    const run = await harness.run(
      'redrive',
      '--queue',
      'OrderActivityDeadLetterQueueUrl',
      '--max-messages',
      '1',
    );

    // Assert
    expect(run.code).toBe(EXIT.ok);
    expect(run.out).toContain('Moved 1 message to OrderActivityQueueUrl.');
    expect(await drainQueue(harness.sqs.client, output('OrderActivityQueueUrl'))).toHaveLength(1);
    expect(await drainQueue(harness.sqs.client, dlq)).toHaveLength(2);
  });

  it('leaves a FIFO message in the dead-letter queue when the source queue drops it as a duplicate, and exits 1', async () => {
    // Arrange: the consumer kit dead-letters a message with its original deduplication id and id.
    const source = output('OrderProjectionQueueUrl');
    const dlq = output('OrderProjectionDeadLetterQueueUrl');
    const original = await sendToQueue(source, '{"n":1}', {
      MessageGroupId: 'Order#dup',
      MessageDeduplicationId: 'dup-1',
    });
    await drainQueue(harness.sqs.client, source);
    await sendToQueue(dlq, '{"n":1}', {
      MessageGroupId: 'Order#dup',
      MessageDeduplicationId: 'dup-1',
      MessageAttributes: { sourceMessageId: { DataType: 'String', StringValue: original.MessageId ?? '' } },
    });

    // Act
    const run = await harness.run('redrive', '--queue', 'OrderProjectionDeadLetterQueueUrl');

    // Assert
    expect(run.code).toBe(EXIT.failure);
    expect(run.err).toContain('dropped it as a duplicate');
    expect(run.out).toContain('1 message stayed in OrderProjectionDeadLetterQueueUrl');
    expect(await drainQueue(harness.sqs.client, source)).toEqual([]);
    expect(await drainQueue(harness.sqs.client, dlq)).toHaveLength(1);
  });

  it('refuses the relay failure queue and points at replay', async () => {
    // Act
    const run = await harness.run('redrive', '--queue', 'RelayFailureQueueUrl');

    // Assert
    expect(run.code).toBe(EXIT.failure);
    expect(run.err).toContain('cannot redrive RelayFailureQueueUrl');
    expect(run.err).toContain('`replay`');
  });

  it('says so when the dead-letter queue is empty', async () => {
    // Act
    const run = await harness.run('redrive', '--queue', 'OrderActivityDeadLetterQueueUrl');

    // Assert
    expect(run.code).toBe(EXIT.ok);
    expect(run.out).toContain('Nothing to redrive: the queue is empty.');
  });
});

describe('archive-replay', () => {
  it('replays the archived events of the range through the bus rules, marked with replay-name', async () => {
    // Arrange: events published to the bus (and archived) with event times in 2002.
    const ids = await writeOutboxEvents(harness.dynamo.client, tableName, 'Order#archived', 3, {
      firstTime: new Date('2002-02-02T10:00:00Z'),
    });
    await harness.run('replay', '--aggregate', 'Order#archived', '--send-to', 'bus');
    await harness.bus.waitForIdle();
    await drainQueue(harness.sqs.client, output('OrderActivityQueueUrl'));

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

    // Assert
    expect(run.code).toBe(EXIT.ok);
    expect(run.out).toContain(
      'Replay test-replay-2002: events of 2002-02-02T10:00:01.000Z to 2002-02-02T11:00:00.000Z',
    );
    expect(run.out).toContain('Done: replay test-replay-2002 completed.');
    const replayed = bodies(await drainQueue(harness.sqs.client, output('OrderActivityQueueUrl')));
    expect(replayed.map((event) => (event.detail as { id: string }).id).sort()).toEqual(ids.slice(1).sort());
    expect(replayed.every((event) => event['replay-name'] === 'test-replay-2002')).toBe(true);
  });

  it('refuses a replay name that is taken', async () => {
    // Arrange
    const range = [
      '--since',
      '2003-01-01T00:00:00Z',
      '--until',
      '2003-01-02T00:00:00Z',
      '--name',
      'taken-name',
    ];
    await harness.run('archive-replay', ...range);

    // Act
    const run = await harness.run('archive-replay', ...range);

    // Assert
    expect(run.code).toBe(EXIT.usage);
    expect(run.err).toContain('a replay named taken-name already exists: choose another --name');
  });

  it('names the archive that does not exist', async () => {
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
  });
});

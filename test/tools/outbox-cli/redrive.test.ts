/**
 * `redrive` against the real local engines: the stack's dead-letter queues on fauxqs (which, like
 * SQS, drops a FIFO deduplication id it saw in the last 5 minutes and has no message move tasks),
 * and the real consumer kit dead-lettering an event and applying it once it is back.
 */
import { type MessageAttributeValue, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PermanentFailure } from '../../../functions/consumer-kit';
import { EXIT } from '../../../tools/outbox-cli/cli-io';
import { deadLetterQueues } from '../../../tools/outbox-cli/stack-outputs';
import {
  bodies,
  type CliHarness,
  commitEvents,
  drainQueue,
  orderedConsumer,
  startCliHarness,
} from './cli-harness';

let harness: CliHarness;
let fifoUrl: string;
let fifoDlqUrl: string;
let standardUrl: string;
let standardDlqUrl: string;

beforeAll(async () => {
  harness = await startCliHarness();
  fifoUrl = harness.output('OrderProjectionQueueUrl');
  fifoDlqUrl = harness.output('OrderProjectionDeadLetterQueueUrl');
  standardUrl = harness.output('OrderActivityQueueUrl');
  standardDlqUrl = harness.output('OrderActivityDeadLetterQueueUrl');
});

afterAll(async () => {
  await harness?.stop();
});

// Each test starts with empty queues.
afterEach(async () => {
  for (const key of [
    'OrderProjectionQueueUrl',
    'OrderProjectionDeadLetterQueueUrl',
    'OrderActivityQueueUrl',
    'OrderActivityDeadLetterQueueUrl',
    'OrderActivityTargetDeadLetterQueueUrl',
  ]) {
    await drainQueue(harness.sqs.client, harness.output(key));
  }
});

function send(
  queueUrl: string,
  body: string,
  extra: { group?: string; deduplicationId?: string; attributes?: Record<string, string> } = {},
) {
  const attributes: Record<string, MessageAttributeValue> = Object.fromEntries(
    Object.entries(extra.attributes ?? {}).map(([name, value]) => [
      name,
      { DataType: 'String', StringValue: value },
    ]),
  );
  return harness.sqs.client.send(
    new SendMessageCommand({
      QueueUrl: queueUrl,
      MessageBody: body,
      ...(Object.keys(attributes).length > 0 ? { MessageAttributes: attributes } : {}),
      ...(extra.group ? { MessageGroupId: extra.group } : {}),
      ...(extra.deduplicationId ? { MessageDeduplicationId: extra.deduplicationId } : {}),
    }),
  );
}

/**
 * Makes the CLI send each copy with the message's original deduplication id, as a message move
 * task does: the destination then drops what it saw in the last 5 minutes.
 */
function keepOriginalDeduplicationIds(client: SQSClient): void {
  client.middlewareStack.add(
    (next) => async (args) => {
      const input = args.input as { MessageDeduplicationId?: string };
      if (input.MessageDeduplicationId === undefined) return next(args);
      const original = input.MessageDeduplicationId.replace(/~redrive~[^~]*$/, '');
      return next({ ...args, input: { ...input, MessageDeduplicationId: original } as typeof args.input });
    },
    { step: 'initialize', name: 'keep-original-deduplication-ids' },
  );
}

describe('redrive of a FIFO dead-letter queue', () => {
  it('puts back an event the consumer dead-lettered moments ago, with a new deduplication id, and the consumer applies it', async () => {
    // Arrange: the relay delivers two events; the consumer dead-letters the first (a bug, since
    // fixed) and parks the second behind it.
    const events = await commitEvents(harness, 'Order#rd-1', 2);
    expect((await harness.run('replay', '--aggregate', 'Order#rd-1', '--send-to', 'queues')).code).toBe(
      EXIT.ok,
    );
    const failing = orderedConsumer(harness, 'order-projection', (event) =>
      event.sequence === 1 ? new PermanentFailure('Bug', 'cannot apply yet') : undefined,
    );
    await failing.deliverFrom(fifoUrl);
    const fixed = orderedConsumer(harness, 'order-projection');

    // Act
    const run = await harness.run('redrive', '--queue', 'OrderProjectionDeadLetterQueueUrl');
    const delivery = await fixed.deliverFrom(fifoUrl);

    // Assert
    expect(failing.applied.size).toBe(0);
    expect(run.code).toBe(EXIT.ok);
    expect(run.out).toContain(
      'Redrive OrderProjectionDeadLetterQueueUrl → OrderProjectionQueueUrl (1 visible, 0 in flight)',
    );
    expect(run.out).toContain(
      'Moved 1 message to OrderProjectionQueueUrl (message groups kept, new deduplication ids).',
    );
    const [moved, ...more] = delivery.messages;
    expect(more).toEqual([]);
    expect(JSON.parse(moved?.Body ?? '{}')).toEqual(events[0]);
    expect(moved?.Attributes?.MessageGroupId).toBe('Order#rd-1');
    expect(moved?.Attributes?.MessageDeduplicationId).toMatch(new RegExp(`^${events[0]?.id}~redrive~`));
    expect(moved?.MessageAttributes?.reason?.StringValue).toBe('Bug');
    expect(delivery.batchItemFailures).toEqual([]);
    expect(fixed.applied.get('Order#rd-1')).toEqual([1, 2]);
    expect(await drainQueue(harness.sqs.client, fifoDlqUrl)).toEqual([]);
  });

  it('keeps the order within each message group and every message attribute', async () => {
    // Arrange
    const sent = [
      ['Order#a', 1],
      ['Order#b', 1],
      ['Order#a', 2],
      ['Order#a', 3],
      ['Order#b', 2],
    ] as const;
    for (const [group, n] of sent) {
      await send(fifoDlqUrl, JSON.stringify({ group, n }), {
        group,
        deduplicationId: `rd-${group}-${n}`,
        attributes: { reason: 'UnknownEventType' },
      });
    }

    // Act
    const run = await harness.run('redrive', '--queue', 'OrderProjectionDeadLetterQueueUrl');

    // Assert
    expect(run.code).toBe(EXIT.ok);
    expect(run.out).toContain(
      'Moved 5 messages to OrderProjectionQueueUrl (message groups kept, new deduplication ids).',
    );
    // FIFO destinations are copied from the start: no move task is tried.
    expect(run.out).not.toContain('StartMessageMoveTask');
    const moved = await drainQueue(harness.sqs.client, fifoUrl);
    const byGroup = (group: string) =>
      moved
        .filter((message) => message.Attributes?.MessageGroupId === group)
        .map((message) => JSON.parse(message.Body ?? '{}').n);
    expect(byGroup('Order#a')).toEqual([1, 2, 3]);
    expect(byGroup('Order#b')).toEqual([1, 2]);
    const deduplicationIds = moved.map((message) => message.Attributes?.MessageDeduplicationId ?? '');
    expect(new Set(deduplicationIds).size).toBe(5);
    for (const [group, n] of sent) {
      expect(deduplicationIds.filter((id) => id.startsWith(`rd-${group}-${n}~redrive~`))).toHaveLength(1);
    }
    expect(
      moved.every((message) => message.MessageAttributes?.reason?.StringValue === 'UnknownEventType'),
    ).toBe(true);
    expect(await drainQueue(harness.sqs.client, fifoDlqUrl)).toEqual([]);
  });

  it('checks arrival: a copy the destination drops as a duplicate stays, with the rest of its group, and exits 1', async () => {
    // Arrange: two messages of one aggregate the destination delivered moments ago, then
    // dead-lettered as the kit does (same deduplication id, the source message id recorded).
    for (const n of [1, 2]) {
      const original = await send(fifoUrl, `{"n":${n}}`, { group: 'Order#dup', deduplicationId: `dup-${n}` });
      await drainQueue(harness.sqs.client, fifoUrl);
      await send(fifoDlqUrl, `{"n":${n}}`, {
        group: 'Order#dup',
        deduplicationId: `dup-${n}`,
        attributes: { sourceMessageId: original.MessageId ?? '' },
      });
    }

    // Act: the copies go out with the deduplication ids the destination saw.
    const run = await harness.runWith(
      { sqs: keepOriginalDeduplicationIds },
      'redrive',
      '--queue',
      'OrderProjectionDeadLetterQueueUrl',
    );

    // Assert
    expect(run.code).toBe(EXIT.failure);
    expect(run.err).toMatch(
      /left in OrderProjectionDeadLetterQueueUrl: message \S+ \(group Order#dup\): the destination dropped it as a duplicate/,
    );
    expect(run.out).toContain('Moved 0 messages to OrderProjectionQueueUrl');
    // The second message is never received while the first is held: it stays behind it.
    expect(run.out).toContain('1 message stayed in OrderProjectionDeadLetterQueueUrl (reasons above).');
    expect(run.out).toContain('OrderProjectionDeadLetterQueueUrl still holds 2 messages.');
    expect(run.out).toContain('Next: run the same redrive again in a few minutes');
    expect(await drainQueue(harness.sqs.client, fifoUrl)).toEqual([]);
    expect(bodies(await drainQueue(harness.sqs.client, fifoDlqUrl))).toEqual([{ n: 1 }, { n: 2 }]);
  });

  it('refuses --method move-task, which keeps deduplication ids, exit 2, and moves nothing', async () => {
    // Arrange
    await send(fifoDlqUrl, '{"n":1}', { group: 'Order#mt', deduplicationId: 'mt-1' });

    // Act
    const run = await harness.run(
      'redrive',
      '--queue',
      'OrderProjectionDeadLetterQueueUrl',
      '--method',
      'move-task',
    );

    // Assert
    expect(run.code).toBe(EXIT.usage);
    expect(run.err).toContain(
      'error: a move task keeps deduplication ids, and a FIFO destination drops one it saw in the last 5 minutes: use --method copy (or auto)',
    );
    expect(await drainQueue(harness.sqs.client, fifoUrl)).toEqual([]);
    expect(await drainQueue(harness.sqs.client, fifoDlqUrl)).toHaveLength(1);
  });

  it('refuses a standard destination for a FIFO dead-letter queue, exit 1', async () => {
    // Arrange
    await send(fifoDlqUrl, '{"n":1}', { group: 'Order#to', deduplicationId: 'to-1' });

    // Act
    const run = await harness.run(
      'redrive',
      '--queue',
      'OrderProjectionDeadLetterQueueUrl',
      '--to',
      'OrderActivityQueueUrl',
    );

    // Assert
    expect(run.code).toBe(EXIT.failure);
    expect(run.err).toContain(
      'error: OrderProjectionDeadLetterQueueUrl and OrderActivityQueueUrl must both be FIFO or both standard queues',
    );
    expect(run.err).toContain('Next: choose a destination of the same type with --to.');
  });
});

describe('redrive of a standard dead-letter queue', () => {
  it('copies the messages back when StartMessageMoveTask is not available, with their attributes', async () => {
    // Arrange
    for (const n of [1, 2]) await send(standardDlqUrl, `{"n":${n}}`, { attributes: { reason: 'Timeout' } });

    // Act
    const run = await harness.run('redrive', '--queue', 'OrderActivityDeadLetterQueueUrl');

    // Assert
    expect(run.code).toBe(EXIT.ok);
    expect(run.out).toContain(
      'Redrive OrderActivityDeadLetterQueueUrl → OrderActivityQueueUrl (2 visible, 0 in flight)',
    );
    expect(run.out).toMatch(/StartMessageMoveTask is not available here \(\S*InvalidAction/);
    expect(run.out).toContain('Moved 2 messages to OrderActivityQueueUrl.');
    const moved = await drainQueue(harness.sqs.client, standardUrl);
    expect(
      bodies(moved)
        .map((body) => body.n)
        .sort(),
    ).toEqual([1, 2]);
    expect(moved.map((message) => message.MessageAttributes?.reason?.StringValue)).toEqual([
      'Timeout',
      'Timeout',
    ]);
    expect(await drainQueue(harness.sqs.client, standardDlqUrl)).toEqual([]);
  });

  it('fails with --method move-task where no move task is available, exit 1, and moves nothing', async () => {
    // Arrange
    await send(standardDlqUrl, '{"n":1}');

    // Act
    const run = await harness.run(
      'redrive',
      '--queue',
      'OrderActivityDeadLetterQueueUrl',
      '--method',
      'move-task',
    );

    // Assert
    expect(run.code).toBe(EXIT.failure);
    expect(run.err).toMatch(/error: StartMessageMoveTask failed: \S*InvalidAction/);
    expect(run.err).toContain('Next: use --method copy (or auto) to move the messages one by one.');
    expect(await drainQueue(harness.sqs.client, standardUrl)).toEqual([]);
    expect(await drainQueue(harness.sqs.client, standardDlqUrl)).toHaveLength(1);
  });

  it("moves the EventBridge target dead-letter queue's events to the consumer queue", async () => {
    // Arrange
    await send(
      harness.output('OrderActivityTargetDeadLetterQueueUrl'),
      '{"detail-type":"OrderPlaced","detail":{}}',
      {
        attributes: { ERROR_CODE: 'NO_PERMISSIONS' },
      },
    );

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
    const moved = await drainQueue(harness.sqs.client, standardUrl);
    expect(moved.map((message) => message.MessageAttributes?.ERROR_CODE?.StringValue)).toEqual([
      'NO_PERMISSIONS',
    ]);
  });

  it('moves no more than --max-messages', async () => {
    // Arrange
    for (const n of [1, 2, 3]) await send(standardDlqUrl, `{"n":${n}}`);

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
    expect(await drainQueue(harness.sqs.client, standardUrl)).toHaveLength(1);
    expect(await drainQueue(harness.sqs.client, standardDlqUrl)).toHaveLength(2);
  });
});

describe('redrive refusals', () => {
  it('refuses the relay failure queue and points at replay and skip, exit 1', async () => {
    // Act
    const run = await harness.run('redrive', '--queue', 'RelayFailureQueueUrl');

    // Assert
    expect(run.code).toBe(EXIT.failure);
    expect(run.err).toContain('error: cannot redrive RelayFailureQueueUrl');
    expect(run.err).toContain('re-publish with `replay` (or step ordered consumers over them with `skip`)');
  });

  it('names the dead-letter queues when --queue is neither an output key nor a URL, exit 2', async () => {
    // Act
    const run = await harness.run('redrive', '--queue', 'OrderProjectionDlq');

    // Assert
    expect(run.code).toBe(EXIT.usage);
    expect(run.err).toContain(
      `error: --queue OrderProjectionDlq is neither a URL nor an output key (dead-letter queues: ${deadLetterQueues(
        harness.outputs,
      )
        .map((queue) => queue.key)
        .join(', ')})`,
    );
    expect(run.err).toContain('Run `npm run outbox -- redrive --help` for usage.');
  });

  it('says so when the dead-letter queue is empty, exit 0', async () => {
    // Act
    const run = await harness.run('redrive', '--queue', 'OrderActivityDeadLetterQueueUrl');

    // Assert
    expect(run.code).toBe(EXIT.ok);
    expect(run.out).toContain('Nothing to redrive: the queue is empty.');
  });
});

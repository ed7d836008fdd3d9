/**
 * `npm run outbox -- status` against the real local engines: relay lag from the heartbeat the
 * relay writes, the lost window and the failure bucket the sweeper writes (S3 on fauxqs), the
 * depth of every dead-letter and failure queue (fauxqs), events the consumer kit parked
 * (DynamoDB Local), and the exit codes of `EXIT`.
 */
import { DeleteItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { DeleteObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { PurgeQueueCommand, ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { registeredConsumers } from '../../../contract/consumers';
import { KEYS, RELAY_ITEMS } from '../../../contract/keys';
import { consumerOutputKey, STACK_OUTPUTS } from '../../../contract/stack-outputs';
import { DynamoDbHeartbeatStore } from '../../../functions/relay/aws-adapters';
import { DynamoDbRelayBookkeeping, S3FailedBatchStore } from '../../../functions/sweeper/aws-adapters';
import { EXIT } from '../../../tools/outbox-cli/cli-io';
import type { StatusReport } from '../../../tools/outbox-cli/commands/status';
import { type CliHarness, commitEvents, orderedConsumer, startCliHarness } from './cli-harness';

/** The clock every status run of this file reads. */
const NOW = Date.parse('2026-06-01T12:00:00.000Z');
const ago = (seconds: number) => new Date(NOW - seconds * 1000).toISOString();

/** Every dead-letter and failure queue's output key, from the registry: a scaffolded consumer's too. */
const DEAD_LETTER_KEYS = [
  STACK_OUTPUTS.relayFailureQueueUrl,
  ...registeredConsumers().flatMap((consumer) => [
    consumerOutputKey(consumer.name, 'deadLetterQueueUrl'),
    ...(consumer.kind === 'unordered' ? [consumerOutputKey(consumer.name, 'targetDeadLetterQueueUrl')] : []),
  ]),
];

let harness: CliHarness;
let tableName: string;
let bucket: string;

beforeAll(async () => {
  harness = await startCliHarness();
  tableName = harness.output(STACK_OUTPUTS.tableName);
  bucket = harness.output(STACK_OUTPUTS.failureBucketName);
});

afterAll(async () => {
  await harness?.stop();
});

// Each test starts from a pipeline with nothing to report.
afterEach(async () => {
  for (const pk of [RELAY_ITEMS.heartbeatPk, RELAY_ITEMS.lostWindowPk]) {
    await harness.dynamo.client.send(
      new DeleteItemCommand({ TableName: tableName, Key: { pk: { S: pk }, sk: { S: KEYS.relaySk } } }),
    );
  }
  for (const key of [...DEAD_LETTER_KEYS, 'OrderProjectionQueueUrl']) {
    await harness.sqs.client.send(new PurgeQueueCommand({ QueueUrl: harness.output(key) }));
  }
  const { Contents = [] } = await harness.s3.send(new ListObjectsV2Command({ Bucket: bucket }));
  for (const object of Contents)
    await harness.s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: object.Key }));
  const kitTable = harness.output(STACK_OUTPUTS.idempotencyTableName);
  const { Items = [] } = await harness.dynamo.client.send(new ScanCommand({ TableName: kitTable }));
  for (const { id } of Items) {
    if (id) await harness.dynamo.client.send(new DeleteItemCommand({ TableName: kitTable, Key: { id } }));
  }
});

/** `status` at {@link NOW}. */
function status(...argv: string[]) {
  return harness.runWith({ options: { now: () => NOW } }, 'status', ...argv);
}

async function statusJson(...argv: string[]): Promise<StatusReport> {
  const run = await status('--json', ...argv);
  return JSON.parse(run.out) as StatusReport;
}

/** The relay's own write when it reads a sweeper probe written at `writtenAt`. */
async function relaySawProbe(seq: number, writtenAt: string): Promise<void> {
  await new DynamoDbHeartbeatStore(harness.dynamo.client, tableName).probeSeen(seq, writtenAt);
}

describe('status of a pipeline with nothing to report', () => {
  it('exits 0 and lists every dead-letter and failure queue as empty', async () => {
    // Act
    const run = await status();
    const report = await statusJson();

    // Assert
    expect(run.code).toBe(EXIT.ok);
    expect(run.out).toMatch(/lag\s+no probe read yet/);
    expect(run.out).toMatch(/lost window\s+none/);
    expect(run.out).toMatch(/discarded batches\s+none waiting/);
    for (const key of DEAD_LETTER_KEYS)
      expect(run.out).toMatch(new RegExp(`${key}\\s+0 visible\\s+0 in flight`));
    expect(run.out).toContain(
      'OK: the relay keeps up, nothing waits for recovery, every dead-letter queue is empty.',
    );
    expect(run.out).not.toContain('Parked events');
    expect(report).toMatchObject({
      relayLagSeconds: null,
      lostWindow: null,
      unrecoveredBatches: { count: 0, oldest: null },
      parked: null,
      healthy: true,
    });
    expect(report.queues.map((queue) => queue.key)).toEqual(DEAD_LETTER_KEYS);
  });
});

describe('relay lag', () => {
  it('is the age of the newest probe the relay read, and exits 1 once it is over --max-lag', async () => {
    // Arrange: the relay last read a probe written 20 minutes ago.
    await relaySawProbe(7, ago(20 * 60));

    // Act
    const behind = await status();
    const tolerated = await status('--max-lag', '30');
    const report = await statusJson();

    // Assert
    expect(behind.code).toBe(EXIT.failure);
    expect(behind.out).toMatch(/lag\s+20 min 0 s/);
    expect(behind.out).toContain('Needs attention');
    expect(behind.out).toContain('- the relay is behind or stopped: "Relay lag"');
    expect(tolerated.code).toBe(EXIT.ok);
    expect(report).toMatchObject({ relayLagSeconds: 1200, healthy: false });
  });

  it('counts exactly --max-lag minutes as keeping up, and one second more as behind', async () => {
    // Arrange
    await relaySawProbe(1, ago(15 * 60));

    // Act
    const atLimit = await status();
    await relaySawProbe(2, ago(15 * 60 + 1));
    const stillAtLimit = await status();
    await relaySawProbe(3, ago(60));
    const recent = await status();

    // Assert: the lag is the age of the probe the heartbeat names, by the probe's own write time.
    expect(atLimit.code).toBe(EXIT.ok);
    expect(stillAtLimit.code).toBe(EXIT.failure);
    expect(stillAtLimit.out).toMatch(/lag\s+15 min 1 s/);
    expect(recent.code).toBe(EXIT.ok);
    expect(recent.out).toMatch(/lag\s+1 min 0 s/);
  });
});

describe('what the sweeper records', () => {
  it('reports an open lost window and exits 1', async () => {
    // Arrange
    await new DynamoDbRelayBookkeeping(harness.dynamo.client, tableName).saveLostWindow({
      from: ago(26 * 3600),
      openedAt: ago(3600),
    });

    // Act
    const run = await status();
    const report = await statusJson();

    // Assert
    expect(run.code).toBe(EXIT.failure);
    expect(run.out).toMatch(new RegExp(`lost window\\s+from ${ago(26 * 3600)} \\(still open\\)`));
    expect(run.out).toContain('- stream records may have expired unread: "Lost window"');
    expect(report.lostWindow).toEqual({ from: ago(26 * 3600), openedAt: ago(3600) });
  });

  it('counts the batches in the failure bucket, the oldest first, ignoring other objects, and exits 1', async () => {
    // Arrange: one batch the stream mapping discarded (Lambda's on-failure record), one the
    // sweeper keeps retrying since an hour ago, and an object that is neither.
    await harness.s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: 'aws/lambda/0f8e-relay/shardId-0001/2026/06/01/12/batch.json',
        Body: JSON.stringify({ payload: { Records: [] } }),
      }),
    );
    await new S3FailedBatchStore(harness.s3, bucket).keep({
      records: [],
      firstFailedAt: ago(3600),
      attempts: 2,
    });
    await harness.s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: 'notes/readme.txt', Body: 'not a batch' }),
    );

    // Act
    const run = await status();
    const report = await statusJson();

    // Assert
    expect(run.code).toBe(EXIT.failure);
    expect(run.out).toMatch(new RegExp(`discarded batches\\s+2 batches waiting, oldest failed ${ago(3600)}`));
    expect(run.out).toContain(
      '- discarded stream batches wait for the sweeper: "Unrecovered stream batches"',
    );
    expect(report.unrecoveredBatches).toEqual({ count: 2, oldest: ago(3600) });
  });
});

describe('dead-letter and failure queues', () => {
  it('shows visible and in-flight messages of each queue, what to run for each, and exits 1', async () => {
    // Arrange: two dead-lettered messages of one aggregate (one of them received: in flight), an
    // event EventBridge could not deliver, and an event the relay could not publish.
    const dlq = harness.output('OrderProjectionDeadLetterQueueUrl');
    for (const n of [1, 2]) {
      await harness.sqs.client.send(
        new SendMessageCommand({
          QueueUrl: dlq,
          MessageBody: `{"n":${n}}`,
          MessageGroupId: 'Order#o-1',
          MessageDeduplicationId: `status-${n}`,
        }),
      );
    }
    await harness.sqs.client.send(new ReceiveMessageCommand({ QueueUrl: dlq, MaxNumberOfMessages: 1 }));
    await harness.sqs.client.send(
      new SendMessageCommand({
        QueueUrl: harness.output('OrderActivityTargetDeadLetterQueueUrl'),
        MessageBody: '{}',
      }),
    );
    await harness.sqs.client.send(
      new SendMessageCommand({ QueueUrl: harness.output('RelayFailureQueueUrl'), MessageBody: '{}' }),
    );

    // Act
    const run = await status();
    const report = await statusJson();

    // Assert
    expect(run.code).toBe(EXIT.failure);
    expect(run.out).toMatch(/OrderProjectionDeadLetterQueueUrl\s+1 visible\s+1 in flight/);
    expect(run.out).toMatch(/OrderActivityTargetDeadLetterQueueUrl\s+1 visible\s+0 in flight/);
    expect(run.out).toMatch(/OrderActivityDeadLetterQueueUrl\s+0 visible\s+0 in flight/);
    expect(run.out).toContain(
      '- OrderProjectionDeadLetterQueueUrl holds 2 messages: "Dead-letter queue not empty", then `npm run outbox -- redrive --queue OrderProjectionDeadLetterQueueUrl ...`',
    );
    expect(run.out).toContain('redrive --queue OrderActivityTargetDeadLetterQueueUrl');
    expect(run.out).toContain('- RelayFailureQueueUrl holds 1 message: "Relay poison events"');
    expect(run.out).not.toContain('redrive --queue RelayFailureQueueUrl');
    expect(run.out).not.toContain('redrive --queue OrderActivityDeadLetterQueueUrl');
    expect(report.queues.find((queue) => queue.key === 'OrderProjectionDeadLetterQueueUrl')).toMatchObject({
      url: dlq,
      visible: 1,
      inFlight: 1,
    });
  });
});

describe('status --parked', () => {
  it('counts the events the ordered consumer parked for a missing predecessor, and exits 1', async () => {
    // Arrange: the consumer receives events 2 and 3 of an order whose event 1 never reached it,
    // so the kit parks both.
    await commitEvents(harness, 'Order#parked-1', 3);
    expect(
      (
        await harness.run(
          'replay',
          '--aggregate',
          'Order#parked-1',
          '--from-sequence',
          '2',
          '--send-to',
          'queues',
        )
      ).code,
    ).toBe(EXIT.ok);
    const consumer = orderedConsumer(harness, 'order-projection');
    const delivery = await consumer.deliverFrom(harness.output('OrderProjectionQueueUrl'));

    // Act
    const withParked = await status('--parked');
    const without = await status();
    const report = await statusJson('--parked');

    // Assert
    expect(delivery.messages).toHaveLength(2);
    expect(delivery.batchItemFailures).toEqual([]);
    expect(consumer.applied.size).toBe(0);
    expect(withParked.code).toBe(EXIT.failure);
    expect(withParked.out).toContain('Parked events (ordered consumers)');
    expect(withParked.out).toMatch(/order-projection\s+2 events/);
    expect(withParked.out).toContain('- order-projection has 2 parked events: "Events parked"');
    expect(without.code).toBe(EXIT.ok);
    expect(without.out).not.toContain('Parked events');
    // Every ordered consumer of the registry is counted; only the projection parked anything here.
    expect(report.parked).toEqual(
      Object.fromEntries(
        registeredConsumers()
          .filter((c) => c.kind === 'ordered')
          .map((c) => [c.name, c.name === 'order-projection' ? 2 : 0]),
      ),
    );
  });

  it('reports 0 parked events and exits 0 when the consumer parked nothing', async () => {
    // Act
    const run = await status('--parked');

    // Assert
    expect(run.code).toBe(EXIT.ok);
    expect(run.out).toMatch(/order-projection\s+0 events/);
  });
});

describe('status that cannot be read', () => {
  it('exits 1 and says what failed and what to do when the failure bucket does not exist', async () => {
    // Act
    const run = await harness.runWith(
      { options: { now: () => NOW }, outputs: { [STACK_OUTPUTS.failureBucketName]: 'no-such-bucket' } },
      'status',
    );

    // Assert
    expect(run.code).toBe(EXIT.failure);
    expect(run.err).toMatch(/^error: NoSuchBucket: /);
    expect(run.err).toContain('Next: ');
  });

  it('exits 1 naming the output it lacks', async () => {
    // Act
    const run = await harness.runWith({ outputs: { [STACK_OUTPUTS.failureBucketName]: '' } }, 'status');

    // Assert
    expect(run.code).toBe(EXIT.failure);
    expect(run.err).toContain('error: the stack outputs (test pipeline) have no FailureBucketName');
    expect(run.err).toContain('Next: check that the outputs belong to this pipeline');
  });

  it('exits 2 on a wrong command line, before reading anything', async () => {
    // Act
    const run = await status('--max-lag', '0');

    // Assert
    expect(run.code).toBe(EXIT.usage);
    expect(run.err).toContain("--max-lag must be a whole number from 1 to 10080 (given '0')");
    expect(run.err).toContain('Run `npm run outbox -- status --help` for usage.');
  });
});

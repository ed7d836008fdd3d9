import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import type { LocalAws } from 'local-aws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STACK_OUTPUTS } from '../../contract/stack-outputs';
import type { EventEnvelope } from '../../functions/shared/envelope';
import { OutboxWriter } from '../../functions/shared/outbox-writer';
import type { SweepResult } from '../../functions/sweeper/sweeper';
import { DeliveryTracker } from '../../local/demo/delivery-tracker';
import { startOutboxPipeline } from '../../local/pipeline';

const HOURS = 3_600_000;

/**
 * Recovery beyond the stream's retries: the relay is stopped for longer than its mapping's
 * maxRecordAge (6 h, emulated by moving the mapping's clock), so the mapping discards the records
 * to its on-failure destination, the S3 failure bucket, which keeps the records themselves. The
 * scheduled sweeper must re-publish them from there, in order, once, and find nothing left after.
 */
describe('the sweeper on the local runtime', () => {
  const tracker = new DeliveryTracker();
  let pipeline: LocalAws;
  let dynamodb: DynamoDBClient;
  let s3: S3Client;
  const committed: EventEnvelope[] = [];

  beforeAll(async () => {
    pipeline = await startOutboxPipeline({ observe: tracker.observe, scheduleIntervalMs: 0 });
    dynamodb = new DynamoDBClient({ ...pipeline.clientConfig, endpoint: pipeline.endpoints.dynamodb });
    s3 = new S3Client({ ...pipeline.clientConfig, endpoint: pipeline.endpoints.s3, forcePathStyle: true });
  });

  afterAll(async () => {
    dynamodb?.destroy();
    s3?.destroy();
    await pipeline?.stop();
  });

  async function bucketKeys(): Promise<string[]> {
    const { Contents = [] } = await s3.send(
      new ListObjectsV2Command({ Bucket: pipeline.outputs[STACK_OUTPUTS.failureBucketName] }),
    );
    return Contents.map((object) => object.Key ?? '');
  }

  it('re-publishes, in order and once, events whose stream records aged out while the relay was down', async () => {
    // Arrange: the relay is down while orders are written.
    const relayMapping = pipeline.streamMappings[0]?.mapping;
    if (!relayMapping) throw new Error('the stack has no stream mapping');
    await relayMapping.stop();
    const writer = new OutboxWriter({
      client: dynamodb,
      tableName: pipeline.outputs[STACK_OUTPUTS.tableName] ?? '',
      source: 'com.example.orders',
    });
    for (const id of ['lost-1', 'lost-2']) {
      const placed = await writer.commit({
        aggregateType: 'Order',
        aggregateId: id,
        expectedVersion: 0,
        state: { status: 'PLACED' },
        events: [
          {
            type: 'OrderPlaced',
            data: { customerId: 'c', lines: [{ sku: 'A', quantity: 1, unitPrice: 1 }], total: 1 },
          },
        ],
      });
      const confirmed = await writer.commit({
        aggregateType: 'Order',
        aggregateId: id,
        expectedVersion: 1,
        state: { status: 'CONFIRMED' },
        events: [{ type: 'OrderConfirmed', data: { total: 1 } }],
      });
      committed.push(...placed.events, ...confirmed.events);
    }

    // Act 1: seven hours pass; the relay comes back and its mapping discards the too-old records.
    pipeline.advanceStreamClock(7 * HOURS);
    await relayMapping.start();
    await pipeline.drain(30_000);
    const seenBeforeSweep = [...tracker.consumers.values()].reduce((n, c) => n + c.processed.size, 0);
    const discarded = await bucketKeys();

    // Act 2: the sweeper runs.
    const sweep = (await pipeline.runSchedule('Sweeper')) as SweepResult;
    await pipeline.drain(30_000);

    // Assert: nothing reached consumers through the stream; the bucket held the discarded batch.
    expect(seenBeforeSweep).toBe(0);
    expect(discarded.some((key) => key.startsWith('aws/lambda/'))).toBe(true);
    // The sweeper published all four, and each consumer applied each once, in order.
    expect(sweep.recordsRecovered).toBeGreaterThanOrEqual(4);
    expect(sweep.recoveryFailures).toBe(0);
    // Every consumer applied each event it gets once; the two examples get them all (a
    // scaffolded unordered consumer gets what its rule matches).
    const ids = committed.map((e) => e.id).sort();
    for (const [name, deliveries] of tracker.consumers) {
      expect(ids, name).toEqual(expect.arrayContaining([...deliveries.processed.keys()]));
      expect(deliveries.duplicateDeliveries, name).toBe(0);
    }
    for (const example of ['OrderProjectionFunction', 'OrderActivityFunction']) {
      const deliveries = [...tracker.consumers].find(([name]) => name.startsWith(example))?.[1];
      expect([...(deliveries?.processed.keys() ?? [])].sort(), example).toEqual(ids);
    }
    const projection = [...tracker.consumers.values()].find((c) => c.ordered);
    expect(projection?.orderViolations).toBe(0);

    // The sweeper removed every object it recovered from.
    const leftAfterFirst = await bucketKeys();
    expect(leftAfterFirst.filter((key) => discarded.includes(key))).toEqual([]);

    // And a second sweep delivers nothing again. (The mapping's clock is still 7 h ahead, so each
    // sweep's own probe record is discarded to the bucket in turn and recovered by the next sweep:
    // a probe, no event.)
    const second = (await pipeline.runSchedule('Sweeper')) as SweepResult;
    await pipeline.drain(30_000);
    expect(second).toMatchObject({ recoveryFailures: 0, oldestUnrecoveredAgeSeconds: 0 });
    for (const [name, deliveries] of tracker.consumers) {
      expect(deliveries.duplicateDeliveries, name).toBe(0);
      expect(ids, name).toEqual(expect.arrayContaining([...deliveries.processed.keys()]));
    }
    expect((await bucketKeys()).filter((key) => leftAfterFirst.includes(key))).toEqual([]);
  });

  it('reports the relay lag from its probes: small while the relay reads them', async () => {
    // Act: the sweeper writes a probe; the relay reads it from the stream and records the heartbeat
    await pipeline.runSchedule('Sweeper');
    await pipeline.drain(30_000);
    const sweep = (await pipeline.runSchedule('Sweeper')) as SweepResult;

    // Assert
    expect(sweep.relayProbeLagSeconds).toBeLessThan(60);
    expect(sweep.lostWindowsOpened).toBe(0);
  });
});

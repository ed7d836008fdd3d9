import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { LocalAws } from 'local-aws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventEnvelope } from '../../functions/shared/envelope';
import { OutboxWriter } from '../../functions/shared/outbox-writer';
import { DeliveryTracker } from '../../local/demo/delivery-tracker';
import { startOutboxPipeline } from '../../local/pipeline';

const HOURS = 3_600_000;

/**
 * Recovery beyond the stream: the relay is stopped for longer than the stream
 * mapping keeps retrying (maxRecordAge 6 h, emulated by moving the mapping's
 * clock), so the records go to the on-failure destination as batch metadata and
 * are never delivered. The scheduled sweeper must find the events through the
 * pending index and publish them, in order, once.
 */
describe('the sweeper on the local runtime', () => {
  const tracker = new DeliveryTracker();
  let pipeline: LocalAws;
  let dynamodb: DynamoDBClient;
  let sqs: SQSClient;
  const committed: EventEnvelope[] = [];

  beforeAll(async () => {
    pipeline = await startOutboxPipeline({
      observe: tracker.observe,
      scheduleIntervalMs: 0,
      environmentOverrides: { Sweeper: { SWEEP_AFTER_SECONDS: '1' } },
    });
    dynamodb = new DynamoDBClient({ ...pipeline.clientConfig, endpoint: pipeline.endpoints.dynamodb });
    sqs = new SQSClient({ ...pipeline.clientConfig, endpoint: pipeline.endpoints.sqs });
  });

  afterAll(async () => {
    dynamodb?.destroy();
    sqs?.destroy();
    await pipeline?.stop();
  });

  it('re-publishes, in order and once, events whose stream records aged out while the relay was down', async () => {
    // Arrange: the relay is down while orders are written.
    const relayMapping = pipeline.streamMappings[0]?.mapping;
    if (!relayMapping) throw new Error('the stack has no stream mapping');
    await relayMapping.stop();
    const writer = new OutboxWriter({
      client: dynamodb,
      tableName: pipeline.outputs.TableName ?? '',
      source: 'com.example.orders',
    });
    for (const id of ['lost-1', 'lost-2']) {
      committed.push(
        ...(
          await writer.commit({
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
          })
        ).events,
      );
      committed.push(
        ...(
          await writer.commit({
            aggregateType: 'Order',
            aggregateId: id,
            expectedVersion: 1,
            state: { status: 'CONFIRMED' },
            events: [{ type: 'OrderConfirmed', data: { total: 1 } }],
          })
        ).events,
      );
    }

    // Act 1: seven hours pass; the relay comes back and its mapping discards the too-old records.
    pipeline.advanceStreamClock(7 * HOURS);
    await relayMapping.start();
    await pipeline.drain(30_000);
    const seenBeforeSweep = tracker.processedCount(
      [...pipeline.functions.keys()].find((k) => k.startsWith('OrderProjection')) ?? '',
    );

    // Act 2: the sweeper runs.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const sweep = (await pipeline.runSchedule('Sweeper')) as {
      overdue: number;
      republished: number;
      failed: number;
    };
    await pipeline.drain(30_000);

    // Assert: nothing reached consumers through the stream; the on-failure destination got batch metadata.
    expect(seenBeforeSweep).toBe(0);
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: pipeline.outputs.RelayFailureQueueUrl, MaxNumberOfMessages: 10 }),
    );
    expect(Messages.length).toBeGreaterThan(0);
    expect(JSON.parse(Messages[0]?.Body ?? '{}')).toMatchObject({
      requestContext: { condition: 'RecordAgeExceeded' },
    });
    // The sweeper published all four, and each consumer applied each once, in order.
    expect(sweep).toMatchObject({ overdue: 4, republished: 4, failed: 0 });
    for (const [name, deliveries] of tracker.consumers) {
      expect([...deliveries.processed.keys()].sort(), name).toEqual(committed.map((e) => e.id).sort());
      expect(deliveries.duplicateDeliveries, name).toBe(0);
    }
    const projection = [...tracker.consumers.values()].find((c) => c.ordered);
    expect(projection?.orderViolations).toBe(0);

    // And a second sweep finds nothing left.
    await expect(pipeline.runSchedule('Sweeper')).resolves.toMatchObject({ overdue: 0, republished: 0 });
  });
});

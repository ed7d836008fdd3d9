import { DynamoDBClient, GetItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import { ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { LocalAws } from 'local-aws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consumerItemPk, KEYS } from '../../contract/keys';
import { consumerOutputKey } from '../../contract/stack-outputs';
import { newEventId } from '../../functions/shared/envelope';
import { ConcurrencyConflictError } from '../../functions/shared/errors';
import { OutboxWriter } from '../../functions/shared/outbox-writer';
import { DeliveryTracker } from '../../local/demo/delivery-tracker';
import { runOutboxCli } from '../../local/demo/operator-cli';
import { committedVersions, readModelMismatches } from '../../local/demo/read-models';
import { runWorkload, type WorkloadResult } from '../../local/demo/workload';
import { startOutboxPipeline } from '../../local/pipeline';
import { EXIT } from '../../tools/outbox-cli/cli-io';

/**
 * The whole deployable pipeline on the local runtime: the producer behind its
 * Function URL, the real stream, the relay bundle, the EventBridge emulator, the
 * FIFO queue and both consumer bundles, with reordered and duplicated stream
 * batches injected.
 */
describe('the local pipeline end to end', () => {
  const tracker = new DeliveryTracker();
  let pipeline: LocalAws;
  let dynamodb: DynamoDBClient;
  let sqs: SQSClient;
  let workload: WorkloadResult;
  let writer: OutboxWriter;
  const poison = { aggregate: 'Order#poison-1', ids: [] as string[] };
  const cancelled = { id: '' };

  beforeAll(async () => {
    pipeline = await startOutboxPipeline({
      faults: { seed: 11, stream: { reorderRate: 0.5, duplicateRate: 0.1 } },
      observe: tracker.observe,
      logDir: undefined,
    });
    dynamodb = new DynamoDBClient({ ...pipeline.clientConfig, endpoint: pipeline.endpoints.dynamodb });
    sqs = new SQSClient({ ...pipeline.clientConfig, endpoint: pipeline.endpoints.sqs });
    const table = pipeline.outputs.TableName ?? '';
    let nextId: string | undefined;
    writer = new OutboxWriter({
      client: dynamodb,
      tableName: table,
      source: 'com.example.orders',
      newId: () => nextId ?? newEventId(),
    });

    // A normal workload through the producer's Function URL, with racing commands.
    workload = await runWorkload(pipeline.functionUrls.values().next().value ?? '', {
      events: 120,
      aggregates: 12,
      conflictRate: 0.5,
      seed: 5,
    });

    // A poison event: a payload its schema refuses (written around the API, as a buggy producer
    // could), then a valid event after it.
    const placed = await writer.commit({
      aggregateType: 'Order',
      aggregateId: 'poison-1',
      expectedVersion: 0,
      state: { status: 'PLACED' },
      events: [
        {
          type: 'OrderPlaced',
          data: { customerId: 'c', lines: [{ sku: 'A', quantity: 1, unitPrice: 1 }], total: 1 },
        },
      ],
    });
    const teleported = await writer.commit({
      aggregateType: 'Order',
      aggregateId: 'poison-1',
      expectedVersion: 1,
      state: { status: 'PLACED' },
      events: [{ type: 'OrderConfirmed', data: { total: 'everything' } }],
    });
    const confirmed = await writer.commit({
      aggregateType: 'Order',
      aggregateId: 'poison-1',
      expectedVersion: 2,
      state: { status: 'CONFIRMED' },
      events: [{ type: 'OrderConfirmed', data: { total: 1 } }],
    });
    poison.ids = [placed, teleported, confirmed].flatMap((r) => r.events.map((e) => e.id));

    // A cancelled transaction: its event id is known, so we can prove it never shows up anywhere.
    nextId = newEventId();
    cancelled.id = nextId;
    await expect(
      writer.commit({
        aggregateType: 'Order',
        aggregateId: 'poison-1',
        expectedVersion: 1,
        state: {},
        events: [{ type: 'OrderCancelled', data: { reason: 'late' } }],
      }),
    ).rejects.toThrow(ConcurrencyConflictError);
    nextId = undefined;

    await pipeline.drain(90_000);
  });

  afterAll(async () => {
    dynamodb?.destroy();
    sqs?.destroy();
    await pipeline?.stop();
  });

  const consumer = (pattern: RegExp) => {
    const id = [...pipeline.functions.keys()].find((name) => pattern.test(name)) ?? '';
    return tracker.consumers.get(id);
  };

  it('ran a workload with commits and rejected racing commands', () => {
    expect(workload.errors).toEqual([]);
    expect(workload.committed.size).toBeGreaterThan(100);
    expect(workload.conflicts + workload.rejected).toBeGreaterThan(0);
    expect(pipeline.streamFaultStats.reorderedBatches).toBeGreaterThan(0);
  });

  it('delivers every committed event to every consumer', () => {
    for (const name of [/^OrderProjection/, /^OrderActivity/]) {
      const processed = consumer(name)?.processed ?? new Map();
      const missing = [...workload.committed.keys()].filter((id) => !processed.has(id));
      expect(missing, `${name} missed events`).toEqual([]);
    }
  });

  it('keeps per-aggregate order on the ordered consumer', () => {
    expect(consumer(/^OrderProjection/)?.orderViolations).toBe(0);
    expect(consumer(/^OrderProjection/)?.highestSequence.size).toBeGreaterThanOrEqual(12);
  });

  it('applies each event exactly once (read models agree with every order version)', async () => {
    expect(await readModelMismatches(pipeline, committedVersions(workload))).toBe(0);
  });

  it('dead-letters the poison event with its reason, parks the event behind it, and counts all three unordered', async () => {
    // Arrange
    const dlqUrl = pipeline.outputs[consumerOutputKey('order-projection', 'deadLetterQueueUrl')] ?? '';

    // Act
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: dlqUrl,
        MaxNumberOfMessages: 10,
        MessageAttributeNames: ['All'],
        WaitTimeSeconds: 1,
        VisibilityTimeout: 1,
      }),
    );
    const status = await runOutboxCli(pipeline, ['status', '--parked']);

    // Assert: only the poison is in the DLQ; the valid event behind it waits in the kit, not in the DLQ
    expect(Messages.map((m) => m.MessageAttributes?.reason?.StringValue)).toEqual(['InvalidPayload']);
    expect(JSON.parse(Messages[0]?.Body ?? '{}')).toMatchObject({ id: poison.ids[1], sequence: 2 });
    expect(Messages[0]?.MessageAttributes?.error?.StringValue).not.toContain('everything');
    expect(status.out).toMatch(/order-projection\s+1 event/);
    // The unordered consumer has no such constraint: it counted all three.
    expect(poison.ids.every((id) => consumer(/^OrderActivity/)?.processed.has(id))).toBe(true);
  });

  it('applies the parked event once an operator skips the poison, and the order view catches up', async () => {
    // Act
    const skip = await runOutboxCli(pipeline, [
      'skip',
      '--consumer',
      'order-projection',
      '--aggregate',
      poison.aggregate,
      '--sequence',
      '2',
      '--reason',
      'bad payload, ticket 1',
    ]);
    await pipeline.drain(30_000);

    // Assert
    expect(skip.code).toBe(EXIT.ok);
    const { Item } = await dynamodb.send(
      new GetItemCommand({
        TableName: pipeline.outputs.TableName,
        Key: { pk: { S: consumerItemPk('order-projection', poison.aggregate) }, sk: { S: KEYS.viewSk } },
        ConsistentRead: true,
      }),
    );
    expect(Item ? unmarshall(Item) : undefined).toMatchObject({ lastSequence: 3, status: 'CONFIRMED' });
  });

  it('publishes nothing for a cancelled transaction', async () => {
    const busName = pipeline.topology.eventBuses[0]?.name ?? '';
    const archived = pipeline.eventBus.archive(busName).map((a) => (a.event.detail as { id: string }).id);
    expect(archived).not.toContain(cancelled.id);
    for (const deliveries of tracker.consumers.values())
      expect(deliveries.processed.has(cancelled.id)).toBe(false);
    const { Items = [] } = await dynamodb.send(
      new QueryCommand({
        TableName: pipeline.outputs.TableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :outbox)',
        ExpressionAttributeValues: { ':pk': { S: poison.aggregate }, ':outbox': { S: 'OUTBOX#' } },
      }),
    );
    expect(Items).toHaveLength(3);
  });

  it('publishes no event that was not committed (no ghosts)', () => {
    const busName = pipeline.topology.eventBuses[0]?.name ?? '';
    const committed = new Set([...workload.committed.keys(), ...poison.ids]);
    const ghosts = pipeline.eventBus
      .archive(busName)
      .filter((a) => !committed.has((a.event.detail as { id: string }).id));
    expect(ghosts).toEqual([]);
  });
});

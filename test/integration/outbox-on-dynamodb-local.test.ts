import { GetItemCommand, QueryCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { DeleteMessageBatchCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { Context, DynamoDBRecord, SQSEvent } from 'aws-lambda';
import type { Topology } from 'local-aws';
import { compileFilterCriteria, readAllStreamRecords } from 'local-aws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConsumer } from '../../functions/consumers/kit';
import { OrderService } from '../../functions/producer/orders';
import {
  DynamoDbCursorStore,
  DynamoDbOutboxReader,
  DynamoDbPendingMarks,
  SqsFailureSink,
  SqsFifoPublisher,
} from '../../functions/relay/aws-adapters';
import type { RelayTelemetry } from '../../functions/relay/ports';
import { Relay } from '../../functions/relay/relay';
import type { EventEnvelope } from '../../functions/shared/envelope';
import { ConcurrencyConflictError } from '../../functions/shared/errors';
import type { StoredOutboxEvent } from '../../functions/shared/outbox-item';
import { OutboxWriter } from '../../functions/shared/outbox-writer';
import {
  type LocalDynamo,
  type LocalSqs,
  stackTopology,
  startLocalDynamo,
  startLocalSqs,
} from '../support/local-aws';

const SOURCE = 'com.example.orders';
const silent: RelayTelemetry = { count: () => {}, publishLag: () => {}, warn: () => {}, error: () => {} };

let topology: Topology;
let dynamo: LocalDynamo;
let sqs: LocalSqs;

beforeAll(async () => {
  topology = await stackTopology();
  [dynamo, sqs] = await Promise.all([startLocalDynamo(topology), startLocalSqs(topology)]);
});

afterAll(async () => {
  await Promise.allSettled([dynamo?.stop(), sqs?.stop()]);
});

function orders(): OrderService {
  return new OrderService(
    new OutboxWriter({ client: dynamo.client, tableName: dynamo.outboxTable.name, source: SOURCE }),
  );
}

async function outboxItems(pk: string) {
  const { Items } = await dynamo.client.send(
    new QueryCommand({
      TableName: dynamo.outboxTable.name,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :outbox)',
      ExpressionAttributeValues: { ':pk': { S: pk }, ':outbox': { S: 'OUTBOX#' } },
      ConsistentRead: true,
    }),
  );
  return (Items ?? []).map((item) => unmarshall(item));
}

/** Outbox INSERT records currently in the real stream that pass the relay mapping's own FilterCriteria. */
async function outboxStreamRecords(): Promise<DynamoDBRecord[]> {
  const relayMapping = topology.mappings.find((m) => m.source.kind === 'dynamodb-stream');
  if (!relayMapping) throw new Error('the stack has no stream mapping');
  const filter = compileFilterCriteria(relayMapping.filters, 'dynamodb');
  const records = await readAllStreamRecords({
    streams: dynamo.streams,
    streamArn: dynamo.outboxTable.streamArn ?? '',
  });
  return records.filter((record) => filter(record));
}

describe('the transactional writer on DynamoDB Local', () => {
  it('writes the business state and its outbox item in one transaction', async () => {
    // Act
    const result = await orders().placeOrder('atomic-1', {
      customerId: 'c-1',
      lines: [{ sku: 'A', quantity: 1, unitPrice: 100 }],
    });

    // Assert
    const { Item } = await dynamo.client.send(
      new GetItemCommand({
        TableName: dynamo.outboxTable.name,
        Key: { pk: { S: 'Order#atomic-1' }, sk: { S: 'STATE' } },
      }),
    );
    expect(unmarshall(Item ?? {})).toMatchObject({ version: 1, state: { status: 'PLACED', total: 100 } });
    const items = await outboxItems('Order#atomic-1');
    expect(items.map((i) => [i.eventId, i.sequence, i.entityType])).toEqual([
      [result.events[0]?.id, 1, 'OUTBOX'],
    ]);
    // Until the relay publishes it, the event is in the sparse pending index.
    expect(items[0]).toMatchObject({
      pendingShard: expect.stringMatching(/^PENDING#[0-7]$/),
      pendingSince: result.events[0]?.time,
    });
  });

  it('leaves no outbox item and no stream record when the transaction is cancelled', async () => {
    // Arrange
    const service = orders();
    await service.placeOrder('conflict-1', {
      customerId: 'c-1',
      lines: [{ sku: 'A', quantity: 1, unitPrice: 100 }],
    });
    const before = (await outboxStreamRecords()).length;

    // Act: a second "place" of the same id expects version 0 and must be cancelled.
    const attempt = service.placeOrder('conflict-1', {
      customerId: 'c-2',
      lines: [{ sku: 'B', quantity: 9, unitPrice: 1 }],
    });

    // Assert
    await expect(attempt).rejects.toThrow(ConcurrencyConflictError);
    await expect(attempt).rejects.toThrow(/Order#conflict-1 expected version 0 but found version 1/);
    expect(await outboxItems('Order#conflict-1')).toHaveLength(1);
    const after = await outboxStreamRecords();
    expect(after).toHaveLength(before);
    expect(after.filter((r) => r.dynamodb?.Keys?.pk?.S === 'Order#conflict-1')).toHaveLength(1);
  });
});

describe('the relay fed from the real stream', () => {
  it('publishes exactly the committed events, in per-aggregate order, even when the stream is reordered', async () => {
    // Arrange: several orders with several events each, plus a rejected command.
    const service = orders();
    const committed: EventEnvelope[] = [];
    for (let i = 0; i < 6; i++) {
      const id = `relay-${i}`;
      committed.push(
        ...(
          await service.placeOrder(id, {
            customerId: `c-${i}`,
            lines: [{ sku: 'A', quantity: 1, unitPrice: 10 }],
          })
        ).events,
      );
      committed.push(...(await service.addItem(id, { sku: 'B', quantity: 2, unitPrice: 5 })).events);
      committed.push(
        ...(await service[i % 2 ? 'confirmOrder' : 'cancelOrder'](id, 'changed mind' as never)).events,
      );
    }
    await expect(service.confirmOrder('relay-0')).rejects.toThrow(
      /cannot confirm order relay-0 while it is CANCELLED/,
    );
    const queue = sqs.queues.find((q) => q.fifo && !q.logicalId.includes('DeadLetter'));
    const failureQueue = sqs.queues.find((q) => !q.fifo && q.logicalId.includes('Failure'));
    if (!queue || !failureQueue)
      throw new Error('stack must have an ordered consumer queue and a relay failure queue');
    const busEntries: StoredOutboxEvent[] = [];
    const relay = new Relay(
      {
        cursors: new DynamoDbCursorStore(dynamo.client, dynamo.outboxTable.name),
        outbox: new DynamoDbOutboxReader(dynamo.client, dynamo.outboxTable.name),
        pending: new DynamoDbPendingMarks(dynamo.client, dynamo.outboxTable.name),
        eventBus: { putEvents: async (events) => (busEntries.push(...events), []) },
        queues: new SqsFifoPublisher(sqs.client),
        failures: new SqsFailureSink(sqs.client, failureQueue.url),
        telemetry: silent,
      },
      { queueUrls: [queue.url] },
    );
    const ours = (await outboxStreamRecords()).filter((r) =>
      r.dynamodb?.Keys?.pk?.S?.startsWith('Order#relay-'),
    );
    expect(ours).toHaveLength(committed.length);

    // Act: deliver the records reversed in two batches (the reordering AWS allows), then again (a duplicate delivery).
    const reversed = [...ours].reverse();
    const responses = [
      await relay.handle(reversed.slice(0, 9)),
      await relay.handle(reversed.slice(9)),
      await relay.handle(ours),
    ];

    // Assert
    expect(responses.map((r) => r.batchItemFailures)).toEqual([[], [], []]);
    expect(new Set(busEntries.map((e) => e.envelope.id))).toEqual(new Set(committed.map((e) => e.id)));
    expect(busEntries).toHaveLength(committed.length);
    const received = await drainQueue(queue.url);
    expect(received.map((e) => e.id).sort()).toEqual(committed.map((e) => e.id).sort());
    for (let i = 0; i < 6; i++) {
      expect(received.filter((e) => e.aggregateid === `relay-${i}`).map((e) => e.sequence)).toEqual([
        1, 2, 3,
      ]);
      // Published events leave the sparse pending index.
      expect((await outboxItems(`Order#relay-${i}`)).filter((item) => 'pendingShard' in item)).toEqual([]);
    }
  });
});

describe('consumer idempotency on DynamoDB Local', () => {
  it('applies a duplicate delivery of the same event once', async () => {
    // Arrange
    const applied: string[] = [];
    const handler = createConsumer(
      { name: 'idempotency-probe', ordered: false, handle: async (event) => void applied.push(event.id) },
      {
        idempotencyTableName: dynamo.idempotencyTable.name,
        idempotencyTtlSeconds: 7 * 24 * 3600,
        deadLetterQueueUrl: sqs.queues[0]?.url ?? '',
        dynamodb: dynamo.client,
        sqs: sqs.client,
      },
    );
    const event: SQSEvent = (await import('../events/load')).loadEvent('sqs/eventbridge-envelope');
    const context = {
      functionName: 'idempotency-probe',
      getRemainingTimeInMillis: () => 30_000,
      awsRequestId: 'r',
    } as Context;

    // Act
    const first = await handler(event, context);
    const second = await handler(event, context);

    // Assert
    expect(first.batchItemFailures).toEqual([]);
    expect(second.batchItemFailures).toEqual([]);
    expect(applied).toEqual(['0193a6a8-3c4e-7d3a-9b1e-5f2c8e4d7a10']);
    const { Items } = await dynamo.client.send(
      new ScanCommand({ TableName: dynamo.idempotencyTable.name, ConsistentRead: true }),
    );
    const records = (Items ?? [])
      .map((item) => unmarshall(item))
      .filter((r) => String(r.id).startsWith('idempotency-probe#'));
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ status: 'COMPLETED' });
    // Kept as long as outbox items live, not Powertools' default hour.
    expect(Number(records[0]?.expiration) - Date.now() / 1000).toBeGreaterThan(7 * 24 * 3600 - 120);
  });
});

async function drainQueue(queueUrl: string): Promise<EventEnvelope[]> {
  const out: EventEnvelope[] = [];
  for (let empty = 0; empty < 2; ) {
    const { Messages } = await sqs.client.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }),
    );
    if (!Messages?.length) {
      empty++;
      continue;
    }
    out.push(...Messages.map((m) => JSON.parse(m.Body ?? '{}') as EventEnvelope));
    await sqs.client.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
      }),
    );
  }
  return out;
}

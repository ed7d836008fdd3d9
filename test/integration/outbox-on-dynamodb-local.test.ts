/**
 * The writer and the relay on the real engines: DynamoDB Local (transactions, streams) and the
 * SQS emulator (FIFO queues, deduplication, the characters SQS refuses), with the stack's own
 * tables, queues and stream filter.
 */
import { DynamoDBClient, GetItemCommand, PutItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import { DeleteMessageBatchCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import {
  compileFilterCriteria,
  LOCAL_CREDENTIALS,
  LOCAL_REGION,
  readAllStreamRecords,
  seededRandom,
  type Topology,
} from 'local-aws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENTITY_TYPES, KEYS, outboxSk, RELAY_ITEMS } from '../../contract/keys';
import { TRANSPORT_ATTRIBUTES, VOID_MESSAGE_KIND } from '../../contract/transport';
import { OrderService } from '../../functions/producer/orders';
import {
  DynamoDbHeartbeatStore,
  DynamoDbOutboxReader,
  SqsFailureSink,
  SqsFifoPublisher,
} from '../../functions/relay/aws-adapters';
import type { RelayFailureMessage, RelayTelemetry } from '../../functions/relay/ports';
import { Relay } from '../../functions/relay/relay';
import { buildEnvelope, type EventEnvelope } from '../../functions/shared/envelope';
import { ConcurrencyConflictError, IdempotencyKeyReuseError } from '../../functions/shared/errors';
import { type StoredOutboxEvent, toOutboxItem } from '../../functions/shared/outbox-item';
import { OutboxWriter } from '../../functions/shared/outbox-writer';
import {
  type LocalDynamo,
  type LocalSqs,
  stackTopology,
  startLocalDynamo,
  startLocalSqs,
} from '../support/local-aws';

const SOURCE = 'com.example.orders';
/** Relay telemetry that keeps what it logs, to check that no payload reaches a log. */
const logged: string[] = [];
const telemetry: RelayTelemetry = {
  count: () => {},
  publishLag: () => {},
  warn: (message, attributes) => void logged.push(message, JSON.stringify(attributes ?? {})),
  error: (message, attributes) => void logged.push(message, JSON.stringify(attributes ?? {})),
};
const lines = [{ sku: 'A', quantity: 1, unitPrice: 100 }];

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

async function partition(pk: string) {
  const { Items } = await dynamo.client.send(
    new QueryCommand({
      TableName: dynamo.outboxTable.name,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': { S: pk } },
      ConsistentRead: true,
    }),
  );
  return (Items ?? []).map((item) => unmarshall(item));
}

/** The records in the real stream that pass the relay mapping's own FilterCriteria. */
async function relayStreamRecords(): Promise<DynamoDBRecord[]> {
  const relayMapping = topology.mappings.find((m) => m.source.kind === 'dynamodb-stream');
  if (!relayMapping) throw new Error('the stack has no stream mapping');
  const filter = compileFilterCriteria(relayMapping.filters, 'dynamodb');
  const records = await readAllStreamRecords({
    streams: dynamo.streams,
    streamArn: dynamo.outboxTable.streamArn ?? '',
  });
  return records.filter((record) => filter(record));
}

/**
 * The records in an order AWS may deliver them: any interleaving, but each item's own records in
 * the order they were written (DynamoDB Streams orders records per item).
 */
function shuffledKeepingItemOrder(records: DynamoDBRecord[], seed: number): DynamoDBRecord[] {
  const random = seededRandom(seed);
  const queues = new Map<string, DynamoDBRecord[]>();
  for (const record of records) {
    const key = `${record.dynamodb?.Keys?.pk?.S}|${record.dynamodb?.Keys?.sk?.S}`;
    queues.set(key, [...(queues.get(key) ?? []), record]);
  }
  const out: DynamoDBRecord[] = [];
  const open = [...queues.values()];
  while (open.length > 0) {
    const index = Math.floor(random() * open.length);
    const queue = open[index] ?? [];
    const next = queue.shift();
    if (next) out.push(next);
    if (queue.length === 0) open.splice(index, 1);
  }
  return out;
}

/** Transactions whose state record a batch carried without every outbox record it announces. */
function splitTransactions(batches: ReadonlyArray<ReadonlyArray<DynamoDBRecord>>): number {
  let split = 0;
  for (const batch of batches) {
    const keys = new Set(batch.map((r) => `${r.dynamodb?.Keys?.pk?.S}|${r.dynamodb?.Keys?.sk?.S}`));
    for (const record of batch) {
      const image = record.dynamodb?.NewImage;
      if (record.dynamodb?.Keys?.sk?.S !== KEYS.stateSk || !image) continue;
      const pk = record.dynamodb?.Keys?.pk?.S;
      for (let sequence = Number(image.committedFrom?.N); sequence <= Number(image.version?.N); sequence++) {
        if (!keys.has(`${pk}|${outboxSk(sequence)}`)) {
          split++;
          break;
        }
      }
    }
  }
  return split;
}

/** A DynamoDB client that counts the requests sent through it, by command. */
function countingClient() {
  const counts = new Map<string, number>();
  const client = new DynamoDBClient({
    endpoint: dynamo.engine.endpoint,
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
  });
  client.middlewareStack.add(
    (next, context) => async (args) => {
      counts.set(context.commandName ?? '?', (counts.get(context.commandName ?? '?') ?? 0) + 1);
      return next(args);
    },
    { step: 'initialize', name: 'countRequests' },
  );
  return { client, counts };
}

function queueOf(match: (logicalId: string, fifo: boolean) => boolean) {
  const queue = sqs.queues.find((q) => match(q.logicalId, q.fifo));
  if (!queue) throw new Error('the stack has no such queue');
  return queue.url;
}

const orderedQueue = () => queueOf((id, fifo) => fifo && !id.includes('DeadLetter') && !id.includes('Dlq'));
const failureQueue = () =>
  queueOf((id, fifo) => !fifo && id.includes('Failure') && !id.includes('DeadLetter'));

function relayOn(client: DynamoDBClient, busEntries: StoredOutboxEvent[]) {
  return new Relay(
    {
      outbox: new DynamoDbOutboxReader(client, dynamo.outboxTable.name),
      heartbeat: new DynamoDbHeartbeatStore(client, dynamo.outboxTable.name),
      eventBus: {
        putEvents: async (events) => {
          busEntries.push(...events);
          return [];
        },
      },
      queues: new SqsFifoPublisher(sqs.client),
      failures: new SqsFailureSink(sqs.client, failureQueue()),
      telemetry,
    },
    { queueUrls: [orderedQueue()] },
  );
}

async function drain(queueUrl: string) {
  const out: Array<{ body: string; attributes: Record<string, string | undefined> }> = [];
  for (let empty = 0; empty < 2; ) {
    const { Messages } = await sqs.client.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 0,
        MessageAttributeNames: ['All'],
      }),
    );
    if (!Messages?.length) {
      empty++;
      continue;
    }
    for (const message of Messages) {
      out.push({
        body: message.Body ?? '',
        attributes: Object.fromEntries(
          Object.entries(message.MessageAttributes ?? {}).map(([name, value]) => [name, value.StringValue]),
        ),
      });
    }
    await sqs.client.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
      }),
    );
  }
  return out;
}

describe('the transactional writer on DynamoDB Local', () => {
  it('writes the state, which announces the transaction, and its outbox item in one transaction', async () => {
    // Act
    const result = await orders().placeOrder('atomic-1', { customerId: 'c-1', lines });

    // Assert
    const items = await partition('Order#atomic-1');
    expect(items.find((item) => item.sk === KEYS.stateSk)).toMatchObject({
      version: 1,
      committedFrom: 1,
      state: { status: 'PLACED', total: 100 },
    });
    expect(
      items
        .filter((item) => item.entityType === ENTITY_TYPES.outbox)
        .map((item) => [item.eventId, item.sequence]),
    ).toEqual([[result.events[0]?.id, 1]]);
    // No per-event mark for the relay: the outbox item is written once and never updated.
    expect(Object.keys(items.find((item) => item.entityType === ENTITY_TYPES.outbox) ?? {}).sort()).toEqual(
      [
        'entityType',
        'envelope',
        'eventId',
        'eventType',
        'expiresAt',
        'occurredAt',
        'pk',
        'sequence',
        'sk',
      ].sort(),
    );
  });

  it('leaves no outbox item and no stream record when the transaction is cancelled', async () => {
    // Arrange
    const service = orders();
    await service.placeOrder('conflict-1', { customerId: 'c-1', lines });
    const before = (await relayStreamRecords()).length;

    // Act: a second "place" of the same id expects version 0 and must be cancelled
    const attempt = service.placeOrder('conflict-1', {
      customerId: 'c-2',
      lines: [{ sku: 'B', quantity: 9, unitPrice: 1 }],
    });

    // Assert
    await expect(attempt).rejects.toThrow(ConcurrencyConflictError);
    expect(
      (await partition('Order#conflict-1')).filter((item) => item.entityType === ENTITY_TYPES.outbox),
    ).toHaveLength(1);
    expect(await relayStreamRecords()).toHaveLength(before);
  });

  it('commits a command retried with its idempotency key once, and refuses the key with another request', async () => {
    // Arrange
    const service = orders();
    await service.placeOrder('keyed-1', { customerId: 'c-1', lines });
    const idempotency = { key: 'confirm-keyed-1', fingerprint: 'request-a' };
    const first = await service.confirmOrder('keyed-1', { idempotency });
    const before = (await relayStreamRecords()).length;

    // Act: the retry after a lost answer, and the key reused for another command
    const retry = await service.confirmOrder('keyed-1', { idempotency });
    const reuse = service.cancelOrder('keyed-1', 'oops', {
      idempotency: { key: 'confirm-keyed-1', fingerprint: 'request-b' },
    });

    // Assert
    expect(retry).toMatchObject({ replayed: true, version: first.version, eventIds: first.eventIds });
    await expect(reuse).rejects.toThrow(IdempotencyKeyReuseError);
    expect(
      (await partition('Order#keyed-1')).filter((item) => item.entityType === ENTITY_TYPES.outbox),
    ).toHaveLength(2);
    expect(await relayStreamRecords()).toHaveLength(before);
  });
});

describe('the relay fed from the real stream', () => {
  it('publishes exactly the committed events in per-aggregate order, reading the table only for transactions a batch split', async () => {
    // Arrange: 20 orders of three transactions each, plus a refused command
    const service = orders();
    const committed: EventEnvelope[] = [];
    for (let i = 0; i < 20; i++) {
      const id = `relay-${i}`;
      committed.push(...(await service.placeOrder(id, { customerId: `c-${i}`, lines })).events);
      committed.push(...(await service.addItem(id, { sku: 'B', quantity: 2, unitPrice: 5 })).events);
      committed.push(
        ...(await (i % 2 ? service.confirmOrder(id) : service.cancelOrder(id, 'changed mind'))).events,
      );
    }
    await expect(service.confirmOrder('relay-0')).rejects.toThrow(
      /cannot confirm order relay-0 while it is CANCELLED/,
    );
    const ours = (await relayStreamRecords()).filter((r) =>
      r.dynamodb?.Keys?.pk?.S?.startsWith('Order#relay-'),
    );
    const { client, counts } = countingClient();
    const busEntries: StoredOutboxEvent[] = [];
    const relay = relayOn(client, busEntries);

    // Act: the records shuffled as AWS may deliver them, in batches of 25, then all again (a duplicate delivery)
    const shuffled = shuffledKeepingItemOrder(ours, 11);
    const batches: DynamoDBRecord[][] = [];
    for (let i = 0; i < shuffled.length; i += 25) batches.push(shuffled.slice(i, i + 25));
    batches.push(ours);
    const responses = [];
    for (const batch of batches) responses.push(await relay.handle(batch));

    // Assert
    expect(responses.flatMap((r) => r.batchItemFailures)).toEqual([]);
    expect(new Set(busEntries.map((e) => e.envelope.id))).toEqual(new Set(committed.map((e) => e.id)));
    const received = (await drain(orderedQueue())).map((m) => JSON.parse(m.body) as EventEnvelope);
    expect(received.map((e) => e.id).sort()).toEqual(committed.map((e) => e.id).sort());
    for (let i = 0; i < 20; i++) {
      expect(received.filter((e) => e.aggregateid === `relay-${i}`).map((e) => e.sequence)).toEqual([
        1, 2, 3,
      ]);
    }
    // No write at all, and a read only for a transaction whose records a batch split.
    expect([...counts.keys()].filter((command) => command !== 'QueryCommand')).toEqual([]);
    expect(counts.get('QueryCommand') ?? 0).toBeLessThanOrEqual(splitTransactions(batches));
  });

  it('makes no DynamoDB request at all for batches that carry their transactions whole', async () => {
    // Arrange
    const service = orders();
    for (let i = 0; i < 10; i++) {
      await service.placeOrder(`whole-${i}`, { customerId: 'c', lines });
      await service.confirmOrder(`whole-${i}`);
    }
    const ours = (await relayStreamRecords()).filter((r) =>
      r.dynamodb?.Keys?.pk?.S?.startsWith('Order#whole-'),
    );
    const { client, counts } = countingClient();
    const busEntries: StoredOutboxEvent[] = [];

    // Act: in commit order, four records (two transactions) a batch
    for (let i = 0; i < ours.length; i += 4) await relayOn(client, busEntries).handle(ours.slice(i, i + 4));

    // Assert
    expect(busEntries).toHaveLength(20);
    expect(counts.size).toBe(0);
    await drain(orderedQueue());
  });

  it('steps over an event SQS refuses: a void marker holds its place and the failure queue says why', async () => {
    // Arrange: an outbox item written around the writer, holding U+FFFF, which SQS refuses
    const pk = 'Order#hostile-1';
    const envelope = buildEnvelope(
      { type: 'OrderNoted', data: { note: 'bad \uFFFF note' } },
      { source: SOURCE, aggregateType: 'Order', aggregateId: 'hostile-1', sequence: 1, time: new Date() },
    );
    await dynamo.client.send(
      new PutItemCommand({
        TableName: dynamo.outboxTable.name,
        Item: toOutboxItem(pk, envelope, Math.floor(Date.now() / 1000) + 3600),
      }),
    );
    await dynamo.client.send(
      new PutItemCommand({
        TableName: dynamo.outboxTable.name,
        Item: marshall({
          pk,
          sk: KEYS.stateSk,
          entityType: ENTITY_TYPES.aggregate,
          aggregateType: 'Order',
          aggregateId: 'hostile-1',
          version: 1,
          committedFrom: 1,
          state: {},
        }),
      }),
    );
    const records = (await relayStreamRecords()).filter((r) => r.dynamodb?.Keys?.pk?.S === pk);
    await drain(failureQueue());
    const relay = relayOn(dynamo.client, []);

    // Act
    const response = await relay.handle(records);

    // Assert
    expect(response.batchItemFailures).toEqual([]);
    const [marker, ...rest] = await drain(orderedQueue());
    expect(rest).toEqual([]);
    expect(marker?.attributes[TRANSPORT_ATTRIBUTES.kind]).toBe(VOID_MESSAGE_KIND);
    expect(JSON.parse(marker?.body ?? '{}')).toMatchObject({
      aggregateid: 'hostile-1',
      sequence: 1,
      id: envelope.id,
    });
    const failures = (await drain(failureQueue())).map((m) => JSON.parse(m.body) as RelayFailureMessage);
    expect(failures).toEqual([
      expect.objectContaining({ reason: 'UnsendableCharacters', aggregateKey: pk, sequence: 1 }),
    ]);
    // The failure queue keeps the item for the operator (escaped, so SQS takes it); the logs never hold the payload.
    expect(JSON.stringify(failures)).toContain('bad \uFFFF note');
    expect(logged.join(' ')).not.toContain('bad ');
  });

  it('records the newest probe it reads in the heartbeat item', async () => {
    // Arrange
    await dynamo.client.send(
      new PutItemCommand({
        TableName: dynamo.outboxTable.name,
        Item: marshall({
          pk: RELAY_ITEMS.probePk,
          sk: KEYS.relaySk,
          entityType: ENTITY_TYPES.relay,
          seq: 5,
          writtenAt: '2026-11-23T16:20:00.000Z',
        }),
      }),
    );
    const records = (await relayStreamRecords()).filter(
      (r) => r.dynamodb?.Keys?.pk?.S === RELAY_ITEMS.probePk,
    );

    // Act
    await relayOn(dynamo.client, []).handle(records);

    // Assert
    const { Item } = await dynamo.client.send(
      new GetItemCommand({
        TableName: dynamo.outboxTable.name,
        Key: { pk: { S: RELAY_ITEMS.heartbeatPk }, sk: { S: KEYS.relaySk } },
        ConsistentRead: true,
      }),
    );
    expect(unmarshall(Item ?? {})).toMatchObject({ seenSeq: 5, seenWrittenAt: '2026-11-23T16:20:00.000Z' });
  });
});

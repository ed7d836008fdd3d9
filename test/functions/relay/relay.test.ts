import type { DynamoDBBatchResponse, DynamoDBRecord } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { Relay, type RelayOptions } from '../../../functions/relay/relay';
import { ValidationError } from '../../../functions/shared/errors';
import { LIMITS, utf8Bytes } from '../../../functions/shared/limits';
import { eventBridgeEntrySize } from '../../../functions/shared/outbox-writer';
import { loadEvent } from '../../events/load';
import {
  FakeOutboxStream,
  FakeRelayPorts,
  type FakeRelayPortsOptions,
  malformedOutboxItem,
  streamSequenceNumber,
  testEnvelope,
  testEventId,
  testOutboxItem,
  testOutboxItems,
} from '../../support/fake-relay-ports';

const QUEUE = 'https://sqs.eu-west-1.amazonaws.com/123456789012/OrderProjection.fifo';
const SECOND_QUEUE = 'https://sqs.eu-west-1.amazonaws.com/123456789012/OrderActivity.fifo';
const A = 'Order#o-1';
const B = 'Order#o-2';

interface ArrangeOptions {
  readonly queueUrls?: ReadonlyArray<string>;
  readonly ports?: FakeRelayPortsOptions;
  readonly relay?: Omit<RelayOptions, 'queueUrls'>;
}

function arrange(options: ArrangeOptions = {}) {
  const ports = new FakeRelayPorts(options.ports);
  const relay = new Relay(ports, { queueUrls: options.queueUrls ?? [QUEUE], ...options.relay });
  return { ports, relay, stream: new FakeOutboxStream() };
}

function reported(response: DynamoDBBatchResponse): string[] {
  return response.batchItemFailures.map((failure) => failure.itemIdentifier);
}

function sequenceNumbers(records: ReadonlyArray<DynamoDBRecord>): string[] {
  return records.map(streamSequenceNumber);
}

/** Labels like `o-1#3` for the events of calls, to compare call contents at a glance. */
function labels(events: ReadonlyArray<{ pk: string; sequence: number }>): string[] {
  return events.map((event) => `${event.pk.replace('Order#', '')}#${event.sequence}`);
}

function caught(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to throw');
}

describe('Relay publishing', () => {
  it('publishes every event of a batch to the bus and to each queue', async () => {
    // Arrange
    const { ports, relay, stream } = arrange({ queueUrls: [QUEUE, SECOND_QUEUE] });
    const records = stream.records([
      ...ports.outbox.put(...testOutboxItems('o-1', 1, 3)),
      ...ports.outbox.put(...testOutboxItems('o-2', 1, 2)),
    ]);

    // Act
    await relay.handle(records);

    // Assert
    const all = ['o-1#1', 'o-1#2', 'o-1#3', 'o-2#1', 'o-2#2'];
    expect(labels(ports.eventBus.published).sort()).toEqual(all);
    expect(labels(ports.queues.delivered(QUEUE)).sort()).toEqual(all);
    expect(labels(ports.queues.delivered(SECOND_QUEUE)).sort()).toEqual(all);
  });

  it('publishes the envelope JSON exactly as committed', async () => {
    // Arrange
    const { ports, relay, stream } = arrange();
    const [item] = ports.outbox.put(
      testOutboxItem({ aggregateId: 'o-1', sequence: 1, data: { total: 1.0, note: 'é' } }),
    );
    if (!item) throw new Error('no item');

    // Act
    await relay.handle(stream.records([item]));

    // Assert
    expect(ports.eventBus.published[0]?.json).toBe(item.envelope?.S);
    expect(ports.queues.delivered(QUEUE)[0]?.json).toBe(item.envelope?.S);
  });

  it('publishes a stream record shaped as Lambda delivers it', async () => {
    // Arrange
    const { ports, relay } = arrange();
    const record = loadEvent('dynamodb/outbox-insert');

    // Act
    const response = await relay.handle([record]);

    // Assert
    expect(response).toEqual({ batchItemFailures: [] });
    expect(ports.eventBus.published.map((event) => event.json)).toEqual([
      record.dynamodb?.NewImage?.envelope?.S,
    ]);
    expect(ports.queues.deliveredSequences(QUEUE, 'Order#o-1001')).toEqual([1]);
    expect(ports.cursors.cursor('Order#o-1001')).toBe(1);
  });

  it('answers a fully successful batch with an empty list of batch item failures', async () => {
    // Arrange
    const { ports, relay, stream } = arrange();
    const records = stream.records(ports.outbox.put(...testOutboxItems('o-1', 1, 4)));

    // Act
    const response = await relay.handle(records);

    // Assert
    expect(response).toEqual({ batchItemFailures: [] });
  });

  it('sends each queue every event in sequence order when there are several queues', async () => {
    // Arrange
    const { ports, relay, stream } = arrange({ queueUrls: [QUEUE, SECOND_QUEUE] });
    const records = stream.records([
      ...ports.outbox.put(...testOutboxItems('o-1', 1, 12)),
      ...ports.outbox.put(...testOutboxItems('o-2', 1, 5)),
    ]);

    // Act
    await relay.handle(records);

    // Assert
    for (const queue of [QUEUE, SECOND_QUEUE]) {
      expect(ports.queues.deliveredSequences(queue, A)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
      expect(ports.queues.deliveredSequences(queue, B)).toEqual([1, 2, 3, 4, 5]);
    }
  });

  it('publishes only to the bus when no queue is configured', async () => {
    // Arrange
    const { ports, relay, stream } = arrange({ queueUrls: [] });
    const records = stream.records(ports.outbox.put(...testOutboxItems('o-1', 1, 2)));

    // Act
    const response = await relay.handle(records);

    // Assert
    expect(labels(ports.eventBus.published)).toEqual(['o-1#1', 'o-1#2']);
    expect(response).toEqual({ batchItemFailures: [] });
  });
});

describe('Relay PutEvents batching', () => {
  it('puts at most 10 entries in a PutEvents call', async () => {
    // Arrange
    const { ports, relay, stream } = arrange();
    const records = stream.records([
      ...ports.outbox.put(...testOutboxItems('o-1', 1, 17)),
      ...ports.outbox.put(...testOutboxItems('o-2', 1, 8)),
    ]);

    // Act
    await relay.handle(records);

    // Assert
    expect(ports.eventBus.calls.map((call) => call.events.length)).toEqual([10, 10, 5]);
  });

  it('keeps every PutEvents call within 256 KB when events are large', async () => {
    // Arrange
    const { ports, relay, stream } = arrange();
    const records = stream.records([
      ...ports.outbox.put(...testOutboxItems('o-1', 1, 4, { payloadBytes: 100_000 })),
      ...ports.outbox.put(...testOutboxItems('o-2', 1, 3, { payloadBytes: 100_000 })),
    ]);

    // Act
    const response = await relay.handle(records);

    // Assert
    expect(response).toEqual({ batchItemFailures: [] });
    expect(
      ports.eventBus.calls.every((call) => call.bytes <= LIMITS.eventBridgeEntryBytes && !call.thrown),
    ).toBe(true);
    expect(ports.eventBus.calls.map((call) => call.events.length)).toEqual([2, 2, 2, 1]);
    expect(ports.eventBus.published).toHaveLength(7);
  });

  it('retries only the PutEvents entries that failed', async () => {
    // Arrange
    const { ports, relay, stream } = arrange({
      ports: { bus: { failFirstAttemptsById: { [testEventId(A, 2)]: 1, [testEventId(A, 4)]: 2 } } },
    });
    const records = stream.records(ports.outbox.put(...testOutboxItems('o-1', 1, 5)));

    // Act
    const response = await relay.handle(records);

    // Assert
    expect(ports.eventBus.calls.map((call) => labels(call.events))).toEqual([
      ['o-1#1', 'o-1#2', 'o-1#3', 'o-1#4', 'o-1#5'],
      ['o-1#2', 'o-1#4'],
      ['o-1#4'],
    ]);
    expect(labels(ports.eventBus.published).sort()).toEqual(['o-1#1', 'o-1#2', 'o-1#3', 'o-1#4', 'o-1#5']);
    expect(response).toEqual({ batchItemFailures: [] });
  });

  it('retries a throttled PutEvents call after a backoff', async () => {
    // Arrange
    const { ports, relay, stream } = arrange({ ports: { bus: { throwFirstCalls: 1 } } });
    const records = stream.records(ports.outbox.put(...testOutboxItems('o-1', 1, 3)));

    // Act
    const response = await relay.handle(records);

    // Assert
    expect(ports.eventBus.calls.map((call) => call.thrown)).toEqual(['ThrottlingException', undefined]);
    expect(ports.sleeps).toHaveLength(1);
    expect(response).toEqual({ batchItemFailures: [] });
  });
});

describe('Relay FIFO publishing', () => {
  it('sends at most one message per group and at most 10 entries in a SendMessageBatch call', async () => {
    // Arrange
    const { ports, relay, stream } = arrange();
    const items = [...testOutboxItems('o-1', 1, 12)];
    for (let id = 2; id <= 13; id++) items.push(testOutboxItem({ aggregateId: `o-${id}`, sequence: 1 }));
    const records = stream.records(ports.outbox.put(...items));

    // Act
    await relay.handle(records);

    // Assert
    const calls = ports.queues.callsTo(QUEUE);
    for (const call of calls) {
      expect(call.events.length).toBeLessThanOrEqual(LIMITS.sqsBatchEntries);
      expect(new Set(call.events.map((event) => event.pk)).size).toBe(call.events.length);
    }
    expect(ports.queues.delivered(QUEUE)).toHaveLength(24);
    expect(ports.queues.deliveredSequences(QUEUE, A)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
  });

  it('keeps every SendMessageBatch call within 256 KiB when events are large', async () => {
    // Arrange
    const { ports, relay, stream } = arrange();
    const items = [];
    for (let id = 1; id <= 5; id++) items.push(...testOutboxItems(`o-${id}`, 1, 2, { payloadBytes: 90_000 }));
    const records = stream.records(ports.outbox.put(...items));

    // Act
    const response = await relay.handle(records);

    // Assert
    const calls = ports.queues.callsTo(QUEUE);
    expect(calls.every((call) => call.bytes <= LIMITS.sqsBatchBytes && !call.thrown)).toBe(true);
    expect(ports.queues.delivered(QUEUE)).toHaveLength(10);
    expect(response).toEqual({ batchItemFailures: [] });
  });

  it('lets a failed SendMessageBatch entry block only its own group until it is retried', async () => {
    // Arrange
    const { ports, relay, stream } = arrange({
      ports: { queues: { faults: { failFirstAttemptsById: { [testEventId(A, 1)]: 1 } } } },
    });
    const records = stream.records([
      ...ports.outbox.put(...testOutboxItems('o-1', 1, 3)),
      ...ports.outbox.put(...testOutboxItems('o-2', 1, 3)),
    ]);

    // Act
    await relay.handle(records);

    // Assert
    expect(ports.queues.callsTo(QUEUE).map((call) => labels(call.events))).toEqual([
      ['o-1#1', 'o-2#1'],
      ['o-1#1', 'o-2#2'],
      ['o-1#2', 'o-2#3'],
      ['o-1#3'],
    ]);
    expect(ports.queues.deliveredSequences(QUEUE, A)).toEqual([1, 2, 3]);
    expect(ports.queues.deliveredSequences(QUEUE, B)).toEqual([1, 2, 3]);
  });

  it('retries a throttled SendMessageBatch call and keeps group order', async () => {
    // Arrange
    const { ports, relay, stream } = arrange({ ports: { queues: { faults: { throwFirstCalls: 2 } } } });
    const records = stream.records(ports.outbox.put(...testOutboxItems('o-1', 1, 3)));

    // Act
    const response = await relay.handle(records);

    // Assert
    expect(ports.queues.callsTo(QUEUE).map((call) => call.thrown ?? 'ok')).toEqual([
      'ThrottlingException',
      'ThrottlingException',
      'ok',
      'ok',
      'ok',
    ]);
    expect(ports.queues.deliveredSequences(QUEUE, A)).toEqual([1, 2, 3]);
    expect(response).toEqual({ batchItemFailures: [] });
  });

  it('sends an event as large as EventBridge accepts to every queue', async () => {
    // Arrange
    const { ports, relay, stream } = arrange();
    const spec = { aggregateId: 'o-1', sequence: 1 } as const;
    const unpadded = testEnvelope({ ...spec, payloadBytes: 0 });
    const payloadBytes = LIMITS.eventBridgeEntryBytes - eventBridgeEntrySize(unpadded);
    const item = testOutboxItem({ ...spec, payloadBytes });
    const json = item.envelope?.S ?? '';
    expect(eventBridgeEntrySize(testEnvelope({ ...spec, payloadBytes }), json)).toBe(
      LIMITS.eventBridgeEntryBytes,
    );
    expect(utf8Bytes(json)).toBeLessThanOrEqual(LIMITS.sqsBatchBytes);

    // Act
    const response = await relay.handle(stream.records(ports.outbox.put(item)));

    // Assert
    expect(ports.eventBus.published).toHaveLength(1);
    expect(ports.queues.deliveredSequences(QUEUE, A)).toEqual([1]);
    expect(ports.cursors.cursor(A)).toBe(1);
    expect(response).toEqual({ batchItemFailures: [] });
  });
});

describe('Relay failures after retries', () => {
  it('reports the records at and above a PutEvents entry that kept failing and stops the cursor below it', async () => {
    // Arrange
    const { ports, relay, stream } = arrange({ ports: { bus: { failEventIds: [testEventId(A, 3)] } } });
    const records = stream.records(ports.outbox.put(...testOutboxItems('o-1', 1, 5)));

    // Act
    const response = await relay.handle(records);

    // Assert
    expect(reported(response)).toEqual(sequenceNumbers(records.slice(2)));
    expect(ports.cursors.cursor(A)).toBe(2);
    expect(ports.eventBus.faults.attempts(testEventId(A, 3))).toBe(4);
  });

  it('reports the records at and above a queue entry that kept failing and sends nothing after it to that queue', async () => {
    // Arrange
    const { ports, relay, stream } = arrange({
      queueUrls: [QUEUE, SECOND_QUEUE],
      ports: { queues: { faultsByQueue: { [SECOND_QUEUE]: { failEventIds: [testEventId(A, 3)] } } } },
    });
    const records = stream.records(ports.outbox.put(...testOutboxItems('o-1', 1, 5)));

    // Act
    const response = await relay.handle(records);

    // Assert
    expect(reported(response)).toEqual(sequenceNumbers(records.slice(2)));
    expect(ports.cursors.cursor(A)).toBe(2);
    expect(ports.queues.deliveredSequences(SECOND_QUEUE, A)).toEqual([1, 2]);
    expect(ports.queues.callsTo(SECOND_QUEUE).flatMap((call) => labels(call.events))).not.toContain('o-1#4');
    expect(ports.queues.deliveredSequences(QUEUE, A)).toEqual([1, 2, 3, 4, 5]);
  });

  it('publishes the rest in order once the stream redelivers the reported records', async () => {
    // Arrange
    const { ports, relay, stream } = arrange({
      ports: { queues: { faults: { failEventIds: [testEventId(A, 3)] } } },
    });
    const records = stream.records(ports.outbox.put(...testOutboxItems('o-1', 1, 5)));
    const first = await relay.handle(records);
    ports.queues.faults(QUEUE).failEventIds.clear();

    // Act
    const second = await relay.handle(
      records.filter((record) => reported(first).includes(streamSequenceNumber(record))),
    );

    // Assert
    expect(second).toEqual({ batchItemFailures: [] });
    expect(ports.queues.deliveredSequences(QUEUE, A)).toEqual([1, 2, 3, 4, 5]);
    expect(ports.cursors.cursor(A)).toBe(5);
  });

  it('keeps an aggregate whose publication fails from holding back the others', async () => {
    // Arrange
    const { ports, relay, stream } = arrange({ ports: { bus: { failEventIds: [testEventId(A, 1)] } } });
    const aRecords = stream.records(ports.outbox.put(...testOutboxItems('o-1', 1, 2)));
    const bRecords = stream.records(ports.outbox.put(...testOutboxItems('o-2', 1, 2)));

    // Act
    const response = await relay.handle([...aRecords, ...bRecords]);

    // Assert
    expect(reported(response)).toEqual(sequenceNumbers(aRecords));
    expect(ports.cursors.cursor(A)).toBe(0);
    expect(ports.cursors.cursor(B)).toBe(2);
  });

  it('reports the records of an aggregate whose cursor could not be advanced', async () => {
    // Arrange
    const { ports, relay, stream } = arrange();
    ports.cursors.advanceFails = (aggregateKey) => aggregateKey === A;
    const aRecords = stream.records(ports.outbox.put(...testOutboxItems('o-1', 1, 2)));
    const bRecords = stream.records(ports.outbox.put(...testOutboxItems('o-2', 1, 2)));

    // Act
    const response = await relay.handle([...aRecords, ...bRecords]);

    // Assert
    expect(reported(response)).toEqual(sequenceNumbers(aRecords));
    expect(ports.cursors.cursor(A)).toBe(0);
    expect(ports.cursors.cursor(B)).toBe(2);
    expect(ports.telemetry.errors.map((entry) => entry.message)).toContain(
      'cursor update failed; records will be retried',
    );
  });
});

describe('Relay ordering', () => {
  it('publishes a reordered batch (sequence 2 before 1) as 1 then 2', async () => {
    // Arrange
    const { ports, relay, stream } = arrange();
    const [one, two] = ports.outbox.put(...testOutboxItems('o-1', 1, 2));
    if (!one || !two) throw new Error('no items');
    const records = stream.records([two, one]);

    // Act
    const response = await relay.handle(records);

    // Assert
    expect(ports.queues.deliveredSequences(QUEUE, A)).toEqual([1, 2]);
    expect(ports.eventBus.published.map((event) => event.sequence)).toEqual([1, 2]);
    expect(ports.outbox.reads).toEqual([]);
    expect(response).toEqual({ batchItemFailures: [] });
  });

  it('reads sequences 1 and 2 from the table when a batch holds only sequence 3 and publishes 1, 2, 3 in order', async () => {
    // Arrange
    const { ports, relay, stream } = arrange();
    const items = ports.outbox.put(...testOutboxItems('o-1', 1, 3));
    const records = stream.records(items.slice(2));

    // Act
    const response = await relay.handle(records);

    // Assert
    expect(ports.outbox.reads).toEqual([{ aggregateKey: A, from: 1, to: 3 }]);
    expect(ports.queues.deliveredSequences(QUEUE, A)).toEqual([1, 2, 3]);
    expect(ports.cursors.cursor(A)).toBe(3);
    expect(ports.telemetry.counts.get('GapEventsReadFromTable')).toBe(2);
    expect(response).toEqual({ batchItemFailures: [] });
  });

  it('stops at a sequence missing from both stream and table and reports the records after it', async () => {
    // Arrange
    const { ports, relay, stream } = arrange();
    const [one, , three] = testOutboxItems('o-1', 1, 3);
    if (!one || !three) throw new Error('no items');
    const records = stream.records(ports.outbox.put(one, three));

    // Act
    const response = await relay.handle(records);

    // Assert
    expect(ports.queues.deliveredSequences(QUEUE, A)).toEqual([1]);
    expect(ports.cursors.cursor(A)).toBe(1);
    expect(reported(response)).toEqual(sequenceNumbers(records.slice(1)));
    expect(ports.telemetry.warnings.map((entry) => entry.attributes)).toContainEqual({
      aggregateKey: A,
      sequence: 2,
    });
  });

  it('skips records at or below the cursor and does not republish them', async () => {
    // Arrange
    const { ports, relay, stream } = arrange();
    ports.cursors.cursors.set(A, 2);
    const [one, two, three] = ports.outbox.put(...testOutboxItems('o-1', 1, 3));
    if (!one || !two || !three) throw new Error('no items');
    const records = stream.records([one, two, two, three]);

    // Act
    const response = await relay.handle(records);

    // Assert
    expect(labels(ports.eventBus.published)).toEqual(['o-1#3']);
    expect(labels(ports.queues.delivered(QUEUE))).toEqual(['o-1#3']);
    expect(ports.telemetry.counts.get('DuplicateRecordsSkipped')).toBe(3);
    expect(response).toEqual({ batchItemFailures: [] });
  });

  it('publishes nothing for a batch of records that are all at or below the cursor', async () => {
    // Arrange
    const { ports, relay, stream } = arrange();
    ports.cursors.cursors.set(A, 5);
    const records = stream.records(ports.outbox.put(...testOutboxItems('o-1', 4, 5)));

    // Act
    const response = await relay.handle(records);

    // Assert
    expect(ports.eventBus.calls).toEqual([]);
    expect(ports.queues.callsTo(QUEUE)).toEqual([]);
    expect(ports.cursors.advances).toEqual([]);
    expect(response).toEqual({ batchItemFailures: [] });
  });
});

describe('Relay unpublishable items', () => {
  it('sends a malformed item to the failure sink with its reason and publishes the events after it', async () => {
    // Arrange
    const { ports, relay, stream } = arrange();
    const items = [testOutboxItem({ aggregateId: 'o-1', sequence: 1 }), malformedOutboxItem('o-1', 2)];
    items.push(testOutboxItem({ aggregateId: 'o-1', sequence: 3 }));
    const records = stream.records(ports.outbox.put(...items));

    // Act
    const response = await relay.handle(records);

    // Assert
    expect(ports.failures.messages).toEqual([
      expect.objectContaining({
        reason: 'MalformedOutboxItem',
        error: expect.stringContaining('envelope is not valid JSON'),
        aggregateKey: A,
        sequence: 2,
        streamSequenceNumber: streamSequenceNumber(records[1] as DynamoDBRecord),
      }),
    ]);
    expect(ports.queues.deliveredSequences(QUEUE, A)).toEqual([1, 3]);
    expect(ports.cursors.cursor(A)).toBe(3);
    expect(response).toEqual({ batchItemFailures: [] });
  });

  it('sends an event over the EventBridge entry limit to the failure sink as OversizeEvent', async () => {
    // Arrange
    const { ports, relay, stream } = arrange();
    const items = [
      testOutboxItem({ aggregateId: 'o-1', sequence: 1 }),
      testOutboxItem({ aggregateId: 'o-1', sequence: 2, payloadBytes: LIMITS.eventBridgeEntryBytes }),
      testOutboxItem({ aggregateId: 'o-1', sequence: 3 }),
    ];
    const records = stream.records(ports.outbox.put(...items));

    // Act
    const response = await relay.handle(records);

    // Assert
    expect(ports.failures.messages.map((message) => [message.reason, message.sequence])).toEqual([
      ['OversizeEvent', 2],
    ]);
    expect(ports.queues.deliveredSequences(QUEUE, A)).toEqual([1, 3]);
    expect(response).toEqual({ batchItemFailures: [] });
  });

  it('sends a malformed item read from the table to the sink and steps over it', async () => {
    // Arrange
    const { ports, relay, stream } = arrange();
    ports.outbox.put(testOutboxItem({ aggregateId: 'o-1', sequence: 1 }), malformedOutboxItem('o-1', 2));
    const records = stream.records(ports.outbox.put(testOutboxItem({ aggregateId: 'o-1', sequence: 3 })));

    // Act
    const response = await relay.handle(records);

    // Assert
    expect(
      ports.failures.messages.map((message) => [message.reason, message.aggregateKey, message.sequence]),
    ).toEqual([['MalformedOutboxItem', A, 2]]);
    expect(ports.queues.deliveredSequences(QUEUE, A)).toEqual([1, 3]);
    expect(response).toEqual({ batchItemFailures: [] });
  });

  it('sends a record without readable keys to the sink on its own and does not report it', async () => {
    // Arrange
    const { ports, relay, stream } = arrange();
    const { pk: _pk, sk: _sk, ...keyless } = testOutboxItem({ aggregateId: 'o-9', sequence: 1 });
    const records = stream.records([keyless, ...ports.outbox.put(...testOutboxItems('o-1', 1, 2))]);

    // Act
    const response = await relay.handle(records);

    // Assert
    expect(ports.failures.messages).toEqual([
      expect.objectContaining({ reason: 'MalformedOutboxItem', aggregateKey: undefined }),
    ]);
    expect(ports.queues.deliveredSequences(QUEUE, A)).toEqual([1, 2]);
    expect(response).toEqual({ batchItemFailures: [] });
  });

  it('reports a malformed record and everything after it in its aggregate when the sink refuses it', async () => {
    // Arrange
    const { ports, relay, stream } = arrange();
    ports.failures.failing = true;
    const items = [testOutboxItem({ aggregateId: 'o-1', sequence: 1 }), malformedOutboxItem('o-1', 2)];
    items.push(testOutboxItem({ aggregateId: 'o-1', sequence: 3 }));
    const records = stream.records(ports.outbox.put(...items));

    // Act
    const response = await relay.handle(records);

    // Assert
    expect(reported(response)).toEqual(sequenceNumbers(records.slice(1)));
    expect(ports.queues.deliveredSequences(QUEUE, A)).toEqual([1]);
    expect(ports.cursors.cursor(A)).toBe(1);
  });

  it('reports a record without readable keys when the sink refuses it', async () => {
    // Arrange
    const { ports, relay, stream } = arrange();
    ports.failures.failing = true;
    const { pk: _pk, sk: _sk, ...keyless } = testOutboxItem({ aggregateId: 'o-9', sequence: 1 });
    const records = stream.records([keyless]);

    // Act
    const response = await relay.handle(records);

    // Assert
    expect(reported(response)).toEqual(sequenceNumbers(records));
  });

  it('rejects a record without a stream SequenceNumber, since it could be neither checkpointed nor reported', async () => {
    // Arrange
    const { relay, stream } = arrange();
    const record = stream.record(testOutboxItem({ aggregateId: 'o-1', sequence: 1 }));
    delete record.dynamodb?.SequenceNumber;

    // Act
    const result = relay.handle([record]);

    // Assert
    await expect(result).rejects.toThrow(/record\.dynamodb\.SequenceNumber is required/);
  });
});

describe('Relay options', () => {
  it.each([
    ['options.queueUrls', { queueUrls: 'https://sqs.example/q.fifo' }],
    ['options.queueUrls', { queueUrls: [''] }],
    ['options.maxAttempts', { queueUrls: [], maxAttempts: 0 }],
    ['options.baseDelayMs', { queueUrls: [], baseDelayMs: -5 }],
    ['options.maxDelayMs', { queueUrls: [], maxDelayMs: 1.5 }],
    ['options.concurrency', { queueUrls: [], concurrency: 0 }],
  ])('throws a ValidationError naming %s when it is invalid', (field, options) => {
    // Arrange
    const ports = new FakeRelayPorts();

    // Act
    const error = caught(() => new Relay(ports, options as unknown as RelayOptions));

    // Assert
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).field).toBe(field);
    expect((error as Error).message).toMatch(new RegExp(`^${field.replace('.', '\\.')} must`));
  });
});

describe('Relay pending marks', () => {
  it('clears the pending marks of the events it published, gap-filled ones included', async () => {
    // Arrange: sequences 1..3 committed; the stream delivers only 3 so far.
    const { ports, relay, stream } = arrange();
    const items = ports.outbox.put(...testOutboxItems('o-1', 1, 3));

    // Act
    const response = await relay.handle(stream.records(items.slice(2)));

    // Assert
    expect(reported(response)).toEqual([]);
    expect(ports.pending.cleared.get(A)).toEqual([1, 2, 3]);
  });

  it('keeps the marks of events that could not be published', async () => {
    // Arrange
    const { ports, relay, stream } = arrange({ ports: { queues: { faults: { failFirstAttempts: 100 } } } });
    const records = stream.records(ports.outbox.put(...testOutboxItems('o-1', 1, 2)));

    // Act
    await relay.handle(records);

    // Assert
    expect(ports.pending.cleared.has(A)).toBe(false);
  });

  it('still acknowledges published records when clearing marks fails, and counts it', async () => {
    // Arrange
    const { ports, relay, stream } = arrange();
    ports.pending.failing = true;
    const records = stream.records(ports.outbox.put(...testOutboxItems('o-1', 1, 2)));

    // Act
    const response = await relay.handle(records);

    // Assert
    expect(reported(response)).toEqual([]);
    expect(ports.telemetry.counts.get('PendingMarksNotCleared')).toBe(2);
  });
});

import { marshall } from '@aws-sdk/util-dynamodb';
import { describe, expect, it } from 'vitest';
import { Relay } from '../../../functions/relay/relay';
import { ValidationError } from '../../../functions/shared/errors';
import {
  FakeOutboxStream,
  FakeRelayPorts,
  malformedOutboxItem,
  streamSequenceNumber,
  testEventId,
  testOutboxItem,
  testProbeItem,
  testStateItem,
  testTransaction,
} from '../../support/fake-relay-ports';

const QUEUE = 'https://sqs.eu-west-1.amazonaws.com/123456789012/Projection.fifo';
const OTHER_QUEUE = 'https://sqs.eu-west-1.amazonaws.com/123456789012/Audit.fifo';

function setup(options: ConstructorParameters<typeof FakeRelayPorts>[0] = {}, queueUrls = [QUEUE]) {
  const ports = new FakeRelayPorts(options);
  return { ports, relay: new Relay(ports, { queueUrls }), stream: new FakeOutboxStream() };
}

describe('Relay: what state records announce is published', () => {
  it('publishes a transaction its batch carries whole, in sequence order, without reading the table', async () => {
    // Arrange: one transaction of three events, its outbox records before its state record
    const { ports, relay, stream } = setup();
    const { state, outbox } = testTransaction('o-1', 1, 3);
    const records = stream.records(ports.outbox.put(...outbox, state));

    // Act
    const response = await relay.handle(records);

    // Assert
    expect(response.batchItemFailures).toEqual([]);
    expect(ports.queues.deliveredSequences(QUEUE, 'Order#o-1')).toEqual([1, 2, 3]);
    expect([...ports.eventBus.publishedIds()]).toEqual([1, 2, 3].map((s) => testEventId('Order#o-1', s)));
    expect(ports.outbox.reads).toEqual([]);
    expect(ports.telemetry.counts.get('eventsPublished')).toBe(3);
  });

  it('acknowledges outbox records whose state record is not in the batch, and publishes nothing for them', async () => {
    // Arrange
    const { ports, relay, stream } = setup();
    const { outbox } = testTransaction('o-1', 1, 2);

    // Act
    const response = await relay.handle(stream.records(ports.outbox.put(...outbox)));

    // Assert
    expect(response.batchItemFailures).toEqual([]);
    expect(ports.eventBus.published).toEqual([]);
    expect(ports.queues.delivered(QUEUE)).toEqual([]);
  });

  it('reads the events a state record announces from the table when the batch does not carry them', async () => {
    // Arrange: the outbox records went in an earlier batch (acknowledged, unpublished)
    const { ports, relay, stream } = setup();
    const { state, outbox } = testTransaction('o-1', 1, 2);
    await relay.handle(stream.records(ports.outbox.put(...outbox)));

    // Act
    const response = await relay.handle(stream.records(ports.outbox.put(state)));

    // Assert
    expect(response.batchItemFailures).toEqual([]);
    expect(ports.queues.deliveredSequences(QUEUE, 'Order#o-1')).toEqual([1, 2]);
    expect(ports.outbox.reads).toEqual([{ aggregateKey: 'Order#o-1', from: 1, to: 2 }]);
    expect(ports.telemetry.counts.get('transactionsReadFromTable')).toBe(1);
  });

  it('keeps an aggregate in commit order when its transactions records arrive interleaved and reversed', async () => {
    // Arrange: two transactions of o-1, the second's outbox records first
    const { ports, relay, stream } = setup();
    const first = testTransaction('o-1', 1, 2);
    const second = testTransaction('o-1', 3, 4);
    ports.outbox.put(...first.outbox, ...second.outbox);
    const records = stream.records([
      ...second.outbox.reverse(),
      first.state,
      ...first.outbox.reverse(),
      second.state,
    ]);

    // Act
    await relay.handle(records);

    // Assert
    expect(ports.queues.deliveredSequences(QUEUE, 'Order#o-1')).toEqual([1, 2, 3, 4]);
  });

  it('publishes a transaction once when its state record comes twice in a batch', async () => {
    // Arrange
    const { ports, relay, stream } = setup();
    const { state, outbox } = testTransaction('o-1', 1, 1);
    ports.outbox.put(...outbox);

    // Act
    await relay.handle(stream.records([...outbox, state, state]));

    // Assert
    expect(ports.eventBus.published).toHaveLength(1);
    expect(ports.queues.callsTo(QUEUE).flatMap((call) => call.events)).toHaveLength(1);
  });

  it('makes no DynamoDB request when every batch carries its transactions whole, whatever the number of events', async () => {
    // Arrange: 40 aggregates, 5 single-event transactions each, in batches of 100 records
    const { ports, relay, stream } = setup();
    const records = [];
    for (let sequence = 1; sequence <= 5; sequence++) {
      for (let aggregate = 0; aggregate < 40; aggregate++) {
        const { state, outbox } = testTransaction(`o-${aggregate}`, sequence, sequence);
        records.push(...stream.records(ports.outbox.put(...outbox, state)));
      }
    }

    // Act
    for (let i = 0; i < records.length; i += 100) await relay.handle(records.slice(i, i + 100));

    // Assert
    expect(ports.outbox.reads).toEqual([]);
    expect(ports.telemetry.counts.get('eventsPublished')).toBe(200);
  });
});

describe('Relay: failures hold back only their own aggregate', () => {
  it('reports a state record whose event a queue keeps refusing, and sends nothing after it to that group', async () => {
    // Arrange: o-1 #2 fails on every attempt; o-2 is healthy
    const { ports, relay, stream } = setup({
      queues: { faults: { failEventIds: [testEventId('Order#o-1', 2)] } },
    });
    const a = testTransaction('o-1', 1, 1);
    const b = testTransaction('o-1', 2, 3);
    const c = testTransaction('o-2', 1, 1);
    const records = stream.records(
      ports.outbox.put(...a.outbox, a.state, ...b.outbox, b.state, ...c.outbox, c.state),
    );

    // Act
    const response = await relay.handle(records);

    // Assert
    const stateRecord = records[4];
    expect(response.batchItemFailures.map((f) => f.itemIdentifier)).toEqual([
      streamSequenceNumber(stateRecord ?? records[0]),
    ]);
    expect(ports.queues.deliveredSequences(QUEUE, 'Order#o-1')).toEqual([1]);
    expect(ports.queues.deliveredSequences(QUEUE, 'Order#o-2')).toEqual([1]);
    expect(ports.telemetry.counts.get('publishFailures')).toBe(1);
  });

  it('delivers the rest in order once Lambda retries from the reported record', async () => {
    // Arrange: #2 fails on its first four attempts (the whole first invocation), then succeeds
    const { ports, relay, stream } = setup({
      queues: { faults: { failFirstAttemptsById: { [testEventId('Order#o-1', 2)]: 4 } } },
    });
    const first = testTransaction('o-1', 1, 2);
    const second = testTransaction('o-1', 3, 3);
    const records = stream.records(
      ports.outbox.put(...first.outbox, first.state, ...second.outbox, second.state),
    );
    const response = await relay.handle(records);
    const lowest = records.findIndex((r) =>
      response.batchItemFailures.some((f) => f.itemIdentifier === streamSequenceNumber(r)),
    );

    // Act: Lambda redelivers the batch from the lowest reported record
    const retry = await relay.handle(records.slice(lowest));

    // Assert: FIFO deduplication drops the re-sent #1; the group holds 1, 2, 3 in order
    expect(retry.batchItemFailures).toEqual([]);
    expect(ports.queues.deliveredSequences(QUEUE, 'Order#o-1')).toEqual([1, 2, 3]);
  });

  it('retries only the entries that failed, with backoff', async () => {
    // Arrange: every bus entry fails its first attempt
    const { ports, relay, stream } = setup({ bus: { failFirstAttempts: 1 } });
    const { state, outbox } = testTransaction('o-1', 1, 3);

    // Act
    const response = await relay.handle(stream.records(ports.outbox.put(...outbox, state)));

    // Assert
    expect(response.batchItemFailures).toEqual([]);
    expect(ports.eventBus.calls.map((call) => call.events.length)).toEqual([3, 3]);
    expect(ports.sleeps).toHaveLength(1);
    expect(ports.telemetry.counts.get('entriesRetried')).toBe(3);
  });

  it('treats a throttled call as every entry failing, and reports the records when it stays throttled', async () => {
    // Arrange
    const { ports, relay, stream } = setup({ bus: { throwFirstCalls: 10 } });
    const { state, outbox } = testTransaction('o-1', 1, 1);
    const records = stream.records(ports.outbox.put(...outbox, state));

    // Act
    const response = await relay.handle(records);

    // Assert: the state record (index 1) is reported; its outbox record is not needed again
    expect(response.batchItemFailures.map((f) => f.itemIdentifier)).toEqual([
      streamSequenceNumber(records[1]),
    ]);
  });

  it('throws when reading the table fails, so Lambda retries the batch', async () => {
    // Arrange
    const { ports, relay, stream } = setup();
    ports.outbox.readFails = () => true;
    const { state } = testTransaction('o-1', 1, 1);

    // Act / Assert
    await expect(relay.handle(stream.records([state]))).rejects.toThrow(/Query throttled/);
  });
});

describe('Relay: what no target can carry is stepped over, with a reason', () => {
  it('sinks a malformed outbox item, puts a void marker in its place on FIFO queues and goes on', async () => {
    // Arrange: #2 of a three-event transaction is malformed
    const { ports, relay, stream } = setup();
    const state = testStateItem('o-1', 1, 3);
    const items = [
      testOutboxItem({ aggregateId: 'o-1', sequence: 1 }),
      malformedOutboxItem('o-1', 2),
      testOutboxItem({ aggregateId: 'o-1', sequence: 3 }),
    ];

    // Act
    const response = await relay.handle(stream.records(ports.outbox.put(...items, state)));

    // Assert
    expect(response.batchItemFailures).toEqual([]);
    expect(ports.queues.delivered(QUEUE).map((m) => `${m.kind}:${m.sequence}`)).toEqual([
      'event:1',
      'void:2',
      'event:3',
    ]);
    expect(ports.eventBus.published.map((e) => e.sequence)).toEqual([1, 3]);
    expect(ports.failures.messages).toEqual([
      expect.objectContaining({ reason: 'MalformedOutboxItem', aggregateKey: 'Order#o-1', sequence: 2 }),
    ]);
    expect(ports.telemetry.counts.get('poisonEvents')).toBe(1);
  });

  it('publishes an event with characters SQS refuses to the bus, and a void marker to FIFO queues', async () => {
    // Arrange: data holding U+FFFF, which JSON.stringify leaves raw
    const { ports, relay, stream } = setup();
    const item = testOutboxItem({ aggregateId: 'o-1', sequence: 1, data: { note: 'bad \uFFFF' } });

    // Act
    const response = await relay.handle(stream.records(ports.outbox.put(item, testStateItem('o-1', 1, 1))));

    // Assert
    expect(response.batchItemFailures).toEqual([]);
    expect(ports.eventBus.published.map((e) => e.sequence)).toEqual([1]);
    expect(ports.queues.delivered(QUEUE).map((m) => m.kind)).toEqual(['void']);
    expect(ports.failures.messages[0]).toMatchObject({ reason: 'UnsendableCharacters', sequence: 1 });
  });

  it('steps over an entry a FIFO queue refuses for good (SenderFault) without retrying it', async () => {
    // Arrange
    const rejected = testEventId('Order#o-1', 1);
    const { ports, relay, stream } = setup(
      { queues: { faultsByQueue: { [QUEUE]: { rejectEventIds: [rejected] } } } },
      [QUEUE, OTHER_QUEUE],
    );
    const { state, outbox } = testTransaction('o-1', 1, 2);

    // Act
    const response = await relay.handle(stream.records(ports.outbox.put(...outbox, state)));

    // Assert: a void marker replaced it on that queue only; the other queue and the bus have it
    expect(response.batchItemFailures).toEqual([]);
    expect(ports.queues.delivered(QUEUE).map((m) => `${m.kind}:${m.sequence}`)).toEqual([
      'void:1',
      'event:2',
    ]);
    expect(ports.queues.deliveredSequences(OTHER_QUEUE, 'Order#o-1')).toEqual([1, 2]);
    expect(ports.queues.faults(QUEUE).attempts(rejected)).toBe(1);
    expect(ports.failures.messages).toEqual([
      expect.objectContaining({ reason: 'RejectedByTarget', target: QUEUE, eventId: rejected }),
    ]);
  });

  it('steps over an entry EventBridge refuses for good, and still delivers it to the FIFO queues', async () => {
    // Arrange
    const rejected = testEventId('Order#o-1', 1);
    const { ports, relay, stream } = setup({ bus: { rejectEventIds: [rejected] } });
    const { state, outbox } = testTransaction('o-1', 1, 1);

    // Act
    const response = await relay.handle(stream.records(ports.outbox.put(...outbox, state)));

    // Assert
    expect(response.batchItemFailures).toEqual([]);
    expect(ports.eventBus.faults.attempts(rejected)).toBe(1);
    expect(ports.queues.deliveredSequences(QUEUE, 'Order#o-1')).toEqual([1]);
    expect(ports.failures.messages[0]).toMatchObject({ reason: 'RejectedByTarget', target: 'eventbridge' });
  });

  it('holds the chain before poison the failure queue refuses, and reports its state record', async () => {
    // Arrange
    const { ports, relay, stream } = setup();
    ports.failures.failing = true;
    const state = testStateItem('o-1', 1, 2);
    const records = stream.records(
      ports.outbox.put(
        testOutboxItem({ aggregateId: 'o-1', sequence: 1 }),
        malformedOutboxItem('o-1', 2),
        state,
      ),
    );

    // Act
    const response = await relay.handle(records);

    // Assert
    expect(response.batchItemFailures.map((f) => f.itemIdentifier)).toEqual([
      streamSequenceNumber(records[2]),
    ]);
    expect(ports.queues.deliveredSequences(QUEUE, 'Order#o-1')).toEqual([1]);
  });

  it('declares void a sequence a state item announces but the table does not have', async () => {
    // Arrange: the state item says 1..2, only #1 exists
    const { ports, relay, stream } = setup();
    const records = stream.records(
      ports.outbox.put(testOutboxItem({ aggregateId: 'o-1', sequence: 1 }), testStateItem('o-1', 1, 2)),
    );

    // Act
    const response = await relay.handle(records);

    // Assert
    expect(response.batchItemFailures).toEqual([]);
    expect(ports.queues.delivered(QUEUE).map((m) => `${m.kind}:${m.sequence}`)).toEqual([
      'event:1',
      'void:2',
    ]);
    expect(ports.failures.messages[0]).toMatchObject({ reason: 'MissingOutboxItem', sequence: 2 });
  });

  it('sinks a state item that announces no valid range, and acknowledges it', async () => {
    // Arrange
    const { ports, relay, stream } = setup();
    const broken = marshall({ pk: 'Order#o-1', sk: 'STATE', entityType: 'AGGREGATE', version: 2 });

    // Act
    const response = await relay.handle(stream.records([broken]));

    // Assert
    expect(response.batchItemFailures).toEqual([]);
    expect(ports.failures.messages[0]).toMatchObject({
      reason: 'MalformedStateItem',
      aggregateKey: 'Order#o-1',
    });
  });
});

describe('Relay: the heartbeat', () => {
  it('records the newest sweeper probe of a batch', async () => {
    // Arrange
    const { ports, relay, stream } = setup();

    // Act
    await relay.handle(
      stream.records([
        testProbeItem(3, '2026-11-23T16:00:00.000Z'),
        testProbeItem(4, '2026-11-23T16:05:00.000Z'),
      ]),
    );

    // Assert
    expect(ports.heartbeat.seen).toEqual({ seq: 4, writtenAt: '2026-11-23T16:05:00.000Z' });
  });

  it('reports the probe record when the heartbeat cannot be written', async () => {
    // Arrange
    const { ports, relay, stream } = setup();
    ports.heartbeat.failing = true;
    const records = stream.records([testProbeItem(1, '2026-11-23T16:00:00.000Z')]);

    // Act
    const response = await relay.handle(records);

    // Assert
    expect(response.batchItemFailures.map((f) => f.itemIdentifier)).toEqual([
      streamSequenceNumber(records[0]),
    ]);
  });
});

describe('Relay: input', () => {
  it('refuses options that are not queue URLs or positive integers, naming what was given', () => {
    // Arrange
    const ports = new FakeRelayPorts();

    // Act / Assert
    expect(() => new Relay(ports, { queueUrls: [''] })).toThrow(ValidationError);
    expect(() => new Relay(ports, { queueUrls: [], maxAttempts: 0 })).toThrow(
      /options.maxAttempts must be a positive integer \(given 0\)/,
    );
  });

  it('refuses a record without a SequenceNumber', async () => {
    // Arrange
    const { relay } = setup();

    // Act / Assert
    await expect(relay.handle([{ dynamodb: {} }])).rejects.toThrow(/SequenceNumber is required/);
  });
});

import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import type { DynamoDBBatchResponse, DynamoDBRecord } from 'aws-lambda';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Relay } from '../../../functions/relay/relay';
import { LIMITS } from '../../../functions/shared/limits';
import {
  FakeOutboxStream,
  FakeRelayPorts,
  malformedOutboxItem,
  seededRandom,
  streamSequenceNumber,
  testEventId,
  testOutboxItem,
} from '../../support/fake-relay-ports';

/** One stream record of the simulated shard, with what it stands for. */
interface StreamEntry {
  readonly aggregateKey: string;
  readonly sequence: number;
  readonly record: DynamoDBRecord;
}

interface Scenario {
  /** Number of events committed per aggregate. */
  readonly eventCounts: number[];
  /** Which aggregate's next event the stream carries next (index into those with events left). */
  readonly interleaving: number[];
  /** Adjacent swaps applied to the stream: records delivered out of order. */
  readonly swaps: number[];
  /** Extra copies of records, inserted later in the stream: records delivered twice. */
  readonly duplicates: Array<{ readonly at: number; readonly later: number }>;
  /** Events committed malformed, as (aggregate, sequence) picks: the relay must quarantine them and go on. */
  readonly malformed: Array<readonly [number, number]>;
  /** Lambda batch sizes, used in turn. */
  readonly batchSizes: number[];
  /** Whether Lambda invokes again with the same batch although it succeeded (at-least-once), used in turn. */
  readonly redeliverAfterSuccess: boolean[];
  readonly queueCount: number;
  readonly maxAttempts: number;
  readonly busFailureRate: number;
  readonly queueFailureRate: number;
  /** Probability that a PutEvents or SendMessageBatch call throws (throttling). */
  readonly throwRate: number;
  readonly advanceFailureRate: number;
  readonly cursorReadFailureRate: number;
  readonly tableReadFailureRate: number;
  readonly sinkFailureRate: number;
  readonly seed: number;
}

/** A fault probability from 0 to `max`, in whole percent (doubles cluster too near 0 to exercise the faults). */
const rate = (max: number) =>
  fc.integer({ min: 0, max: Math.round(max * 100) }).map((percent) => percent / 100);

const scenarios: fc.Arbitrary<Scenario> = fc.record({
  eventCounts: fc.array(fc.integer({ min: 1, max: 8 }), { minLength: 1, maxLength: 4 }),
  interleaving: fc.array(fc.nat(), { maxLength: 40 }),
  swaps: fc.array(fc.nat(), { maxLength: 6 }),
  duplicates: fc.array(fc.record({ at: fc.nat(), later: fc.nat({ max: 10 }) }), { maxLength: 6 }),
  malformed: fc.array(fc.tuple(fc.nat(), fc.nat()), { maxLength: 2 }),
  batchSizes: fc.array(fc.integer({ min: 1, max: 8 }), { minLength: 1, maxLength: 5 }),
  redeliverAfterSuccess: fc.array(fc.boolean(), { minLength: 1, maxLength: 5 }),
  queueCount: fc.integer({ min: 1, max: 3 }),
  maxAttempts: fc.integer({ min: 1, max: 4 }),
  busFailureRate: rate(0.3),
  queueFailureRate: rate(0.3),
  throwRate: rate(0.1),
  advanceFailureRate: rate(0.15),
  cursorReadFailureRate: rate(0.05),
  tableReadFailureRate: rate(0.1),
  sinkFailureRate: rate(0.5),
  seed: fc.integer(),
});

const MAX_INVOCATIONS = 2_000;

const aggregateKeyOf = (index: number) => `Order#o-${index}`;
const eventKey = (aggregateKey: string, sequence: number) => `${aggregateKey}#${sequence}`;

/** Keys (`<aggregate key>#<sequence>`) of the events the scenario commits malformed. */
function malformedKeys(scenario: Scenario): Set<string> {
  const keys = new Set<string>();
  for (const [aggregate, sequence] of scenario.malformed) {
    const index = aggregate % scenario.eventCounts.length;
    keys.add(eventKey(aggregateKeyOf(index), (sequence % (scenario.eventCounts[index] ?? 1)) + 1));
  }
  return keys;
}

/** The shard as the scenario delivers it: interleaved aggregates, some records swapped, some repeated. */
function streamOrder(scenario: Scenario): Array<{ readonly aggregate: number; readonly sequence: number }> {
  const next = scenario.eventCounts.map(() => 1);
  const order: Array<{ aggregate: number; sequence: number }> = [];
  const total = scenario.eventCounts.reduce((sum, count) => sum + count, 0);
  for (let step = 0; step < total; step++) {
    const open = scenario.eventCounts.flatMap((count, index) => ((next[index] ?? 1) <= count ? [index] : []));
    const aggregate = open[(scenario.interleaving[step] ?? 0) % open.length] ?? 0;
    const sequence = next[aggregate] ?? 1;
    next[aggregate] = sequence + 1;
    order.push({ aggregate, sequence });
  }
  for (const swap of scenario.swaps) {
    if (order.length < 2) break;
    const at = swap % (order.length - 1);
    const [first, second] = [order[at], order[at + 1]];
    if (first && second) [order[at], order[at + 1]] = [second, first];
  }
  for (const { at, later } of scenario.duplicates) {
    const source = order[at % order.length];
    if (source) order.splice(Math.min(order.length, (at % order.length) + 1 + later), 0, source);
  }
  return order;
}

/**
 * Runs the relay as Lambda runs it on one shard: batches in stream order; on a
 * partial failure, the batch's records from the lowest reported one onward are
 * delivered again; an invocation that throws is retried whole; sometimes a
 * successful batch is delivered again as well. Checks, after every invocation,
 * what may be observed at that point.
 */
async function simulate(scenario: Scenario) {
  const queueUrls = Array.from(
    { length: scenario.queueCount },
    (_, index) => `https://sqs.eu-west-1.amazonaws.com/123456789012/Consumer${index}.fifo`,
  );
  const throttling = { throwRate: scenario.throwRate };
  const ports = new FakeRelayPorts({
    seed: scenario.seed,
    bus: { ...throttling, failureRate: scenario.busFailureRate, seed: scenario.seed },
    queues: { faults: { ...throttling, failureRate: scenario.queueFailureRate, seed: scenario.seed + 1 } },
  });
  const faultRandom = seededRandom(scenario.seed + 2);
  ports.cursors.advanceFails = () => faultRandom() < scenario.advanceFailureRate;
  ports.cursors.getFails = () => faultRandom() < scenario.cursorReadFailureRate;
  ports.outbox.readFails = () => faultRandom() < scenario.tableReadFailureRate;
  ports.failures.fails = () => faultRandom() < scenario.sinkFailureRate;
  const relay = new Relay(ports, { queueUrls, maxAttempts: scenario.maxAttempts });

  const malformed = malformedKeys(scenario);
  const itemFor = (aggregate: number, sequence: number): Record<string, AttributeValue> =>
    malformed.has(eventKey(aggregateKeyOf(aggregate), sequence))
      ? malformedOutboxItem(`o-${aggregate}`, sequence)
      : testOutboxItem({ aggregateId: `o-${aggregate}`, sequence });
  const outboxStream = new FakeOutboxStream();
  const order = streamOrder(scenario);
  const stream: StreamEntry[] = order.map(({ aggregate, sequence }) => ({
    aggregateKey: aggregateKeyOf(aggregate),
    sequence,
    record: outboxStream.record(itemFor(aggregate, sequence)),
  }));

  // An aggregate's events commit in order: a record of sequence n in the stream means 1..n are in the table.
  const committed = new Map<string, string>();
  const highestCommitted = new Map<number, number>();
  const commitUpTo = (end: number) => {
    for (const { aggregate, sequence: upTo } of order.slice(0, end)) {
      for (let sequence = (highestCommitted.get(aggregate) ?? 0) + 1; sequence <= upTo; sequence++) {
        const item = ports.outbox.put(itemFor(aggregate, sequence))[0];
        if (!malformed.has(eventKey(aggregateKeyOf(aggregate), sequence))) {
          committed.set(testEventId(aggregateKeyOf(aggregate), sequence), item?.envelope?.S ?? '');
        }
        highestCommitted.set(aggregate, sequence);
      }
    }
  };
  const published = (aggregateKey: string, sequence: number) => {
    const eventId = testEventId(aggregateKey, sequence);
    return (
      ports.eventBus.publishedIds().has(eventId) &&
      queueUrls.every((url) => ports.queues.delivered(url).some((event) => event.envelope.id === eventId))
    );
  };
  const quarantined = (aggregateKey: string, sequence: number) =>
    ports.failures.messages.some(
      (message) => message.aggregateKey === aggregateKey && message.sequence === sequence,
    );
  const done = (aggregateKey: string, sequence: number) =>
    malformed.has(eventKey(aggregateKey, sequence))
      ? quarantined(aggregateKey, sequence)
      : published(aggregateKey, sequence);

  let position = 0;
  let turn = 0;
  let redeliveredAt = -1;
  for (let invocation = 0; position < stream.length; invocation++, turn++) {
    if (invocation === MAX_INVOCATIONS)
      throw new Error(`stream not drained after ${MAX_INVOCATIONS} invocations`);
    const batch = stream.slice(
      position,
      position + (scenario.batchSizes[turn % scenario.batchSizes.length] ?? 1),
    );
    commitUpTo(position + batch.length);

    let response: DynamoDBBatchResponse;
    try {
      response = await relay.handle(batch.map((entry) => entry.record));
    } catch {
      // A failed cursor or table read throws: nothing is acknowledged and Lambda retries the batch.
      continue;
    }

    const reported = new Set(response.batchItemFailures.map((failure) => failure.itemIdentifier));
    const inBatch = new Set(batch.map((entry) => streamSequenceNumber(entry.record)));
    for (const id of reported) expect(inBatch.has(id), `reported ${id} is not in the batch`).toBe(true);
    // (e) A record not reported is acknowledged (Lambda checkpoints past every record before the lowest
    // reported one): its event must be on every target, or quarantined if malformed, and so must every
    // earlier event of its aggregate, since the cursor promises a prefix.
    for (const entry of batch.filter((e) => !reported.has(streamSequenceNumber(e.record)))) {
      for (let sequence = 1; sequence <= entry.sequence; sequence++) {
        expect(
          done(entry.aggregateKey, sequence),
          `acknowledged ${eventKey(entry.aggregateKey, entry.sequence)} but ${sequence} is neither published nor quarantined`,
        ).toBe(true);
      }
    }
    // (b) Nothing is published that the table has not committed, and it is published as committed.
    for (const event of [
      ...ports.eventBus.published,
      ...queueUrls.flatMap((url) => ports.queues.delivered(url)),
    ]) {
      expect(committed.get(event.envelope.id), `published uncommitted ${event.envelope.id}`).toBe(event.json);
    }

    const lowest = batch.findIndex((entry) => reported.has(streamSequenceNumber(entry.record)));
    if (lowest !== -1) position += lowest;
    else if (
      scenario.redeliverAfterSuccess[turn % scenario.redeliverAfterSuccess.length] &&
      redeliveredAt !== position
    ) {
      redeliveredAt = position;
    } else position += batch.length;
  }
  return { ports, queueUrls, malformed };
}

describe('Relay under a duplicating, reordering, failing stream', () => {
  it('delivers every committed event to every queue once and in order, quarantines malformed ones and advances every cursor to the end', async () => {
    await fc.assert(
      fc.asyncProperty(scenarios, async (scenario) => {
        // Arrange
        const aggregates = scenario.eventCounts.map((count, index) => ({
          key: aggregateKeyOf(index),
          count,
        }));

        // Act
        const { ports, queueUrls, malformed } = await simulate(scenario);

        // Assert
        for (const { key, count } of aggregates) {
          const expected = Array.from({ length: count }, (_, index) => index + 1).filter(
            (sequence) => !malformed.has(eventKey(key, sequence)),
          );
          // (a) with FIFO deduplication, each group's messages are its events, each once, in sequence order
          for (const url of queueUrls) expect(ports.queues.deliveredSequences(url, key)).toEqual(expected);
          // (c) the bus has every event at least once
          for (const sequence of expected)
            expect(ports.eventBus.publishedIds().has(testEventId(key, sequence))).toBe(true);
          // (d) the cursor ends at the aggregate's last sequence
          expect(ports.cursors.cursor(key)).toBe(count);
        }
        for (const key of malformed) {
          const [aggregateKey, sequence] = [
            key.slice(0, key.lastIndexOf('#')),
            Number(key.slice(key.lastIndexOf('#') + 1)),
          ];
          expect(ports.failures.messages).toContainEqual(
            expect.objectContaining({ reason: 'MalformedOutboxItem', aggregateKey, sequence }),
          );
        }
        // Every call kept to the service limits (the fakes throw other errors than throttling when it does not).
        const calls = [...ports.eventBus.calls, ...queueUrls.flatMap((url) => ports.queues.callsTo(url))];
        for (const call of calls) expect(call.thrown ?? 'ThrottlingException').toBe('ThrottlingException');
        for (const url of queueUrls) {
          for (const call of ports.queues.callsTo(url)) {
            expect(call.events.length).toBeLessThanOrEqual(LIMITS.sqsBatchEntries);
            expect(new Set(call.events.map((event) => event.pk)).size).toBe(call.events.length);
          }
        }
      }),
      { seed: 42, numRuns: 200 },
    );
  });
});

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
  testStateItem,
} from '../../support/fake-relay-ports';

/** One stream record of the simulated shard, with what it stands for. */
interface StreamEntry {
  readonly aggregate: number;
  readonly kind: 'state' | 'outbox';
  /** The transaction's range (state) or the event's sequence (outbox: from = to). */
  readonly from: number;
  readonly to: number;
  readonly record: DynamoDBRecord;
}

interface Scenario {
  /** Per aggregate, the number of events of each of its transactions, in commit order. */
  readonly transactions: number[][];
  /** Which aggregate commits next (index into those with transactions left). */
  readonly interleaving: number[];
  /** Where each transaction's state record goes among its outbox records (0 = before all). */
  readonly statePlacement: number[];
  /** Outbox records displaced later in the stream, possibly into a later batch: (record pick, distance). */
  readonly displaced: Array<{ readonly at: number; readonly later: number }>;
  /** Outbox records delivered twice, the copy later in the stream. */
  readonly duplicates: Array<{ readonly at: number; readonly later: number }>;
  /** Events committed malformed, as (aggregate, event) picks: the relay must sink them and go on. */
  readonly malformed: Array<readonly [number, number]>;
  /** Lambda batch sizes, used in turn. */
  readonly batchSizes: number[];
  /** Whether Lambda invokes again with the same batch although it succeeded (at-least-once). */
  readonly redeliverAfterSuccess: boolean[];
  readonly queueCount: number;
  readonly maxAttempts: number;
  readonly busFailureRate: number;
  readonly queueFailureRate: number;
  /** Probability that a PutEvents or SendMessageBatch call throws (throttling). */
  readonly throwRate: number;
  readonly tableReadFailureRate: number;
  readonly sinkFailureRate: number;
  readonly seed: number;
}

const rate = (max: number) =>
  fc.integer({ min: 0, max: Math.round(max * 100) }).map((percent) => percent / 100);

const scenarios: fc.Arbitrary<Scenario> = fc.record({
  transactions: fc.array(fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 4 }), {
    minLength: 1,
    maxLength: 4,
  }),
  interleaving: fc.array(fc.nat(), { maxLength: 20 }),
  statePlacement: fc.array(fc.nat(), { maxLength: 20 }),
  displaced: fc.array(fc.record({ at: fc.nat(), later: fc.integer({ min: 1, max: 12 }) }), { maxLength: 5 }),
  duplicates: fc.array(fc.record({ at: fc.nat(), later: fc.nat({ max: 10 }) }), { maxLength: 4 }),
  malformed: fc.array(fc.tuple(fc.nat(), fc.nat()), { maxLength: 2 }),
  batchSizes: fc.array(fc.integer({ min: 1, max: 8 }), { minLength: 1, maxLength: 5 }),
  redeliverAfterSuccess: fc.array(fc.boolean(), { minLength: 1, maxLength: 5 }),
  queueCount: fc.integer({ min: 1, max: 3 }),
  maxAttempts: fc.integer({ min: 1, max: 4 }),
  busFailureRate: rate(0.3),
  queueFailureRate: rate(0.3),
  throwRate: rate(0.1),
  tableReadFailureRate: rate(0.1),
  sinkFailureRate: rate(0.5),
  seed: fc.integer(),
});

const MAX_INVOCATIONS = 3_000;
const aggregateKeyOf = (index: number) => `Order#o-${index}`;
const eventKey = (aggregateKey: string, sequence: number) => `${aggregateKey}#${sequence}`;

function eventCount(scenario: Scenario, aggregate: number): number {
  return (scenario.transactions[aggregate] ?? []).reduce((sum, size) => sum + size, 0);
}

function malformedKeys(scenario: Scenario): Set<string> {
  const keys = new Set<string>();
  for (const [aggregate, event] of scenario.malformed) {
    const index = aggregate % scenario.transactions.length;
    keys.add(eventKey(aggregateKeyOf(index), (event % Math.max(1, eventCount(scenario, index))) + 1));
  }
  return keys;
}

/**
 * The shard as AWS may deliver it: transactions in commit order, interleaved across aggregates;
 * within a transaction its records in any order; outbox records possibly displaced later or
 * delivered twice. One aggregate's state records stay in commit order (DynamoDB orders a stream
 * per item, and each state record is the same item).
 */
function streamOrder(
  scenario: Scenario,
  item: (aggregate: number, sequence: number) => Record<string, AttributeValue>,
) {
  const stream = new FakeOutboxStream();
  const nextTx = scenario.transactions.map(() => 0);
  const nextSeq = scenario.transactions.map(() => 1);
  const order: Array<Omit<StreamEntry, 'record'> & { readonly item: Record<string, AttributeValue> }> = [];
  const total = scenario.transactions.reduce((sum, list) => sum + list.length, 0);
  for (let step = 0; step < total; step++) {
    const open = scenario.transactions.flatMap((list, index) =>
      (nextTx[index] ?? 0) < list.length ? [index] : [],
    );
    const aggregate = open[(scenario.interleaving[step] ?? 0) % open.length] ?? 0;
    const size = scenario.transactions[aggregate]?.[nextTx[aggregate] ?? 0] ?? 1;
    const from = nextSeq[aggregate] ?? 1;
    const to = from + size - 1;
    nextTx[aggregate] = (nextTx[aggregate] ?? 0) + 1;
    nextSeq[aggregate] = to + 1;
    const records: Array<(typeof order)[number]> = Array.from({ length: size }, (_, offset) => ({
      aggregate,
      kind: 'outbox' as const,
      from: from + offset,
      to: from + offset,
      item: item(aggregate, from + offset),
    }));
    records.splice((scenario.statePlacement[step] ?? 0) % (size + 1), 0, {
      aggregate,
      kind: 'state',
      from,
      to,
      item: testStateItem(`o-${aggregate}`, from, to),
    });
    order.push(...records);
  }
  for (const { at, later } of scenario.displaced) {
    const index = at % order.length;
    const [entry] = order[index]?.kind === 'outbox' ? order.splice(index, 1) : [];
    if (entry) order.splice(Math.min(order.length, index + later), 0, entry);
  }
  for (const { at, later } of scenario.duplicates) {
    const source = order[at % order.length];
    if (source?.kind === 'outbox')
      order.splice(Math.min(order.length, (at % order.length) + 1 + later), 0, source);
  }
  return order.map(({ item: committed, ...entry }) => ({ ...entry, record: stream.record(committed) }));
}

/**
 * Runs the relay as Lambda runs it on one shard: batches in stream order; on a partial failure,
 * the batch's records from the lowest reported one onward are delivered again; an invocation that
 * throws is retried whole; sometimes a successful batch is delivered again. Transactions commit
 * before their first record reaches the stream.
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
  ports.outbox.readFails = () => faultRandom() < scenario.tableReadFailureRate;
  ports.failures.fails = () => faultRandom() < scenario.sinkFailureRate;
  const relay = new Relay(ports, { queueUrls, maxAttempts: scenario.maxAttempts });

  const malformed = malformedKeys(scenario);
  const itemFor = (aggregate: number, sequence: number): Record<string, AttributeValue> =>
    malformed.has(eventKey(aggregateKeyOf(aggregate), sequence))
      ? malformedOutboxItem(`o-${aggregate}`, sequence)
      : testOutboxItem({ aggregateId: `o-${aggregate}`, sequence });
  const stream = streamOrder(scenario, itemFor);
  // Every transaction commits before any of its records is read: the whole history is in the table.
  const committed = new Map<string, string>();
  scenario.transactions.forEach((_, aggregate) => {
    for (let sequence = 1; sequence <= eventCount(scenario, aggregate); sequence++) {
      const [item] = ports.outbox.put(itemFor(aggregate, sequence));
      if (!malformed.has(eventKey(aggregateKeyOf(aggregate), sequence))) {
        committed.set(testEventId(aggregateKeyOf(aggregate), sequence), item?.envelope?.S ?? '');
      }
    }
  });
  const done = (aggregateKey: string, sequence: number) => {
    const eventId = testEventId(aggregateKey, sequence);
    const onQueues = queueUrls.every((url) =>
      ports.queues
        .delivered(url)
        .some((message) => message.pk === aggregateKey && message.sequence === sequence),
    );
    if (malformed.has(eventKey(aggregateKey, sequence))) {
      return (
        onQueues &&
        ports.failures.messages.some((m) => m.aggregateKey === aggregateKey && m.sequence === sequence)
      );
    }
    return onQueues && ports.eventBus.publishedIds().has(eventId);
  };

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
    let response: DynamoDBBatchResponse;
    try {
      response = await relay.handle(batch.map((entry) => entry.record));
    } catch {
      // A failed table read throws: nothing is acknowledged and Lambda retries the batch.
      continue;
    }
    const reported = new Set(response.batchItemFailures.map((failure) => failure.itemIdentifier));
    const inBatch = new Set(batch.map((entry) => streamSequenceNumber(entry.record)));
    for (const id of reported) expect(inBatch.has(id), `reported ${id} is not in the batch`).toBe(true);
    const lowest = batch.findIndex((entry) => reported.has(streamSequenceNumber(entry.record)));
    // (e) Every state record before the checkpoint is acknowledged: each event it announced, and
    // every earlier one of its aggregate, is on every target (or sunk with a void marker).
    const acknowledged = lowest === -1 ? batch : batch.slice(0, lowest);
    for (const entry of acknowledged.filter((e) => e.kind === 'state')) {
      for (let sequence = 1; sequence <= entry.to; sequence++) {
        expect(
          done(aggregateKeyOf(entry.aggregate), sequence),
          `acknowledged the state record of ${aggregateKeyOf(entry.aggregate)} #${entry.from}..${entry.to} but #${sequence} is not out everywhere`,
        ).toBe(true);
      }
    }
    // (b) Nothing is published that the table has not committed, and it is published as committed.
    const events = [
      ...ports.eventBus.published,
      ...queueUrls.flatMap((url) => ports.queues.deliveredEvents(url)),
    ];
    for (const event of events) expect(committed.get(event.envelope.id)).toBe(event.json);
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

describe('Relay under a reordering, duplicating, failing stream', () => {
  it('gives every FIFO queue each aggregate sequence once and in order, puts every event on the bus, and sinks malformed ones', async () => {
    await fc.assert(
      fc.asyncProperty(scenarios, async (scenario) => {
        // Act
        const { ports, queueUrls, malformed } = await simulate(scenario);

        // Assert
        scenario.transactions.forEach((_, index) => {
          const key = aggregateKeyOf(index);
          const count = eventCount(scenario, index);
          const all = Array.from({ length: count }, (_, offset) => offset + 1);
          // (a) with FIFO deduplication, each group holds 1..count once, in order (void markers for malformed ones)
          for (const url of queueUrls) expect(ports.queues.deliveredSequences(url, key)).toEqual(all);
          // (c) the bus has every well-formed event at least once, and no malformed one
          for (const sequence of all) {
            expect(ports.eventBus.publishedIds().has(testEventId(key, sequence))).toBe(
              !malformed.has(eventKey(key, sequence)),
            );
          }
        });
        for (const key of malformed) {
          const aggregateKey = key.slice(0, key.lastIndexOf('#'));
          const sequence = Number(key.slice(key.lastIndexOf('#') + 1));
          expect(ports.failures.messages).toContainEqual(
            expect.objectContaining({ reason: 'MalformedOutboxItem', aggregateKey, sequence }),
          );
        }
        // Every call kept to the service limits, at most one message per group per SendMessageBatch.
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

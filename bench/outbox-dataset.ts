import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { seededRandom } from 'local-aws';
import { aggregateKey } from '../functions/shared/envelope';
import { OutboxWriter } from '../functions/shared/outbox-writer';

/** A set of aggregates and how many events each gets. */
export interface DatasetSpec {
  /** Short name, also part of the aggregate ids. */
  readonly name: string;
  /** One line saying what the spread is, for the report. */
  readonly description: string;
  readonly eventsPerAggregate: ReadonlyArray<number>;
}

/** A dataset written to the outbox table, with its stream records. */
export interface Dataset {
  readonly spec: DatasetSpec;
  readonly events: number;
  readonly aggregateKeys: ReadonlyArray<string>;
  /** The real stream records of its state and outbox items that pass the relay mapping's filter, in stream order. */
  records: DynamoDBRecord[];
}

const AGGREGATE_TYPE = 'Order';
const SOURCE = 'com.example.orders';

/** `events` spread evenly over `aggregates` (the first ones get one more when it does not divide). */
export function evenSpread(name: string, events: number, aggregates: number): DatasetSpec {
  const base = Math.floor(events / aggregates);
  const extra = events % aggregates;
  return {
    name,
    description: `${events} events over ${aggregates} aggregates (~${(events / aggregates).toFixed(0)} each)`,
    eventsPerAggregate: Array.from({ length: aggregates }, (_, i) => base + (i < extra ? 1 : 0)),
  };
}

/** `hotShare` of the events on `hot` aggregates, the rest spread over `cold` aggregates. */
export function skewedSpread(
  name: string,
  events: number,
  hot: number,
  hotShare: number,
  cold: number,
): DatasetSpec {
  const hotEvents = Math.round(events * hotShare);
  const hotSpec = evenSpread(name, hotEvents, hot);
  const coldSpec = evenSpread(name, events - hotEvents, cold);
  return {
    name,
    description: `${events} events: ${Math.round(hotShare * 100)}% on ${hot} hot aggregates (${hotSpec.eventsPerAggregate[0]} each), the rest over ${cold}`,
    eventsPerAggregate: [...hotSpec.eventsPerAggregate, ...coldSpec.eventsPerAggregate],
  };
}

/**
 * Commit order of a dataset's events: each next event belongs to an aggregate
 * drawn at random, weighted by the events it has left, so every aggregate's
 * events are spread over the whole stream as under steady concurrent traffic
 * (a hot aggregate shows up in every batch). Seeded: the same spec gives the
 * same stream order, so call counts are reproducible.
 */
export function commitOrder(spec: DatasetSpec, seed = 7): number[] {
  const random = seededRandom(seed);
  const left = [...spec.eventsPerAggregate];
  let remaining = left.reduce((a, b) => a + b, 0);
  const order: number[] = [];
  while (remaining > 0) {
    let pick = Math.floor(random() * remaining);
    let index = 0;
    while (pick >= (left[index] ?? 0)) pick -= left[index++] ?? 0;
    left[index] = (left[index] ?? 0) - 1;
    remaining--;
    order.push(index);
  }
  return order;
}

/**
 * Writes a dataset through the OutboxWriter (one event per transaction, as the
 * order API commits), one transaction at a time in `commitOrder`, so the
 * stream holds the events in that order.
 */
export async function writeDataset(
  client: DynamoDBClient,
  tableName: string,
  spec: DatasetSpec,
  runTag: string,
  onCommitted: () => void,
): Promise<Omit<Dataset, 'records'>> {
  const writer = new OutboxWriter({ client, tableName, source: SOURCE });
  const ids = spec.eventsPerAggregate.map((_, i) => `${runTag}-${spec.name}-${i}`);
  const versions = ids.map(() => 0);
  for (const index of commitOrder(spec)) {
    const aggregateId = ids[index] as string;
    const version = versions[index] as number;
    const total = 1000 + version * 250;
    await writer.commit({
      aggregateType: AGGREGATE_TYPE,
      aggregateId,
      expectedVersion: version,
      state: { status: 'PLACED', customerId: `c-${index % 50}`, itemCount: version + 1, total },
      events: [
        version === 0
          ? {
              type: 'OrderPlaced',
              data: {
                customerId: `c-${index % 50}`,
                lines: [{ sku: 'SKU-1', quantity: 1, unitPrice: 1000 }],
                total,
              },
            }
          : {
              type: 'OrderItemAdded',
              data: { line: { sku: `SKU-${version + 1}`, quantity: 1, unitPrice: 250 }, total },
            },
      ],
      correlationId: `bench-${aggregateId}`,
    });
    versions[index] = version + 1;
    onCommitted();
  }
  return {
    spec,
    events: spec.eventsPerAggregate.reduce((a, b) => a + b, 0),
    aggregateKeys: ids.map((id) => aggregateKey(AGGREGATE_TYPE, id)),
  };
}

/** Splits records into consecutive batches of at most `size`, as a stream mapping hands them out. */
export function batchesOf<T>(records: ReadonlyArray<T>, size: number): T[][] {
  const batches: T[][] = [];
  for (let i = 0; i < records.length; i += size) batches.push(records.slice(i, i + size));
  return batches;
}

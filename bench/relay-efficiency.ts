import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { ENTITY_TYPES } from '../contract/keys';
import { Relay } from '../functions/relay/relay';
import { LIMITS } from '../functions/shared/limits';
import type { CallCounts } from './call-counter';
import { type AccountCapacity, accountCapacity } from './capacity';
import { batchesOf, type Dataset } from './outbox-dataset';
import type { PhaseBar } from './progress';
import type { PortCounts, RelayEngines } from './relay-engines';
import { ratio, round } from './stats';

/** What one relay (ours or the naive one) did over a dataset, with its calls metered. */
export interface MeteredRun extends AccountCapacity {
  /** SDK calls by command, with billed units. */
  readonly calls: CallCounts;
  readonly failedRecords: number;
  /** Wall time per invocation with metering on (slower than the throughput section's). */
  readonly meteredMsPerInvocation: number;
}

/** Calls of both relays over one dataset, and the bounds they are compared with. */
export interface EfficiencyResult {
  readonly dataset: string;
  readonly description: string;
  readonly events: number;
  readonly aggregates: number;
  /** Stream records the relay mapping passes: one state record per transaction plus one outbox record per event. */
  readonly records: number;
  readonly batchSize: number;
  readonly invocations: number;
  readonly fifoQueues: number;
  readonly relay: MeteredRun & {
    readonly putEvents: number;
    /** SendMessageBatch calls, all FIFO queues together. */
    readonly sendMessageBatch: number;
    readonly putEventsFill: number;
    readonly sendMessageBatchFill: number;
    readonly ports: PortCounts;
  };
  readonly naive: MeteredRun & { readonly putEvents: number; readonly sendMessage: number };
  readonly bounds: {
    /** ceil(n/10) per target, over the whole dataset. */
    readonly perTarget: number;
    /** Sum over invocations of ceil(k/10), k = events the invocation's state records announce. */
    readonly perTargetGivenBatches: number;
    /** Sum over invocations of max(ceil(k/10), most events of one aggregate), all FIFO queues. */
    readonly fifoOrderingRule: number;
  };
  /**
   * The relay again over the same records in batches of BatchSize - 1, so that batches cut
   * transactions apart (here a transaction is two records and BatchSize is even, so deployed
   * batches never do; Lambda's batches start wherever GetRecords left off): its Queries.
   */
  readonly misaligned: {
    readonly batchSize: number;
    readonly queries: number;
    readonly queriesPerEvent: number;
  };
  /** PutEvents requests the EventBridge emulator saw during the relay run (cross-check). */
  readonly putEventsSeenByEmulator: number;
  /** Per event. */
  readonly perEvent: {
    readonly relayDynamoDbRequests: number;
    readonly naiveDynamoDbRequests: number;
    readonly relayWru: number;
    readonly relayRru: number;
    readonly naiveWru: number;
    readonly naiveRru: number;
    readonly relayPublishCalls: number;
    readonly naivePublishCalls: number;
  };
}

/** DynamoDB commands a relay may call. */
export const DYNAMODB_COMMANDS = [
  'Query',
  'GetItem',
  'BatchGetItem',
  'UpdateItem',
  'PutItem',
  'TransactWriteItems',
];

/** Calls of `name` (without `Command`) in `counts`. */
export function callsOf(counts: CallCounts, name: string): number {
  return counts[`${name}Command`]?.calls ?? 0;
}

/** DynamoDB requests in `counts`. */
export function dynamoDbRequests(counts: CallCounts): number {
  return DYNAMODB_COMMANDS.reduce((sum, name) => sum + callsOf(counts, name), 0);
}

/**
 * Replays a dataset's stream records through the relay in batches of the stack's BatchSize with
 * every call counted and its DynamoDB capacity metered (account `relay`), then does the same with
 * the naive relay (account `naive`). Fresh FIFO queues before each run, so every message is
 * really enqueued.
 */
export async function measureEfficiency(
  engines: RelayEngines,
  dataset: Dataset,
  bar: PhaseBar,
): Promise<EfficiencyResult> {
  const batchSize = engines.deployment.batchSize;
  const batches = batchesOf(dataset.records, batchSize);
  const fifoQueues = engines.deployment.orderedQueues.length;

  const relay = new Relay(engines.relayPorts(engines.clients('relay')), {
    queueUrls: await engines.freshOrderedQueues(),
  });
  const emulatorBefore = await engines.putEventsRequests();
  const portsBefore = { ...engines.portCounts };
  const relayRun = await meteredReplay(engines, 'relay', batches, (batch) => relay.handle(batch), bar);
  const putEventsSeenByEmulator = (await engines.putEventsRequests()) - emulatorBefore;
  const ports: PortCounts = {
    rangeReads: engines.portCounts.rangeReads - portsBefore.rangeReads,
    heartbeats: engines.portCounts.heartbeats - portsBefore.heartbeats,
  };
  const naive = engines.naiveRelay(engines.clients('naive'), await engines.freshOrderedQueues());
  const naiveRun = await meteredReplay(engines, 'naive', batches, (batch) => naive.handle(batch), bar);
  const misaligned = await misalignedQueries(engines, dataset, Math.max(1, batchSize - 1), bar);

  const putEvents = callsOf(relayRun.calls, 'PutEvents');
  const sendMessageBatch = callsOf(relayRun.calls, 'SendMessageBatch');
  const entries = (name: string) => relayRun.calls[`${name}Command`]?.entries ?? 0;
  const bounds = callBounds(batches, LIMITS.putEventsEntries);
  const naivePutEvents = callsOf(naiveRun.calls, 'PutEvents');
  const naiveSendMessage = callsOf(naiveRun.calls, 'SendMessage');
  const perEvent = (n: number) => round(ratio(n, dataset.events), 4);
  return {
    dataset: dataset.spec.name,
    description: dataset.spec.description,
    events: dataset.events,
    aggregates: dataset.aggregateKeys.length,
    records: dataset.records.length,
    batchSize,
    invocations: batches.length,
    fifoQueues,
    relay: {
      ...relayRun,
      putEvents,
      sendMessageBatch,
      putEventsFill: round(ratio(entries('PutEvents'), putEvents), 2),
      sendMessageBatchFill: round(ratio(entries('SendMessageBatch'), sendMessageBatch), 2),
      ports,
    },
    naive: { ...naiveRun, putEvents: naivePutEvents, sendMessage: naiveSendMessage },
    bounds: {
      perTarget: Math.ceil(dataset.events / LIMITS.putEventsEntries),
      perTargetGivenBatches: bounds.perTarget,
      fifoOrderingRule: bounds.fifoOrderingRule * fifoQueues,
    },
    misaligned,
    putEventsSeenByEmulator,
    perEvent: {
      relayDynamoDbRequests: perEvent(dynamoDbRequests(relayRun.calls)),
      naiveDynamoDbRequests: perEvent(dynamoDbRequests(naiveRun.calls)),
      relayWru: perEvent(relayRun.capacity.wru),
      relayRru: perEvent(relayRun.capacity.rru),
      naiveWru: perEvent(naiveRun.capacity.wru),
      naiveRru: perEvent(naiveRun.capacity.rru),
      relayPublishCalls: perEvent(putEvents + sendMessageBatch),
      naivePublishCalls: perEvent(naivePutEvents + naiveSendMessage),
    },
  };
}

/** Queries of the relay over batches of `batchSize` (counted, not metered). */
async function misalignedQueries(engines: RelayEngines, dataset: Dataset, batchSize: number, bar: PhaseBar) {
  const relay = new Relay(engines.relayPorts(engines.clients()), {
    queueUrls: await engines.freshOrderedQueues(),
  });
  const before = engines.counter.snapshot();
  for (const batch of batchesOf(dataset.records, batchSize)) {
    await relay.handle(batch);
    bar.increment(batch.length);
  }
  const queries = callsOf(engines.counter.since(before), 'Query');
  return { batchSize, queries, queriesPerEvent: round(ratio(queries, dataset.events), 4) };
}

/** Runs batches one after the other (one shard: Lambda never overlaps them), counting and metering. */
async function meteredReplay(
  engines: RelayEngines,
  account: string,
  batches: ReadonlyArray<DynamoDBRecord[]>,
  handle: (batch: DynamoDBRecord[]) => Promise<{ batchItemFailures: unknown[] }>,
  bar: PhaseBar,
): Promise<MeteredRun> {
  const calls = engines.counter.snapshot();
  const capacity = engines.meter.snapshot();
  let failedRecords = 0;
  const started = performance.now();
  for (const batch of batches) {
    failedRecords += (await handle(batch)).batchItemFailures.length;
    bar.increment(batch.length);
  }
  const elapsed = performance.now() - started;
  const usage = engines.meter.since(capacity);
  return {
    calls: engines.counter.since(calls),
    ...accountCapacity(usage, account),
    failedRecords,
    meteredMsPerInvocation: round(ratio(elapsed, batches.length), 1),
  };
}

/** Events the state records of a batch announce, per aggregate. */
export function announcedEvents(batch: ReadonlyArray<DynamoDBRecord>): Map<string, number> {
  const perAggregate = new Map<string, number>();
  for (const record of batch) {
    const image = record.dynamodb?.NewImage as Record<string, AttributeValue> | undefined;
    if (image?.entityType?.S !== ENTITY_TYPES.aggregate) continue;
    const key = image.pk?.S ?? '';
    const announced = Number(image.version?.N ?? 0) - Number(image.committedFrom?.N ?? 0) + 1;
    perAggregate.set(key, (perAggregate.get(key) ?? 0) + Math.max(0, announced));
  }
  return perAggregate;
}

/** Lower bounds of the calls for these batches: per target, and under the FIFO ordering rule (per queue). */
export function callBounds(
  batches: ReadonlyArray<DynamoDBRecord[]>,
  maxEntries: number,
): { perTarget: number; fifoOrderingRule: number } {
  let perTarget = 0;
  let fifoOrderingRule = 0;
  for (const batch of batches) {
    const perAggregate = announcedEvents(batch);
    const events = [...perAggregate.values()].reduce((a, b) => a + b, 0);
    const calls = Math.ceil(events / maxEntries);
    perTarget += calls;
    fifoOrderingRule += Math.max(calls, ...perAggregate.values());
  }
  return { perTarget, fifoOrderingRule };
}

import type { DynamoDBRecord } from 'aws-lambda';
import { Relay } from '../functions/relay/relay';
import { LIMITS } from '../functions/shared/limits';
import type { CallCounts } from './call-counter';
import { NaiveRelay } from './naive-relay';
import { batchesOf, type Dataset } from './outbox-dataset';
import type { PhaseBar } from './progress';
import type { PortCounts, RelayEngines } from './relay-engines';
import { ratio, round } from './stats';

/** Calls of one relay run over a dataset, and the bounds they are compared with. */
export interface EfficiencyResult {
  readonly dataset: string;
  readonly description: string;
  readonly events: number;
  readonly aggregates: number;
  readonly batchSize: number;
  readonly invocations: number;
  readonly fifoQueues: number;
  readonly relay: {
    readonly putEvents: number;
    /** SendMessageBatch calls, all FIFO queues together. */
    readonly sendMessageBatch: number;
    readonly dynamodb: { readonly batchGetItem: number; readonly updateItem: number; readonly query: number };
    /** What the relay asked of its DynamoDB ports: which UpdateItems advance cursors and which clear pending marks. */
    readonly ports: PortCounts;
    /** Mean entries per call. */
    readonly putEventsFill: number;
    readonly sendMessageBatchFill: number;
    readonly failedRecords: number;
  };
  readonly naive: {
    readonly putEvents: number;
    readonly sendMessage: number;
    readonly failedRecords: number;
  };
  readonly bounds: {
    /** ceil(n/10) per target, over the whole dataset: the lower bound. */
    readonly perTarget: number;
    /** Sum over invocations of ceil(k/10): what any relay fed the same batches can reach. */
    readonly perTargetGivenBatches: number;
    /**
     * Sum over invocations of max(ceil(k/10), longest aggregate run in the batch), per FIFO
     * queue: the floor of the relay's one-message-per-group-per-call ordering rule.
     */
    readonly fifoOrderingRule: number;
  };
  /** PutEvents requests the EventBridge emulator saw during the relay run (cross-check). */
  readonly putEventsSeenByEmulator: number;
  /** Calls per 1,000 events. */
  readonly per1000: {
    readonly relayPutEvents: number;
    readonly relaySendMessageBatch: number;
    readonly relayDynamoDb: number;
    readonly naivePutEvents: number;
    readonly naiveSendMessage: number;
    readonly lowerBound: number;
  };
  /** relay calls / lower bound - 1, per target (0.05 = 5% above the bound). */
  readonly overBound: { readonly putEvents: number; readonly sendMessageBatch: number };
  /** naive calls / relay calls, per target. */
  readonly savings: { readonly putEvents: number; readonly sendMessage: number };
}

/**
 * Replays a dataset's stream records through the relay in batches of the
 * stack's BatchSize and counts the API calls, then does the same with the naive
 * relay. Cursors are reset and fresh FIFO queues created before each run.
 */
export async function measureEfficiency(
  engines: RelayEngines,
  dataset: Dataset,
  bar: PhaseBar,
): Promise<EfficiencyResult> {
  const batchSize = engines.deployment.batchSize;
  const batches = batchesOf(dataset.records, batchSize);
  const fifoQueues = engines.deployment.orderedQueues.length;

  await engines.resetCursors(dataset.aggregateKeys);
  const queueUrls = await engines.freshOrderedQueues();
  const relay = new Relay(engines.relayPorts(), { queueUrls });
  const emulatorBefore = await engines.putEventsRequests();
  const portsBefore = { ...engines.portCounts };
  const relayRun = await replay(engines, batches, (batch) => relay.handle(batch), bar);
  const putEventsSeenByEmulator = (await engines.putEventsRequests()) - emulatorBefore;
  const ports = Object.fromEntries(
    Object.entries(engines.portCounts).map(([name, value]) => [
      name,
      value - portsBefore[name as keyof PortCounts],
    ]),
  ) as unknown as PortCounts;

  const naive = new NaiveRelay({
    eventBus: engines.relayPorts().eventBus,
    sqs: engines.naiveClients.sqs,
    queueUrls: await engines.freshOrderedQueues(),
  });
  const naiveRun = await replay(engines, batches, (batch) => naive.handle(batch), bar);

  const calls = (counts: CallCounts, name: string) => counts[`${name}Command`]?.calls ?? 0;
  const entries = (counts: CallCounts, name: string) => counts[`${name}Command`]?.entries ?? 0;
  const putEvents = calls(relayRun.counts, 'PutEvents');
  const sendMessageBatch = calls(relayRun.counts, 'SendMessageBatch');
  const dynamodb = {
    batchGetItem: calls(relayRun.counts, 'BatchGetItem'),
    updateItem: calls(relayRun.counts, 'UpdateItem'),
    query: calls(relayRun.counts, 'Query'),
  };
  const bounds = callBounds(batches, LIMITS.putEventsEntries);
  const perTarget = Math.ceil(dataset.events / LIMITS.putEventsEntries);
  const per1000 = (n: number) => round((n * 1000) / dataset.events, 1);
  const naivePutEvents = calls(naiveRun.counts, 'PutEvents');
  const naiveSendMessage = calls(naiveRun.counts, 'SendMessage');
  return {
    dataset: dataset.spec.name,
    description: dataset.spec.description,
    events: dataset.events,
    aggregates: dataset.aggregateKeys.length,
    batchSize,
    invocations: batches.length,
    fifoQueues,
    relay: {
      putEvents,
      sendMessageBatch,
      dynamodb,
      ports,
      putEventsFill: round(ratio(entries(relayRun.counts, 'PutEvents'), putEvents), 2),
      sendMessageBatchFill: round(ratio(entries(relayRun.counts, 'SendMessageBatch'), sendMessageBatch), 2),
      failedRecords: relayRun.failedRecords,
    },
    naive: {
      putEvents: naivePutEvents,
      sendMessage: naiveSendMessage,
      failedRecords: naiveRun.failedRecords,
    },
    bounds: {
      perTarget,
      perTargetGivenBatches: bounds.perTarget,
      fifoOrderingRule: bounds.fifoOrderingRule * fifoQueues,
    },
    putEventsSeenByEmulator,
    per1000: {
      relayPutEvents: per1000(putEvents),
      relaySendMessageBatch: per1000(sendMessageBatch / Math.max(1, fifoQueues)),
      relayDynamoDb: per1000(dynamodb.batchGetItem + dynamodb.updateItem + dynamodb.query),
      naivePutEvents: per1000(naivePutEvents),
      naiveSendMessage: per1000(naiveSendMessage / Math.max(1, fifoQueues)),
      lowerBound: per1000(perTarget),
    },
    overBound: {
      putEvents: round(ratio(putEvents, perTarget) - 1, 3),
      sendMessageBatch: round(ratio(sendMessageBatch, perTarget * fifoQueues) - 1, 3),
    },
    savings: {
      putEvents: round(ratio(naivePutEvents, putEvents), 1),
      sendMessage: round(ratio(naiveSendMessage, sendMessageBatch), 1),
    },
  };
}

/** Runs batches one after the other (one shard: Lambda never overlaps them) and counts calls and failures. */
async function replay(
  engines: RelayEngines,
  batches: ReadonlyArray<DynamoDBRecord[]>,
  handle: (batch: DynamoDBRecord[]) => Promise<{ batchItemFailures: unknown[] }>,
  bar: PhaseBar,
): Promise<{ counts: CallCounts; failedRecords: number }> {
  const before = engines.counter.snapshot();
  let failedRecords = 0;
  for (const batch of batches) {
    failedRecords += (await handle(batch)).batchItemFailures.length;
    bar.increment(batch.length);
  }
  return { counts: engines.counter.since(before), failedRecords };
}

/** Lower bounds of the calls for these batches: per target, and under the FIFO ordering rule (per queue). */
export function callBounds(
  batches: ReadonlyArray<DynamoDBRecord[]>,
  maxEntries: number,
): { perTarget: number; fifoOrderingRule: number } {
  let perTarget = 0;
  let fifoOrderingRule = 0;
  for (const batch of batches) {
    const perAggregate = new Map<string, number>();
    for (const record of batch) {
      const key = record.dynamodb?.Keys?.pk?.S ?? '';
      perAggregate.set(key, (perAggregate.get(key) ?? 0) + 1);
    }
    const calls = Math.ceil(batch.length / maxEntries);
    perTarget += calls;
    fifoOrderingRule += Math.max(calls, ...perAggregate.values());
  }
  return { perTarget, fifoOrderingRule };
}

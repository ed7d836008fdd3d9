import { UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import type { RelayPorts } from '../functions/relay/ports';
import { Relay } from '../functions/relay/relay';
import type { CallCounts } from './call-counter';
import { NaiveRelay } from './naive-relay';
import { batchesOf, type Dataset } from './outbox-dataset';
import type { PhaseBar } from './progress';
import type { RelayEngines } from './relay-engines';
import { median, ratio, round } from './stats';

/** Throughput of both relays at one batch size. */
export interface ThroughputResult {
  readonly batchSize: number;
  readonly invocations: number;
  /** Median events/s of the relay over its runs. */
  readonly relayEventsPerSecond: number;
  readonly relayRuns: ReadonlyArray<number>;
  readonly naiveEventsPerSecond: number;
  readonly naiveRuns: ReadonlyArray<number>;
  /** relay / naive. */
  readonly ratio: number;
  /** Median time of one relay invocation (handle call), ms. */
  readonly relayMsPerInvocation: number;
  /** DynamoDB requests the relay made per event (cursor reads and advances, pending-mark clears, gap reads). */
  readonly relayDynamoDbRequestsPerEvent: number;
  /** Publish calls (PutEvents + SendMessageBatch) per event of the relay, and of the naive relay. */
  readonly relayPublishCallsPerEvent: number;
  readonly naivePublishCallsPerEvent: number;
  /** The engine's request rate divided by the relay's DynamoDB requests per event: the most the relay can reach here. */
  readonly engineBoundEventsPerSecond: number;
  readonly failedRecords: number;
}

/** What-if runs at batch size 100 with some of the relay's DynamoDB work replaced by no-ops (bench only). */
export interface AblationResult {
  readonly variant: 'without pending-mark clears' | 'publishing only';
  readonly description: string;
  readonly eventsPerSecond: number;
  /** variant / naive relay at batch 100. */
  readonly ratioToNaive: number;
  /** variant / relay as shipped at batch 100. */
  readonly ratioToRelay: number;
}

/** Everything section 2 measures. */
export interface ThroughputReport {
  readonly dataset: string;
  readonly results: ReadonlyArray<ThroughputResult>;
  readonly ablations: ReadonlyArray<AblationResult>;
  /** DynamoDB Local's rate for the relay's cursor UpdateItem at 16 in flight, requests/s. */
  readonly engineUpdateItemsPerSecond: number;
}

/** Options of {@link measureThroughput}. */
export interface ThroughputOptions {
  readonly batchSizes: ReadonlyArray<number>;
  readonly relayRuns: number;
  readonly naiveRuns: number;
  /** UpdateItems of the engine-ceiling probe. */
  readonly engineProbeRequests: number;
}

/** Units of work of {@link measureThroughput}, for the progress bar. */
export function throughputWork(dataset: Dataset, options: ThroughputOptions): number {
  const replays =
    1 + options.batchSizes.length * (options.relayRuns + options.naiveRuns) + 2 * options.relayRuns;
  return dataset.events * replays + options.engineProbeRequests;
}

const ENGINE_PROBE_CONCURRENCY = 16;

/**
 * Replays the dataset's real stream records through `Relay.handle` and through
 * the naive relay at each batch size, one batch after another as a shard is
 * processed, and reports events/s. Before each run (untimed) the cursors are
 * reset and fresh FIFO queues created, so every run publishes every event and
 * every SendMessage really enqueues. One untimed relay run first warms up the
 * JIT of this process and of the DynamoDB Local JVM.
 *
 * Then, to show where the time goes: DynamoDB Local's own rate for the relay's
 * cursor UpdateItem, and two what-if runs at batch 100 in which the relay's
 * pending-mark clears, or all its DynamoDB work, are no-ops.
 */
export async function measureThroughput(
  engines: RelayEngines,
  dataset: Dataset,
  options: ThroughputOptions,
  bar: PhaseBar,
): Promise<ThroughputReport> {
  const runRelay = async (batchSize: number, adapt: (ports: RelayPorts) => RelayPorts = (p) => p) => {
    await engines.resetCursors(dataset.aggregateKeys);
    const relay = new Relay(adapt(engines.relayPorts()), { queueUrls: await engines.freshOrderedQueues() });
    return timed(engines, batchesOf(dataset.records, batchSize), (batch) => relay.handle(batch), bar);
  };
  const runNaive = async (batchSize: number) => {
    const naive = new NaiveRelay({
      eventBus: engines.relayPorts().eventBus,
      sqs: engines.naiveClients.sqs,
      queueUrls: await engines.freshOrderedQueues(),
    });
    return timed(engines, batchesOf(dataset.records, batchSize), (batch) => naive.handle(batch), bar);
  };

  await runRelay(100);
  const engineUpdateItemsPerSecond = await probeEngine(engines, options.engineProbeRequests, bar);
  const results: ThroughputResult[] = [];
  for (const batchSize of options.batchSizes) {
    const relayRuns: Run[] = [];
    const naiveRuns: Run[] = [];
    // Interleaved, so that drift of the shared machine hits both relays alike.
    for (let run = 0; run < Math.max(options.relayRuns, options.naiveRuns); run++) {
      if (run < options.relayRuns) relayRuns.push(await runRelay(batchSize));
      if (run < options.naiveRuns) naiveRuns.push(await runNaive(batchSize));
    }
    const relayEventsPerSecond = median(relayRuns.map((r) => r.eventsPerSecond));
    const naiveEventsPerSecond = median(naiveRuns.map((r) => r.eventsPerSecond));
    const perEvent = (runs: Run[], pick: (counts: CallCounts) => number) =>
      round(ratio(median(runs.map((r) => pick(r.counts))), dataset.events), 2);
    const dynamoDbRequestsPerEvent = perEvent(relayRuns, dynamoDbRequests);
    results.push({
      batchSize,
      invocations: Math.ceil(dataset.records.length / batchSize),
      relayEventsPerSecond: round(relayEventsPerSecond, 0),
      relayRuns: relayRuns.map((r) => round(r.eventsPerSecond, 0)),
      naiveEventsPerSecond: round(naiveEventsPerSecond, 0),
      naiveRuns: naiveRuns.map((r) => round(r.eventsPerSecond, 0)),
      ratio: round(ratio(relayEventsPerSecond, naiveEventsPerSecond), 2),
      relayMsPerInvocation: round(median(relayRuns.map((r) => r.msPerBatch)), 1),
      relayDynamoDbRequestsPerEvent: dynamoDbRequestsPerEvent,
      relayPublishCallsPerEvent: perEvent(relayRuns, publishCalls),
      naivePublishCallsPerEvent: perEvent(naiveRuns, publishCalls),
      engineBoundEventsPerSecond: round(ratio(engineUpdateItemsPerSecond, dynamoDbRequestsPerEvent), 0),
      failedRecords: [...relayRuns, ...naiveRuns].reduce((sum, r) => sum + r.failed, 0),
    });
  }

  const at100 = results.find((r) => r.batchSize === 100);
  const ablations: AblationResult[] = [];
  const variants: Array<[AblationResult['variant'], string, (ports: RelayPorts) => RelayPorts]> = [
    [
      'without pending-mark clears',
      'pending.clear is a no-op: one UpdateItem per event fewer',
      (ports) => ({ ...ports, pending: { clear: async () => {} } }),
    ],
    [
      'publishing only',
      'cursors, pending marks and gap reads in memory: only PutEvents and SendMessageBatch reach an engine, as with the naive relay',
      (ports) => {
        const cursors = new Map<string, number>();
        return {
          ...ports,
          cursors: {
            get: async (keys) => new Map(keys.map((key) => [key, cursors.get(key) ?? 0])),
            advance: async (key, _from, to) => {
              cursors.set(key, Math.max(to, cursors.get(key) ?? 0));
            },
          },
          outbox: { readRange: async () => [] },
          pending: { clear: async () => {} },
        };
      },
    ],
  ];
  for (const [variant, description, adapt] of variants) {
    const runs: Run[] = [];
    for (let run = 0; run < options.relayRuns; run++) runs.push(await runRelay(100, adapt));
    const eventsPerSecond = median(runs.map((r) => r.eventsPerSecond));
    ablations.push({
      variant,
      description,
      eventsPerSecond: round(eventsPerSecond, 0),
      ratioToNaive: round(ratio(eventsPerSecond, at100?.naiveEventsPerSecond ?? Number.NaN), 2),
      ratioToRelay: round(ratio(eventsPerSecond, at100?.relayEventsPerSecond ?? Number.NaN), 2),
    });
  }
  return {
    dataset: dataset.spec.description,
    results,
    ablations,
    engineUpdateItemsPerSecond: round(engineUpdateItemsPerSecond, 0),
  };
}

interface Run {
  readonly eventsPerSecond: number;
  readonly msPerBatch: number;
  readonly failed: number;
  readonly counts: CallCounts;
}

async function timed(
  engines: RelayEngines,
  batches: ReadonlyArray<DynamoDBRecord[]>,
  handle: (batch: DynamoDBRecord[]) => Promise<{ batchItemFailures: unknown[] }>,
  bar: PhaseBar,
): Promise<Run> {
  let events = 0;
  let failed = 0;
  const before = engines.counter.snapshot();
  const started = performance.now();
  for (const batch of batches) {
    failed += (await handle(batch)).batchItemFailures.length;
    events += batch.length;
    bar.increment(batch.length);
  }
  const elapsedMs = performance.now() - started;
  return {
    eventsPerSecond: (events * 1000) / elapsedMs,
    msPerBatch: elapsedMs / Math.max(1, batches.length),
    failed,
    counts: engines.counter.since(before),
  };
}

/**
 * DynamoDB Local's rate for the relay's cursor write (a conditional UpdateItem
 * on its own key), 16 in flight: the engine's ceiling for the relay's DynamoDB
 * requests on this machine. Scratch keys, so no relay state is touched.
 */
async function probeEngine(engines: RelayEngines, requests: number, bar: PhaseBar): Promise<number> {
  const probeTag = Date.now().toString(36);
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: ENGINE_PROBE_CONCURRENCY }, async () => {
      while (next < requests) {
        const key = next++;
        await engines.setup.dynamodb.send(
          new UpdateItemCommand({
            TableName: engines.outboxTable.name,
            Key: { pk: { S: `BenchProbe#${probeTag}-${key}` }, sk: { S: 'RELAY#CURSOR' } },
            UpdateExpression: 'SET publishedSequence = :to, updatedAt = :now',
            ConditionExpression: 'attribute_not_exists(publishedSequence) OR publishedSequence < :to',
            ExpressionAttributeValues: { ':to': { N: '1' }, ':now': { S: new Date().toISOString() } },
          }),
        );
        bar.increment();
      }
    }),
  );
  return (requests * 1000) / (performance.now() - started);
}

function dynamoDbRequests(counts: CallCounts): number {
  return ['BatchGetItem', 'UpdateItem', 'Query', 'GetItem', 'PutItem'].reduce(
    (sum, name) => sum + (counts[`${name}Command`]?.calls ?? 0),
    0,
  );
}

function publishCalls(counts: CallCounts): number {
  return ['PutEvents', 'SendMessageBatch', 'SendMessage'].reduce(
    (sum, name) => sum + (counts[`${name}Command`]?.calls ?? 0),
    0,
  );
}

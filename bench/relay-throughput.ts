import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { ENTITY_TYPES } from '../contract/keys';
import { EventBridgeBusPublisher, SqsFifoPublisher } from '../functions/relay/aws-adapters';
import { chunkBySizeAndCount } from '../functions/relay/batching';
import { mapWithConcurrency } from '../functions/relay/publishing';
import { decodeOutboxItem } from '../functions/relay/records';
import { Relay } from '../functions/relay/relay';
import { LIMITS } from '../functions/shared/limits';
import type { StoredOutboxEvent } from '../functions/shared/outbox-item';
import type { CallCounts } from './call-counter';
import { batchesOf, type Dataset } from './outbox-dataset';
import type { PhaseBar } from './progress';
import { callsOf, dynamoDbRequests } from './relay-efficiency';
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
  /** Median time of one relay invocation (handle call), ms; and its mean (what Lambda bills). */
  readonly relayMsPerInvocation: number;
  readonly relayMeanMsPerInvocation: number;
  readonly naiveMsPerInvocation: number;
  readonly naiveMeanMsPerInvocation: number;
  /** DynamoDB requests per event: the relay's (Queries for split transactions), the naive relay's (cursor writes). */
  readonly relayDynamoDbRequestsPerEvent: number;
  readonly naiveDynamoDbRequestsPerEvent: number;
  /** Publish calls (PutEvents + SendMessageBatch / SendMessage) per event. */
  readonly relayPublishCallsPerEvent: number;
  readonly naivePublishCallsPerEvent: number;
  /** relay / the emulators' own rate for the relay's publish calls (1 = the relay runs at the engines' limit). */
  readonly relayShareOfPublishCeiling: number;
  readonly failedRecords: number;
}

/** The relay at batch 100 with its input changed (bench only). */
export interface AblationResult {
  readonly variant: 'always querying';
  readonly description: string;
  readonly eventsPerSecond: number;
  readonly dynamoDbRequestsPerEvent: number;
  /** Strongly consistent Query pages per event. */
  readonly queriesPerEvent: number;
  /** variant / naive relay at batch 100. */
  readonly ratioToNaive: number;
  /** variant / relay as shipped at batch 100. */
  readonly ratioToRelay: number;
}

/** Everything section 2 measures. */
export interface ThroughputReport {
  readonly dataset: string;
  readonly events: number;
  readonly results: ReadonlyArray<ThroughputResult>;
  readonly ablations: ReadonlyArray<AblationResult>;
  /**
   * The emulators' own rate for the relay's publish calls: the dataset's events sent as PutEvents
   * and SendMessageBatch calls of 10, 4 in flight per target, both targets at once, with no relay
   * logic: the most any relay making ceil(n/10) calls per target can reach on these engines.
   */
  readonly publishCeilingEventsPerSecond: number;
}

/** Options of {@link measureThroughput}. */
export interface ThroughputOptions {
  readonly batchSizes: ReadonlyArray<number>;
  readonly relayRuns: number;
  readonly naiveRuns: number;
}

/** Units of work of {@link measureThroughput}, for the progress bar. */
export function throughputWork(dataset: Dataset, options: ThroughputOptions): number {
  const replays = (batchSize: number, runs: number) =>
    Math.ceil(dataset.records.length / batchSize) * batchSize * runs;
  return (
    2 * replays(100, 1) +
    options.batchSizes.reduce((sum, size) => sum + replays(size, options.relayRuns + options.naiveRuns), 0) +
    replays(100, options.relayRuns)
  );
}

const CEILING_CONCURRENCY = 4;

/**
 * Replays the dataset's real stream records through `Relay.handle` and through the naive relay at
 * each batch size, one batch after another as a shard is processed, and reports events/s, with
 * every call counted (not metered: metering reads items around writes). Fresh FIFO queues before
 * each run, and the naive relay starts from fresh cursors, so every run publishes every event.
 * One untimed relay run first warms up the JIT of this process and of the DynamoDB Local JVM.
 * Then the emulators' own ceiling for the relay's calls, and the relay with the outbox records
 * taken out of its batches (it then reads every transaction from the table).
 */
export async function measureThroughput(
  engines: RelayEngines,
  dataset: Dataset,
  options: ThroughputOptions,
  bar: PhaseBar,
): Promise<ThroughputReport> {
  const clients = engines.clients();
  const runRelay = async (batchSize: number, strip = false) => {
    const relay = new Relay(engines.relayPorts(clients), { queueUrls: await engines.freshOrderedQueues() });
    const original = batchesOf(dataset.records, batchSize);
    const batches = strip ? original.map(withoutOutboxRecords) : original;
    return timed(
      engines,
      batches,
      (batch) => relay.handle(batch),
      () => bar.increment(batchSize),
    );
  };
  const runNaive = async (batchSize: number) => {
    const naive = engines.naiveRelay(clients, await engines.freshOrderedQueues());
    return timed(
      engines,
      batchesOf(dataset.records, batchSize),
      (batch) => naive.handle(batch),
      () => bar.increment(batchSize),
    );
  };

  await runRelay(100);
  const publishCeilingEventsPerSecond = await publishCeiling(engines, dataset, bar);
  const results: ThroughputResult[] = [];
  for (const batchSize of options.batchSizes) {
    const relayRuns: Run[] = [];
    const naiveRuns: Run[] = [];
    // Interleaved, so that drift of the shared machine hits both relays alike.
    for (let run = 0; run < Math.max(options.relayRuns, options.naiveRuns); run++) {
      if (run < options.relayRuns) relayRuns.push(await runRelay(batchSize));
      if (run < options.naiveRuns) naiveRuns.push(await runNaive(batchSize));
    }
    results.push(summarize(batchSize, dataset, relayRuns, naiveRuns, publishCeilingEventsPerSecond));
  }

  const at100 = results.find((r) => r.batchSize === 100);
  const runs: Run[] = [];
  for (let run = 0; run < options.relayRuns; run++) runs.push(await runRelay(100, true));
  const eventsPerSecond = median(runs.map((r) => r.eventsPerSecond));
  const ablations: AblationResult[] = [
    {
      variant: 'always querying',
      description:
        "the batches' outbox records taken out: every transaction is read from the table with one consistent Query, as if each one's outbox records were in another batch",
      eventsPerSecond: round(eventsPerSecond, 0),
      dynamoDbRequestsPerEvent: perEvent(runs, dataset, dynamoDbRequests),
      queriesPerEvent: perEvent(runs, dataset, (c) => callsOf(c, 'Query')),
      ratioToNaive: round(ratio(eventsPerSecond, at100?.naiveEventsPerSecond ?? Number.NaN), 2),
      ratioToRelay: round(ratio(eventsPerSecond, at100?.relayEventsPerSecond ?? Number.NaN), 2),
    },
  ];
  return {
    dataset: dataset.spec.description,
    events: dataset.events,
    results,
    ablations,
    publishCeilingEventsPerSecond: round(publishCeilingEventsPerSecond, 0),
  };
}

function summarize(
  batchSize: number,
  dataset: Dataset,
  relayRuns: Run[],
  naiveRuns: Run[],
  ceiling: number,
): ThroughputResult {
  const relayEventsPerSecond = median(relayRuns.map((r) => r.eventsPerSecond));
  const naiveEventsPerSecond = median(naiveRuns.map((r) => r.eventsPerSecond));
  const publishCalls = (c: CallCounts) =>
    callsOf(c, 'PutEvents') + callsOf(c, 'SendMessageBatch') + callsOf(c, 'SendMessage');
  return {
    batchSize,
    invocations: Math.ceil(dataset.records.length / batchSize),
    relayEventsPerSecond: round(relayEventsPerSecond, 0),
    relayRuns: relayRuns.map((r) => round(r.eventsPerSecond, 0)),
    naiveEventsPerSecond: round(naiveEventsPerSecond, 0),
    naiveRuns: naiveRuns.map((r) => round(r.eventsPerSecond, 0)),
    ratio: round(ratio(relayEventsPerSecond, naiveEventsPerSecond), 2),
    relayMsPerInvocation: round(median(relayRuns.map((r) => r.medianMsPerBatch)), 1),
    relayMeanMsPerInvocation: round(median(relayRuns.map((r) => r.meanMsPerBatch)), 1),
    naiveMsPerInvocation: round(median(naiveRuns.map((r) => r.medianMsPerBatch)), 1),
    naiveMeanMsPerInvocation: round(median(naiveRuns.map((r) => r.meanMsPerBatch)), 1),
    relayDynamoDbRequestsPerEvent: perEvent(relayRuns, dataset, dynamoDbRequests),
    naiveDynamoDbRequestsPerEvent: perEvent(naiveRuns, dataset, dynamoDbRequests),
    relayPublishCallsPerEvent: perEvent(relayRuns, dataset, publishCalls),
    naivePublishCallsPerEvent: perEvent(naiveRuns, dataset, publishCalls),
    relayShareOfPublishCeiling: round(ratio(relayEventsPerSecond, ceiling), 2),
    failedRecords: [...relayRuns, ...naiveRuns].reduce((sum, r) => sum + r.failed, 0),
  };
}

function perEvent(runs: Run[], dataset: Dataset, pick: (counts: CallCounts) => number): number {
  return round(ratio(median(runs.map((r) => pick(r.counts))), dataset.events), 3);
}

interface Run {
  readonly eventsPerSecond: number;
  readonly medianMsPerBatch: number;
  readonly meanMsPerBatch: number;
  readonly failed: number;
  readonly counts: CallCounts;
}

async function timed(
  engines: RelayEngines,
  batches: ReadonlyArray<DynamoDBRecord[]>,
  handle: (batch: DynamoDBRecord[]) => Promise<{ batchItemFailures: unknown[] }>,
  onBatch: () => void,
): Promise<Run> {
  let failed = 0;
  let events = 0;
  const durations: number[] = [];
  const before = engines.counter.snapshot();
  const started = performance.now();
  for (const batch of batches) {
    events += announced(batch);
    const batchStarted = performance.now();
    failed += (await handle(batch)).batchItemFailures.length;
    durations.push(performance.now() - batchStarted);
    onBatch();
  }
  const elapsedMs = performance.now() - started;
  return {
    eventsPerSecond: (events * 1000) / elapsedMs,
    medianMsPerBatch: median(durations),
    meanMsPerBatch: elapsedMs / Math.max(1, batches.length),
    failed,
    counts: engines.counter.since(before),
  };
}

function isOutboxRecord(record: DynamoDBRecord): boolean {
  return (
    (record.dynamodb?.NewImage as Record<string, AttributeValue> | undefined)?.entityType?.S ===
    ENTITY_TYPES.outbox
  );
}

function announced(batch: ReadonlyArray<DynamoDBRecord>): number {
  return batch.reduce((sum, record) => {
    const image = record.dynamodb?.NewImage as Record<string, AttributeValue> | undefined;
    if (image?.entityType?.S !== ENTITY_TYPES.aggregate) return sum;
    return sum + Number(image.version?.N ?? 0) - Number(image.committedFrom?.N ?? 0) + 1;
  }, 0);
}

function withoutOutboxRecords(batch: DynamoDBRecord[]): DynamoDBRecord[] {
  return batch.filter((record) => !isOutboxRecord(record));
}

/**
 * The emulators' rate for the relay's publish calls with nothing else in the way: the dataset's
 * events in PutEvents of 10 and SendMessageBatch of 10 (to a fresh FIFO queue per ordered queue),
 * `CEILING_CONCURRENCY` calls in flight per target, all targets at once.
 */
async function publishCeiling(engines: RelayEngines, dataset: Dataset, bar: PhaseBar): Promise<number> {
  const events: StoredOutboxEvent[] = dataset.records.flatMap((record) => {
    if (!isOutboxRecord(record)) return [];
    const link = decodeOutboxItem(
      unmarshall(record.dynamodb?.NewImage as Record<string, AttributeValue>),
      undefined,
    );
    return link.kind === 'event' ? [link.event] : [];
  });
  const clients = engines.clients();
  const bus = new EventBridgeBusPublisher(clients.eventBridge, engines.deployment.eventBusName);
  const sqs = new SqsFifoPublisher(clients.sqs);
  const queueUrls = await engines.freshOrderedQueues();
  const chunks = chunkBySizeAndCount(events, (e) => Buffer.byteLength(e.json), {
    maxEntries: LIMITS.putEventsEntries,
    maxBytes: LIMITS.sqsBatchBytes - 10 * 200,
  });
  const started = performance.now();
  await Promise.all([
    mapWithConcurrency(chunks, CEILING_CONCURRENCY, async (chunk) => {
      await bus.putEvents(chunk);
    }),
    ...queueUrls.map((url) =>
      mapWithConcurrency(chunks, CEILING_CONCURRENCY, async (chunk) => {
        await sqs.sendBatch(
          url,
          chunk.map((event) => ({ kind: 'event', event })),
        );
      }),
    ),
  ]);
  const elapsedMs = performance.now() - started;
  bar.increment(Math.ceil(dataset.records.length / 100) * 100);
  return (events.length * 1000) / elapsedMs;
}

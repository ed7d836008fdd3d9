/**
 * Emulates an AWS Lambda event source mapping on a DynamoDB stream, so the same
 * handler code runs against DynamoDB Local.
 *
 * Behaviour, with the AWS documentation it follows:
 * - Per shard, records go to the function in sequence-number order, one batch in
 *   flight per shard (ParallelizationFactor 1); a child shard starts once its
 *   parent is finished. https://docs.aws.amazon.com/lambda/latest/dg/with-ddb.html
 * - Filtered-out records are skipped and count as processed: "the streams iterator
 *   advances past this record".
 *   https://docs.aws.amazon.com/lambda/latest/dg/invocation-eventfiltering.html
 * - ReportBatchItemFailures: the batch checkpoints before the LOWEST reported
 *   SequenceNumber and the records from there on are retried; an empty or missing
 *   list is success; a bad itemIdentifier fails the whole batch.
 *   https://docs.aws.amazon.com/lambda/latest/dg/services-ddb-batchfailurereporting.html
 * - BisectBatchOnFunctionError: a batch that fails (error or invalid response) is
 *   split in two and each half is processed in turn; "splitting a batch does not
 *   count towards the retry quota", so only a failing single record (or a partial
 *   failure) uses retries. A partial response with bisect on splits at the reported
 *   record, i.e. the same as without bisect.
 *   https://docs.aws.amazon.com/lambda/latest/dg/services-dynamodb-errors.html
 * - MaximumRetryAttempts / MaximumRecordAgeInSeconds (-1 = infinite): when exhausted,
 *   the (sub)batch is reported to `onFailure` and skipped. The report has the shape
 *   of the invocation record AWS sends to an on-failure destination (example on
 *   https://docs.aws.amazon.com/lambda/latest/dg/services-dynamodb-errors.html):
 *   requestContext, responseContext, version '1.0', timestamp, DDBStreamBatchInfo.
 *   The docs show condition 'RetryAttemptsExhausted'; 'RecordAgeExceeded' is the
 *   value other emulators use for the age limit (not shown in the AWS docs).
 *
 * Local differences: DynamoDB Local has one shard and emits records in commit
 * order, so the `shuffle` and `duplicate` hooks exist to reproduce the reordering
 * and redelivery AWS allows. Record age is measured from ApproximateCreationDateTime,
 * which DynamoDB Local cuts to the minute, so ages read up to 59 s too old.
 * Checkpoints live in memory only: stop() then start() resumes, a new mapping
 * starts again from `startingPosition`. No tumbling windows.
 */
import { randomUUID } from 'node:crypto';
import {
  type DynamoDBStreamsClient,
  ExpiredIteratorException,
  TrimmedDataAccessException,
} from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { assertIntegerInRange, type Invoke, judgeBatchResponse, MappingConfigError } from './invoke';
import { InterruptibleSleeper, waitFor } from './poll-clock';
import {
  compareSequenceNumbers,
  getShardIterator,
  listShards,
  readRecords,
  type ShardPosition,
  type StreamShard,
  sequenceNumberOf,
  toLambdaDynamoDbRecord,
} from './stream-reader';

/** Why a (sub)batch was given up. */
export type StreamFailureCondition = 'RetryAttemptsExhausted' | 'RecordAgeExceeded';

/** What AWS sends to a stream mapping's on-failure destination (the records themselves are not included). */
export interface StreamBatchFailureRecord {
  readonly requestContext: {
    readonly requestId: string;
    readonly functionArn: string;
    readonly condition: StreamFailureCondition;
    readonly approximateInvokeCount: number;
  };
  readonly responseContext: {
    readonly statusCode: number;
    readonly executedVersion: string;
    readonly functionError?: 'Unhandled';
  };
  readonly version: '1.0';
  readonly timestamp: string;
  readonly DDBStreamBatchInfo: {
    readonly shardId: string;
    readonly startSequenceNumber: string;
    readonly endSequenceNumber: string;
    readonly approximateArrivalOfFirstRecord: string;
    readonly approximateArrivalOfLastRecord: string;
    readonly batchSize: number;
    readonly streamArn: string;
  };
}

/** Options of {@link DynamoDbStreamMapping}; names follow AWS::Lambda::EventSourceMapping. */
export interface DynamoDbStreamMappingOptions {
  readonly streams: DynamoDBStreamsClient;
  readonly streamArn: string;
  /** The function. Its response is judged at runtime, as Lambda does, so any value is accepted. */
  readonly invoke: Invoke<DynamoDBStreamEvent, unknown>;
  /** Where to start in shards that exist when the mapping starts (shards created later start at TRIM_HORIZON). */
  readonly startingPosition: 'TRIM_HORIZON' | 'LATEST';
  /**
   * Most records per invocation (1–10000).
   * @default 100
   */
  readonly batchSize?: number;
  /**
   * How long to gather records before invoking with fewer than `batchSize` (0–300).
   * @default 0, invoke as soon as records are there
   */
  readonly maximumBatchingWindowInSeconds?: number;
  /**
   * The FilterCriteria, as a predicate; records it rejects are skipped and checkpointed.
   * @default every record is delivered
   */
  readonly filter?: (record: DynamoDBRecord) => boolean;
  /**
   * Read `batchItemFailures` from the response (FunctionResponseTypes ReportBatchItemFailures).
   * @default false, any response that is not an error is success
   */
  readonly reportBatchItemFailures?: boolean;
  /**
   * Split a failing batch in two and process each half.
   * @default false
   */
  readonly bisectBatchOnFunctionError?: boolean;
  /**
   * Retries of a failing (sub)batch before it is discarded (-1–10000, -1 = infinite).
   * @default -1
   */
  readonly maximumRetryAttempts?: number;
  /**
   * Records older than this are discarded instead of delivered (-1 or 60–604800).
   * @default -1, no age limit
   */
  readonly maximumRecordAgeInSeconds?: number;
  /**
   * Receives the failure record of each discarded (sub)batch (the caller sends it to SQS).
   * @default discarded batches are only logged
   */
  readonly onFailure?: (record: StreamBatchFailureRecord) => Promise<void>;
  /**
   * ARN written into failure records.
   * @default arn:aws:lambda:<awsRegion>:000000000000:function:local
   */
  readonly functionArn?: string;
  /**
   * Region written into records and the default function ARN.
   * @default the region in `streamArn` (`ddblocal` on DynamoDB Local)
   */
  readonly awsRegion?: string;
  /**
   * Fault injection: reorders each delivered batch (after `duplicate`). Retries and
   * checkpoints still follow sequence numbers, as on AWS.
   * @default batches are delivered in sequence-number order
   */
  readonly shuffle?: (records: DynamoDBRecord[]) => DynamoDBRecord[];
  /**
   * Fault injection: returns extra copies to append to a delivered batch.
   * @default no duplicates
   */
  readonly duplicate?: (records: readonly DynamoDBRecord[]) => DynamoDBRecord[];
  /**
   * Wait between polls of an idle shard (a full batch is followed at once).
   * @default 100
   */
  readonly pollIntervalMs?: number;
  /**
   * Clock for record age, in epoch milliseconds.
   * @default Date.now
   */
  readonly now?: () => number;
  /**
   * Receives progress and error messages (never record contents).
   * @default no logging
   */
  readonly log?: (message: string) => void;
}

/** Counters since the mapping was created. */
export interface StreamMappingCounters {
  /** Batches taken from the stream (a bisected or retried batch counts once). */
  batches: number;
  invocations: number;
  /** Records passed to the function, counting retries and injected duplicates. */
  recordsDelivered: number;
  recordsFiltered: number;
  retries: number;
  bisections: number;
  partialFailures: number;
  functionErrors: number;
  /** (Sub)batches given up after retries or record age. */
  onFailure: number;
  recordsDiscarded: number;
  /** Failed stream reads (retried after a pause). */
  readErrors: number;
}

const PAYLOAD_LIMIT_BYTES = 6 * 1024 * 1024;
const SHARD_DISCOVERY_INTERVAL_MS = 1_000;
const READ_ERROR_PAUSE_MS = 500;

interface ShardState {
  readonly shard: StreamShard;
  /** Where the next iterator is taken: the start position, then after the last record read. */
  resumeFrom: ShardPosition;
  /** The first record this mapping ever read from the shard, or the start position before that. */
  origin: ShardPosition;
  iterator: string | undefined;
  endOfShard: boolean;
  buffer: DynamoDBRecord[];
  bufferStartedAt: number;
  checkpoint: string | undefined;
  lastEmptyReadStartedAt: number;
  busy: boolean;
  /** stop() cut a batch short before all of it was checkpointed. */
  interrupted: boolean;
  finished: boolean;
  worker: Promise<void> | undefined;
}

interface PendingBatch {
  records: DynamoDBRecord[];
  retries: number;
  invocations: number;
}

type InvokeOutcome =
  | { readonly kind: 'success' }
  | { readonly kind: 'partial'; readonly lowestFailed: string; readonly requestId: string }
  | { readonly kind: 'failure'; readonly functionError: 'Unhandled' | undefined; readonly requestId: string };

/**
 * An emulated DynamoDB stream event source mapping.
 *
 * @example
 * const mapping = new DynamoDbStreamMapping({
 *   streams, streamArn, startingPosition: 'TRIM_HORIZON', batchSize: 10,
 *   reportBatchItemFailures: true, invoke: (event) => handler(event, context),
 * });
 * await mapping.start();
 * await mapping.drain(10_000);
 * await mapping.stop();
 */
export class DynamoDbStreamMapping {
  readonly counters: StreamMappingCounters = {
    batches: 0,
    invocations: 0,
    recordsDelivered: 0,
    recordsFiltered: 0,
    retries: 0,
    bisections: 0,
    partialFailures: 0,
    functionErrors: 0,
    onFailure: 0,
    recordsDiscarded: 0,
    readErrors: 0,
  };

  private readonly batchSize: number;
  private readonly batchingWindowMs: number;
  private readonly maximumRetryAttempts: number;
  private readonly maximumRecordAgeMs: number;
  private readonly pollIntervalMs: number;
  private readonly awsRegion: string;
  private readonly functionArn: string;
  private readonly now: () => number;
  private readonly sleeper = new InterruptibleSleeper();
  private readonly shards = new Map<string, ShardState>();
  private knownShardIds: string[] = [];
  private running = false;
  private discoveredOnce = false;
  private lastDiscoveryStartedAt = -1;
  private discovery: Promise<void> | undefined;
  private discoveryLoop: Promise<void> | undefined;

  constructor(private readonly options: DynamoDbStreamMappingOptions) {
    this.batchSize = options.batchSize ?? 100;
    assertIntegerInRange('batchSize', this.batchSize, 1, 10_000);
    const window = options.maximumBatchingWindowInSeconds ?? 0;
    assertIntegerInRange('maximumBatchingWindowInSeconds', window, 0, 300);
    this.batchingWindowMs = window * 1000;
    this.maximumRetryAttempts = options.maximumRetryAttempts ?? -1;
    assertIntegerInRange('maximumRetryAttempts', this.maximumRetryAttempts, -1, 10_000);
    const maximumAge = options.maximumRecordAgeInSeconds ?? -1;
    if (maximumAge !== -1) assertIntegerInRange('maximumRecordAgeInSeconds', maximumAge, 60, 604_800);
    this.maximumRecordAgeMs = maximumAge === -1 ? -1 : maximumAge * 1000;
    this.pollIntervalMs = options.pollIntervalMs ?? 100;
    if (!(this.pollIntervalMs > 0)) {
      throw new MappingConfigError('pollIntervalMs', 'must be greater than 0', options.pollIntervalMs);
    }
    if (options.startingPosition !== 'TRIM_HORIZON' && options.startingPosition !== 'LATEST') {
      throw new MappingConfigError(
        'startingPosition',
        "must be 'TRIM_HORIZON' or 'LATEST'",
        options.startingPosition,
      );
    }
    this.awsRegion = options.awsRegion ?? options.streamArn.split(':')[3] ?? 'us-east-1';
    this.functionArn = options.functionArn ?? `arn:aws:lambda:${this.awsRegion}:000000000000:function:local`;
    this.now = options.now ?? Date.now;
  }

  /**
   * Starts polling. Resolves once the shards are known and their iterators taken,
   * so with LATEST every record written after `await start()` is delivered.
   * Rejects if the stream cannot be described. Calling it while running does nothing.
   */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      await this.discoverShards();
    } catch (error) {
      this.running = false;
      throw error;
    }
    this.discoveryLoop = this.runDiscoveryLoop();
  }

  /** Stops polling; resolves when every in-flight invocation has returned. Unfinished batches resume on start(). */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.sleeper.wakeAll();
    await Promise.all([this.discoveryLoop, ...[...this.shards.values()].map((state) => state.worker)]);
    for (const state of this.shards.values()) {
      state.worker = undefined;
      const unprocessed = state.buffer.length > 0 || state.interrupted;
      state.interrupted = false;
      // With nothing pending the iterator stays valid, so start() continues exactly where reading stopped.
      if (state.finished || !unprocessed) continue;
      // Buffered and unfinished records were not checkpointed: the next start() reads them again.
      state.iterator = undefined;
      state.buffer = [];
      state.resumeFrom =
        state.checkpoint === undefined
          ? state.origin
          : { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: state.checkpoint };
    }
  }

  /**
   * Resolves when every record that is in the stream when this is called has been
   * processed (delivered, filtered or discarded). Rejects after `timeoutMs`.
   */
  async drain(timeoutMs = 10_000): Promise<void> {
    if (!this.running) throw new Error('drain() needs a started mapping: call start() first');
    const since = performance.now();
    await this.discoverShards();
    this.sleeper.wakeAll();
    await waitFor(() => this.caughtUpSince(since), {
      timeoutMs,
      intervalMs: 20,
      onTimeout: () =>
        new Error(
          `stream mapping did not drain within ${timeoutMs} ms; counters: ${JSON.stringify(this.counters)}`,
        ),
    });
  }

  private caughtUpSince(since: number): boolean {
    if (this.lastDiscoveryStartedAt < since) return false;
    return this.knownShardIds.every((shardId) => {
      const state = this.shards.get(shardId);
      if (state === undefined) return false;
      if (state.finished) return true;
      return (
        state.worker !== undefined &&
        !state.busy &&
        state.buffer.length === 0 &&
        state.lastEmptyReadStartedAt >= since
      );
    });
  }

  private async runDiscoveryLoop(): Promise<void> {
    while (this.running) {
      await this.sleeper.sleep(SHARD_DISCOVERY_INTERVAL_MS);
      if (!this.running) return;
      try {
        await this.discoverShards();
      } catch (error) {
        this.counters.readErrors += 1;
        this.log(`listing shards failed: ${describeError(error)}`);
      }
    }
  }

  private discoverShards(): Promise<void> {
    this.discovery ??= this.listAndStartShards().finally(() => {
      this.discovery = undefined;
    });
    return this.discovery;
  }

  private async listAndStartShards(): Promise<void> {
    const startedAt = performance.now();
    const shards = await listShards(this.options.streams, this.options.streamArn);
    for (const shard of shards) {
      if (this.shards.has(shard.shardId)) continue;
      const initial = !this.discoveredOnce;
      const start: ShardPosition = { type: initial ? this.options.startingPosition : 'TRIM_HORIZON' };
      const state: ShardState = {
        shard,
        resumeFrom: start,
        origin: start,
        iterator: undefined,
        endOfShard: false,
        buffer: [],
        bufferStartedAt: 0,
        checkpoint: undefined,
        lastEmptyReadStartedAt: -1,
        busy: false,
        interrupted: false,
        finished: false,
        worker: undefined,
      };
      // A LATEST iterator must be taken now, or records written right after start() would be skipped.
      if (initial) state.iterator = await this.iteratorFor(state);
      this.shards.set(shard.shardId, state);
    }
    this.knownShardIds = shards.map((shard) => shard.shardId);
    this.discoveredOnce = true;
    this.lastDiscoveryStartedAt = startedAt;
    this.startReadyShards();
  }

  private startReadyShards(): void {
    if (!this.running) return;
    for (const state of this.shards.values()) {
      if (state.worker !== undefined || state.finished) continue;
      const parent =
        state.shard.parentShardId === undefined ? undefined : this.shards.get(state.shard.parentShardId);
      // Records of a key move to the child shard when the parent closes; reading the child first would reorder them.
      if (parent !== undefined && !parent.finished) continue;
      state.worker = this.runShard(state);
    }
  }

  private async runShard(state: ShardState): Promise<void> {
    while (this.running && !state.finished) {
      try {
        const progressed = await this.step(state);
        if (!progressed && this.running) await this.sleeper.sleep(this.pollIntervalMs);
      } catch (error) {
        this.counters.readErrors += 1;
        this.log(`shard ${state.shard.shardId}: ${describeError(error)}`);
        if (this.running) await this.sleeper.sleep(READ_ERROR_PAUSE_MS);
      }
    }
    if (state.finished) this.startReadyShards();
  }

  /** One round for a shard: read if there is room, then deliver a batch if one is due. Returns false when idle. */
  private async step(state: ShardState): Promise<boolean> {
    if (state.buffer.length < this.batchSize && !state.endOfShard) await this.fetch(state);
    if (state.buffer.length === 0) {
      if (state.endOfShard) {
        state.finished = true;
        this.log(`shard ${state.shard.shardId} finished`);
        return true;
      }
      return false;
    }
    const windowLeft = this.batchingWindowMs - (performance.now() - state.bufferStartedAt);
    if (state.buffer.length < this.batchSize && !state.endOfShard && windowLeft > 0) {
      await this.sleeper.sleep(Math.min(this.pollIntervalMs, windowLeft));
      return true;
    }
    const batch = this.takeBatch(state);
    this.counters.batches += 1;
    state.busy = true;
    try {
      await this.processBatch(state, batch);
    } finally {
      state.busy = false;
    }
    return true;
  }

  private async fetch(state: ShardState): Promise<void> {
    state.iterator ??= await this.iteratorFor(state);
    if (state.iterator === undefined) {
      state.endOfShard = true;
      return;
    }
    const startedAt = performance.now();
    let page: Awaited<ReturnType<typeof readRecords>>;
    try {
      page = await readRecords(this.options.streams, state.iterator);
    } catch (error) {
      if (error instanceof ExpiredIteratorException || error instanceof TrimmedDataAccessException) {
        state.iterator = undefined;
        if (error instanceof TrimmedDataAccessException) state.resumeFrom = { type: 'TRIM_HORIZON' };
        this.log(`shard ${state.shard.shardId}: ${error.name}, taking a new iterator`);
        return;
      }
      throw error;
    }
    state.iterator = page.nextShardIterator;
    if (page.nextShardIterator === undefined) state.endOfShard = true;
    if (page.records.length === 0) {
      state.lastEmptyReadStartedAt = startedAt;
      return;
    }
    for (const raw of page.records) {
      const record = toLambdaDynamoDbRecord(raw, {
        streamArn: this.options.streamArn,
        awsRegion: this.options.awsRegion,
      });
      // If the iterator expires, continue after what is already buffered.
      state.resumeFrom = { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: sequenceNumberOf(record) };
      if (state.origin.type === 'LATEST' || state.origin.type === 'TRIM_HORIZON') {
        state.origin = { type: 'AT_SEQUENCE_NUMBER', sequenceNumber: sequenceNumberOf(record) };
      }
      if (this.options.filter !== undefined && !this.options.filter(record)) {
        this.counters.recordsFiltered += 1;
        if (state.buffer.length === 0) state.checkpoint = sequenceNumberOf(record);
        continue;
      }
      if (state.buffer.length === 0) state.bufferStartedAt = performance.now();
      state.buffer.push(record);
    }
  }

  private iteratorFor(state: ShardState): Promise<string | undefined> {
    return getShardIterator(
      this.options.streams,
      this.options.streamArn,
      state.shard.shardId,
      state.resumeFrom,
    );
  }

  private takeBatch(state: ShardState): DynamoDBRecord[] {
    let bytes = 0;
    let count = 0;
    for (const record of state.buffer) {
      if (count === this.batchSize) break;
      const size = Buffer.byteLength(JSON.stringify(record));
      // Lambda's synchronous payload limit; a single oversized record still goes alone.
      if (count > 0 && bytes + size > PAYLOAD_LIMIT_BYTES) break;
      bytes += size;
      count += 1;
    }
    const batch = state.buffer.splice(0, count);
    if (state.buffer.length > 0) state.bufferStartedAt = performance.now();
    return batch;
  }

  private async processBatch(state: ShardState, records: DynamoDBRecord[]): Promise<void> {
    // A stack: bisected halves are pushed second-half-first so the first half runs first.
    const pending: PendingBatch[] = [{ records, retries: 0, invocations: 0 }];
    while (pending.length > 0) {
      const top = pending.at(-1);
      if (top === undefined) return;
      if (!this.running) {
        // Not checkpointed: the next start() delivers the rest again.
        state.interrupted = true;
        return;
      }
      const expired = this.expiredPrefix(top.records);
      if (expired.length > 0) {
        await this.discard(state, expired, 'RecordAgeExceeded', top.invocations, undefined);
        top.records = top.records.slice(expired.length);
        if (top.records.length === 0) pending.pop();
        continue;
      }
      const outcome = await this.invokeOnce(top.records);
      top.invocations += 1;
      if (outcome.kind === 'success') {
        this.checkpoint(state, top.records);
        pending.pop();
        continue;
      }
      if (outcome.kind === 'partial') {
        this.counters.partialFailures += 1;
        const done = top.records.filter(
          (record) => compareSequenceNumbers(sequenceNumberOf(record), outcome.lowestFailed) < 0,
        );
        this.checkpoint(state, done);
        top.records = top.records.slice(done.length);
      } else if (this.options.bisectBatchOnFunctionError === true && top.records.length > 1) {
        pending.pop();
        const middle = Math.ceil(top.records.length / 2);
        pending.push({ records: top.records.slice(middle), retries: top.retries, invocations: 0 });
        pending.push({ records: top.records.slice(0, middle), retries: top.retries, invocations: 0 });
        this.counters.bisections += 1;
        continue;
      }
      if (this.maximumRetryAttempts !== -1 && top.retries >= this.maximumRetryAttempts) {
        const functionError = outcome.kind === 'failure' ? outcome.functionError : undefined;
        await this.discard(
          state,
          top.records,
          'RetryAttemptsExhausted',
          top.invocations,
          functionError,
          outcome.requestId,
        );
        pending.pop();
        continue;
      }
      top.retries += 1;
      this.counters.retries += 1;
    }
  }

  private async invokeOnce(records: DynamoDBRecord[]): Promise<InvokeOutcome> {
    let delivered = [...records];
    if (this.options.duplicate !== undefined) delivered.push(...this.options.duplicate(delivered));
    if (this.options.shuffle !== undefined) delivered = this.options.shuffle(delivered);
    const requestId = randomUUID();
    this.counters.invocations += 1;
    this.counters.recordsDelivered += delivered.length;
    let response: unknown;
    try {
      // A fresh copy per invocation, as Lambda deserializes a new event each time.
      response = await this.options.invoke({ Records: structuredClone(delivered) });
    } catch (error) {
      this.counters.functionErrors += 1;
      this.log(`invocation ${requestId} of ${records.length} records failed: ${describeError(error)}`);
      return { kind: 'failure', functionError: 'Unhandled', requestId };
    }
    if (this.options.reportBatchItemFailures !== true) return { kind: 'success' };
    const verdict = judgeBatchResponse(response, new Set(records.map(sequenceNumberOf)));
    if (verdict.kind === 'success') return verdict;
    if (verdict.kind === 'invalid') {
      this.log(
        `invocation ${requestId}: invalid partial batch response, the whole batch failed: ${verdict.reason}`,
      );
      return { kind: 'failure', functionError: undefined, requestId };
    }
    const lowestFailed = [...verdict.failedIds].sort(compareSequenceNumbers)[0] as string;
    return { kind: 'partial', lowestFailed, requestId };
  }

  private expiredPrefix(records: DynamoDBRecord[]): DynamoDBRecord[] {
    if (this.maximumRecordAgeMs === -1) return [];
    const now = this.now();
    const firstFresh = records.findIndex((record) => {
      const createdSeconds = record.dynamodb?.ApproximateCreationDateTime;
      return createdSeconds === undefined || now - createdSeconds * 1000 <= this.maximumRecordAgeMs;
    });
    return firstFresh === -1 ? records : records.slice(0, firstFresh);
  }

  private checkpoint(state: ShardState, records: DynamoDBRecord[]): void {
    const last = records.at(-1);
    if (last === undefined) return;
    const sequenceNumber = sequenceNumberOf(last);
    if (state.checkpoint === undefined || compareSequenceNumbers(sequenceNumber, state.checkpoint) > 0) {
      state.checkpoint = sequenceNumber;
    }
  }

  private async discard(
    state: ShardState,
    records: DynamoDBRecord[],
    condition: StreamFailureCondition,
    invocations: number,
    functionError: 'Unhandled' | undefined,
    requestId: string = randomUUID(),
  ): Promise<void> {
    const first = records[0];
    const last = records.at(-1);
    if (first === undefined || last === undefined) return;
    this.counters.onFailure += 1;
    this.counters.recordsDiscarded += records.length;
    const failure: StreamBatchFailureRecord = {
      requestContext: {
        requestId,
        functionArn: this.functionArn,
        condition,
        approximateInvokeCount: invocations,
      },
      responseContext: {
        statusCode: 200,
        executedVersion: '$LATEST',
        ...(functionError === undefined ? {} : { functionError }),
      },
      version: '1.0',
      timestamp: new Date(this.now()).toISOString(),
      DDBStreamBatchInfo: {
        shardId: state.shard.shardId,
        startSequenceNumber: sequenceNumberOf(first),
        endSequenceNumber: sequenceNumberOf(last),
        approximateArrivalOfFirstRecord: arrivalOf(first),
        approximateArrivalOfLastRecord: arrivalOf(last),
        batchSize: records.length,
        streamArn: this.options.streamArn,
      },
    };
    this.log(
      `shard ${state.shard.shardId}: discarding records ${failure.DDBStreamBatchInfo.startSequenceNumber}..${failure.DDBStreamBatchInfo.endSequenceNumber} (${condition})`,
    );
    if (this.options.onFailure !== undefined) {
      try {
        await this.options.onFailure(failure);
      } catch (error) {
        this.log(
          `onFailure for shard ${state.shard.shardId} failed, the failure record is lost: ${describeError(error)}`,
        );
      }
    }
    this.checkpoint(state, records);
  }

  private log(message: string): void {
    this.options.log?.(`[stream mapping ${this.options.streamArn}] ${message}`);
  }
}

function arrivalOf(record: DynamoDBRecord): string {
  const seconds = record.dynamodb?.ApproximateCreationDateTime;
  if (seconds === undefined) return '';
  // AWS writes these without milliseconds, e.g. 2019-11-14T00:13:19Z.
  return new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/**
 * Emulates an AWS Lambda event source mapping on a DynamoDB stream, so the same
 * handler code runs against DynamoDB Local.
 *
 * Behaviour, with the AWS documentation it follows:
 * - Per shard, records go to the function in sequence-number order, one batch in
 *   flight per shard (ParallelizationFactor 1); a child shard starts once its
 *   parent is finished. https://docs.aws.amazon.com/lambda/latest/dg/with-ddb.html
 * - What happens to a failing batch (partial batch responses, bisection,
 *   retries, record age, discarding to the on-failure destination) is decided
 *   by the pure policy of `stream-batch-policy.ts`; the failure record is built
 *   by `stream-failure-record.ts`; shards, iterators and checkpoints live in
 *   `stream-shards.ts`. This file runs them: discovery, one worker per shard,
 *   invocations.
 *
 * Local differences: DynamoDB Local has one shard and emits records in commit
 * order, so the `shuffle` and `duplicate` hooks exist to reproduce the reordering
 * and redelivery AWS allows. Record age is measured from ApproximateCreationDateTime,
 * which DynamoDB Local cuts to the minute, so ages read up to 59 s too old.
 * Checkpoints live in memory only: stop() then start() resumes, a new mapping
 * starts again from `startingPosition`. No tumbling windows.
 *
 * Permissions: on AWS the mapping reads the stream, and writes its on-failure
 * destination, with the function's execution role. Give it clients signed with
 * that role (through the IAM proxy): a refused read is reported once and retried
 * while nothing is delivered, a refused destination write is reported and the
 * failure record lost (see `permission-problem.ts`).
 */
import { randomUUID } from 'node:crypto';
import type { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { assertIntegerInRange, type Invoke, MappingConfigError } from './invoke';
import { PermissionProblem } from './permission-problem';
import { InterruptibleSleeper, waitFor } from './poll-clock';
import {
  type BatchFailurePolicy,
  checkBatchFailurePolicy,
  decideAfterInvocation,
  type InvocationOutcome,
  judgeInvocation,
  type PendingBatch,
  splitExpired,
} from './stream-batch-policy';
import {
  type StreamBatchFailureRecord,
  type StreamFailureCondition,
  streamFailureRecord,
} from './stream-failure-record';
import { listShards, type ShardPosition } from './stream-reader';
import {
  checkpointAfter,
  fetchPage,
  isCaughtUp,
  iteratorFor,
  newShardState,
  rewindUnprocessed,
  type ShardReadContext,
  type ShardState,
  takeBatch,
} from './stream-shards';

export type { StreamBatchFailureRecord, StreamFailureCondition } from './stream-failure-record';

/** Options of {@link DynamoDbStreamMapping}; names follow AWS::Lambda::EventSourceMapping. */
export interface DynamoDbStreamMappingOptions {
  /** DescribeStream, GetShardIterator and GetRecords go through it; on AWS they run with the function's role. */
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
   * Receives the failure record of each discarded (sub)batch, and the event of
   * that batch (`{Records}`: the discarded records as Lambda hands them to the
   * function, without injected duplicates or reordering). See
   * `on-failure-destinations.ts` for the SQS and S3 destinations.
   * @default discarded batches are only logged
   */
  readonly onFailure?: (record: StreamBatchFailureRecord, event: DynamoDBStreamEvent) => Promise<void>;
  /**
   * The mapping's UUID, as AWS gives each event source mapping (S3 destinations use it in object keys).
   * @default a random UUID
   */
  readonly uuid?: string;
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
  /**
   * Receives each new permission problem (a refused stream read or destination write) and its end, once each.
   * @default log
   */
  readonly report?: (message: string) => void;
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
  /** Failed stream reads (retried after a pause), refused ones included. */
  readErrors: number;
  /** Stream reads and destination writes refused for lack of permission (AccessDenied). */
  accessDenied: number;
}

const SHARD_DISCOVERY_INTERVAL_MS = 1_000;
const READ_ERROR_PAUSE_MS = 500;

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
  /** The mapping's UUID. */
  readonly uuid: string;
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
    accessDenied: 0,
  };

  private readonly batchSize: number;
  private readonly batchingWindowMs: number;
  private readonly policy: BatchFailurePolicy;
  private readonly pollIntervalMs: number;
  private readonly functionArn: string;
  private readonly now: () => number;
  private readonly reading: ShardReadContext;
  private readonly sleeper = new InterruptibleSleeper();
  private readonly shards = new Map<string, ShardState>();
  private knownShardIds: string[] = [];
  private running = false;
  private discoveredOnce = false;
  private lastDiscoveryStartedAt = -1;
  private discovery: Promise<void> | undefined;
  private discoveryLoop: Promise<void> | undefined;
  private readonly readPermission: PermissionProblem;
  private readonly destinationPermission: PermissionProblem;

  constructor(private readonly options: DynamoDbStreamMappingOptions) {
    const report = (message: string) => {
      if (options.report === undefined) this.log(message);
      else options.report(`[stream mapping ${options.streamArn}] ${message}`);
    };
    this.readPermission = new PermissionProblem(report);
    this.destinationPermission = new PermissionProblem(
      report,
      'the on-failure destination accepts failure records again',
      "Discarded batches keep going without a failure record until the function's execution role may write the destination.",
    );
    if (typeof options?.streamArn !== 'string' || options.streamArn === '') {
      throw new MappingConfigError('streamArn', 'must be the ARN of a DynamoDB stream', options?.streamArn);
    }
    this.uuid = options.uuid ?? randomUUID();
    if (!/^[0-9a-f-]{36}$/i.test(this.uuid))
      throw new MappingConfigError('uuid', 'must be a UUID', options.uuid);
    this.batchSize = options.batchSize ?? 100;
    assertIntegerInRange('batchSize', this.batchSize, 1, 10_000);
    const window = options.maximumBatchingWindowInSeconds ?? 0;
    assertIntegerInRange('maximumBatchingWindowInSeconds', window, 0, 300);
    this.batchingWindowMs = window * 1000;
    this.policy = checkBatchFailurePolicy({
      reportBatchItemFailures: options.reportBatchItemFailures === true,
      bisectBatchOnFunctionError: options.bisectBatchOnFunctionError === true,
      maximumRetryAttempts: options.maximumRetryAttempts ?? -1,
      maximumRecordAgeInSeconds: options.maximumRecordAgeInSeconds ?? -1,
    });
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
    const awsRegion = options.awsRegion ?? options.streamArn.split(':')[3] ?? 'us-east-1';
    this.functionArn = options.functionArn ?? `arn:aws:lambda:${awsRegion}:000000000000:function:local`;
    this.now = options.now ?? Date.now;
    this.reading = {
      streams: options.streams,
      streamArn: options.streamArn,
      awsRegion: options.awsRegion,
      filter: options.filter,
      onFiltered: () => {
        this.counters.recordsFiltered += 1;
      },
      log: (message) => this.log(message),
    };
  }

  /** `PROBLEM: <why>` while the function's role may not read the stream or write the destination; else undefined. */
  get lastProcessingResult(): string | undefined {
    return this.readPermission.lastProcessingResult ?? this.destinationPermission.lastProcessingResult;
  }

  /**
   * Starts polling. Resolves once the shards are known and their iterators taken,
   * so with LATEST every record written after `await start()` is delivered.
   * Rejects if the stream cannot be described, except when the description is
   * refused (AccessDenied): that is reported and retried, as Lambda does.
   * Calling it while running does nothing.
   */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      await this.discoverShards();
    } catch (error) {
      if (!this.noteRefusedRead(error)) {
        this.running = false;
        throw error;
      }
    }
    this.discoveryLoop = this.runDiscoveryLoop();
  }

  /** Counts and reports a refused stream read; false for any other error. */
  private noteRefusedRead(error: unknown): boolean {
    if (!this.readPermission.note(error, "reading the stream with the function's execution role"))
      return false;
    this.counters.accessDenied += 1;
    return true;
  }

  /** Stops polling; resolves when every in-flight invocation has returned. Unfinished batches resume on start(). */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.sleeper.wakeAll();
    await Promise.all([this.discoveryLoop, ...[...this.shards.values()].map((state) => state.worker)]);
    for (const state of this.shards.values()) rewindUnprocessed(state);
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
          `stream mapping did not drain within ${timeoutMs} ms; counters: ${JSON.stringify(this.counters)}${this.lastProcessingResult === undefined ? '' : `; ${this.lastProcessingResult}`}`,
        ),
    });
  }

  private caughtUpSince(since: number): boolean {
    if (this.lastDiscoveryStartedAt < since) return false;
    return this.knownShardIds.every((shardId) => {
      const state = this.shards.get(shardId);
      return state !== undefined && isCaughtUp(state, since);
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
        if (!this.noteRefusedRead(error)) this.log(`listing shards failed: ${describeError(error)}`);
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
      const state = newShardState(shard, start);
      // A LATEST iterator must be taken now, or records written right after start() would be skipped.
      if (initial) state.iterator = await iteratorFor(state, this.reading);
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
        this.readPermission.clear();
        if (!progressed && this.running) await this.sleeper.sleep(this.pollIntervalMs);
      } catch (error) {
        this.counters.readErrors += 1;
        if (!this.noteRefusedRead(error)) this.log(`shard ${state.shard.shardId}: ${describeError(error)}`);
        if (this.running) await this.sleeper.sleep(READ_ERROR_PAUSE_MS);
      }
    }
    if (state.finished) this.startReadyShards();
  }

  /** One round for a shard: read if there is room, then deliver a batch if one is due. Returns false when idle. */
  private async step(state: ShardState): Promise<boolean> {
    if (state.buffer.length < this.batchSize && !state.endOfShard) await fetchPage(state, this.reading);
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
    const batch = takeBatch(state, this.batchSize);
    this.counters.batches += 1;
    state.busy = true;
    try {
      await this.processBatch(state, batch);
    } finally {
      state.busy = false;
    }
    return true;
  }

  /** Runs a batch through the failure policy until every record is checkpointed or discarded. */
  private async processBatch(state: ShardState, records: DynamoDBRecord[]): Promise<void> {
    // A stack: bisected halves are pushed second-half-first so the first half runs first.
    const pending: PendingBatch[] = [{ records, retries: 0, invocations: 0 }];
    for (let top = pending.pop(); top !== undefined; top = pending.pop()) {
      if (!this.running) {
        // Not checkpointed: the next start() delivers the rest again.
        state.interrupted = true;
        return;
      }
      const { expired, fresh } = splitExpired(top.records, this.now(), this.policy.maximumRecordAgeInSeconds);
      if (expired.length > 0) {
        await this.discard(state, expired, 'RecordAgeExceeded', top.invocations, undefined);
        if (fresh.length > 0) pending.push({ ...top, records: fresh });
        continue;
      }
      const { outcome, requestId } = await this.invokeOnce(top.records);
      if (outcome.kind === 'partial') this.counters.partialFailures += 1;
      const decision = decideAfterInvocation(
        { ...top, invocations: top.invocations + 1 },
        outcome,
        this.policy,
      );
      if (decision.kind === 'bisect') {
        pending.push(decision.second, decision.first);
        this.counters.bisections += 1;
        continue;
      }
      checkpointAfter(state, decision.checkpoint);
      if (decision.kind === 'retry') {
        pending.push(decision.retry);
        this.counters.retries += 1;
      } else if (decision.kind === 'discard') {
        const { discard, condition, invocations, functionError } = decision;
        await this.discard(state, discard, condition, invocations, functionError, requestId);
      }
    }
  }

  private async invokeOnce(
    records: ReadonlyArray<DynamoDBRecord>,
  ): Promise<{ outcome: InvocationOutcome; requestId: string }> {
    let delivered = [...records];
    if (this.options.duplicate !== undefined) delivered.push(...this.options.duplicate(delivered));
    if (this.options.shuffle !== undefined) delivered = this.options.shuffle(delivered);
    const requestId = randomUUID();
    this.counters.invocations += 1;
    this.counters.recordsDelivered += delivered.length;
    let outcome: InvocationOutcome;
    try {
      // A fresh copy per invocation, as Lambda deserializes a new event each time.
      const response = await this.options.invoke({ Records: structuredClone(delivered) });
      outcome = judgeInvocation(records, { kind: 'returned', response }, this.policy.reportBatchItemFailures);
    } catch (error) {
      this.counters.functionErrors += 1;
      this.log(`invocation ${requestId} of ${records.length} records failed: ${describeError(error)}`);
      outcome = judgeInvocation(records, { kind: 'threw' }, this.policy.reportBatchItemFailures);
    }
    if (outcome.kind === 'failure' && outcome.functionError === undefined) {
      this.log(
        `invocation ${requestId}: invalid partial batch response, the whole batch failed: ${outcome.reason}`,
      );
    }
    return { outcome, requestId };
  }

  private async discard(
    state: ShardState,
    records: ReadonlyArray<DynamoDBRecord>,
    condition: StreamFailureCondition,
    invocations: number,
    functionError: 'Unhandled' | undefined,
    requestId: string = randomUUID(),
  ): Promise<void> {
    if (records.length === 0) return;
    this.counters.onFailure += 1;
    this.counters.recordsDiscarded += records.length;
    const failure = streamFailureRecord(records, {
      requestId,
      functionArn: this.functionArn,
      condition,
      invocations,
      functionError,
      shardId: state.shard.shardId,
      streamArn: this.options.streamArn,
      nowMs: this.now(),
    });
    const { startSequenceNumber, endSequenceNumber } = failure.DDBStreamBatchInfo;
    this.log(
      `shard ${state.shard.shardId}: discarding records ${startSequenceNumber}..${endSequenceNumber} (${condition})`,
    );
    if (this.options.onFailure !== undefined) {
      try {
        await this.options.onFailure(failure, { Records: structuredClone([...records]) });
        this.destinationPermission.clear();
      } catch (error) {
        const during =
          "writing a failure record to the on-failure destination with the function's execution role";
        if (this.destinationPermission.note(error, during)) this.counters.accessDenied += 1;
        else
          this.log(
            `onFailure for shard ${state.shard.shardId} failed, the failure record is lost: ${describeError(error)}`,
          );
      }
    }
    checkpointAfter(state, records);
  }

  private log(message: string): void {
    this.options.log?.(`[stream mapping ${this.options.streamArn}] ${message}`);
  }
}

function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

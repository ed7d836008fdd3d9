/**
 * The shard lifecycle of an emulated DynamoDB stream mapping: one state per
 * shard, its iterator (taken, expired, trimmed, exhausted), the buffer of read
 * records, the checkpoint, and where reading resumes after a stop.
 * https://docs.aws.amazon.com/lambda/latest/dg/with-ddb.html
 */
import {
  type DynamoDBStreamsClient,
  ExpiredIteratorException,
  TrimmedDataAccessException,
} from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBRecord } from 'aws-lambda';
import {
  compareSequenceNumbers,
  getShardIterator,
  readRecords,
  type ShardPosition,
  type StreamShard,
  sequenceNumberOf,
  toLambdaDynamoDbRecord,
} from './stream-reader';

/** Everything the mapping knows about one shard. */
export interface ShardState {
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

/** What reading a shard needs from its mapping. */
export interface ShardReadContext {
  readonly streams: DynamoDBStreamsClient;
  readonly streamArn: string;
  readonly awsRegion?: string;
  /** The FilterCriteria; a rejected record is skipped and counts as processed. */
  readonly filter?: (record: DynamoDBRecord) => boolean;
  readonly onFiltered: () => void;
  readonly log: (message: string) => void;
}

/** Lambda's synchronous invocation payload limit. */
const PAYLOAD_LIMIT_BYTES = 6 * 1024 * 1024;

/** A shard seen for the first time, to be read from `start`. */
export function newShardState(shard: StreamShard, start: ShardPosition): ShardState {
  return {
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
}

/** A shard iterator at the shard's resume position. */
export function iteratorFor(state: ShardState, context: ShardReadContext): Promise<string | undefined> {
  return getShardIterator(context.streams, context.streamArn, state.shard.shardId, state.resumeFrom);
}

/**
 * Reads one page of the shard into its buffer. An expired iterator is replaced
 * after what was read; a trimmed one restarts at TRIM_HORIZON, as Lambda does.
 * Filtered-out records are skipped: "the streams iterator advances past this record"
 * (https://docs.aws.amazon.com/lambda/latest/dg/invocation-eventfiltering.html).
 */
export async function fetchPage(state: ShardState, context: ShardReadContext): Promise<void> {
  state.iterator ??= await iteratorFor(state, context);
  if (state.iterator === undefined) {
    state.endOfShard = true;
    return;
  }
  const startedAt = performance.now();
  let page: Awaited<ReturnType<typeof readRecords>>;
  try {
    page = await readRecords(context.streams, state.iterator);
  } catch (error) {
    if (error instanceof ExpiredIteratorException || error instanceof TrimmedDataAccessException) {
      state.iterator = undefined;
      if (error instanceof TrimmedDataAccessException) state.resumeFrom = { type: 'TRIM_HORIZON' };
      context.log(`shard ${state.shard.shardId}: ${error.name}, taking a new iterator`);
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
  for (const raw of page.records) bufferRecord(state, toLambdaDynamoDbRecord(raw, context), context);
}

function bufferRecord(state: ShardState, record: DynamoDBRecord, context: ShardReadContext): void {
  // If the iterator expires, continue after what is already buffered.
  state.resumeFrom = { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: sequenceNumberOf(record) };
  if (state.origin.type === 'LATEST' || state.origin.type === 'TRIM_HORIZON') {
    state.origin = { type: 'AT_SEQUENCE_NUMBER', sequenceNumber: sequenceNumberOf(record) };
  }
  if (context.filter !== undefined && !context.filter(record)) {
    context.onFiltered();
    if (state.buffer.length === 0) state.checkpoint = sequenceNumberOf(record);
    return;
  }
  if (state.buffer.length === 0) state.bufferStartedAt = performance.now();
  state.buffer.push(record);
}

/** Takes the next batch off the buffer: up to `batchSize` records within Lambda's payload limit. */
export function takeBatch(state: ShardState, batchSize: number): DynamoDBRecord[] {
  let bytes = 0;
  let count = 0;
  for (const record of state.buffer) {
    if (count === batchSize) break;
    const size = Buffer.byteLength(JSON.stringify(record));
    // A single oversized record still goes alone.
    if (count > 0 && bytes + size > PAYLOAD_LIMIT_BYTES) break;
    bytes += size;
    count += 1;
  }
  const batch = state.buffer.splice(0, count);
  if (state.buffer.length > 0) state.bufferStartedAt = performance.now();
  return batch;
}

/** Moves the checkpoint to the last of `records`, never backwards. */
export function checkpointAfter(state: ShardState, records: ReadonlyArray<DynamoDBRecord>): void {
  const last = records.at(-1);
  if (last === undefined) return;
  const sequenceNumber = sequenceNumberOf(last);
  if (state.checkpoint === undefined || compareSequenceNumbers(sequenceNumber, state.checkpoint) > 0) {
    state.checkpoint = sequenceNumber;
  }
}

/**
 * After stop(): what was buffered or cut short was not checkpointed, so the
 * next start() reads it again from the checkpoint. With nothing pending the
 * iterator stays valid, so start() continues exactly where reading stopped.
 */
export function rewindUnprocessed(state: ShardState): void {
  state.worker = undefined;
  const unprocessed = state.buffer.length > 0 || state.interrupted;
  state.interrupted = false;
  if (state.finished || !unprocessed) return;
  state.iterator = undefined;
  state.buffer = [];
  state.resumeFrom =
    state.checkpoint === undefined
      ? state.origin
      : { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: state.checkpoint };
}

/** Whether the shard has processed everything that was in it at `since` (a performance.now() reading). */
export function isCaughtUp(state: ShardState, since: number): boolean {
  if (state.finished) return true;
  return (
    state.worker !== undefined &&
    !state.busy &&
    state.buffer.length === 0 &&
    state.lastEmptyReadStartedAt >= since
  );
}

/**
 * Reading DynamoDB Streams (against DynamoDB Local) and converting records to the
 * shape Lambda hands a function. {@link toLambdaDynamoDbRecord} is the one
 * conversion used by the stream mapping and by tests.
 */
import {
  type _Record,
  type AttributeValue,
  DescribeStreamCommand,
  type DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
  ListStreamsCommand,
  type Shard,
  type ShardIteratorType,
} from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBRecord, StreamRecord as LambdaStreamRecord } from 'aws-lambda';

/** Attribute value as Lambda delivers it: binary values are base64 strings. */
export type LambdaAttributeValue = NonNullable<LambdaStreamRecord['Keys']>[string];

/** Most records one GetRecords call returns (DynamoDB Streams limit). */
export const GET_RECORDS_MAX_LIMIT = 1000;

/** Where a shard iterator starts. */
export type ShardPosition =
  | { readonly type: 'TRIM_HORIZON' | 'LATEST' }
  | { readonly type: 'AT_SEQUENCE_NUMBER' | 'AFTER_SEQUENCE_NUMBER'; readonly sequenceNumber: string };

/** A shard with the fields the readers rely on. */
export interface StreamShard {
  readonly shardId: string;
  readonly parentShardId: string | undefined;
  /** Set once the shard is closed: no record will be added to it. */
  readonly endingSequenceNumber: string | undefined;
}

/** What the conversion needs besides the record itself. */
export interface LambdaRecordContext {
  readonly streamArn: string;
  /**
   * Region written to `awsRegion`.
   * @default the record's own region (DynamoDB Local writes `ddblocal`)
   */
  readonly awsRegion?: string;
}

/**
 * Finds the ARN of a table's newest stream (streams are listed oldest first by label,
 * and a table that had its stream disabled and enabled again has several).
 * Throws if the table has no stream.
 */
export async function findLatestStreamArn(
  streams: DynamoDBStreamsClient,
  tableName: string,
): Promise<string> {
  let latest: { arn: string; label: string } | undefined;
  let exclusiveStartStreamArn: string | undefined;
  do {
    const page = await streams.send(
      new ListStreamsCommand({ TableName: tableName, ExclusiveStartStreamArn: exclusiveStartStreamArn }),
    );
    for (const stream of page.Streams ?? []) {
      if (stream.StreamArn === undefined) continue;
      const label = stream.StreamLabel ?? '';
      if (latest === undefined || label > latest.label) latest = { arn: stream.StreamArn, label };
    }
    exclusiveStartStreamArn = page.LastEvaluatedStreamArn;
  } while (exclusiveStartStreamArn !== undefined);
  if (latest === undefined)
    throw new Error(`table ${tableName} has no stream: enable StreamSpecification on it`);
  return latest.arn;
}

/** Lists all shards of a stream, parents before their children. */
export async function listShards(streams: DynamoDBStreamsClient, streamArn: string): Promise<StreamShard[]> {
  const shards: StreamShard[] = [];
  let exclusiveStartShardId: string | undefined;
  do {
    const page = await streams.send(
      new DescribeStreamCommand({ StreamArn: streamArn, ExclusiveStartShardId: exclusiveStartShardId }),
    );
    for (const shard of page.StreamDescription?.Shards ?? []) {
      const converted = toStreamShard(shard);
      if (converted !== undefined) shards.push(converted);
    }
    exclusiveStartShardId = page.StreamDescription?.LastEvaluatedShardId;
  } while (exclusiveStartShardId !== undefined);
  return parentsFirst(shards);
}

/** Gets a shard iterator at `position`. */
export async function getShardIterator(
  streams: DynamoDBStreamsClient,
  streamArn: string,
  shardId: string,
  position: ShardPosition,
): Promise<string | undefined> {
  const result = await streams.send(
    new GetShardIteratorCommand({
      StreamArn: streamArn,
      ShardId: shardId,
      ShardIteratorType: position.type satisfies ShardIteratorType,
      SequenceNumber: 'sequenceNumber' in position ? position.sequenceNumber : undefined,
    }),
  );
  return result.ShardIterator;
}

/**
 * Reads one page of records. `nextShardIterator` is undefined once a closed shard
 * has been read to its end; an open shard always returns a next iterator.
 */
export async function readRecords(
  streams: DynamoDBStreamsClient,
  shardIterator: string,
  limit: number = GET_RECORDS_MAX_LIMIT,
): Promise<{ records: _Record[]; nextShardIterator: string | undefined }> {
  const result = await streams.send(new GetRecordsCommand({ ShardIterator: shardIterator, Limit: limit }));
  return { records: result.Records ?? [], nextShardIterator: result.NextShardIterator };
}

/**
 * Reads every record currently in a stream, shard by shard (parents first), in the
 * Lambda shape. For tests: it stops at the first empty page of an open shard, which
 * on DynamoDB Local means "caught up" (on AWS an empty page can occur mid-shard).
 */
export async function readAllStreamRecords(options: {
  readonly streams: DynamoDBStreamsClient;
  readonly streamArn: string;
  readonly awsRegion?: string;
}): Promise<DynamoDBRecord[]> {
  const { streams, streamArn } = options;
  const all: DynamoDBRecord[] = [];
  for (const shard of await listShards(streams, streamArn)) {
    let iterator = await getShardIterator(streams, streamArn, shard.shardId, { type: 'TRIM_HORIZON' });
    while (iterator !== undefined) {
      const page = await readRecords(streams, iterator);
      for (const record of page.records) all.push(toLambdaDynamoDbRecord(record, options));
      if (page.records.length === 0 && shard.endingSequenceNumber === undefined) break;
      iterator = page.nextShardIterator;
    }
  }
  return all;
}

/**
 * Converts a DynamoDB Streams API record to the record Lambda passes a function:
 * eventVersion '1.1', eventSource 'aws:dynamodb', eventSourceARN set,
 * ApproximateCreationDateTime in epoch seconds and binary values base64-encoded.
 */
export function toLambdaDynamoDbRecord(record: _Record, context: LambdaRecordContext): DynamoDBRecord {
  const stream = record.dynamodb;
  const converted: DynamoDBRecord = {
    eventID: record.eventID,
    eventName: record.eventName,
    eventVersion: '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: context.awsRegion ?? record.awsRegion,
    dynamodb: stream && {
      ApproximateCreationDateTime:
        stream.ApproximateCreationDateTime && Math.floor(stream.ApproximateCreationDateTime.getTime() / 1000),
      Keys: stream.Keys && toLambdaImage(stream.Keys),
      NewImage: stream.NewImage && toLambdaImage(stream.NewImage),
      OldImage: stream.OldImage && toLambdaImage(stream.OldImage),
      SequenceNumber: stream.SequenceNumber,
      SizeBytes: stream.SizeBytes,
      StreamViewType: stream.StreamViewType,
    },
    eventSourceARN: context.streamArn,
  };
  if (record.userIdentity !== undefined) {
    converted.userIdentity = { type: record.userIdentity.Type, principalId: record.userIdentity.PrincipalId };
  }
  return dropUndefined(converted);
}

/** Sequence number of a Lambda-shaped record; throws if it has none (every stream record has one). */
export function sequenceNumberOf(record: DynamoDBRecord): string {
  const sequenceNumber = record.dynamodb?.SequenceNumber;
  if (sequenceNumber === undefined)
    throw new Error(`stream record ${record.eventID ?? '(no eventID)'} has no SequenceNumber`);
  return sequenceNumber;
}

/** Orders two sequence numbers (numeric strings of any length). */
export function compareSequenceNumbers(a: string, b: string): number {
  const difference = BigInt(a) - BigInt(b);
  return difference < 0n ? -1 : difference > 0n ? 1 : 0;
}

function toLambdaImage(image: Record<string, AttributeValue>): Record<string, LambdaAttributeValue> {
  const converted: Record<string, LambdaAttributeValue> = {};
  for (const [name, value] of Object.entries(image)) converted[name] = toLambdaAttributeValue(value);
  return converted;
}

function toLambdaAttributeValue(value: AttributeValue): LambdaAttributeValue {
  if (value.S !== undefined) return { S: value.S };
  if (value.N !== undefined) return { N: value.N };
  if (value.BOOL !== undefined) return { BOOL: value.BOOL };
  if (value.NULL !== undefined) return { NULL: value.NULL };
  if (value.B !== undefined) return { B: Buffer.from(value.B).toString('base64') };
  if (value.SS !== undefined) return { SS: value.SS };
  if (value.NS !== undefined) return { NS: value.NS };
  if (value.BS !== undefined) return { BS: value.BS.map((bytes) => Buffer.from(bytes).toString('base64')) };
  if (value.L !== undefined) return { L: value.L.map(toLambdaAttributeValue) };
  if (value.M !== undefined) return { M: toLambdaImage(value.M) };
  throw new Error(`unsupported attribute value type: ${Object.keys(value).join(', ')}`);
}

function toStreamShard(shard: Shard): StreamShard | undefined {
  if (shard.ShardId === undefined) return undefined;
  return {
    shardId: shard.ShardId,
    parentShardId: shard.ParentShardId,
    endingSequenceNumber: shard.SequenceNumberRange?.EndingSequenceNumber,
  };
}

function parentsFirst(shards: StreamShard[]): StreamShard[] {
  const byId = new Map(shards.map((shard) => [shard.shardId, shard]));
  const ordered: StreamShard[] = [];
  const placed = new Set<string>();
  const place = (shard: StreamShard) => {
    if (placed.has(shard.shardId)) return;
    placed.add(shard.shardId);
    const parent = shard.parentShardId === undefined ? undefined : byId.get(shard.parentShardId);
    if (parent !== undefined) place(parent);
    ordered.push(shard);
  };
  for (const shard of shards) place(shard);
  return ordered;
}

function dropUndefined<T extends object>(value: T): T {
  for (const [key, field] of Object.entries(value)) {
    if (field === undefined) delete (value as Record<string, unknown>)[key];
    else if (field !== null && typeof field === 'object' && !Array.isArray(field)) dropUndefined(field);
  }
  return value;
}

/**
 * The invocation record Lambda sends to a stream mapping's on-failure
 * destination for a discarded (sub)batch (example in "Retain discarded records
 * for a DynamoDB event source in Lambda",
 * https://docs.aws.amazon.com/lambda/latest/dg/services-dynamodb-errors.html):
 * requestContext, responseContext, version '1.0', timestamp and
 * DDBStreamBatchInfo. The docs show condition `RetryAttemptsExhausted`;
 * `RecordAgeExceeded` is the value other emulators use for the age limit (not
 * shown in the AWS docs). Pure: the caller passes the clock's reading.
 */
import type { DynamoDBRecord } from 'aws-lambda';
import { sequenceNumberOf } from './stream-reader';

/** Why a (sub)batch was given up. */
export type StreamFailureCondition = 'RetryAttemptsExhausted' | 'RecordAgeExceeded';

/** What AWS sends to a stream mapping's on-failure destination (SQS and SNS get no records). */
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

/** Everything the failure record says besides the records themselves. */
export interface FailureContext {
  readonly requestId: string;
  readonly functionArn: string;
  readonly condition: StreamFailureCondition;
  readonly invocations: number;
  readonly functionError: 'Unhandled' | undefined;
  readonly shardId: string;
  readonly streamArn: string;
  /** When the batch was given up (epoch ms). */
  readonly nowMs: number;
}

/**
 * The failure record of the discarded `records` (in sequence order).
 * @throws RangeError for an empty list: Lambda never discards an empty batch
 */
export function streamFailureRecord(
  records: ReadonlyArray<DynamoDBRecord>,
  context: FailureContext,
): StreamBatchFailureRecord {
  const first = records[0];
  const last = records.at(-1);
  if (first === undefined || last === undefined)
    throw new RangeError('a failure record needs at least one discarded record (given none)');
  return {
    requestContext: {
      requestId: context.requestId,
      functionArn: context.functionArn,
      condition: context.condition,
      approximateInvokeCount: context.invocations,
    },
    responseContext: {
      statusCode: 200,
      executedVersion: '$LATEST',
      ...(context.functionError === undefined ? {} : { functionError: context.functionError }),
    },
    version: '1.0',
    timestamp: new Date(context.nowMs).toISOString(),
    DDBStreamBatchInfo: {
      shardId: context.shardId,
      startSequenceNumber: sequenceNumberOf(first),
      endSequenceNumber: sequenceNumberOf(last),
      approximateArrivalOfFirstRecord: arrivalOf(first),
      approximateArrivalOfLastRecord: arrivalOf(last),
      batchSize: records.length,
      streamArn: context.streamArn,
    },
  };
}

function arrivalOf(record: DynamoDBRecord): string {
  const seconds = record.dynamodb?.ApproximateCreationDateTime;
  if (seconds === undefined) return '';
  // AWS writes these without milliseconds, e.g. 2019-11-14T00:13:19Z.
  return new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * On-failure destinations of a stream event source mapping: where the record
 * of a discarded batch goes ("Retain discarded records for a DynamoDB event
 * source in Lambda", https://docs.aws.amazon.com/lambda/latest/dg/services-dynamodb-errors.html).
 *
 * - SQS (and SNS) destinations get the invocation record: metadata only.
 * - S3 destinations get the invocation record plus `payload`, the whole event
 *   the function was invoked with. The documentation's example shows
 *   `"payload": "<Whole Event>"`, a string, so `payload` is the event's JSON
 *   text (`{"Records":[...]}`), not a nested object. The object key is
 *   `aws/lambda/<ESM-UUID>/<shardID>/YYYY/MM/DD/YYYY-MM-DDTHH.MM.SS-<Random UUID>`.
 */
import { randomUUID } from 'node:crypto';
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBStreamEvent } from 'aws-lambda';
import type { LocalS3Client } from '../engines/s3-client';
import { MappingConfigError } from './invoke';
import type { StreamBatchFailureRecord } from './stream-failure-record';

/** Receives the failure record of a discarded batch and the event of that batch. */
export type OnFailureDestination = (
  record: StreamBatchFailureRecord,
  event: DynamoDBStreamEvent,
) => Promise<void>;

/** What an S3 destination writes: the invocation record and the whole event as JSON text. */
export type S3FailureObject = StreamBatchFailureRecord & { readonly payload: string };

/** Sends the invocation record (without records) to an SQS queue. */
export function sqsOnFailureDestination(sqs: SQSClient, queueUrl: string): OnFailureDestination {
  if (typeof queueUrl !== 'string' || queueUrl === '') {
    throw new MappingConfigError('onFailure queueUrl', 'must be the QueueUrl of the destination', queueUrl);
  }
  return async (record) => {
    await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify(record) }));
  };
}

/** Writes the invocation record and the whole event to an object of an S3 bucket. */
export function s3OnFailureDestination(
  s3: LocalS3Client,
  bucket: string,
  eventSourceMappingUuid: string,
  newId: () => string = randomUUID,
): OnFailureDestination {
  if (typeof bucket !== 'string' || bucket === '') {
    throw new MappingConfigError('onFailure bucket', 'must be the name of the destination bucket', bucket);
  }
  return async (record, event) => {
    const object: S3FailureObject = { ...record, payload: JSON.stringify(event) };
    const key = s3FailureObjectKey(
      eventSourceMappingUuid,
      record.DDBStreamBatchInfo.shardId,
      new Date(record.timestamp),
      newId(),
    );
    await s3.putObject(bucket, key, JSON.stringify(object));
  };
}

/**
 * `aws/lambda/<ESM-UUID>/<shardID>/YYYY/MM/DD/YYYY-MM-DDTHH.MM.SS-<Random UUID>`, in UTC.
 * @throws RangeError for a date that is not valid
 */
export function s3FailureObjectKey(
  eventSourceMappingUuid: string,
  shardId: string,
  at: Date,
  randomId: string,
): string {
  if (Number.isNaN(at.getTime())) throw new RangeError(`the failure time is not a valid date (given ${at})`);
  const iso = at.toISOString();
  const [year, month, day] = [iso.slice(0, 4), iso.slice(5, 7), iso.slice(8, 10)];
  const time = iso.slice(11, 19).replaceAll(':', '.');
  return `aws/lambda/${eventSourceMappingUuid}/${shardId}/${year}/${month}/${day}/${year}-${month}-${day}T${time}-${randomId}`;
}

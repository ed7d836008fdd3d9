/**
 * On-failure destinations of stream mappings: SQS gets the invocation record, S3 gets it with
 * the whole event as `payload` under the documented key ("Retain discarded records for a
 * DynamoDB event source in Lambda").
 */
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { CreateQueueCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBStreamEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalS3Client } from '../../src/engines/s3-client';
import { type SqsEmulator, startSqsEmulator } from '../../src/engines/sqs-emulator';
import {
  s3FailureObjectKey,
  s3OnFailureDestination,
  sqsOnFailureDestination,
} from '../../src/event-source-mappings/on-failure-destinations';
import type { StreamBatchFailureRecord } from '../../src/event-source-mappings/stream-failure-record';

const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
const ESM_UUID = '6d1b2a4e-0c7e-4e57-9a3b-5c2f1e0d9a11';

let engine: SqsEmulator | undefined;
let sdkS3: S3Client;
let sqs: SQSClient;

beforeAll(async () => {
  engine = await startSqsEmulator();
  sdkS3 = new S3Client({ endpoint: engine.endpoint, region: 'us-east-1', credentials });
  sqs = new SQSClient({ endpoint: engine.endpoint, region: 'us-east-1', credentials });
});

afterAll(async () => {
  sdkS3?.destroy();
  sqs?.destroy();
  await engine?.stop();
});

function running(): SqsEmulator {
  if (engine === undefined) throw new Error('fauxqs did not start');
  return engine;
}

const FAILURE: StreamBatchFailureRecord = {
  requestContext: {
    requestId: 'b1e6c7a0-3e4c-4b0c-9a1e-2f1d0c9b8a71',
    functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:Relay',
    condition: 'RetryAttemptsExhausted',
    approximateInvokeCount: 3,
  },
  responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
  version: '1.0',
  timestamp: '2024-05-01T09:08:07.123Z',
  DDBStreamBatchInfo: {
    shardId: 'shardId-00000001',
    startSequenceNumber: '100',
    endSequenceNumber: '100',
    approximateArrivalOfFirstRecord: '2024-05-01T09:00:00Z',
    approximateArrivalOfLastRecord: '2024-05-01T09:00:00Z',
    batchSize: 1,
    streamArn: 'arn:aws:dynamodb:us-east-1:000000000000:table/Orders/stream/2024-05-01T00:00:00.000',
  },
};

const EVENT: DynamoDBStreamEvent = {
  Records: [{ eventName: 'INSERT', dynamodb: { SequenceNumber: '100', Keys: { pk: { S: 'o-1' } } } }],
};

describe('s3FailureObjectKey', () => {
  it('follows aws/lambda/<ESM-UUID>/<shardID>/YYYY/MM/DD/YYYY-MM-DDTHH.MM.SS-<Random UUID> in UTC', () => {
    // Act
    const key = s3FailureObjectKey(ESM_UUID, 'shardId-00000001', new Date('2024-05-01T09:08:07.123Z'), 'r-1');

    // Assert
    expect(key).toBe(`aws/lambda/${ESM_UUID}/shardId-00000001/2024/05/01/2024-05-01T09.08.07-r-1`);
  });

  it('refuses a date that is not valid', () => {
    // Act
    const naming = () => s3FailureObjectKey(ESM_UUID, 'shard', new Date('not a date'), 'r');

    // Assert
    expect(naming).toThrow(RangeError);
  });
});

describe('s3OnFailureDestination', () => {
  it('writes the invocation record with the whole event as a JSON string under the documented key', async () => {
    // Arrange
    const client = new LocalS3Client(running().endpoint);
    await client.createBucket('discarded');
    const destination = s3OnFailureDestination(client, 'discarded', ESM_UUID, () => 'fixed-id');

    // Act
    await destination(FAILURE, EVENT);

    // Assert
    const key = `aws/lambda/${ESM_UUID}/shardId-00000001/2024/05/01/2024-05-01T09.08.07-fixed-id`;
    const listed = await sdkS3.send(new ListObjectsV2Command({ Bucket: 'discarded' }));
    expect(listed.Contents?.map((object) => object.Key)).toEqual([key]);
    const object = await sdkS3.send(new GetObjectCommand({ Bucket: 'discarded', Key: key }));
    const written = JSON.parse((await object.Body?.transformToString()) ?? 'null');
    expect(written).toEqual({ ...FAILURE, payload: JSON.stringify(EVENT) });
  });

  it('fails when the bucket does not exist, so the mapping logs the lost record', async () => {
    // Arrange
    const destination = s3OnFailureDestination(
      new LocalS3Client(running().endpoint),
      'no-such-bucket',
      ESM_UUID,
    );

    // Act
    const writing = destination(FAILURE, EVENT);

    // Assert
    await expect(writing).rejects.toThrow(/S3 PutObject failed \(HTTP 404\)/);
  });
});

describe('sqsOnFailureDestination', () => {
  it('sends the invocation record without the records', async () => {
    // Arrange
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: 'discarded-records' }));
    const destination = sqsOnFailureDestination(sqs, QueueUrl ?? '');

    // Act
    await destination(FAILURE, EVENT);

    // Assert
    const { Messages } = await sqs.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10 }));
    expect(Messages?.map((message) => JSON.parse(message.Body ?? 'null'))).toEqual([FAILURE]);
  });
});

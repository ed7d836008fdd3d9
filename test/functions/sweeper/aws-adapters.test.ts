import { DynamoDBClient, ScanCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { ENTITY_TYPES, RELAY_ITEMS } from '../../../contract/keys';
import { ValidationError } from '../../../functions/shared/errors';
import {
  DynamoDbOutboxScanner,
  DynamoDbRelayBookkeeping,
  LAMBDA_FAILURE_PREFIX,
  parseFailedBatch,
  S3FailedBatchStore,
  SWEEPER_RETRY_PREFIX,
} from '../../../functions/sweeper/aws-adapters';
import { FakeOutboxStream, testTransaction } from '../../support/fake-relay-ports';

const TABLE = 'OutboxPipeline-OutboxTable';
const BUCKET = 'outbox-relay-failures';
const s3 = new S3Client({ region: 'eu-west-1' });
const dynamodb = new DynamoDBClient({ region: 'eu-west-1' });
const s3Mock = mockClient(s3);
const dynamodbMock = mockClient(dynamodb);

beforeEach(() => {
  s3Mock.reset();
  dynamodbMock.reset();
});

function streamRecords() {
  const { state, outbox } = testTransaction('o-1', 1, 2);
  return new FakeOutboxStream().records([...outbox, state]);
}

/** An S3 on-failure invocation record, as the stream mapping writes it (payload: the event as a JSON string). */
function invocationRecord(records: unknown[]): string {
  return JSON.stringify({
    requestContext: { condition: 'RetryAttemptsExhausted', approximateInvokeCount: 3 },
    DDBStreamBatchInfo: {
      approximateArrivalOfFirstRecord: '2026-11-23T16:20:00Z',
      batchSize: records.length,
    },
    payload: JSON.stringify({ Records: records }),
  });
}

describe('parseFailedBatch', () => {
  it("reads the records of Lambda's invocation record, and when the batch first arrived", () => {
    // Arrange
    const records = streamRecords();

    // Act
    const batch = parseFailedBatch('aws/lambda/x', invocationRecord(records), '2026-11-23T17:00:00Z');

    // Assert
    expect(batch).toEqual({
      key: 'aws/lambda/x',
      records,
      firstFailedAt: '2026-11-23T16:20:00Z',
      attempts: 0,
    });
  });

  it("reads the sweeper's own retry object, payload as an object, with its attempts", () => {
    // Arrange
    const records = streamRecords();
    const text = JSON.stringify({
      firstFailedAt: '2026-11-23T16:00:00Z',
      attempts: 4,
      payload: { Records: records },
    });

    // Act
    const batch = parseFailedBatch('sweeper/retry/x', text, '2026-11-23T17:00:00Z');

    // Assert
    expect(batch.attempts).toBe(4);
    expect(batch.firstFailedAt).toBe('2026-11-23T16:00:00Z');
    expect(batch.records).toEqual(records);
  });

  it.each([
    ['not JSON', '{"payload":', 'is not JSON'],
    [
      'metadata only (an SQS/SNS-style record)',
      JSON.stringify({ DDBStreamBatchInfo: {} }),
      'has no payload.Records',
    ],
  ])('refuses an object that is %s with a typed error naming the object', (_, text, message) => {
    // Act
    const parse = () => parseFailedBatch('aws/lambda/bad', text, '2026-11-23T17:00:00Z');

    // Assert
    expect(parse).toThrow(ValidationError);
    expect(parse).toThrow(message);
    expect(parse).toThrow('aws/lambda/bad');
  });
});

describe('S3FailedBatchStore', () => {
  it("lists both the mapping's and the sweeper's objects, oldest first, dating retries by their key", async () => {
    // Arrange
    s3Mock
      .on(ListObjectsV2Command, { Prefix: LAMBDA_FAILURE_PREFIX })
      .resolves({ Contents: [{ Key: 'aws/lambda/b', LastModified: new Date('2026-11-23T16:30:00Z') }] });
    s3Mock.on(ListObjectsV2Command, { Prefix: SWEEPER_RETRY_PREFIX }).resolves({
      Contents: [{ Key: `${SWEEPER_RETRY_PREFIX}2026-11-23T16:10:00.000Z/u.json`, LastModified: new Date() }],
    });

    // Act
    const listed = await new S3FailedBatchStore(s3, BUCKET).list(10);

    // Assert
    expect(listed).toEqual([
      {
        key: `${SWEEPER_RETRY_PREFIX}2026-11-23T16:10:00.000Z/u.json`,
        firstFailedAt: '2026-11-23T16:10:00.000Z',
      },
      { key: 'aws/lambda/b', firstFailedAt: '2026-11-23T16:30:00.000Z' },
    ]);
  });

  it('reads an object and parses it', async () => {
    // Arrange
    const records = streamRecords();
    s3Mock
      .on(GetObjectCommand)
      .resolves({ Body: { transformToString: async () => invocationRecord(records) } as never });

    // Act
    const batch = await new S3FailedBatchStore(s3, BUCKET).read('aws/lambda/a');

    // Assert
    expect(batch.records).toEqual(records);
    expect(s3Mock.commandCalls(GetObjectCommand)[0]?.args[0].input).toEqual({
      Bucket: BUCKET,
      Key: 'aws/lambda/a',
    });
  });

  it('keeps records under the retry prefix with when they first failed in the key, and deletes by key', async () => {
    // Arrange
    s3Mock.on(PutObjectCommand).resolves({});
    s3Mock.on(DeleteObjectCommand).resolves({});
    const store = new S3FailedBatchStore(s3, BUCKET);
    const records = streamRecords();

    // Act
    await store.keep({ records, firstFailedAt: '2026-11-23T16:20:00.000Z', attempts: 2 });
    await store.delete('aws/lambda/a');

    // Assert
    const put = s3Mock.commandCalls(PutObjectCommand)[0]?.args[0].input;
    expect(put?.Key?.startsWith(`${SWEEPER_RETRY_PREFIX}2026-11-23T16:20:00.000Z/`)).toBe(true);
    expect(parseFailedBatch(put?.Key ?? '', String(put?.Body), 'x')).toMatchObject({ attempts: 2, records });
    expect(s3Mock.commandCalls(DeleteObjectCommand)[0]?.args[0].input).toEqual({
      Bucket: BUCKET,
      Key: 'aws/lambda/a',
    });
  });
});

describe('DynamoDbRelayBookkeeping', () => {
  it('writes the probe with one UpdateItem that counts it and keeps when probes began', async () => {
    // Arrange
    dynamodbMock.on(UpdateItemCommand).resolves({
      Attributes: { seq: { N: '12' }, firstWrittenAt: { S: '2026-11-20T00:00:00.000Z' } },
    });

    // Act
    const probe = await new DynamoDbRelayBookkeeping(dynamodb, TABLE).writeProbe(
      new Date('2026-11-23T16:20:00Z'),
    );

    // Assert
    expect(probe).toEqual({ seq: 12, firstWrittenAt: '2026-11-20T00:00:00.000Z' });
    const input = dynamodbMock.commandCalls(UpdateItemCommand)[0]?.args[0].input;
    expect(input?.Key?.pk).toEqual({ S: RELAY_ITEMS.probePk });
    expect(input?.UpdateExpression).toContain('ADD seq :one');
    expect(input?.UpdateExpression).toContain('if_not_exists(firstWrittenAt');
  });
});

describe('DynamoDbOutboxScanner', () => {
  it('scans outbox items committed in [from, to), strongly consistent, continuing from the cursor', async () => {
    // Arrange
    const lastKey = { pk: { S: 'Order#o-9' }, sk: { S: 'OUTBOX#000000000001' } };
    dynamodbMock.on(ScanCommand).resolves({ Items: [], LastEvaluatedKey: lastKey });
    const scanner = new DynamoDbOutboxScanner(dynamodb, TABLE);

    // Act
    const first = await scanner.scan('2026-11-23T00:00:00Z', '2026-11-24T00:00:00Z', undefined, 50);
    await scanner.scan('2026-11-23T00:00:00Z', '2026-11-24T00:00:00Z', first.cursor, 50);

    // Assert
    const [call1, call2] = dynamodbMock.commandCalls(ScanCommand).map((call) => call.args[0].input);
    expect(call1).toMatchObject({
      TableName: TABLE,
      FilterExpression: 'entityType = :outbox AND occurredAt >= :from AND occurredAt < :to',
      ExpressionAttributeValues: {
        ':outbox': { S: ENTITY_TYPES.outbox },
        ':from': { S: '2026-11-23T00:00:00Z' },
        ':to': { S: '2026-11-24T00:00:00Z' },
      },
      Limit: 50,
      ConsistentRead: true,
    });
    expect(call2?.ExclusiveStartKey).toEqual(lastKey);
  });
});

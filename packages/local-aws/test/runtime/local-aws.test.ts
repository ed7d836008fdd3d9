/**
 * startLocalAws on a small hand-written stack (test/fixtures/stack): buckets in fauxqs's S3,
 * an unmodified S3 client in a function, and a stream mapping that discards to S3, all with
 * IAM on (the default) and roles that grant what each function does. The Function URL is
 * AWS_IAM, so requests carry the operator's signature.
 */
import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { S3FailureObject } from '../../src/event-source-mappings/on-failure-destinations';
import { type LocalAws, startLocalAws } from '../../src/runtime/local-aws';
import { fixtureStack, sigV4Authorization } from '../fixtures/stack/template';

let local: LocalAws | undefined;
let s3: S3Client;
let dynamodb: DynamoDBClient;

beforeAll(async () => {
  local = await startLocalAws(fixtureStack(), { functionConcurrency: 1, scheduleIntervalMs: 0 });
  s3 = new S3Client({ ...local.clientConfig, endpoint: local.endpoints.s3 });
  dynamodb = new DynamoDBClient({ ...local.clientConfig, endpoint: local.endpoints.dynamodb });
});

afterAll(async () => {
  s3?.destroy();
  dynamodb?.destroy();
  await local?.stop();
});

function running(): LocalAws {
  if (local === undefined) throw new Error('the local stack did not start');
  return local;
}

async function objectText(bucket: string, key: string): Promise<string> {
  const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return (await object.Body?.transformToString()) ?? '';
}

describe('startLocalAws with S3 buckets', () => {
  it('creates each bucket of the template under a lowercase name derived from its logical id', () => {
    // Act
    const { buckets } = running();

    // Assert
    expect(buckets.map((bucket) => [bucket.logicalId, bucket.name, bucket.arn])).toEqual([
      ['FailedBatches', 'failedbatches', 'arn:aws:s3:::failedbatches'],
    ]);
  });

  it('resolves Ref and Fn::GetAtt of a bucket in outputs', () => {
    // Act
    const { outputs } = running();

    // Assert
    expect(outputs).toMatchObject({
      BucketName: 'failedbatches',
      BucketArn: 'arn:aws:s3:::failedbatches',
      BucketDomainName: 'failedbatches.s3.us-east-1.amazonaws.com',
    });
  });

  it('gives functions AWS_ENDPOINT_URL_S3, so an unmodified S3 client writes to the local bucket', async () => {
    // Arrange
    const writer = running().functions.get('Writer');

    // Act
    const result = await writer?.invoke<{ bucket: string }>({ key: 'from-handler.json', hello: 'world' });

    // Assert
    expect(result?.bucket).toBe('failedbatches');
    expect(JSON.parse(await objectText('failedbatches', 'from-handler.json'))).toEqual({
      key: 'from-handler.json',
      hello: 'world',
    });
  });

  it('writes each batch a stream mapping discards to its S3 destination, with the whole event as payload', async () => {
    // Arrange
    const stack = running();
    const [{ mapping } = { mapping: undefined }] = stack.streamMappings;
    await dynamodb.send(new PutItemCommand({ TableName: 'Orders', Item: { pk: { S: 'order-1' } } }));

    // Act
    await stack.drain(30_000);

    // Assert
    const listed = await s3.send(
      new ListObjectsV2Command({ Bucket: 'failedbatches', Prefix: 'aws/lambda/' }),
    );
    const [key, ...others] = (listed.Contents ?? []).map((object) => object.Key ?? '');
    expect(others).toEqual([]);
    expect(key).toMatch(
      new RegExp(
        `^aws/lambda/${mapping?.uuid}/shardId-[^/]+/\\d{4}/\\d{2}/\\d{2}/\\d{4}-\\d{2}-\\d{2}T\\d{2}\\.\\d{2}\\.\\d{2}-[0-9a-f-]{36}$`,
      ),
    );
    const failure = JSON.parse(await objectText('failedbatches', key ?? '')) as S3FailureObject;
    expect(failure).toMatchObject({
      version: '1.0',
      requestContext: {
        condition: 'RetryAttemptsExhausted',
        approximateInvokeCount: 1,
        functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:Relay',
      },
      responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
      DDBStreamBatchInfo: { batchSize: 1 },
    });
    expect(typeof failure.payload).toBe('string');
    const payload = JSON.parse(failure.payload);
    expect(payload.Records).toHaveLength(1);
    expect(payload.Records[0]).toMatchObject({
      eventName: 'INSERT',
      dynamodb: { Keys: { pk: { S: 'order-1' } } },
    });
  });
});

describe('startLocalAws trace ids', () => {
  const ROOT = '1-5759e988-bd862e3fe1be46a994272793';

  it('gives each invocation a _X_AMZN_TRACE_ID of its own, with a new root', async () => {
    // Arrange
    const writer = running().functions.get('Writer');

    // Act
    const first = await writer?.invoke<{ traceId: string }>({});
    const second = await writer?.invoke<{ traceId: string }>({});

    // Assert
    const format = /^Root=1-[0-9a-f]{8}-[0-9a-f]{24};Parent=[0-9a-f]{16};Sampled=0$/;
    expect(first?.traceId).toMatch(format);
    expect(second?.traceId).toMatch(format);
    expect(first?.traceId.split(';')[0]).not.toBe(second?.traceId.split(';')[0]);
  });

  it("continues a Function URL request's X-Amzn-Trace-Id in the invocation's _X_AMZN_TRACE_ID", async () => {
    // Arrange
    const url = running().outputs.WriterUrl ?? '';

    // Act
    const response = await fetch(url, {
      method: 'POST',
      headers: {
        'X-Amzn-Trace-Id': `Root=${ROOT};Parent=53995c3f42cd8ad8;Sampled=1`,
        authorization: sigV4Authorization('local'),
      },
      body: '{}',
    });

    // Assert
    const { traceId } = (await response.json()) as { traceId: string };
    expect(traceId).toMatch(new RegExp(`^Root=${ROOT};Parent=[0-9a-f]{16};Sampled=1$`));
    expect(traceId).not.toContain('Parent=53995c3f42cd8ad8');
  });

  it('starts a new root for a Function URL request without X-Amzn-Trace-Id', async () => {
    // Arrange
    const url = running().outputs.WriterUrl ?? '';

    // Act
    const response = await fetch(url, {
      method: 'POST',
      headers: { authorization: sigV4Authorization('local') },
      body: '{}',
    });

    // Assert
    const { traceId } = (await response.json()) as { traceId: string };
    expect(traceId).toMatch(/^Root=1-[0-9a-f]{8}-[0-9a-f]{24};Parent=[0-9a-f]{16};Sampled=0$/);
    expect(traceId).not.toContain(ROOT);
  });
});

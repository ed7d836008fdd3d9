import { connect } from 'node:net';
import {
  CreateTableCommand,
  DynamoDBClient,
  GetItemCommand,
  ScanCommand,
  TransactionCanceledException,
  TransactWriteItemsCommand,
} from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
} from '@aws-sdk/client-dynamodb-streams';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DynamoDbLocal, LOCAL_CREDENTIALS, startDynamoDbLocal } from '../../src/engines/dynamodb-local';
import { JavaNotFoundError, PortInUseError } from '../../src/engines/errors';

let engine: DynamoDbLocal;
let ddb: DynamoDBClient;
let streams: DynamoDBStreamsClient;
let tableCounter = 0;

beforeAll(async () => {
  engine = await startDynamoDbLocal();
  const config = { endpoint: engine.endpoint, region: 'us-east-1', credentials: LOCAL_CREDENTIALS };
  ddb = new DynamoDBClient(config);
  streams = new DynamoDBStreamsClient(config);
});

afterAll(async () => {
  ddb?.destroy();
  streams?.destroy();
  await engine?.stop();
});

async function createTable(withStream: boolean): Promise<{ name: string; streamArn: string | undefined }> {
  tableCounter += 1;
  const name = `engine-test-${tableCounter}`;
  const created = await ddb.send(
    new CreateTableCommand({
      TableName: name,
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
      StreamSpecification: withStream ? { StreamEnabled: true, StreamViewType: 'NEW_IMAGE' } : undefined,
    }),
  );
  return { name, streamArn: created.TableDescription?.LatestStreamArn };
}

function putItem(table: string, pk: string) {
  return { Put: { TableName: table, Item: { pk: { S: pk }, kind: { S: 'test' } } } };
}

describe('startDynamoDbLocal', () => {
  it('starts DynamoDB Local 1.25.1 on a 127.0.0.1 endpoint and reports its startup time', () => {
    // Assert
    expect(engine.endpoint).toBe(`http://127.0.0.1:${engine.port}`);
    expect(engine.version).toBe('1.25.1');
    expect(engine.startupMs).toBeGreaterThan(0);
  });

  it('throws JavaNotFoundError with the install hint when java is not on PATH', async () => {
    // Arrange
    const originalPath = process.env.PATH;
    process.env.PATH = '/nonexistent';

    // Act
    const starting = startDynamoDbLocal();

    // Assert
    try {
      await expect(starting).rejects.toBeInstanceOf(JavaNotFoundError);
      await expect(starting).rejects.toThrow(
        'java was not found on PATH: install Java 17+ (Debian: apt-get install -y default-jre-headless)',
      );
    } finally {
      process.env.PATH = originalPath;
    }
  });

  it('rejects with PortInUseError instead of reporting ready when its port is already taken', async () => {
    // Act
    const starting = startDynamoDbLocal({ port: engine.port });

    // Assert
    await expect(starting).rejects.toBeInstanceOf(PortInUseError);
    await expect(starting).rejects.toThrow(`port ${engine.port}`);
  });

  it('stop() ends the JVM so its port no longer answers', async () => {
    // Arrange
    const second = await startDynamoDbLocal();

    // Act
    await second.stop();
    await second.stop();

    // Assert
    expect(await canConnect(second.port)).toBe(false);
  });
});

describe('DynamoDB Local transactions', () => {
  it('TransactWriteItems writes both items', async () => {
    // Arrange
    const { name } = await createTable(false);

    // Act
    await ddb.send(
      new TransactWriteItemsCommand({ TransactItems: [putItem(name, 'a'), putItem(name, 'b')] }),
    );

    // Assert
    const scanned = await ddb.send(new ScanCommand({ TableName: name }));
    expect(scanned.Items?.map((item) => item.pk?.S).sort()).toEqual(['a', 'b']);
  });

  it('a transaction whose ConditionCheck fails writes nothing', async () => {
    // Arrange
    const { name } = await createTable(false);

    // Act
    const writing = ddb.send(
      new TransactWriteItemsCommand({
        TransactItems: [
          putItem(name, 'c'),
          {
            ConditionCheck: {
              TableName: name,
              Key: { pk: { S: 'missing' } },
              ConditionExpression: 'attribute_exists(pk)',
            },
          },
        ],
      }),
    );

    // Assert
    await expect(writing).rejects.toBeInstanceOf(TransactionCanceledException);
    await expect(writing).rejects.toMatchObject({
      CancellationReasons: [{ Code: 'None' }, { Code: 'ConditionalCheckFailed' }],
    });
    const read = await ddb.send(new GetItemCommand({ TableName: name, Key: { pk: { S: 'c' } } }));
    expect(read.Item).toBeUndefined();
  });
});

describe('DynamoDB Local streams', () => {
  it('show the items a transaction committed as INSERT records with NEW_IMAGE', async () => {
    // Arrange
    const { name, streamArn } = await createTable(true);
    if (streamArn === undefined) throw new Error('CreateTable returned no LatestStreamArn');

    // Act
    await ddb.send(
      new TransactWriteItemsCommand({ TransactItems: [putItem(name, 'x'), putItem(name, 'y')] }),
    );
    const described = await streams.send(new DescribeStreamCommand({ StreamArn: streamArn }));
    const shardId = described.StreamDescription?.Shards?.[0]?.ShardId;
    const iterator = await streams.send(
      new GetShardIteratorCommand({
        StreamArn: streamArn,
        ShardId: shardId,
        ShardIteratorType: 'TRIM_HORIZON',
      }),
    );
    const page = await streams.send(new GetRecordsCommand({ ShardIterator: iterator.ShardIterator }));

    // Assert
    expect(described.StreamDescription?.Shards).toHaveLength(1);
    expect(page.Records?.map((record) => [record.eventName, record.dynamodb?.NewImage?.pk?.S])).toEqual([
      ['INSERT', 'x'],
      ['INSERT', 'y'],
    ]);
    expect(page.Records?.[0]?.dynamodb?.StreamViewType).toBe('NEW_IMAGE');
    expect(page.Records?.[0]?.awsRegion).toBe('ddblocal');
  });

  it('cut ApproximateCreationDateTime to the minute', async () => {
    // Arrange
    const { name, streamArn } = await createTable(true);
    await ddb.send(new TransactWriteItemsCommand({ TransactItems: [putItem(name, 'z')] }));
    const described = await streams.send(new DescribeStreamCommand({ StreamArn: streamArn }));
    const iterator = await streams.send(
      new GetShardIteratorCommand({
        StreamArn: streamArn,
        ShardId: described.StreamDescription?.Shards?.[0]?.ShardId,
        ShardIteratorType: 'TRIM_HORIZON',
      }),
    );

    // Act
    const page = await streams.send(new GetRecordsCommand({ ShardIterator: iterator.ShardIterator }));
    const created = page.Records?.[0]?.dynamodb?.ApproximateCreationDateTime;

    // Assert: e.g. 2026-11-23T16:20:00.000Z for a write at 16:20:24.3. AWS gives
    // whole seconds (epoch seconds in the Lambda event), DynamoDB Local whole minutes,
    // so anything computing record age or ordering from it is coarse locally.
    expect(created).toBeInstanceOf(Date);
    expect(created?.getUTCSeconds()).toBe(0);
    expect(created?.getUTCMilliseconds()).toBe(0);
    expect(Date.now() - (created?.getTime() ?? 0)).toBeLessThan(120_000);
  });
});

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

import { CreateTableCommand, DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type DynamoDbLocal, LOCAL_CREDENTIALS, startDynamoDbLocal } from '../../src/engines/dynamodb-local';
import {
  DynamoDbStreamMapping,
  type DynamoDbStreamMappingOptions,
  type StreamBatchFailureRecord,
} from '../../src/event-source-mappings/dynamodb-stream-mapping';
import { MappingConfigError } from '../../src/event-source-mappings/invoke';
import { readAllStreamRecords } from '../../src/event-source-mappings/stream-reader';

let engine: DynamoDbLocal;
let ddb: DynamoDBClient;
let streams: DynamoDBStreamsClient;
let tableCounter = 0;
const started: DynamoDbStreamMapping[] = [];

beforeAll(async () => {
  engine = await startDynamoDbLocal();
  const config = { endpoint: engine.endpoint, region: 'us-east-1', credentials: LOCAL_CREDENTIALS };
  ddb = new DynamoDBClient(config);
  streams = new DynamoDBStreamsClient(config);
});

afterEach(async () => {
  await Promise.all(started.splice(0).map((mapping) => mapping.stop()));
});

afterAll(async () => {
  ddb?.destroy();
  streams?.destroy();
  await engine?.stop();
});

/** Creates a table with a NEW_IMAGE stream and writes items k0..k{count-1} one by one, in that order. */
async function tableWithItems(count: number): Promise<{ table: string; streamArn: string }> {
  tableCounter += 1;
  const table = `mapping-test-${tableCounter}`;
  const created = await ddb.send(
    new CreateTableCommand({
      TableName: table,
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
      StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_IMAGE' },
    }),
  );
  const streamArn = created.TableDescription?.LatestStreamArn;
  if (streamArn === undefined) throw new Error(`CreateTable ${table} returned no LatestStreamArn`);
  await writeItems(table, 0, count);
  return { table, streamArn };
}

async function writeItems(table: string, from: number, count: number): Promise<void> {
  for (let index = from; index < from + count; index++) {
    await ddb.send(
      new PutItemCommand({ TableName: table, Item: { pk: { S: `k${index}` }, n: { N: String(index) } } }),
    );
  }
}

function keysOf(records: DynamoDBRecord[]): string[] {
  return records.map((record) => record.dynamodb?.Keys?.pk?.S ?? '?');
}

function seqOf(records: DynamoDBRecord[], key: string): string {
  const sequenceNumber = records.find((record) => record.dynamodb?.Keys?.pk?.S === key)?.dynamodb
    ?.SequenceNumber;
  if (sequenceNumber === undefined) throw new Error(`no record for ${key}`);
  return sequenceNumber;
}

/** Starts a mapping that records every event it is invoked with; `respond` decides each outcome. */
async function startMapping(
  streamArn: string,
  options: Partial<DynamoDbStreamMappingOptions> & {
    respond?: (event: DynamoDBStreamEvent, call: number) => unknown | Promise<unknown>;
  } = {},
): Promise<{ mapping: DynamoDbStreamMapping; events: DynamoDBRecord[][] }> {
  const events: DynamoDBRecord[][] = [];
  const { respond, ...mappingOptions } = options;
  const mapping = new DynamoDbStreamMapping({
    streams,
    streamArn,
    startingPosition: 'TRIM_HORIZON',
    pollIntervalMs: 20,
    invoke: async (event) => {
      events.push(event.Records);
      return respond?.(event, events.length);
    },
    ...mappingOptions,
  });
  started.push(mapping);
  await mapping.start();
  return { mapping, events };
}

describe('DynamoDbStreamMapping delivery', () => {
  it('delivers committed records in sequence order in batches of batchSize, in the Lambda record shape', async () => {
    // Arrange
    const { streamArn } = await tableWithItems(7);

    // Act
    const { mapping, events } = await startMapping(streamArn, { batchSize: 3 });
    await mapping.drain();

    // Assert
    expect(events.map(keysOf)).toEqual([['k0', 'k1', 'k2'], ['k3', 'k4', 'k5'], ['k6']]);
    const first = events[0]?.[0];
    expect(first).toMatchObject({
      eventName: 'INSERT',
      eventVersion: '1.1',
      eventSource: 'aws:dynamodb',
      eventSourceARN: streamArn,
      dynamodb: { Keys: { pk: { S: 'k0' } }, NewImage: { n: { N: '0' } }, StreamViewType: 'NEW_IMAGE' },
    });
    expect(Number.isInteger(first?.dynamodb?.ApproximateCreationDateTime)).toBe(true);
    expect(mapping.counters).toMatchObject({ batches: 3, invocations: 3, recordsDelivered: 7, retries: 0 });
  });

  it('converts records the same way as readAllStreamRecords', async () => {
    // Arrange
    const { streamArn } = await tableWithItems(2);

    // Act
    const { mapping, events } = await startMapping(streamArn);
    await mapping.drain();
    const read = await readAllStreamRecords({ streams, streamArn });

    // Assert
    expect(events.flat()).toEqual(read);
  });

  it('with LATEST delivers only records written after start()', async () => {
    // Arrange
    const { table, streamArn } = await tableWithItems(2);

    // Act
    const { mapping, events } = await startMapping(streamArn, { startingPosition: 'LATEST' });
    await writeItems(table, 2, 2);
    await mapping.drain();

    // Assert
    expect(events.flat().map((record) => record.dynamodb?.Keys?.pk?.S)).toEqual(['k2', 'k3']);
  });

  it('waits up to maximumBatchingWindowInSeconds to fill a batch', async () => {
    // Arrange
    const { table, streamArn } = await tableWithItems(2);

    // Act: two more records arrive while the first two wait in the window
    const { mapping, events } = await startMapping(streamArn, {
      batchSize: 10,
      maximumBatchingWindowInSeconds: 1,
    });
    await writeItems(table, 2, 2);
    await mapping.drain();

    // Assert
    expect(events.map(keysOf)).toEqual([['k0', 'k1', 'k2', 'k3']]);
  });

  it('skips records the filter rejects without delivering or retrying them', async () => {
    // Arrange
    const { streamArn } = await tableWithItems(6);
    const even = (record: DynamoDBRecord) => Number(record.dynamodb?.NewImage?.n?.N) % 2 === 0;

    // Act
    const { mapping, events } = await startMapping(streamArn, { filter: even });
    await mapping.drain();

    // Assert
    expect(events.map(keysOf)).toEqual([['k0', 'k2', 'k4']]);
    expect(mapping.counters.recordsFiltered).toBe(3);
  });

  it('stop() waits for the in-flight batch and start() resumes after the last checkpoint', async () => {
    // Arrange
    const { table, streamArn } = await tableWithItems(4);
    let releaseFirst: () => void = () => {};
    const firstCallReleased = new Promise<void>((resolve) => {
      releaseFirst = resolve;
    });
    const { mapping, events } = await startMapping(streamArn, {
      batchSize: 2,
      respond: (_event, call) => (call === 1 ? firstCallReleased : undefined),
    });
    await expect.poll(() => events.length).toBe(1);

    // Act
    let stopped = false;
    const stopping = mapping.stop().then(() => {
      stopped = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const stoppedBeforeRelease = stopped;
    releaseFirst();
    await stopping;
    await writeItems(table, 4, 1);
    await mapping.start();
    await mapping.drain();

    // Assert
    expect(stoppedBeforeRelease).toBe(false);
    expect(events.map(keysOf)).toEqual([['k0', 'k1'], ['k2', 'k3'], ['k4']]);
  });

  it('after stop() and start() delivers the records written while it was stopped, also with LATEST', async () => {
    // Arrange
    const { table, streamArn } = await tableWithItems(1);
    const { mapping, events } = await startMapping(streamArn, { startingPosition: 'LATEST' });
    await writeItems(table, 1, 1);
    await mapping.drain();

    // Act
    await mapping.stop();
    await writeItems(table, 2, 2);
    await mapping.start();
    await mapping.drain();

    // Assert
    expect(events.flat().map((record) => record.dynamodb?.Keys?.pk?.S)).toEqual(['k1', 'k2', 'k3']);
  });
});

describe('DynamoDbStreamMapping partial batch responses', () => {
  it('retries from the lowest reported SequenceNumber and not before', async () => {
    // Arrange
    const { streamArn } = await tableWithItems(6);
    const all = await readAllStreamRecords({ streams, streamArn });

    // Act: the first response reports k3 and then k1; Lambda must resume at k1
    const { mapping, events } = await startMapping(streamArn, {
      reportBatchItemFailures: true,
      respond: (_event, call) =>
        call === 1
          ? {
              batchItemFailures: [{ itemIdentifier: seqOf(all, 'k3') }, { itemIdentifier: seqOf(all, 'k1') }],
            }
          : { batchItemFailures: [] },
    });
    await mapping.drain();

    // Assert
    expect(events.map(keysOf)).toEqual([
      ['k0', 'k1', 'k2', 'k3', 'k4', 'k5'],
      ['k1', 'k2', 'k3', 'k4', 'k5'],
    ]);
    expect(mapping.counters).toMatchObject({ partialFailures: 1, retries: 1, onFailure: 0 });
  });

  it('treats an empty batchItemFailures list as success', async () => {
    // Arrange
    const { streamArn } = await tableWithItems(3);

    // Act
    const { mapping, events } = await startMapping(streamArn, {
      reportBatchItemFailures: true,
      respond: () => ({ batchItemFailures: [] }),
    });
    await mapping.drain();

    // Assert
    expect(events).toHaveLength(1);
    expect(mapping.counters.retries).toBe(0);
  });

  it('fails the whole batch when an itemIdentifier is not in the batch', async () => {
    // Arrange
    const { streamArn } = await tableWithItems(3);

    // Act
    const { mapping, events } = await startMapping(streamArn, {
      reportBatchItemFailures: true,
      respond: (_event, call) =>
        call === 1 ? { batchItemFailures: [{ itemIdentifier: 'not-a-sequence-number' }] } : null,
    });
    await mapping.drain();

    // Assert
    expect(events.map(keysOf)).toEqual([
      ['k0', 'k1', 'k2'],
      ['k0', 'k1', 'k2'],
    ]);
  });

  it('uses sequence numbers, not positions, when a shuffled batch reports failures', async () => {
    // Arrange
    const { streamArn } = await tableWithItems(6);
    const all = await readAllStreamRecords({ streams, streamArn });

    // Act: delivered newest first; the response names k5 (position 0) and k2
    const { mapping, events } = await startMapping(streamArn, {
      reportBatchItemFailures: true,
      shuffle: (records) => [...records].reverse(),
      respond: (_event, call) =>
        call === 1
          ? {
              batchItemFailures: [{ itemIdentifier: seqOf(all, 'k5') }, { itemIdentifier: seqOf(all, 'k2') }],
            }
          : undefined,
    });
    await mapping.drain();

    // Assert
    expect(events.map(keysOf)).toEqual([
      ['k5', 'k4', 'k3', 'k2', 'k1', 'k0'],
      ['k5', 'k4', 'k3', 'k2'],
    ]);
  });
});

describe('DynamoDbStreamMapping failures', () => {
  it('retries a failing batch maximumRetryAttempts times, then reports it to onFailure and moves on', async () => {
    // Arrange
    const { table, streamArn } = await tableWithItems(3);
    const all = await readAllStreamRecords({ streams, streamArn });
    const failures: StreamBatchFailureRecord[] = [];

    // Act
    const { mapping, events } = await startMapping(streamArn, {
      maximumRetryAttempts: 2,
      onFailure: async (record) => {
        failures.push(record);
      },
      respond: (event) => {
        if (keysOf(event.Records).includes('k0')) throw new Error('cannot process');
      },
    });
    await mapping.drain();
    await writeItems(table, 3, 1);
    await mapping.drain();

    // Assert
    expect(events.map(keysOf)).toEqual([['k0', 'k1', 'k2'], ['k0', 'k1', 'k2'], ['k0', 'k1', 'k2'], ['k3']]);
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatchObject({
      requestContext: { condition: 'RetryAttemptsExhausted', approximateInvokeCount: 3 },
      responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
      version: '1.0',
      DDBStreamBatchInfo: {
        startSequenceNumber: seqOf(all, 'k0'),
        endSequenceNumber: seqOf(all, 'k2'),
        batchSize: 3,
        streamArn,
      },
    });
    expect(failures[0]?.DDBStreamBatchInfo.shardId).toMatch(/^shardId-/);
    expect(failures[0]?.DDBStreamBatchInfo.approximateArrivalOfFirstRecord).toMatch(
      /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/,
    );
    expect(mapping.counters).toMatchObject({
      retries: 2,
      functionErrors: 3,
      onFailure: 1,
      recordsDiscarded: 3,
    });
  });

  it('with bisect isolates the record that always fails, reports only it, and delivers the others', async () => {
    // Arrange
    const { streamArn } = await tableWithItems(8);
    const all = await readAllStreamRecords({ streams, streamArn });
    const failures: StreamBatchFailureRecord[] = [];
    const succeeded = new Set<string>();

    // Act
    const { mapping, events } = await startMapping(streamArn, {
      batchSize: 8,
      bisectBatchOnFunctionError: true,
      maximumRetryAttempts: 1,
      onFailure: async (record) => {
        failures.push(record);
      },
      respond: (event) => {
        if (keysOf(event.Records).includes('k4')) throw new Error('poison record k4');
        for (const key of keysOf(event.Records)) succeeded.add(key);
      },
    });
    await mapping.drain();

    // Assert: 8 -> 4+4, [k4..k7] -> 2+2, [k4,k5] -> 1+1; [k4] is retried once, then given up
    expect(events.map(keysOf)).toEqual([
      ['k0', 'k1', 'k2', 'k3', 'k4', 'k5', 'k6', 'k7'],
      ['k0', 'k1', 'k2', 'k3'],
      ['k4', 'k5', 'k6', 'k7'],
      ['k4', 'k5'],
      ['k4'],
      ['k4'],
      ['k5'],
      ['k6', 'k7'],
    ]);
    expect([...succeeded].sort()).toEqual(['k0', 'k1', 'k2', 'k3', 'k5', 'k6', 'k7']);
    expect(failures).toHaveLength(1);
    expect(failures[0]?.requestContext).toMatchObject({
      condition: 'RetryAttemptsExhausted',
      approximateInvokeCount: 2,
    });
    expect(failures[0]?.DDBStreamBatchInfo).toMatchObject({
      startSequenceNumber: seqOf(all, 'k4'),
      endSequenceNumber: seqOf(all, 'k4'),
      batchSize: 1,
    });
    expect(mapping.counters).toMatchObject({ bisections: 3, retries: 1, onFailure: 1 });
  });

  it('discards records older than maximumRecordAgeInSeconds with RecordAgeExceeded, without invoking', async () => {
    // Arrange
    const { streamArn } = await tableWithItems(2);
    const failures: StreamBatchFailureRecord[] = [];
    const tenMinutesLater = () => Date.now() + 10 * 60_000;

    // Act
    const { mapping, events } = await startMapping(streamArn, {
      maximumRecordAgeInSeconds: 60,
      now: tenMinutesLater,
      onFailure: async (record) => {
        failures.push(record);
      },
    });
    await mapping.drain();

    // Assert
    expect(events).toEqual([]);
    expect(
      failures.map((failure) => [
        failure.requestContext.condition,
        failure.requestContext.approximateInvokeCount,
      ]),
    ).toEqual([['RecordAgeExceeded', 0]]);
    expect(failures[0]?.DDBStreamBatchInfo.batchSize).toBe(2);
    expect(failures[0]?.responseContext.functionError).toBeUndefined();
  });
});

describe('DynamoDbStreamMapping on-failure events', () => {
  it('hands onFailure the discarded records as the event the function received', async () => {
    // Arrange
    const { streamArn } = await tableWithItems(2);
    const events: DynamoDBStreamEvent[] = [];
    const delivered: DynamoDBRecord[][] = [];

    // Act
    const { mapping } = await startMapping(streamArn, {
      maximumRetryAttempts: 0,
      onFailure: async (_record, event) => {
        events.push(event);
      },
      respond: (event) => {
        delivered.push(event.Records);
        throw new Error('always fails');
      },
    });
    await mapping.drain();

    // Assert
    expect(events).toHaveLength(1);
    expect(events[0]?.Records).toEqual(delivered[0]);
    expect(keysOf(events[0]?.Records ?? [])).toEqual(['k0', 'k1']);
  });

  it('has a UUID of its own, or the one it is given', () => {
    // Act
    const given = new DynamoDbStreamMapping({
      streams,
      streamArn: 'arn:aws:dynamodb:ddblocal:000000000000:table/t/stream/x',
      startingPosition: 'LATEST',
      invoke: async () => undefined,
      uuid: '6d1b2a4e-0c7e-4e57-9a3b-5c2f1e0d9a11',
    });
    const generated = new DynamoDbStreamMapping({
      streams,
      streamArn: 'arn:aws:dynamodb:ddblocal:000000000000:table/t/stream/x',
      startingPosition: 'LATEST',
      invoke: async () => undefined,
    });

    // Assert
    expect(given.uuid).toBe('6d1b2a4e-0c7e-4e57-9a3b-5c2f1e0d9a11');
    expect(generated.uuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  });
});

describe('DynamoDbStreamMapping fault injection', () => {
  it('shuffle reorders each delivered batch', async () => {
    // Arrange
    const { streamArn } = await tableWithItems(4);

    // Act
    const { mapping, events } = await startMapping(streamArn, {
      shuffle: (records) => [...records].reverse(),
    });
    await mapping.drain();

    // Assert
    expect(events.map(keysOf)).toEqual([['k3', 'k2', 'k1', 'k0']]);
  });

  it('duplicate appends the copies it returns to the delivered batch', async () => {
    // Arrange
    const { streamArn } = await tableWithItems(2);

    // Act
    const { mapping, events } = await startMapping(streamArn, {
      duplicate: (records) => records.slice(0, 1),
    });
    await mapping.drain();

    // Assert
    expect(events.map(keysOf)).toEqual([['k0', 'k1', 'k0']]);
    expect(mapping.counters.recordsDelivered).toBe(3);
  });
});

describe('DynamoDbStreamMapping configuration', () => {
  it('rejects a batchSize outside 1–10000 and says what was given', () => {
    // Act
    const creating = () =>
      new DynamoDbStreamMapping({
        streams,
        streamArn: 'arn:aws:dynamodb:ddblocal:000000000000:table/t/stream/x',
        startingPosition: 'LATEST',
        batchSize: 0,
        invoke: async () => undefined,
      });

    // Assert
    expect(creating).toThrow(MappingConfigError);
    expect(creating).toThrow('batchSize must be an integer between 1 and 10000 (given 0)');
  });

  it('rejects a maximumRecordAgeInSeconds below the AWS minimum of 60', () => {
    // Act
    const creating = () =>
      new DynamoDbStreamMapping({
        streams,
        streamArn: 'arn:aws:dynamodb:ddblocal:000000000000:table/t/stream/x',
        startingPosition: 'LATEST',
        maximumRecordAgeInSeconds: 10,
        invoke: async () => undefined,
      });

    // Assert
    expect(creating).toThrow('maximumRecordAgeInSeconds must be an integer between 60 and 604800 (given 10)');
  });
});

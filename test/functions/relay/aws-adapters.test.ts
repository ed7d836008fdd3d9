import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  QueryCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { SendMessageBatchCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { KEYS, RELAY_ITEMS } from '../../../contract/keys';
import { TRANSPORT_ATTRIBUTES, VOID_MESSAGE_KIND } from '../../../contract/transport';
import {
  DynamoDbHeartbeatStore,
  DynamoDbOutboxReader,
  EventBridgeBusPublisher,
  SqsFailureSink,
  SqsFifoPublisher,
} from '../../../functions/relay/aws-adapters';
import type { FifoMessage } from '../../../functions/relay/ports';
import { fromOutboxItem, type StoredOutboxEvent } from '../../../functions/shared/outbox-item';
import { TEST_SOURCE, testEventId, testOutboxItem } from '../../support/fake-relay-ports';

const TABLE = 'OutboxPipeline-OutboxTable';
const BUS = 'OutboxPipeline-Bus';
const QUEUE = 'https://sqs.eu-west-1.amazonaws.com/123456789012/OrderProjection.fifo';
const FAILURE_QUEUE = 'https://sqs.eu-west-1.amazonaws.com/123456789012/RelayFailures';

const dynamodb = new DynamoDBClient({ region: 'eu-west-1' });
const eventBridge = new EventBridgeClient({ region: 'eu-west-1' });
const sqs = new SQSClient({ region: 'eu-west-1' });
const dynamodbMock = mockClient(dynamodb);
const eventBridgeMock = mockClient(eventBridge);
const sqsMock = mockClient(sqs);

beforeEach(() => {
  dynamodbMock.reset();
  eventBridgeMock.reset();
  sqsMock.reset();
});

const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
const X_RAY_HEADER = 'Root=1-4bf92f35-77b34da6a3ce929d0e0e4736;Parent=00f067aa0ba902b7;Sampled=1';

function storedEvent(aggregateId: string, sequence: number, traceparent?: string): StoredOutboxEvent {
  const event = fromOutboxItem(unmarshall(testOutboxItem({ aggregateId, sequence })));
  if (!traceparent) return event;
  const envelope = { ...event.envelope, traceparent };
  return { ...event, envelope, json: JSON.stringify(envelope) };
}

const asMessages = (events: StoredOutboxEvent[]): FifoMessage[] =>
  events.map((event) => ({ kind: 'event', event }));

function firstInput<T>(calls: ReadonlyArray<{ args: ReadonlyArray<{ input: T }> }>): T {
  const input = calls[0]?.args[0]?.input;
  if (input === undefined) throw new Error('no call was made');
  return input;
}

describe('EventBridgeBusPublisher', () => {
  it('sends each event with the envelope source and type and the committed JSON as Detail', async () => {
    // Arrange
    const event = storedEvent('o-1', 1);
    eventBridgeMock.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e-1' }] });

    // Act
    await new EventBridgeBusPublisher(eventBridge, BUS).putEvents([event]);

    // Assert
    expect(firstInput(eventBridgeMock.commandCalls(PutEventsCommand)).Entries).toEqual([
      {
        EventBusName: BUS,
        Source: TEST_SOURCE,
        DetailType: 'OrderUpdated',
        Detail: event.json,
        Time: new Date(event.envelope.time),
      },
    ]);
  });

  it('maps FailedEntryCount and Entries[i].ErrorCode to failures by index', async () => {
    // Arrange
    const events = [storedEvent('o-1', 1), storedEvent('o-1', 2), storedEvent('o-2', 1)];
    eventBridgeMock.on(PutEventsCommand).resolves({
      FailedEntryCount: 2,
      Entries: [
        { ErrorCode: 'ThrottlingException', ErrorMessage: 'Rate exceeded' },
        { EventId: 'e-2' },
        { ErrorCode: 'InternalFailure', ErrorMessage: 'try again' },
      ],
    });

    // Act
    const failures = await new EventBridgeBusPublisher(eventBridge, BUS).putEvents(events);

    // Assert
    expect(failures).toEqual([
      { index: 0, code: 'ThrottlingException', message: 'Rate exceeded', permanent: false },
      { index: 2, code: 'InternalFailure', message: 'try again', permanent: false },
    ]);
  });

  it.each(['InvalidArgument', 'MalformedDetail', 'RedactionFailure'])(
    'marks the entry error %s as permanent: resending the entry cannot help',
    async (code) => {
      // Arrange
      eventBridgeMock
        .on(PutEventsCommand)
        .resolves({ FailedEntryCount: 1, Entries: [{ ErrorCode: code, ErrorMessage: 'refused' }] });

      // Act
      const failures = await new EventBridgeBusPublisher(eventBridge, BUS).putEvents([storedEvent('o-1', 1)]);

      // Assert
      expect(failures).toEqual([{ index: 0, code, message: 'refused', permanent: true }]);
    },
  );

  it("passes the envelope's trace on as the entry's X-Ray TraceHeader", async () => {
    // Arrange
    eventBridgeMock.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e-1' }] });

    // Act
    await new EventBridgeBusPublisher(eventBridge, BUS).putEvents([storedEvent('o-1', 1, TRACEPARENT)]);

    // Assert
    expect(firstInput(eventBridgeMock.commandCalls(PutEventsCommand)).Entries?.[0]?.TraceHeader).toBe(
      X_RAY_HEADER,
    );
  });

  it('reports no failure when FailedEntryCount is 0 and every entry has a result', async () => {
    // Arrange
    eventBridgeMock
      .on(PutEventsCommand)
      .resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e-1' }, { EventId: 'e-2' }] });

    // Act
    const failures = await new EventBridgeBusPublisher(eventBridge, BUS).putEvents([
      storedEvent('o-1', 1),
      storedEvent('o-1', 2),
    ]);

    // Assert
    expect(failures).toEqual([]);
  });

  it('treats an entry the response has no result for as failed', async () => {
    // Arrange
    eventBridgeMock.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e-1' }] });

    // Act
    const failures = await new EventBridgeBusPublisher(eventBridge, BUS).putEvents([
      storedEvent('o-1', 1),
      storedEvent('o-1', 2),
    ]);

    // Assert
    expect(failures).toEqual([
      { index: 1, code: 'MissingEntry', message: 'no result for entry', permanent: false },
    ]);
  });

  it('lets a failed call throw, so that the relay counts every entry as failed', async () => {
    // Arrange
    eventBridgeMock
      .on(PutEventsCommand)
      .rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));

    // Act
    const result = new EventBridgeBusPublisher(eventBridge, BUS).putEvents([storedEvent('o-1', 1)]);

    // Assert
    await expect(result).rejects.toThrow('Rate exceeded');
  });
});

describe('SqsFifoPublisher', () => {
  it('sets MessageGroupId to the aggregate key and MessageDeduplicationId to the event id', async () => {
    // Arrange
    const events = [storedEvent('o-1', 1), storedEvent('o-2', 1)];
    sqsMock.on(SendMessageBatchCommand).resolves({ Successful: [], Failed: [] });

    // Act
    await new SqsFifoPublisher(sqs).sendBatch(QUEUE, asMessages(events));

    // Assert
    const input = firstInput(sqsMock.commandCalls(SendMessageBatchCommand));
    expect(input.QueueUrl).toBe(QUEUE);
    expect(input.Entries).toEqual([
      {
        Id: '0',
        MessageBody: events[0]?.json,
        MessageGroupId: 'Order#o-1',
        MessageDeduplicationId: testEventId('Order#o-1', 1),
      },
      {
        Id: '1',
        MessageBody: events[1]?.json,
        MessageGroupId: 'Order#o-2',
        MessageDeduplicationId: testEventId('Order#o-2', 1),
      },
    ]);
  });

  it('maps Failed[].Id back to the index of the entry', async () => {
    // Arrange
    const events = [storedEvent('o-1', 1), storedEvent('o-2', 1), storedEvent('o-3', 1)];
    sqsMock.on(SendMessageBatchCommand).resolves({
      Successful: [
        { Id: '0', MessageId: 'm-0', MD5OfMessageBody: 'x' },
        { Id: '2', MessageId: 'm-2', MD5OfMessageBody: 'x' },
      ],
      Failed: [{ Id: '1', Code: 'InternalError', Message: 'try again', SenderFault: false }],
    });

    // Act
    const failures = await new SqsFifoPublisher(sqs).sendBatch(QUEUE, asMessages(events));

    // Assert
    expect(failures).toEqual([{ index: 1, code: 'InternalError', message: 'try again', permanent: false }]);
  });

  it('marks a SenderFault entry as permanent (the entry itself is wrong)', async () => {
    // Arrange
    sqsMock.on(SendMessageBatchCommand).resolves({
      Successful: [],
      Failed: [{ Id: '0', Code: 'InvalidMessageContents', Message: 'Invalid characters', SenderFault: true }],
    });

    // Act
    const failures = await new SqsFifoPublisher(sqs).sendBatch(QUEUE, asMessages([storedEvent('o-1', 1)]));

    // Assert
    expect(failures).toEqual([
      { index: 0, code: 'InvalidMessageContents', message: 'Invalid characters', permanent: true },
    ]);
  });

  it('carries the trace as the AWSTraceHeader system attribute, and marks the start of a backfilled aggregate', async () => {
    // Arrange
    sqsMock
      .on(SendMessageBatchCommand)
      .resolves({ Successful: [{ Id: '0', MessageId: 'm', MD5OfMessageBody: 'x' }] });

    // Act
    await new SqsFifoPublisher(sqs).sendBatch(QUEUE, [
      { kind: 'event', event: storedEvent('o-1', 4, TRACEPARENT), startsAggregate: true },
    ]);

    // Assert
    const entry = firstInput(sqsMock.commandCalls(SendMessageBatchCommand)).Entries?.[0];
    expect(entry?.MessageSystemAttributes).toEqual({
      AWSTraceHeader: { DataType: 'String', StringValue: X_RAY_HEADER },
    });
    expect(entry?.MessageAttributes).toEqual({
      [TRANSPORT_ATTRIBUTES.startsAggregate]: { DataType: 'String', StringValue: 'true' },
    });
  });

  it('sends a void marker in the aggregate group, with the void attribute, no payload and its own deduplication id', async () => {
    // Arrange
    sqsMock
      .on(SendMessageBatchCommand)
      .resolves({ Successful: [{ Id: '0', MessageId: 'm', MD5OfMessageBody: 'x' }] });
    const voided = {
      aggregateKey: 'Order#o-1',
      aggregateType: 'Order',
      aggregateId: 'o-1',
      sequence: 2,
      eventId: 'evt-2',
      reason: 'UnsendableCharacters',
    };

    // Act
    await new SqsFifoPublisher(sqs).sendBatch(QUEUE, [{ kind: 'void', void: voided }]);

    // Assert
    const entry = firstInput(sqsMock.commandCalls(SendMessageBatchCommand)).Entries?.[0];
    expect(entry?.MessageGroupId).toBe('Order#o-1');
    expect(entry?.MessageDeduplicationId).not.toBe('evt-2');
    expect(entry?.MessageAttributes).toEqual({
      [TRANSPORT_ATTRIBUTES.kind]: { DataType: 'String', StringValue: VOID_MESSAGE_KIND },
    });
    expect(JSON.parse(entry?.MessageBody ?? '{}')).toEqual({
      aggregatetype: 'Order',
      aggregateid: 'o-1',
      sequence: 2,
      id: 'evt-2',
      reason: 'UnsendableCharacters',
    });
  });

  it('treats an entry missing from both Successful and Failed as failed', async () => {
    // Arrange
    const events = [storedEvent('o-1', 1), storedEvent('o-2', 1)];
    sqsMock
      .on(SendMessageBatchCommand)
      .resolves({ Successful: [{ Id: '1', MessageId: 'm-1', MD5OfMessageBody: 'x' }], Failed: [] });

    // Act
    const failures = await new SqsFifoPublisher(sqs).sendBatch(QUEUE, asMessages(events));

    // Assert
    expect(failures).toEqual([
      { index: 0, code: 'MissingEntry', message: 'no result for entry', permanent: false },
    ]);
  });
});

describe('SqsFailureSink', () => {
  it('sends the failure as JSON with its reason and aggregate key as message attributes', async () => {
    // Arrange
    sqsMock.on(SendMessageCommand).resolves({ MessageId: 'm-1' });
    const message = {
      reason: 'MalformedOutboxItem',
      error: 'bad envelope',
      aggregateKey: 'Order#o-1',
      sequence: 2,
    } as const;

    // Act
    await new SqsFailureSink(sqs, FAILURE_QUEUE).send(message);

    // Assert
    const input = firstInput(sqsMock.commandCalls(SendMessageCommand));
    expect(JSON.parse(input.MessageBody ?? '')).toEqual(message);
    expect(input.MessageAttributes).toEqual({
      reason: { DataType: 'String', StringValue: 'MalformedOutboxItem' },
      aggregateKey: { DataType: 'String', StringValue: 'Order#o-1' },
    });
  });
});

describe('DynamoDbHeartbeatStore', () => {
  it('records the newest probe on the heartbeat item, only forwards', async () => {
    // Arrange
    dynamodbMock.on(UpdateItemCommand).resolves({});

    // Act
    await new DynamoDbHeartbeatStore(dynamodb, TABLE, () => 0).probeSeen(7, '2026-11-23T16:20:00.000Z');

    // Assert
    const input = firstInput(dynamodbMock.commandCalls(UpdateItemCommand));
    expect(input.Key).toEqual({ pk: { S: RELAY_ITEMS.heartbeatPk }, sk: { S: KEYS.relaySk } });
    expect(input.ConditionExpression).toBe('attribute_not_exists(seenSeq) OR seenSeq < :seq');
    expect(input.ExpressionAttributeValues).toMatchObject({
      ':seq': { N: '7' },
      ':writtenAt': { S: '2026-11-23T16:20:00.000Z' },
    });
  });

  it('treats ConditionalCheckFailed as done: a newer probe was recorded first', async () => {
    // Arrange
    dynamodbMock
      .on(UpdateItemCommand)
      .rejects(
        new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} }),
      );

    // Act
    const result = new DynamoDbHeartbeatStore(dynamodb, TABLE).probeSeen(3, '2026-11-23T16:20:00.000Z');

    // Assert
    await expect(result).resolves.toBeUndefined();
  });

  it('lets any other error throw, so that the probe record is retried', async () => {
    // Arrange
    dynamodbMock
      .on(UpdateItemCommand)
      .rejects(
        Object.assign(new Error('Throughput exceeded'), { name: 'ProvisionedThroughputExceededException' }),
      );

    // Act
    const result = new DynamoDbHeartbeatStore(dynamodb, TABLE).probeSeen(3, '2026-11-23T16:20:00.000Z');

    // Assert
    await expect(result).rejects.toThrow('Throughput exceeded');
  });
});

describe('DynamoDbOutboxReader', () => {
  it('pages through LastEvaluatedKey and returns every item unmarshalled, in order', async () => {
    // Arrange
    const [one, two, three] = [1, 2, 3].map((sequence) => testOutboxItem({ aggregateId: 'o-1', sequence }));
    const page1End = { pk: { S: 'Order#o-1' }, sk: { S: 'OUTBOX#000000000002' } };
    dynamodbMock
      .on(QueryCommand)
      .resolvesOnce({ Items: [one ?? {}, two ?? {}], LastEvaluatedKey: page1End })
      .resolvesOnce({ Items: [three ?? {}] });

    // Act
    const items = await new DynamoDbOutboxReader(dynamodb, TABLE).readRange('Order#o-1', 1, 3);

    // Assert
    expect(items.map((item) => item.sequence)).toEqual([1, 2, 3]);
    expect(items.map((item) => fromOutboxItem(item).sequence)).toEqual([1, 2, 3]);
    const calls = dynamodbMock.commandCalls(QueryCommand);
    expect(calls).toHaveLength(2);
    expect(calls[1]?.args[0].input.ExclusiveStartKey).toEqual(page1End);
  });

  it('queries the sort-key range of the sequences, strongly consistent', async () => {
    // Arrange
    dynamodbMock.on(QueryCommand).resolves({ Items: [] });

    // Act
    await new DynamoDbOutboxReader(dynamodb, TABLE).readRange('Order#o-1', 3, 12);

    // Assert
    const input = firstInput(dynamodbMock.commandCalls(QueryCommand));
    expect(input).toMatchObject({
      TableName: TABLE,
      KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
      ExpressionAttributeValues: {
        ':pk': { S: 'Order#o-1' },
        ':from': { S: 'OUTBOX#000000000003' },
        ':to': { S: 'OUTBOX#000000000012' },
      },
      ConsistentRead: true,
    });
  });
});

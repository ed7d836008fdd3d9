import { type DynamoDBClient, QueryCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { type EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import {
  SendMessageBatchCommand,
  type SendMessageBatchRequestEntry,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { ENTITY_TYPES, KEYS, outboxSk, RELAY_ITEMS } from '../../contract/keys';
import { TRANSPORT_ATTRIBUTES, VOID_MESSAGE_KIND } from '../../contract/transport';
import { isAwsError } from '../shared/errors';
import { sqsSafeJson } from '../shared/limits';
import type { StoredOutboxEvent } from '../shared/outbox-item';
import { xrayTraceHeader } from '../shared/trace';
import type {
  EntryFailure,
  EventBusPublisher,
  FailureSink,
  FifoMessage,
  HeartbeatStore,
  OutboxReader,
  QueuePublisher,
  RelayFailureMessage,
} from './ports';

/**
 * PutEvents entry errors that are the entry's own fault, so retrying cannot help (PutEventsResultEntry
 * in the EventBridge API reference). Its other non-retryable codes (AccessDeniedException,
 * NotAuthorizedFor*, InvalidAccountIdException) come from configuration, which a deploy fixes:
 * those are retried like throttling, within the stream's and the sweeper's bounded retries.
 */
export const EVENTBRIDGE_PERMANENT_ENTRY_ERRORS: ReadonlySet<string> = new Set([
  'InvalidArgument',
  'MalformedDetail',
  'RedactionFailure',
]);

/** Reads outbox items of one aggregate by sort-key range, strongly consistent. */
export class DynamoDbOutboxReader implements OutboxReader {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async readRange(
    aggregateKey: string,
    fromSequence: number,
    toSequence: number,
  ): Promise<Array<Record<string, unknown>>> {
    const items: Array<Record<string, unknown>> = [];
    let exclusiveStartKey: QueryCommand['input']['ExclusiveStartKey'];
    do {
      const response = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
          ExpressionAttributeValues: {
            ':pk': { S: aggregateKey },
            ':from': { S: outboxSk(fromSequence) },
            ':to': { S: outboxSk(toSequence) },
          },
          ConsistentRead: true,
          ExclusiveStartKey: exclusiveStartKey,
        }),
      );
      for (const item of response.Items ?? []) items.push(unmarshall(item));
      exclusiveStartKey = response.LastEvaluatedKey;
    } while (exclusiveStartKey);
    return items;
  }
}

/**
 * PutEvents: Source/DetailType from the envelope, Detail = the envelope JSON as committed, and
 * the X-Ray TraceHeader of the envelope's traceparent so the trace continues to the targets.
 */
export class EventBridgeBusPublisher implements EventBusPublisher {
  constructor(
    private readonly client: EventBridgeClient,
    private readonly eventBusName: string,
  ) {}

  async putEvents(events: ReadonlyArray<StoredOutboxEvent>): Promise<EntryFailure[]> {
    const response = await this.client.send(
      new PutEventsCommand({
        Entries: events.map((event) => {
          const traceHeader = xrayTraceHeader(event.envelope.traceparent);
          return {
            EventBusName: this.eventBusName,
            Source: event.envelope.source,
            DetailType: event.envelope.type,
            Detail: event.json,
            Time: new Date(event.envelope.time),
            ...(traceHeader ? { TraceHeader: traceHeader } : {}),
          };
        }),
      }),
    );
    const failures: EntryFailure[] = [];
    // FailedEntryCount says whether to look; Entries[i] lines up with the request's entry i.
    if ((response.FailedEntryCount ?? 0) === 0 && response.Entries?.length === events.length) return failures;
    events.forEach((_, index) => {
      const entry = response.Entries?.[index];
      if (!entry?.EventId || entry.ErrorCode) {
        const code = entry?.ErrorCode ?? 'MissingEntry';
        failures.push({
          index,
          code,
          message: entry?.ErrorMessage ?? 'no result for entry',
          permanent: EVENTBRIDGE_PERMANENT_ENTRY_ERRORS.has(code),
        });
      }
    });
    return failures;
  }
}

/**
 * SendMessageBatch to a FIFO queue: group = aggregate key, deduplication id = event id, the
 * envelope as body and the X-Ray trace header as the AWSTraceHeader system attribute. A void
 * marker goes with the kit's transport attribute instead.
 */
export class SqsFifoPublisher implements QueuePublisher {
  constructor(private readonly client: SQSClient) {}

  async sendBatch(queueUrl: string, messages: ReadonlyArray<FifoMessage>): Promise<EntryFailure[]> {
    const response = await this.client.send(
      new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: messages.map(entryOf) }),
    );
    const succeeded = new Set((response.Successful ?? []).map((entry) => entry.Id));
    const failedById = new Map((response.Failed ?? []).map((entry) => [entry.Id, entry]));
    const failures: EntryFailure[] = [];
    messages.forEach((_, index) => {
      const id = String(index);
      if (succeeded.has(id) && !failedById.has(id)) return;
      const failure = failedById.get(id);
      failures.push({
        index,
        code: failure?.Code ?? 'MissingEntry',
        message: failure?.Message ?? 'no result for entry',
        // SenderFault: the entry itself is wrong (e.g. characters SQS refuses); resending it cannot work.
        permanent: failure?.SenderFault === true,
      });
    });
    return failures;
  }
}

function entryOf(message: FifoMessage, index: number): SendMessageBatchRequestEntry {
  if (message.kind === 'void') {
    const { aggregateKey, aggregateType, aggregateId, sequence, eventId, reason } = message.void;
    return {
      Id: String(index),
      MessageBody: JSON.stringify({
        aggregatetype: aggregateType,
        aggregateid: aggregateId,
        sequence,
        ...(eventId ? { id: eventId } : {}),
        reason,
      }),
      MessageGroupId: aggregateKey,
      MessageDeduplicationId: `void-${eventId ?? `${aggregateKey}-${sequence}`}`.slice(0, 128),
      MessageAttributes: {
        [TRANSPORT_ATTRIBUTES.kind]: { DataType: 'String', StringValue: VOID_MESSAGE_KIND },
      },
    };
  }
  const { event } = message;
  const traceHeader = xrayTraceHeader(event.envelope.traceparent);
  return {
    Id: String(index),
    MessageBody: event.json,
    MessageGroupId: event.pk,
    MessageDeduplicationId: event.envelope.id,
    ...(message.startsAggregate
      ? {
          MessageAttributes: {
            [TRANSPORT_ATTRIBUTES.startsAggregate]: { DataType: 'String', StringValue: 'true' },
          },
        }
      : {}),
    ...(traceHeader
      ? { MessageSystemAttributes: { AWSTraceHeader: { DataType: 'String', StringValue: traceHeader } } }
      : {}),
  };
}

/** Sends what the relay cannot publish to the relay failure queue, with the reason as a message attribute. */
export class SqsFailureSink implements FailureSink {
  constructor(
    private readonly client: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async send(message: RelayFailureMessage): Promise<void> {
    await this.client.send(
      new SendMessageCommand({
        QueueUrl: this.queueUrl,
        // The message may quote what SQS refused (the item): escaped, so the failure queue takes it.
        MessageBody: sqsSafeJson(JSON.stringify(message)),
        MessageAttributes: {
          reason: { DataType: 'String', StringValue: message.reason },
          ...(message.aggregateKey
            ? { aggregateKey: { DataType: 'String', StringValue: message.aggregateKey } }
            : {}),
        },
      }),
    );
  }
}

/** The heartbeat item `RELAY#HEARTBEAT`: the newest probe the relay has read, never moving back. */
export class DynamoDbHeartbeatStore implements HeartbeatStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
    private readonly now: () => number = Date.now,
  ) {}

  async probeSeen(seq: number, writtenAt: string): Promise<void> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { pk: { S: RELAY_ITEMS.heartbeatPk }, sk: { S: KEYS.relaySk } },
          UpdateExpression:
            'SET seenSeq = :seq, seenWrittenAt = :writtenAt, seenAt = :now, entityType = :type',
          ConditionExpression: 'attribute_not_exists(seenSeq) OR seenSeq < :seq',
          ExpressionAttributeValues: {
            ':seq': { N: String(seq) },
            ':writtenAt': { S: writtenAt },
            ':now': { S: new Date(this.now()).toISOString() },
            ':type': { S: ENTITY_TYPES.relay },
          },
        }),
      );
    } catch (error) {
      // A newer probe was recorded first (a sweeper recovery replaying an old one): fine.
      if (!isAwsError(error, 'ConditionalCheckFailedException')) throw error;
    }
  }
}

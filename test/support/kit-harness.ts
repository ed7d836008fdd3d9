import { DeleteItemCommand, GetItemCommand } from '@aws-sdk/client-dynamodb';
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  type MessageAttributeValue,
  ReceiveMessageCommand,
} from '@aws-sdk/client-sqs';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { Context, SQSBatchResponse, SQSRecord } from 'aws-lambda';
import { checkpointId, consumerItemPk, KEYS } from '../../contract/keys';
import { TRANSPORT_ATTRIBUTES, VOID_MESSAGE_KIND } from '../../contract/transport';
import type { ConsumerHandler, ConsumerRuntime } from '../../functions/consumer-kit';
import type { EventEnvelope } from '../../functions/shared/envelope';
import { type LocalDynamo, type LocalSqs, stackTopology, startLocalDynamo, startLocalSqs } from './local-aws';

/** DynamoDB Local with the stack's tables and fauxqs with two dead-letter queues, for the consumer kit. */
export interface KitEngines {
  readonly dynamo: LocalDynamo;
  readonly sqs: LocalSqs;
  readonly fifoDlqUrl: string;
  readonly standardDlqUrl: string;
  runtime(kind: 'ordered' | 'unordered'): ConsumerRuntime;
  stop(): Promise<void>;
}

/** Starts the engines the kit tests run on. */
export async function startKitEngines(): Promise<KitEngines> {
  const topology = await stackTopology();
  const [dynamo, sqs] = await Promise.all([startLocalDynamo(topology), startLocalSqs(topology)]);
  const create = async (name: string, fifo: boolean) =>
    (
      await sqs.client.send(
        new CreateQueueCommand({
          QueueName: fifo ? `${name}.fifo` : name,
          Attributes: fifo ? { FifoQueue: 'true', ContentBasedDeduplication: 'false' } : {},
        }),
      )
    ).QueueUrl ?? '';
  const [fifoDlqUrl, standardDlqUrl] = await Promise.all([
    create('kit-dlq', true),
    create('kit-dlq-standard', false),
  ]);
  return {
    dynamo,
    sqs,
    fifoDlqUrl,
    standardDlqUrl,
    runtime: (kind) => ({
      tableName: dynamo.outboxTable.name,
      kitTableName: dynamo.idempotencyTable.name,
      memorySeconds: 14 * 86_400,
      deadLetterQueueUrl: kind === 'ordered' ? fifoDlqUrl : standardDlqUrl,
      dynamodb: dynamo.client,
      sqs: sqs.client,
    }),
    stop: async () => {
      await Promise.allSettled([dynamo.stop(), sqs.stop()]);
    },
  };
}

let messages = 0;

/** The SQS record an event (or a void marker) arrives in on an ordered consumer's FIFO queue. */
export function fifoRecord(
  envelope: EventEnvelope,
  options: { readonly attributes?: Record<string, string>; readonly body?: string } = {},
): SQSRecord {
  const messageId = `m-${++messages}`;
  return {
    messageId,
    receiptHandle: `rh-${messageId}`,
    body: options.body ?? JSON.stringify(envelope),
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: String(Date.now()),
      SenderId: 'AROAEXAMPLE:relay',
      ApproximateFirstReceiveTimestamp: String(Date.now()),
      MessageGroupId: `${envelope.aggregatetype}#${envelope.aggregateid}`,
      MessageDeduplicationId: envelope.id,
    },
    messageAttributes: Object.fromEntries(
      Object.entries(options.attributes ?? {}).map(([name, value]) => [
        name,
        { stringValue: value, dataType: 'String' },
      ]),
    ),
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:kit.fifo',
    awsRegion: 'us-east-1',
  };
}

/** The record of a void marker the relay sends in place of sequence `sequence` of the envelope's aggregate. */
export function voidRecord(envelope: EventEnvelope, reason = 'MalformedOutboxItem'): SQSRecord {
  return fifoRecord(envelope, {
    body: JSON.stringify({
      aggregatetype: envelope.aggregatetype,
      aggregateid: envelope.aggregateid,
      sequence: envelope.sequence,
      id: envelope.id,
      reason,
    }),
    attributes: { [TRANSPORT_ATTRIBUTES.kind]: VOID_MESSAGE_KIND },
  });
}

/** The SQS record an event arrives in on an unordered consumer's queue, as EventBridge delivers it. */
export function bridgedRecord(envelope: EventEnvelope): SQSRecord {
  const record = fifoRecord(envelope);
  const { MessageGroupId: _group, MessageDeduplicationId: _dedup, ...attributes } = record.attributes;
  return {
    ...record,
    attributes: attributes as SQSRecord['attributes'],
    body: JSON.stringify({
      version: '0',
      id: `eb-${record.messageId}`,
      'detail-type': envelope.type,
      source: envelope.source,
      account: '000000000000',
      time: envelope.time.replace(/\.\d{3}Z$/, 'Z'),
      region: 'us-east-1',
      resources: [],
      detail: envelope,
    }),
  };
}

const context = {
  functionName: 'kit-test',
  awsRequestId: 'r-1',
  getRemainingTimeInMillis: () => 30_000,
} as Context;

/** Invokes a consumer handler with records, as the SQS mapping would. */
export function invoke(handler: ConsumerHandler, records: SQSRecord[]): Promise<SQSBatchResponse> {
  return handler({ Records: records }, context);
}

/** An ordered consumer's checkpoint of an aggregate: its last applied sequence and parked ones. */
export async function checkpointOf(
  engines: KitEngines,
  consumer: string,
  aggregateKey: string,
): Promise<{ last: number; parked: number[] } | undefined> {
  const { Item } = await engines.dynamo.client.send(
    new GetItemCommand({
      TableName: engines.dynamo.idempotencyTable.name,
      Key: { id: { S: checkpointId(consumer, aggregateKey) } },
      ConsistentRead: true,
    }),
  );
  if (!Item) return undefined;
  const plain = unmarshall(Item);
  return {
    last: Number(plain.last ?? 0),
    parked: [...((plain.parked as Set<number>) ?? [])].map(Number).sort((a, b) => a - b),
  };
}

/** One of a consumer's own items (its read model), without the kit's key attributes. */
export async function consumerItem(
  engines: KitEngines,
  consumer: string,
  key: string,
): Promise<Record<string, unknown> | undefined> {
  const { Item } = await engines.dynamo.client.send(
    new GetItemCommand({
      TableName: engines.dynamo.outboxTable.name,
      Key: { pk: { S: consumerItemPk(consumer, key) }, sk: { S: KEYS.viewSk } },
      ConsistentRead: true,
    }),
  );
  return Item ? unmarshall(Item) : undefined;
}

/** Deletes an item of the kit's table (e.g. a Powertools record, as if it had expired). */
export async function deleteKitRecord(engines: KitEngines, id: string): Promise<void> {
  await engines.dynamo.client.send(
    new DeleteItemCommand({ TableName: engines.dynamo.idempotencyTable.name, Key: { id: { S: id } } }),
  );
}

/** A message in a dead-letter queue: its body and string attributes. */
export interface DeadLettered {
  readonly body: string;
  readonly attributes: Record<string, string>;
  readonly groupId?: string;
  readonly deduplicationId?: string;
}

/** Receives (and leaves invisible) everything in a dead-letter queue. */
export async function drainDeadLetters(engines: KitEngines, queueUrl: string): Promise<DeadLettered[]> {
  const found: DeadLettered[] = [];
  for (let empty = 0; empty < 2; ) {
    const { Messages = [] } = await engines.sqs.client.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 0,
        VisibilityTimeout: 300,
        MessageAttributeNames: ['All'],
        MessageSystemAttributeNames: ['All'],
      }),
    );
    if (Messages.length === 0) {
      empty++;
      continue;
    }
    for (const message of Messages) {
      found.push({
        body: message.Body ?? '',
        attributes: Object.fromEntries(
          Object.entries(message.MessageAttributes ?? {}).map(
            ([name, value]: [string, MessageAttributeValue]) => [name, value.StringValue ?? ''],
          ),
        ),
        groupId: message.Attributes?.MessageGroupId,
        deduplicationId: message.Attributes?.MessageDeduplicationId,
      });
    }
    // Deleted, as an operator's drain would: an in-flight FIFO message holds back the rest of its group.
    await engines.sqs.client.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: Messages.map((message, index) => ({
          Id: String(index),
          ReceiptHandle: message.ReceiptHandle,
        })),
      }),
    );
  }
  return found;
}

import { BatchWriteItemCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { DeleteMessageCommand, type Message, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSRecord } from 'aws-lambda';
import {
  type EventBusEmulator,
  LOCAL_ACCOUNT,
  LOCAL_CREDENTIALS,
  LOCAL_REGION,
  type LocalResource,
  referencedLogicalId,
  resolveValue,
  startEventBusEmulator,
} from 'local-aws';
import { outboxSk } from '../../../contract/keys';
import { STACK_OUTPUTS } from '../../../contract/stack-outputs';
import {
  type ConsumerContext,
  type ConsumerHandler,
  consumerDefinition,
  createConsumer,
} from '../../../functions/consumer-kit';
import { catalog, type EventType } from '../../../functions/events/catalog';
import type { EventEnvelope } from '../../../functions/shared/envelope';
import { OutboxWriter } from '../../../functions/shared/outbox-writer';
import type { CliIo } from '../../../tools/outbox-cli/cli-io';
import { runCli } from '../../../tools/outbox-cli/run';
import { withClients } from '../../../tools/outbox-cli/target';
import { eventFixture } from '../../contract/fixtures';
import {
  type LocalDynamo,
  type LocalSqs,
  stackTopology,
  startLocalDynamo,
  startLocalSqs,
} from '../../support/local-aws';

/** The event source the stack's rules and archive match (`source: com.example.orders`). */
export const EVENT_SOURCE = 'com.example.orders';

/** What one `npm run outbox -- ...` printed and returned. */
export interface CliRun {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

/** What a run may change about the target, to put the CLI in situations the engines do not produce. */
export interface RunSetup {
  /** Options merged over the parsed ones (e.g. a fixed `now` for `status`). */
  readonly options?: Record<string, unknown>;
  /** Called with the SQS client the CLI will use (e.g. to add a middleware). */
  readonly sqs?: (client: SQSClient) => void;
  /** Outputs changed or added for this run. */
  readonly outputs?: Readonly<Record<string, string>>;
}

/**
 * The stack's tables on DynamoDB Local; its queues, and its failure bucket, on fauxqs (the SQS
 * emulator also serves S3, path-style, on the same endpoint); its bus, rules and archive on the
 * EventBridge emulator. The stack outputs are resolved to them, so the CLI runs against it as it
 * would against `npm start -- --keep`.
 */
export interface CliHarness {
  readonly dynamo: LocalDynamo;
  readonly sqs: LocalSqs;
  readonly bus: EventBusEmulator;
  readonly s3: S3Client;
  readonly outputs: Readonly<Record<string, string>>;
  /** An output the harness must have resolved. */
  output(key: string): string;
  /** Runs the CLI with these arguments (plus `--local`) against the harness. */
  run(...argv: string[]): Promise<CliRun>;
  /** {@link run} with changes to the target or the options. */
  runWith(setup: RunSetup, ...argv: string[]): Promise<CliRun>;
  stop(): Promise<void>;
}

/** Starts the engines and creates the stack's resources; stops what it started if that fails. */
export async function startCliHarness(): Promise<CliHarness> {
  const topology = await stackTopology();
  const stops: Array<() => Promise<unknown>> = [];
  const stopAll = async () => {
    const results = await Promise.allSettled(stops.reverse().map((stop) => stop()));
    stops.length = 0;
    const failed = results.find((result) => result.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
  };
  try {
    const [dynamo, sqs] = await Promise.all([startLocalDynamo(topology), startLocalSqs(topology)]);
    stops.push(
      () => dynamo.stop(),
      () => sqs.stop(),
    );
    const bus = await startEventBusEmulator({
      sqs: { endpoint: sqs.engine.endpoint },
      region: LOCAL_REGION,
      accountId: LOCAL_ACCOUNT,
      retryBaseDelayMs: 10,
    });
    stops.push(() => bus.stop());
    const config = { region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS };
    const s3Config = { ...config, endpoint: sqs.engine.endpoint, forcePathStyle: true };
    const s3 = new S3Client(s3Config);
    stops.push(async () => s3.destroy());

    const resources = new Map<string, LocalResource>();
    for (const resource of [...dynamo.tables, ...sqs.queues]) resources.set(resource.logicalId, resource);
    for (const eventBus of topology.eventBuses) {
      bus.createEventBus(eventBus.name);
      const arn = `arn:aws:events:${LOCAL_REGION}:${LOCAL_ACCOUNT}:event-bus/${eventBus.name}`;
      resources.set(eventBus.logicalId, {
        ref: eventBus.name,
        attributes: { Arn: arn, Name: eventBus.name },
      });
    }
    for (const archive of topology.archives) {
      const eventBusName = resources.get(archive.eventBusLogicalId)?.ref;
      if (eventBusName === undefined)
        throw new Error(`archive ${archive.logicalId} is on a bus the stack lacks`);
      const arn = bus.createArchive({ name: archive.name, eventBusName, eventPattern: archive.eventPattern });
      resources.set(archive.logicalId, {
        ref: archive.name,
        attributes: { Arn: arn, ArchiveName: archive.name },
      });
    }
    const queueUrl = (logicalId: string | undefined) =>
      sqs.queues.find((q) => q.logicalId === logicalId)?.url;
    for (const rule of topology.rules) {
      bus.putRule({
        name: rule.logicalId,
        eventBusName: resources.get(rule.eventBusLogicalId)?.ref ?? '',
        eventPattern: rule.eventPattern,
        targets: rule.targets.map((target) => ({
          id: target.id,
          queueUrl: queueUrl(target.queueLogicalId) ?? '',
          deadLetterQueueUrl: queueUrl(target.deadLetterQueueLogicalId),
          maximumRetryAttempts: target.maximumRetryAttempts,
          maximumEventAgeInSeconds: target.maximumEventAgeInSeconds,
        })),
      });
    }
    // The failure bucket: topology has no buckets, so it is found through the output that names it.
    const bucketLogicalId = referencedLogicalId(topology.outputs[STACK_OUTPUTS.failureBucketName]);
    if (bucketLogicalId === undefined) throw new Error('the stack outputs have no FailureBucketName');
    const bucketName = bucketLogicalId.toLowerCase();
    await s3.send(new CreateBucketCommand({ Bucket: bucketName }));
    resources.set(bucketLogicalId, { ref: bucketName, attributes: { Arn: `arn:aws:s3:::${bucketName}` } });

    const outputs: Record<string, string> = {};
    for (const [key, value] of Object.entries(topology.outputs)) {
      try {
        outputs[key] = resolveValue(value, resources, key);
      } catch {
        // Resources the harness does not create (functions, the alarm topic, the dashboard).
      }
    }
    const newTarget = (setup: RunSetup) => {
      const sqsClient = new SQSClient({ ...config, endpoint: sqs.engine.endpoint });
      setup.sqs?.(sqsClient);
      return withClients('test pipeline', { ...outputs, ...setup.outputs }, true, {
        dynamodb: new DynamoDBClient({ ...config, endpoint: dynamo.engine.endpoint }),
        sqs: sqsClient,
        eventbridge: new EventBridgeClient({ ...config, endpoint: bus.endpoint }),
        s3: new S3Client(s3Config),
      });
    };
    const runWith = async (setup: RunSetup, ...argv: string[]): Promise<CliRun> => {
      const out: string[] = [];
      const err: string[] = [];
      const io: CliIo = { out: (line) => out.push(line), err: (line) => err.push(line) };
      const code = await runCli([...argv, '--local'], io, {
        resolveTarget: async () => newTarget(setup),
        optionOverrides: {
          sleep: (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.min(ms, 20))),
          receiveWaitSeconds: 0,
          ...setup.options,
        },
      });
      return { code, out: out.join('\n'), err: err.join('\n') };
    };
    return {
      dynamo,
      sqs,
      bus,
      s3,
      outputs,
      output(key) {
        const value = outputs[key];
        if (value === undefined) throw new Error(`the harness outputs have no ${key}`);
        return value;
      },
      run: (...argv) => runWith({}, ...argv),
      runWith,
      stop: stopAll,
    };
  } catch (error) {
    await stopAll().catch(() => undefined);
    throw error;
  }
}

/** Options of {@link commitEvents}. */
export interface CommitOptions {
  /** Commit time of the events. @default now */
  readonly time?: Date;
  /** Sequence of the aggregate the commit follows. @default 0 (creates the aggregate) */
  readonly after?: number;
  /** Event types, one per event. @default OrderPlaced first, then OrderItemAdded */
  readonly types?: ReadonlyArray<EventType>;
}

/**
 * Commits `count` events of an aggregate with the real outbox writer (state item and outbox items
 * in one transaction, checked against the catalog), as the producer does; returns the envelopes.
 */
export async function commitEvents(
  harness: CliHarness,
  aggregateKey: string,
  count: number,
  options: CommitOptions = {},
): Promise<EventEnvelope[]> {
  const [aggregateType = '', aggregateId = ''] = aggregateKey.split('#');
  const time = options.time ?? new Date();
  const writer = new OutboxWriter({
    client: harness.dynamo.client,
    tableName: harness.output(STACK_OUTPUTS.tableName),
    source: EVENT_SOURCE,
    catalog,
    now: () => time,
  });
  const after = options.after ?? 0;
  const events = Array.from({ length: count }, (_, index) => {
    const type = options.types?.[index] ?? (after + index === 0 ? 'OrderPlaced' : 'OrderItemAdded');
    return { type, data: eventFixture(type).data };
  });
  const result = await writer.commit({
    aggregateType,
    aggregateId,
    expectedVersion: after,
    state: { events: after + count },
    events,
  });
  return [...result.events];
}

/** Deletes outbox items of an aggregate, as TTL does when they outlive the outbox retention. */
export async function expireOutboxItems(
  harness: CliHarness,
  aggregateKey: string,
  sequences: ReadonlyArray<number>,
): Promise<void> {
  await harness.dynamo.client.send(
    new BatchWriteItemCommand({
      RequestItems: {
        [harness.output(STACK_OUTPUTS.tableName)]: sequences.map((sequence) => ({
          DeleteRequest: { Key: { pk: { S: aggregateKey }, sk: { S: outboxSk(sequence) } } },
        })),
      },
    }),
  );
}

/** Receives and deletes every message of a queue; FIFO groups come out in order. */
export async function drainQueue(client: SQSClient, queueUrl: string): Promise<Message[]> {
  const all: Message[] = [];
  for (;;) {
    const { Messages = [] } = await client.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        MessageAttributeNames: ['All'],
        MessageSystemAttributeNames: ['All'],
      }),
    );
    if (Messages.length === 0) return all;
    for (const message of Messages) {
      all.push(message);
      await client.send(
        new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle }),
      );
    }
  }
}

/** Message bodies, parsed. */
export function bodies(messages: ReadonlyArray<Message>): Array<Record<string, unknown>> {
  return messages.map((message) => JSON.parse(message.Body ?? '{}') as Record<string, unknown>);
}

/** The SQS record a received message is handed to a consumer's Lambda function in. */
export function sqsRecordOf(
  message: Message,
  queueArn = 'arn:aws:sqs:us-east-1:000000000000:queue.fifo',
): SQSRecord {
  const attributes = message.Attributes ?? {};
  return {
    messageId: message.MessageId ?? '',
    receiptHandle: message.ReceiptHandle ?? '',
    body: message.Body ?? '',
    attributes: {
      ApproximateReceiveCount: attributes.ApproximateReceiveCount ?? '1',
      SentTimestamp: attributes.SentTimestamp ?? String(Date.now()),
      SenderId: attributes.SenderId ?? 'AIDAEXAMPLE',
      ApproximateFirstReceiveTimestamp: attributes.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
      ...(attributes.MessageGroupId ? { MessageGroupId: attributes.MessageGroupId } : {}),
      ...(attributes.MessageDeduplicationId
        ? { MessageDeduplicationId: attributes.MessageDeduplicationId }
        : {}),
    },
    messageAttributes: Object.fromEntries(
      Object.entries(message.MessageAttributes ?? {}).map(([name, value]) => [
        name,
        { stringValue: value.StringValue, dataType: value.DataType ?? 'String' },
      ]),
    ),
    md5OfBody: message.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion: LOCAL_REGION,
  };
}

/**
 * An ordered consumer on the real consumer kit, run against the harness's tables and the
 * registry's `order-projection` dead-letter queue, that records the sequences it applied per
 * aggregate. `fail` makes `handle` throw for the events it returns an error for.
 */
export function orderedConsumer(
  harness: CliHarness,
  name: string,
  fail: (event: EventEnvelope) => Error | undefined = () => undefined,
): {
  readonly applied: Map<string, number[]>;
  /**
   * Receives every message of the queue and hands them to the consumer in one batch, as the SQS
   * mapping does; returns the consumer's response and the messages.
   */
  deliverFrom(queueUrl: string): Promise<SQSBatchResponse & { readonly messages: Message[] }>;
} {
  const applied = new Map<string, number[]>();
  const definition = consumerDefinition({
    name,
    kind: 'ordered',
    startPosition: 'earliest',
    async handle(event: EventEnvelope, { store }: ConsumerContext) {
      const failure = fail(event);
      if (failure) throw failure;
      const key = `${event.aggregatetype}#${event.aggregateid}`;
      applied.set(key, [...(applied.get(key) ?? []), event.sequence]);
      store.update(key, { add: { applied: 1 }, set: { lastSequence: event.sequence } });
    },
  });
  const handler: ConsumerHandler = createConsumer(definition, {
    tableName: harness.output(STACK_OUTPUTS.tableName),
    kitTableName: harness.output(STACK_OUTPUTS.idempotencyTableName),
    memorySeconds: 14 * 86_400,
    deadLetterQueueUrl: harness.output('OrderProjectionDeadLetterQueueUrl'),
    dynamodb: harness.dynamo.client,
    sqs: harness.sqs.client,
  });
  return {
    applied,
    async deliverFrom(queueUrl) {
      const messages = await drainQueue(harness.sqs.client, queueUrl);
      const context = {
        functionName: name,
        awsRequestId: `r-${Date.now()}`,
        getRemainingTimeInMillis: () => 30_000,
      };
      const response = await handler(
        { Records: messages.map((message) => sqsRecordOf(message)) },
        context as Parameters<ConsumerHandler>[1],
      );
      return { ...response, messages };
    },
  };
}

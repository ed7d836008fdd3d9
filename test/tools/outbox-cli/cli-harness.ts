import { BatchWriteItemCommand, DynamoDBClient, type WriteRequest } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { DeleteMessageCommand, type Message, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import {
  type EventBusEmulator,
  LOCAL_ACCOUNT,
  LOCAL_CREDENTIALS,
  LOCAL_REGION,
  type LocalResource,
  resolveValue,
  startEventBusEmulator,
} from 'local-aws';
import { buildEnvelope } from '../../../functions/shared/envelope';
import { PENDING, toOutboxItem } from '../../../functions/shared/outbox-item';
import { STACK_OUTPUTS } from '../../../lib/stack-outputs';
import type { CliIo } from '../../../tools/outbox-cli/cli-io';
import { runCli } from '../../../tools/outbox-cli/run';
import { withClients } from '../../../tools/outbox-cli/target';
import {
  type LocalDynamo,
  type LocalSqs,
  stackTopology,
  startLocalDynamo,
  startLocalSqs,
} from '../../support/local-aws';

/** Name under which the harness archives the bus, as the local runtime would for the stack's archive. */
export const ARCHIVE_NAME = 'OutboxPipelineEventArchive';

/** What one `npm run outbox -- ...` printed and returned. */
export interface CliRun {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

/**
 * The stack's tables on DynamoDB Local, its queues on the SQS emulator and its bus, rules and
 * archive on the EventBridge emulator, with the stack outputs resolved to them: the CLI runs
 * against it as it would against `npm start -- --keep`.
 */
export interface CliHarness {
  readonly dynamo: LocalDynamo;
  readonly sqs: LocalSqs;
  readonly bus: EventBusEmulator;
  readonly outputs: Record<string, string>;
  /** Runs the CLI with these arguments (plus `--local`) against the harness. */
  run(...argv: string[]): Promise<CliRun>;
  stop(): Promise<void>;
}

export async function startCliHarness(): Promise<CliHarness> {
  const topology = await stackTopology();
  const dynamo = await startLocalDynamo(topology);
  const sqs = await startLocalSqs(topology);
  const bus = await startEventBusEmulator({
    sqs: { endpoint: sqs.engine.endpoint },
    region: LOCAL_REGION,
    accountId: LOCAL_ACCOUNT,
    retryBaseDelayMs: 10,
  });
  const resources = new Map<string, LocalResource>();
  for (const resource of [...dynamo.tables, ...sqs.queues]) resources.set(resource.logicalId, resource);
  for (const eventBus of topology.eventBuses) {
    bus.createEventBus(eventBus.name);
    const arn = `arn:aws:events:${LOCAL_REGION}:${LOCAL_ACCOUNT}:event-bus/${eventBus.name}`;
    resources.set(eventBus.logicalId, { ref: eventBus.name, attributes: { Arn: arn, Name: eventBus.name } });
  }
  const queueUrl = (logicalId: string | undefined) => sqs.queues.find((q) => q.logicalId === logicalId)?.url;
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
  const outputs: Record<string, string> = {};
  for (const [key, value] of Object.entries(topology.outputs)) {
    try {
      outputs[key] = resolveValue(value, resources, key);
    } catch {
      // Resources the harness does not create (functions, log groups, the alarm topic).
    }
  }
  const busName = outputs[STACK_OUTPUTS.eventBusName];
  if (busName === undefined) throw new Error('the stack outputs have no EventBusName');
  bus.createArchive({ name: ARCHIVE_NAME, eventBusName: busName });
  outputs[STACK_OUTPUTS.eventArchiveName] = ARCHIVE_NAME;

  const config = { region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS };
  const newTarget = () =>
    withClients('test pipeline', outputs, true, {
      dynamodb: new DynamoDBClient({ ...config, endpoint: dynamo.engine.endpoint }),
      sqs: new SQSClient({ ...config, endpoint: sqs.engine.endpoint }),
      eventbridge: new EventBridgeClient({ ...config, endpoint: bus.endpoint }),
    });

  return {
    dynamo,
    sqs,
    bus,
    outputs,
    async run(...argv) {
      const out: string[] = [];
      const err: string[] = [];
      const io: CliIo = { out: (line) => out.push(line), err: (line) => err.push(line) };
      const code = await runCli([...argv, '--local'], io, {
        resolveTarget: async () => newTarget(),
        optionOverrides: {
          sleep: (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.min(ms, 20))),
          receiveWaitSeconds: 0,
        },
      });
      return { code, out: out.join('\n'), err: err.join('\n') };
    },
    async stop() {
      try {
        await bus.stop();
      } finally {
        await Promise.allSettled([sqs.stop(), dynamo.stop()]);
      }
    },
  };
}

/** Options of {@link writeOutboxEvents}. */
export interface OutboxEventsOptions {
  /** Event time of the first event; each next one is a second later. */
  readonly firstTime: Date;
  /** Keep the pending marks (unpublished) or remove them (published). @default true */
  readonly pending?: boolean;
  readonly source?: string;
}

/** Writes events 1..count of an aggregate as the outbox writer does; returns their envelopes' ids. */
export async function writeOutboxEvents(
  client: DynamoDBClient,
  tableName: string,
  aggregateKey: string,
  count: number,
  options: OutboxEventsOptions,
): Promise<string[]> {
  const [aggregateType = '', aggregateId = ''] = aggregateKey.split('#');
  const requests: WriteRequest[] = [];
  const ids: string[] = [];
  for (let sequence = 1; sequence <= count; sequence++) {
    const envelope = buildEnvelope(
      { type: sequence === 1 ? 'OrderPlaced' : 'OrderNoteAdded', data: { sequence } },
      {
        source: options.source ?? 'com.example.orders',
        aggregateType,
        aggregateId,
        sequence,
        time: new Date(options.firstTime.getTime() + (sequence - 1) * 1000),
      },
    );
    ids.push(envelope.id);
    const item = toOutboxItem(aggregateKey, envelope, Math.floor(Date.now() / 1000) + 86_400);
    if (options.pending === false) {
      delete item[PENDING.shardAttribute];
      delete item[PENDING.sinceAttribute];
    }
    requests.push({ PutRequest: { Item: item } });
  }
  for (let i = 0; i < requests.length; i += 25) {
    await client.send(
      new BatchWriteItemCommand({ RequestItems: { [tableName]: requests.slice(i, i + 25) } }),
    );
  }
  return ids;
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

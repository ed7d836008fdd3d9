import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';
import {
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { type FunctionSpec, LOCAL_REGION, referencedLogicalId } from 'local-aws';
import { ENV } from '../contract/env';
import type { ConsumerDefinition } from '../functions/consumer-kit/definition';
import { createConsumer } from '../functions/consumer-kit/handler';
import type { ConsumerRuntime } from '../functions/consumer-kit/runtime';
import { billedChunks, type CallCounts } from './call-counter';
import { type AccountCapacity, accountCapacity } from './capacity';
import type { PhaseBar } from './progress';
import type { ComponentClients, RelayEngines } from './relay-engines';
import { ratio, round } from './stats';

/** How long a drive waits for a message before it gives up (rule deliveries are asynchronous). */
const IDLE_LIMIT_MS = 15_000;

/** One consumer of the stack, as the cost section drives it. */
export interface ConsumerTarget {
  readonly name: string;
  readonly kind: 'ordered' | 'unordered';
  readonly functionId: string;
  readonly memoryMb: number;
  readonly batchSize: number;
  readonly queueLogicalId: string;
  readonly fn: FunctionSpec;
}

/** What driving one consumer over the relay's messages cost, and how long its invocations took. */
export interface ConsumerCostResult extends AccountCapacity {
  readonly consumer: string;
  readonly kind: 'ordered' | 'unordered';
  readonly functionId: string;
  readonly memoryMb: number;
  readonly batchSize: number;
  /** Metered pass: events applied, invocations and the function's own SDK calls (its DynamoDB capacity: AccountCapacity). */
  readonly events: number;
  readonly invocations: number;
  readonly calls: CallCounts;
  /** The event source mapping's SQS requests (ReceiveMessage, DeleteMessageBatch), 64 KB chunks. */
  readonly pollerRequests: number;
  /** For a rule-fed queue: EventBridge's SendMessage of each event to the queue, 64 KB chunks. */
  readonly deliveryRequests: number;
  readonly failedRecords: number;
  /** Unmetered pass over another dataset: mean and median wall time per invocation, ms. */
  readonly timedEvents: number;
  readonly meanMsPerInvocation: number;
  readonly timedInvocations: number;
}

/** The stack's SQS-fed consumers, from the template. */
export function consumerTargets(engines: RelayEngines): ConsumerTarget[] {
  return engines.topology.mappings.flatMap((mapping) => {
    if (mapping.source.kind !== 'sqs') return [];
    const fn = engines.topology.functions.find((f) => f.logicalId === mapping.functionLogicalId);
    const name = fn?.environment[ENV.consumerName];
    const kind = fn?.environment[ENV.consumerKind];
    if (!fn || typeof name !== 'string' || (kind !== 'ordered' && kind !== 'unordered')) return [];
    return [
      {
        name,
        kind,
        functionId: fn.logicalId,
        memoryMb: fn.memorySize,
        batchSize: mapping.batchSize ?? 10,
        queueLogicalId: mapping.source.queueLogicalId,
        fn,
      },
    ];
  });
}

/** Silences Powertools in this process (the kit's handlers would print logs and metrics to stdout). */
export function quietPowertools(): void {
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  process.env.POWERTOOLS_TRACE_ENABLED = 'false';
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  process.env.POWERTOOLS_DEV = 'false';
}

/**
 * Drives one consumer's handler (the kit's `createConsumer` over the consumer's own definition,
 * in this process) as its event source mapping would: ReceiveMessage of up to BatchSize messages
 * from its queue, one invocation, DeleteMessageBatch of what succeeded, until `expected` events
 * are done. The handler's clients are counted and, when `meteredAs` is set, metered.
 */
export async function driveConsumer(
  engines: RelayEngines,
  target: ConsumerTarget,
  queueUrl: string,
  expected: number,
  meteredAs: string | undefined,
  bar: PhaseBar,
): Promise<{
  events: number;
  invocations: number;
  durations: number[];
  failed: number;
  pollerRequests: number;
  deliveryRequests: number;
}> {
  const clients = engines.clients(meteredAs);
  const handler = await consumerHandler(engines, target, clients);
  const poller = engines.setup.sqs;
  const durations: number[] = [];
  let events = 0;
  let failed = 0;
  let pollerRequests = 0;
  let deliveryRequests = 0;
  let lastMessageAt = Date.now();
  while (events < expected && Date.now() - lastMessageAt < IDLE_LIMIT_MS) {
    const messages = await receive(poller, queueUrl, target.batchSize);
    pollerRequests += billedChunks(messages.reduce((sum, m) => sum + Buffer.byteLength(m.Body ?? ''), 0));
    if (messages.length === 0) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      continue;
    }
    lastMessageAt = Date.now();
    if (target.kind === 'unordered')
      deliveryRequests += messages.reduce((n, m) => n + billedChunks(Buffer.byteLength(m.Body ?? '')), 0);
    const started = performance.now();
    const response = await handler(sqsEvent(messages, queueUrl), lambdaContext(target));
    durations.push(performance.now() - started);
    const failedIds = new Set((response?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
    const done = messages.filter((m) => !failedIds.has(m.MessageId ?? ''));
    failed += failedIds.size;
    events += done.length;
    bar.increment(done.length);
    if (done.length > 0) {
      await poller.send(
        new DeleteMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: done.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle ?? '' })),
        }),
      );
      pollerRequests++;
    }
  }
  if (events < expected)
    throw new Error(`${target.name} applied ${events} of ${expected} events (failed ${failed})`);
  return { events, invocations: durations.length, durations, failed, pollerRequests, deliveryRequests };
}

/** One drive of a consumer over a queue. */
export type ConsumerRun = Awaited<ReturnType<typeof driveConsumer>>;

/** The account a consumer's metered calls are billed to. */
export function consumerAccount(target: ConsumerTarget): string {
  return `consumer:${target.name}`;
}

/**
 * Drives a consumer with its calls counted and metered; returns the run and what it consumed.
 */
export async function meteredConsumerRun(
  engines: RelayEngines,
  target: ConsumerTarget,
  queueUrl: string,
  expected: number,
  bar: PhaseBar,
): Promise<{ run: ConsumerRun; calls: CallCounts; usage: ReturnType<RelayEngines['meter']['since']> }> {
  const calls = engines.counter.snapshot();
  const capacity = engines.meter.snapshot();
  const run = await driveConsumer(engines, target, queueUrl, expected, consumerAccount(target), bar);
  return { run, calls: engines.counter.since(calls), usage: engines.meter.since(capacity) };
}

/** The metered pass's counts and the timed pass's durations of one consumer. */
export function consumerResult(
  target: ConsumerTarget,
  metered: { run: ConsumerRun; calls: CallCounts; usage: ReturnType<RelayEngines['meter']['since']> },
  timing: ConsumerRun,
): ConsumerCostResult {
  const account = consumerAccount(target);
  const busy = timing.durations.reduce((a, b) => a + b, 0);
  return {
    consumer: target.name,
    kind: target.kind,
    functionId: target.functionId,
    memoryMb: target.memoryMb,
    batchSize: target.batchSize,
    events: metered.run.events,
    invocations: metered.run.invocations,
    calls: metered.calls,
    ...accountCapacity(metered.usage, account),
    pollerRequests: metered.run.pollerRequests,
    deliveryRequests: metered.run.deliveryRequests,
    failedRecords: metered.run.failed + timing.failed,
    timedEvents: timing.events,
    timedInvocations: timing.invocations,
    meanMsPerInvocation: round(ratio(busy, timing.invocations), 1),
  };
}

async function consumerHandler(engines: RelayEngines, target: ConsumerTarget, clients: ComponentClients) {
  const module = (await import(`../functions/consumers/${target.name}.ts`)) as {
    consumer?: ConsumerDefinition;
  };
  if (!module.consumer) throw new Error(`functions/consumers/${target.name}.ts exports no consumer`);
  const tableOf = (variable: string) => {
    const logicalId = referencedLogicalId(target.fn.environment[variable]);
    const table = engines.tables.find((t) => t.logicalId === logicalId);
    if (!table) throw new Error(`${target.functionId}: ${variable} names no table of the stack`);
    return table.name;
  };
  const dlqLogicalId = referencedLogicalId(target.fn.environment[ENV.deadLetterQueueUrl]);
  const runtime: ConsumerRuntime = {
    tableName: tableOf(ENV.tableName),
    kitTableName: tableOf(ENV.idempotencyTableName),
    memorySeconds: Number(target.fn.environment[ENV.consumerMemorySeconds] ?? 14 * 86_400),
    deadLetterQueueUrl: engines.queues.find((q) => q.logicalId === dlqLogicalId)?.url ?? '',
    dynamodb: clients.dynamodb,
    sqs: clients.sqs,
  };
  return createConsumer(module.consumer, runtime, {
    logger: new Logger({ serviceName: target.name, logLevel: 'SILENT' }),
    metrics: new Metrics({ serviceName: target.name, namespace: 'bench' }),
    tracer: new Tracer({ serviceName: target.name, enabled: false }),
  });
}

async function receive(sqs: SQSClient, queueUrl: string, max: number): Promise<Message[]> {
  const { Messages } = await sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: queueUrl,
      MaxNumberOfMessages: Math.min(10, max),
      MessageSystemAttributeNames: ['All'],
      MessageAttributeNames: ['All'],
      WaitTimeSeconds: 0,
    }),
  );
  return Messages ?? [];
}

/** The SQS event Lambda's poller would hand the function. */
function sqsEvent(messages: ReadonlyArray<Message>, queueUrl: string): SQSEvent {
  const queueName = queueUrl.split('/').at(-1) ?? 'queue';
  return {
    Records: messages.map(
      (m): SQSRecord => ({
        messageId: m.MessageId ?? '',
        receiptHandle: m.ReceiptHandle ?? '',
        body: m.Body ?? '',
        attributes: {
          ApproximateReceiveCount: '1',
          SentTimestamp: String(Date.now()),
          SenderId: 'bench',
          ApproximateFirstReceiveTimestamp: String(Date.now()),
          ...(m.Attributes ?? {}),
        } as SQSRecord['attributes'],
        messageAttributes: Object.fromEntries(
          Object.entries(m.MessageAttributes ?? {}).map(([name, value]) => [
            name,
            {
              stringValue: value.StringValue,
              dataType: value.DataType ?? 'String',
              stringListValues: [],
              binaryListValues: [],
            },
          ]),
        ),
        md5OfBody: m.MD5OfBody ?? '',
        eventSource: 'aws:sqs',
        eventSourceARN: `arn:aws:sqs:${LOCAL_REGION}:000000000000:${queueName}`,
        awsRegion: LOCAL_REGION,
      }),
    ),
  };
}

function lambdaContext(target: ConsumerTarget): Context {
  const deadline = Date.now() + target.fn.timeoutSeconds * 1000;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: target.functionId,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${LOCAL_REGION}:000000000000:function:${target.functionId}`,
    memoryLimitInMB: String(target.memoryMb),
    awsRequestId: crypto.randomUUID(),
    logGroupName: `/aws/lambda/${target.functionId}`,
    logStreamName: 'bench',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
}

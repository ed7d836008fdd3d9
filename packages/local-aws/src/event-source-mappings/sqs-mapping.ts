/**
 * Emulates an AWS Lambda event source mapping on an SQS queue, so the same handler
 * code runs against fauxqs.
 *
 * Behaviour, with the AWS documentation it follows:
 * - BatchSize 1–10 on FIFO queues, 1–10000 on standard queues; above 10 a batching
 *   window of at least 1 s is required and the batch is gathered by receiving
 *   repeatedly until it is full or the window ends. No batching window on FIFO.
 *   https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-parameters.html
 * - After the function returns: success deletes every message; a partial batch
 *   response (ReportBatchItemFailures) deletes all but the listed ones, which
 *   reappear after the visibility timeout; an error or an invalid response deletes
 *   none. https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html
 * - Messages the filter rejects are deleted: "Lambda automatically removes the
 *   message from the queue". https://docs.aws.amazon.com/lambda/latest/dg/invocation-eventfiltering.html
 * - Dead-lettering is the queue's job (its RedrivePolicy), not the mapping's.
 *
 * FIFO queues use the same pool of concurrent batches: the queue never hands out a
 * message of a group that has one in flight, so a group is never processed
 * concurrently or out of order (as on AWS, provided a batch finishes within the
 * visibility timeout, which the stack sets to 6x the function timeout). fauxqs returns at
 * most one message per group per receive, so local FIFO batches hold at most one
 * message per group (AWS batches can hold several, in order). Not emulated: the
 * 6 MB payload cap and poller scaling (MaximumConcurrency is a fixed pool here).
 *
 * Permissions: on AWS the mapping receives, deletes and changes visibility with the
 * function's execution role. Give it that role's client as `receiver` (through the
 * IAM proxy) and a refused call is reported once and retried, as Lambda keeps
 * retrying, with nothing delivered (see `permission-problem.ts`).
 */
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  type Message,
  type MessageAttributeValue,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSEvent, SQSMessageAttributes, SQSRecord, SQSRecordAttributes } from 'aws-lambda';
import { assertIntegerInRange, type Invoke, judgeBatchResponse, MappingConfigError } from './invoke';
import { PermissionProblem } from './permission-problem';
import { InterruptibleSleeper, waitFor } from './poll-clock';

/** Options of {@link SqsMapping}; names follow AWS::Lambda::EventSourceMapping. */
export interface SqsMappingOptions {
  /** The runtime's client: looks up the queue ARN at start and whether the queue is empty in drain(). */
  readonly sqs: SQSClient;
  /**
   * The client of ReceiveMessage, DeleteMessageBatch and ChangeMessageVisibilityBatch; on AWS
   * these run with the function's execution role.
   * @default sqs
   */
  readonly receiver?: SQSClient;
  /** The QueueUrl the emulator returned (FIFO queues are recognised by the `.fifo` suffix). */
  readonly queueUrl: string;
  /** The function. Its response is judged at runtime, as Lambda does, so any value is accepted. */
  readonly invoke: Invoke<SQSEvent, unknown>;
  /**
   * Most messages per invocation: 1–10 on FIFO queues, 1–10000 on standard queues.
   * @default 10
   */
  readonly batchSize?: number;
  /**
   * How long to keep receiving to fill a batch (0–300; must be at least 1 when
   * batchSize is above 10; not allowed on FIFO queues).
   * @default 0, invoke with what one receive returns
   */
  readonly maximumBatchingWindowInSeconds?: number;
  /**
   * Read `batchItemFailures` from the response (FunctionResponseTypes ReportBatchItemFailures).
   * @default false, any response that is not an error deletes the whole batch
   */
  readonly reportBatchItemFailures?: boolean;
  /**
   * The FilterCriteria, as a predicate; rejected messages are deleted without invoking.
   * @default every message is delivered
   */
  readonly filter?: (record: SQSRecord) => boolean;
  /**
   * Batches in flight at once (2–1000, as ScalingConfig allows). On a FIFO queue this
   * keeps order because the queue itself never hands out a message of a group that
   * has one in flight, so concurrent batches always hold different groups: the same
   * way Lambda scales FIFO pollers by active message groups.
   * @default 2
   */
  readonly maximumConcurrency?: number;
  /**
   * Wait between receives when the queue is empty.
   * @default 100
   */
  readonly pollIntervalMs?: number;
  /**
   * Region written into records.
   * @default the region in the queue ARN
   */
  readonly awsRegion?: string;
  /**
   * Receives progress and error messages (never message bodies).
   * @default no logging
   */
  readonly log?: (message: string) => void;
  /**
   * Receives each new permission problem (a refused call) and its end, once each.
   * @default log
   */
  readonly report?: (message: string) => void;
}

/** Counters since the mapping was created. */
export interface SqsMappingCounters {
  /** Batches received (including ones that were entirely filtered out). */
  batches: number;
  invocations: number;
  recordsDelivered: number;
  recordsDeleted: number;
  recordsFiltered: number;
  /** Messages delivered again after an earlier failure (ApproximateReceiveCount above 1). */
  retries: number;
  /** Messages left in the queue after a failure, to reappear after the visibility timeout. */
  recordsLeftForRetry: number;
  partialFailures: number;
  functionErrors: number;
  invalidResponses: number;
  /** Failed receive, delete or attribute calls (retried after a pause), refused ones included. */
  sqsErrors: number;
  /** Calls refused for lack of permission (AccessDenied). */
  accessDenied: number;
}

/** What {@link toLambdaSqsRecord} needs besides the message. */
export interface SqsRecordContext {
  readonly queueArn: string;
  readonly awsRegion: string;
}

const SQS_ERROR_PAUSE_MS = 500;
const RECEIVE_MAX = 10;

/**
 * An emulated SQS event source mapping.
 *
 * @example
 * const mapping = new SqsMapping({ sqs, queueUrl, batchSize: 10, reportBatchItemFailures: true,
 *   invoke: (event) => handler(event, context) });
 * await mapping.start();
 * await mapping.drain(10_000);
 * await mapping.stop();
 */
export class SqsMapping {
  readonly counters: SqsMappingCounters = {
    batches: 0,
    invocations: 0,
    recordsDelivered: 0,
    recordsDeleted: 0,
    recordsFiltered: 0,
    retries: 0,
    recordsLeftForRetry: 0,
    partialFailures: 0,
    functionErrors: 0,
    invalidResponses: 0,
    sqsErrors: 0,
    accessDenied: 0,
  };

  private readonly fifo: boolean;
  private readonly batchSize: number;
  private readonly batchingWindowMs: number;
  private readonly concurrency: number;
  private readonly pollIntervalMs: number;
  private readonly sleeper = new InterruptibleSleeper();
  private context: SqsRecordContext | undefined;
  private running = false;
  private pollers: Promise<void>[] = [];
  private batchesHeld = 0;
  private readonly receiver: SQSClient;
  private readonly permission: PermissionProblem;

  constructor(private readonly options: SqsMappingOptions) {
    this.receiver = options.receiver ?? options.sqs;
    this.permission = new PermissionProblem((message) => {
      if (options.report === undefined) this.log(message);
      else options.report(`[sqs mapping ${options.queueUrl}] ${message}`);
    });
    this.fifo = options.queueUrl.endsWith('.fifo');
    this.batchSize = options.batchSize ?? 10;
    assertIntegerInRange('batchSize', this.batchSize, 1, this.fifo ? 10 : 10_000);
    const window = options.maximumBatchingWindowInSeconds ?? 0;
    assertIntegerInRange('maximumBatchingWindowInSeconds', window, 0, 300);
    if (this.fifo && window > 0) {
      throw new MappingConfigError(
        'maximumBatchingWindowInSeconds',
        'is not supported for FIFO queues',
        window,
      );
    }
    if (this.batchSize > 10 && window < 1) {
      throw new MappingConfigError(
        'maximumBatchingWindowInSeconds',
        `must be at least 1 when batchSize is above 10 (batchSize ${this.batchSize})`,
        window,
      );
    }
    this.batchingWindowMs = window * 1000;
    const concurrency = options.maximumConcurrency ?? 2;
    assertIntegerInRange('maximumConcurrency', concurrency, 2, 1000);
    this.concurrency = concurrency;
    this.pollIntervalMs = options.pollIntervalMs ?? 100;
    if (!(this.pollIntervalMs > 0)) {
      throw new MappingConfigError('pollIntervalMs', 'must be greater than 0', options.pollIntervalMs);
    }
  }

  /** `PROBLEM: <why>` while the function's role may not poll the queue (as AWS reports it); undefined otherwise. */
  get lastProcessingResult(): string | undefined {
    return this.permission.lastProcessingResult;
  }

  /** Looks up the queue ARN, then starts polling. Rejects if the queue does not exist. Does nothing if running. */
  async start(): Promise<void> {
    if (this.running) return;
    if (this.context === undefined) {
      const attributes = await this.options.sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: this.options.queueUrl, AttributeNames: ['QueueArn'] }),
      );
      const queueArn = attributes.Attributes?.QueueArn;
      if (queueArn === undefined) throw new Error(`queue ${this.options.queueUrl} reported no QueueArn`);
      this.context = { queueArn, awsRegion: this.options.awsRegion ?? queueArn.split(':')[3] ?? 'us-east-1' };
    }
    this.running = true;
    const context = this.context;
    this.pollers = Array.from({ length: this.concurrency }, () => this.runPoller(context));
  }

  /**
   * Stops polling; resolves when every in-flight invocation has returned and its
   * messages are deleted. Messages received but not yet handed to the function are
   * made visible again at once.
   */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.sleeper.wakeAll();
    await Promise.all(this.pollers);
    this.pollers = [];
  }

  /**
   * Resolves when the queue holds no message (visible, in flight or delayed) and no
   * batch is being processed. A message that keeps failing without a DLQ never
   * drains: this then rejects after `timeoutMs`.
   */
  async drain(timeoutMs = 10_000): Promise<void> {
    if (!this.running) throw new Error('drain() needs a started mapping: call start() first');
    this.sleeper.wakeAll();
    await waitFor(async () => this.batchesHeld === 0 && (await this.queueIsEmpty()), {
      timeoutMs,
      intervalMs: 50,
      onTimeout: () =>
        new Error(
          `SQS mapping did not drain within ${timeoutMs} ms; counters: ${JSON.stringify(this.counters)}${this.lastProcessingResult === undefined ? '' : `; ${this.lastProcessingResult}`}`,
        ),
    });
  }

  private async queueIsEmpty(): Promise<boolean> {
    const result = await this.options.sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: this.options.queueUrl,
        AttributeNames: [
          'ApproximateNumberOfMessages',
          'ApproximateNumberOfMessagesNotVisible',
          'ApproximateNumberOfMessagesDelayed',
        ],
      }),
    );
    return Object.values(result.Attributes ?? {}).every((count) => count === '0');
  }

  private async runPoller(context: SqsRecordContext): Promise<void> {
    while (this.running) {
      try {
        const messages = await this.collectBatch();
        this.permission.clear();
        if (messages.length === 0) {
          if (this.running) await this.sleeper.sleep(this.pollIntervalMs);
          continue;
        }
        this.batchesHeld += 1;
        try {
          if (this.running)
            await this.processBatch(messages.map((message) => toLambdaSqsRecord(message, context)));
          else await this.release(messages);
        } finally {
          this.batchesHeld -= 1;
        }
      } catch (error) {
        this.counters.sqsErrors += 1;
        if (this.permission.note(error, "polling with the function's execution role"))
          this.counters.accessDenied += 1;
        else this.log(`polling failed: ${describeError(error)}`);
        if (this.running) await this.sleeper.sleep(SQS_ERROR_PAUSE_MS);
      }
    }
  }

  private async collectBatch(): Promise<Message[]> {
    const messages: Message[] = [];
    const deadline = performance.now() + this.batchingWindowMs;
    for (;;) {
      const received = await this.receiver.send(
        new ReceiveMessageCommand({
          QueueUrl: this.options.queueUrl,
          MaxNumberOfMessages: Math.min(RECEIVE_MAX, this.batchSize - messages.length),
          AttributeNames: ['All'],
          MessageSystemAttributeNames: ['All'],
          MessageAttributeNames: ['All'],
        }),
      );
      messages.push(...(received.Messages ?? []));
      const windowLeft = deadline - performance.now();
      if (messages.length >= this.batchSize || windowLeft <= 0 || !this.running) return messages;
      if ((received.Messages ?? []).length === 0)
        await this.sleeper.sleep(Math.min(this.pollIntervalMs, windowLeft));
    }
  }

  private async processBatch(records: SQSRecord[]): Promise<void> {
    this.counters.batches += 1;
    const filter = this.options.filter;
    const kept = filter === undefined ? records : records.filter((record) => filter(record));
    if (kept.length < records.length) {
      const dropped = records.filter((record) => !kept.includes(record));
      this.counters.recordsFiltered += dropped.length;
      await this.deleteRecords(dropped);
    }
    if (kept.length === 0) return;

    this.counters.invocations += 1;
    this.counters.recordsDelivered += kept.length;
    this.counters.retries += kept.filter(
      (record) => Number(record.attributes.ApproximateReceiveCount) > 1,
    ).length;
    let response: unknown;
    try {
      // A fresh copy per invocation, as Lambda deserializes a new event each time.
      response = await this.options.invoke({ Records: structuredClone(kept) });
    } catch (error) {
      this.counters.functionErrors += 1;
      this.counters.recordsLeftForRetry += kept.length;
      this.log(`invocation with ${kept.length} messages failed, none deleted: ${describeError(error)}`);
      return;
    }
    if (this.options.reportBatchItemFailures !== true) {
      await this.deleteRecords(kept);
      return;
    }
    const verdict = judgeBatchResponse(response, new Set(kept.map((record) => record.messageId)));
    if (verdict.kind === 'invalid') {
      this.counters.invalidResponses += 1;
      this.counters.recordsLeftForRetry += kept.length;
      this.log(`invalid partial batch response, none deleted: ${verdict.reason}`);
      return;
    }
    const failed = new Set(verdict.kind === 'partial' ? verdict.failedIds : []);
    if (failed.size > 0) {
      this.counters.partialFailures += 1;
      this.counters.recordsLeftForRetry += failed.size;
    }
    await this.deleteRecords(kept.filter((record) => !failed.has(record.messageId)));
  }

  private async deleteRecords(records: SQSRecord[]): Promise<void> {
    for (let start = 0; start < records.length; start += RECEIVE_MAX) {
      const chunk = records.slice(start, start + RECEIVE_MAX);
      const result = await this.receiver.send(
        new DeleteMessageBatchCommand({
          QueueUrl: this.options.queueUrl,
          Entries: chunk.map((record, index) => ({ Id: String(index), ReceiptHandle: record.receiptHandle })),
        }),
      );
      this.counters.recordsDeleted += result.Successful?.length ?? 0;
      for (const failure of result.Failed ?? []) {
        this.counters.sqsErrors += 1;
        this.log(
          `deleting message ${chunk[Number(failure.Id)]?.messageId} failed: ${failure.Code} ${failure.Message}`,
        );
      }
    }
  }

  /** Hands back messages received after stop() was called, without waiting for their visibility timeout. */
  private async release(messages: Message[]): Promise<void> {
    for (let start = 0; start < messages.length; start += RECEIVE_MAX) {
      const chunk = messages.slice(start, start + RECEIVE_MAX);
      await this.receiver.send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: this.options.queueUrl,
          Entries: chunk.map((message, index) => ({
            Id: String(index),
            ReceiptHandle: message.ReceiptHandle,
            VisibilityTimeout: 0,
          })),
        }),
      );
    }
  }

  private log(message: string): void {
    this.options.log?.(`[sqs mapping ${this.options.queueUrl}] ${message}`);
  }
}

/**
 * Converts a received SQS message to the record Lambda passes a function:
 * system attributes as strings, message attributes with lower-case keys and
 * base64 binary values, eventSource 'aws:sqs'.
 */
export function toLambdaSqsRecord(message: Message, context: SqsRecordContext): SQSRecord {
  const system = message.Attributes ?? {};
  const attributes: SQSRecordAttributes = {
    ApproximateReceiveCount: system.ApproximateReceiveCount ?? '1',
    SentTimestamp: system.SentTimestamp ?? '',
    SenderId: system.SenderId ?? '',
    ApproximateFirstReceiveTimestamp: system.ApproximateFirstReceiveTimestamp ?? '',
  };
  for (const name of [
    'SequenceNumber',
    'MessageGroupId',
    'MessageDeduplicationId',
    'AWSTraceHeader',
  ] as const) {
    const value = system[name];
    if (value !== undefined) attributes[name] = value;
  }
  const record: SQSRecord = {
    messageId: message.MessageId ?? '',
    receiptHandle: message.ReceiptHandle ?? '',
    body: message.Body ?? '',
    attributes,
    messageAttributes: toLambdaMessageAttributes(message.MessageAttributes ?? {}),
    md5OfBody: message.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: context.queueArn,
    awsRegion: context.awsRegion,
  };
  if (message.MD5OfMessageAttributes !== undefined)
    record.md5OfMessageAttributes = message.MD5OfMessageAttributes;
  return record;
}

function toLambdaMessageAttributes(attributes: Record<string, MessageAttributeValue>): SQSMessageAttributes {
  const converted: SQSMessageAttributes = {};
  for (const [name, value] of Object.entries(attributes)) {
    converted[name] = {
      ...(value.StringValue === undefined ? {} : { stringValue: value.StringValue }),
      ...(value.BinaryValue === undefined
        ? {}
        : { binaryValue: Buffer.from(value.BinaryValue).toString('base64') }),
      stringListValues: [],
      binaryListValues: [],
      dataType: value.DataType ?? 'String',
    };
  }
  return converted;
}

function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/**
 * Delivery of routed events to SQS targets, with EventBridge's retry policy and
 * target dead-letter queues ("Event retry policy and using dead-letter queues",
 * https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html):
 *
 * - 5xx, throttling and connection failures are retried with exponential
 *   backoff and full jitter until MaximumRetryAttempts or
 *   MaximumEventAgeInSeconds runs out; other errors (the queue does not exist,
 *   missing permission, invalid parameter) go to the DLQ at once, unretried.
 * - A DLQ message carries the event as its body and the message attributes
 *   RULE_ARN, TARGET_ARN, ERROR_CODE, ERROR_MESSAGE, RETRY_ATTEMPTS and, when a
 *   retry limit ended the delivery, EXHAUSTED_RETRY_CONDITION. Without a DLQ the
 *   event is dropped (counted).
 * - The entry's X-Ray trace header becomes the AWSTraceHeader system attribute
 *   of the target message and of the DLQ message ("Amazon EventBridge
 *   integration with AWS X-Ray").
 * - One SendMessage per event per target (AWS batches up to 10 with
 *   SendMessageBatch); ordering across events is not guaranteed either way.
 * - With an authorizer (the runtime's IAM), each send to a target queue and to a
 *   DLQ must be allowed by that queue's resource policy for events.amazonaws.com
 *   with the rule as aws:SourceArn, as on AWS. A refused target delivery fails
 *   with NO_PERMISSIONS, unretried, and goes to the DLQ (counted in
 *   `refusedDeliveries`); a refused DLQ send loses the event (`deadLetterFailures`).
 */
import { setMaxListeners } from 'node:events';
import { type MessageAttributeValue, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { seededRandom } from '../faults';
import { EventBusEmulatorError, errorMessage, isRecord } from './errors';
import type { EventBridgeEvent } from './put-events';

/** A target of a compiled rule, with its retry policy resolved. */
export interface DeliveryTarget {
  /** `<bus>/<rule>/<target id>`, the key of the delivery counters. */
  readonly key: string;
  readonly arn: string;
  readonly queueUrl: string;
  readonly deadLetterQueueUrl: string | undefined;
  readonly deadLetterQueueArn: string | undefined;
  readonly maximumRetryAttempts: number;
  readonly maximumEventAgeMs: number;
  readonly messageGroupId: string | undefined;
}

/** One event on its way to one target of one rule. */
export interface DeliveryJob {
  /** Position in the delivery sequence since the last `setFaults`: the key of injected delivery faults. */
  readonly sequence: number;
  readonly event: EventBridgeEvent;
  /** The event as JSON, the message body. */
  readonly body: string;
  readonly ruleArn: string;
  readonly target: DeliveryTarget;
  /** When EventBridge accepted the event (epoch ms); MaximumEventAgeInSeconds counts from here. */
  readonly acceptedAt: number;
  /** The entry's X-Ray trace header, sent as the message's AWSTraceHeader (to the DLQ too). */
  readonly traceHeader: string | undefined;
}

/** What the delivery side has done; merged into the emulator's counters. */
export interface DeliveryCounters {
  deliveries: Record<string, number>;
  deliveryRetries: number;
  deadLettered: number;
  deadLetterFailures: number;
  dropped: number;
  /** Deliveries to a target queue whose policy does not let the rule send (NO_PERMISSIONS). */
  refusedDeliveries: number;
}

/**
 * Whether EventBridge may send a rule's event to a queue (`sqs:SendMessage` as events.amazonaws.com,
 * aws:SourceArn = the rule): undefined when allowed, else the refusal's message.
 */
export type DeliveryAuthorizer = (delivery: {
  readonly ruleArn: string;
  readonly queueArn: string;
}) => string | undefined;

/** How to reach SQS and how patient to be. */
export interface TargetDeliveryOptions {
  readonly sqsEndpoint: string;
  readonly region: string;
  /** Cap of the first retry delay; each retry doubles it, up to 2 s, with full jitter. */
  readonly retryBaseDelayMs: number;
  readonly log: (message: string) => void;
}

interface DeliveryFailure {
  /** The EventBridge DLQ ERROR_CODE. */
  readonly code: string;
  readonly message: string;
  readonly retryable: boolean;
}

type ExhaustedCondition = 'MaximumRetryAttempts' | 'MaximumEventAgeInSeconds';

/** Longest delay between two attempts. */
export const MAX_RETRY_DELAY_MS = 2_000;

/** Sends jobs to their targets in the background, retrying and dead-lettering as EventBridge does. */
export class TargetDelivery {
  readonly counters: DeliveryCounters = {
    deliveries: {},
    deliveryRetries: 0,
    deadLettered: 0,
    deadLetterFailures: 0,
    dropped: 0,
    refusedDeliveries: 0,
  };
  private readonly sqs: SQSClient;
  /** Aborted once `shutdown()` gives up waiting: ends retry sleeps and in-flight sends. */
  private readonly abandon = new AbortController();
  private readonly idleWaiters = new Set<() => void>();
  private pending = 0;
  private failureRate = 0;
  private faultSeed = 1;
  private sequence = 0;
  private authorizer: DeliveryAuthorizer | undefined;

  constructor(private readonly options: TargetDeliveryOptions) {
    // One signal is shared by every in-flight delivery (one listener each), so lift Node's default cap of 10.
    setMaxListeners(10_000, this.abandon.signal);
    this.sqs = deliveryClient(options);
  }

  /** True once `shutdown()` has abandoned what was pending. */
  get abandoned(): boolean {
    return this.abandon.signal.aborted;
  }

  /** Probability that one attempt fails with a retryable INTERNAL_ERROR; restarts the delivery sequence. */
  setFaults(targetDeliveryFailureRate: number, seed: number): void {
    this.failureRate = targetDeliveryFailureRate;
    this.faultSeed = seed;
    this.sequence = 0;
  }

  /** Checks every later send against the queues' policies; undefined sends everything, as before. */
  setAuthorizer(authorizer: DeliveryAuthorizer | undefined): void {
    this.authorizer = authorizer;
  }

  /** The next number of the delivery sequence, for a new job. */
  nextSequence(): number {
    return this.sequence++;
  }

  /**
   * Counts `jobs` as pending at once (so `waitForIdle` sees them before the
   * caller's response is out) and returns a starter that delivers them.
   */
  reserve(jobs: ReadonlyArray<DeliveryJob>): () => void {
    this.pending += jobs.length;
    return () => {
      for (const job of jobs) void this.deliver(job).finally(() => this.settle());
    };
  }

  /** Delivers `jobs` now; resolves when each reached its target, its DLQ, or was dropped. */
  async deliverNow(jobs: ReadonlyArray<DeliveryJob>): Promise<void> {
    this.pending += jobs.length;
    await Promise.all(jobs.map((job) => this.deliver(job).finally(() => this.settle())));
  }

  /**
   * Resolves when no delivery is pending.
   * @throws EventBusEmulatorError `IdleTimeout` when deliveries are still pending after `timeoutMs`
   */
  waitForIdle(timeoutMs: number): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        this.idleWaiters.delete(done);
        resolve();
      };
      const timer = setTimeout(() => {
        this.idleWaiters.delete(done);
        reject(
          new EventBusEmulatorError(
            'IdleTimeout',
            `${this.pending} deliveries still pending after ${timeoutMs} ms`,
          ),
        );
      }, timeoutMs);
      this.idleWaiters.add(done);
    });
  }

  /** Waits up to `timeoutMs` for pending deliveries, abandons the rest, and closes the SQS client. */
  async shutdown(timeoutMs: number): Promise<void> {
    try {
      await this.waitForIdle(timeoutMs);
    } catch {
      this.options.log(`event bus emulator abandons ${this.pending} pending deliveries`);
      this.abandon.abort();
      await this.waitForIdle(1_000).catch(() => {});
    }
    this.abandon.abort();
    this.sqs.destroy();
  }

  private settle(): void {
    this.pending -= 1;
    if (this.pending === 0) for (const wake of [...this.idleWaiters]) wake();
  }

  private async deliver(job: DeliveryJob): Promise<void> {
    const { target } = job;
    for (let retries = 0; ; retries += 1) {
      const failure = await this.attempt(job, retries);
      if (failure === undefined) {
        this.counters.deliveries[target.key] = (this.counters.deliveries[target.key] ?? 0) + 1;
        return;
      }
      if (this.abandoned) return;
      if (!failure.retryable) return this.deadLetter(job, failure, retries, undefined);
      if (retries >= target.maximumRetryAttempts)
        return this.deadLetter(job, failure, retries, 'MaximumRetryAttempts');
      const delay = Math.floor(
        Math.random() * Math.min(MAX_RETRY_DELAY_MS, this.options.retryBaseDelayMs * 2 ** retries),
      );
      if (Date.now() + delay - job.acceptedAt > target.maximumEventAgeMs) {
        return this.deadLetter(job, failure, retries, 'MaximumEventAgeInSeconds');
      }
      this.counters.deliveryRetries += 1;
      await sleep(delay, this.abandon.signal);
      if (this.abandoned) return;
    }
  }

  private async attempt(job: DeliveryJob, retries: number): Promise<DeliveryFailure | undefined> {
    const refusal = this.authorizer?.({ ruleArn: job.ruleArn, queueArn: job.target.arn });
    if (refusal !== undefined) {
      this.counters.refusedDeliveries += 1;
      this.options.log(
        `delivery of event ${job.event.id} to ${job.target.key} refused (NO_PERMISSIONS, not retried): ${refusal}`,
      );
      return { code: 'NO_PERMISSIONS', message: refusal, retryable: false };
    }
    if (keyedRandom(this.faultSeed, job.sequence, retries) < this.failureRate) {
      return {
        code: 'INTERNAL_ERROR',
        message: 'Delivery failed (injected by the local fault configuration)',
        retryable: true,
      };
    }
    try {
      await this.sqs.send(
        new SendMessageCommand({
          QueueUrl: job.target.queueUrl,
          MessageBody: job.body,
          MessageGroupId: job.target.messageGroupId,
          MessageSystemAttributes: traceAttributes(job),
        }),
        { abortSignal: this.abandon.signal },
      );
      return undefined;
    } catch (error) {
      const failure = classifySqsError(error);
      this.options.log(
        `delivery of event ${job.event.id} to ${job.target.key} failed (${failure.code}, ${failure.retryable ? 'retryable' : 'not retryable'}): ${failure.message}`,
      );
      return failure;
    }
  }

  private async deadLetter(
    job: DeliveryJob,
    failure: DeliveryFailure,
    retries: number,
    exhaustedCondition: ExhaustedCondition | undefined,
  ): Promise<void> {
    const { target } = job;
    if (target.deadLetterQueueUrl === undefined) {
      this.counters.dropped += 1;
      this.options.log(
        `event ${job.event.id} dropped after failing on ${target.key} (${failure.code}); the target has no DLQ`,
      );
      return;
    }
    const refusal =
      target.deadLetterQueueArn === undefined
        ? undefined
        : this.authorizer?.({ ruleArn: job.ruleArn, queueArn: target.deadLetterQueueArn });
    if (refusal !== undefined) {
      this.counters.deadLetterFailures += 1;
      this.options.log(`event ${job.event.id} lost: its DLQ refuses ${target.key}: ${refusal}`);
      return;
    }
    try {
      await this.sqs.send(
        new SendMessageCommand({
          QueueUrl: target.deadLetterQueueUrl,
          MessageBody: job.body,
          MessageAttributes: deadLetterAttributes(job, failure, retries, exhaustedCondition),
          // "the trace header is included in the SendMessage request that sends the event to the DLQ"
          MessageSystemAttributes: traceAttributes(job),
        }),
        { abortSignal: this.abandon.signal },
      );
      this.counters.deadLettered += 1;
    } catch (error) {
      this.counters.deadLetterFailures += 1;
      this.options.log(
        `event ${job.event.id} lost: DLQ send for ${target.key} failed: ${errorMessage(error)}`,
      );
    }
  }
}

/** The SQS client of the deliveries: one attempt per call, because the retry policy above is EventBridge's. */
function deliveryClient(options: TargetDeliveryOptions): SQSClient {
  return new SQSClient({
    endpoint: options.sqsEndpoint,
    region: options.region,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    // SDK retries would hide attempts from EventBridge's retry policy.
    maxAttempts: 1,
  });
}

function deadLetterAttributes(
  job: DeliveryJob,
  failure: DeliveryFailure,
  retries: number,
  exhaustedCondition: ExhaustedCondition | undefined,
): Record<string, MessageAttributeValue> {
  return {
    RULE_ARN: stringAttribute(job.ruleArn),
    TARGET_ARN: stringAttribute(job.target.arn),
    ERROR_CODE: stringAttribute(failure.code),
    ERROR_MESSAGE: stringAttribute(failure.message),
    RETRY_ATTEMPTS: stringAttribute(String(retries)),
    ...(exhaustedCondition === undefined
      ? {}
      : { EXHAUSTED_RETRY_CONDITION: stringAttribute(exhaustedCondition) }),
  };
}

/**
 * The DLQ ERROR_CODE and retry decision for an SQS failure. EventBridge retries
 * 5xx, throttling and transient network errors; a missing queue, a missing
 * permission or another 4xx goes to the DLQ without retry.
 */
export function classifySqsError(error: unknown): DeliveryFailure {
  const message = errorMessage(error);
  const name = isRecord(error) && typeof error.name === 'string' ? error.name : 'Error';
  const metadata = isRecord(error) && isRecord(error.$metadata) ? error.$metadata : {};
  const status = typeof metadata.httpStatusCode === 'number' ? metadata.httpStatusCode : undefined;
  if (name === 'QueueDoesNotExist' || name.endsWith('NonExistentQueue')) {
    return { code: 'NO_RESOURCE', message, retryable: false };
  }
  if (/AccessDenied|KmsAccessDenied/.test(name) || status === 403)
    return { code: 'NO_PERMISSIONS', message, retryable: false };
  if (status === 429 || /Throttl|RequestThrottled|OverLimit/.test(name))
    return { code: 'THROTTLING', message, retryable: true };
  if (status !== undefined && status >= 500) return { code: 'INTERNAL_ERROR', message, retryable: true };
  if (status !== undefined) return { code: 'INVALID_PARAMETER', message, retryable: false };
  if (name === 'AbortError') return { code: 'TIMEOUT', message, retryable: false };
  return { code: 'CONNECTION_FAILURE', message, retryable: true };
}

function traceAttributes(job: DeliveryJob) {
  return job.traceHeader === undefined
    ? undefined
    : { AWSTraceHeader: { DataType: 'String' as const, StringValue: job.traceHeader } };
}

function stringAttribute(value: string): MessageAttributeValue {
  return { DataType: 'String', StringValue: value };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) {
      resolve();
      return;
    }
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/** A draw in [0, 1) that depends only on (seed, a, b), not on the order of calls. */
function keyedRandom(seed: number, a: number, b: number): number {
  return seededRandom(seed ^ Math.imul(a + 1, 0x85ebca6b) ^ Math.imul(b + 1, 0xc2b2ae35))();
}

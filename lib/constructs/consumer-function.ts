import { Duration, Tokenization } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { ENV } from '../../functions/shared/env-names';
import { ConstructPropsError, validateDurationInRange, validateIntegerInRange } from './errors';
import { grantOnTableOnly } from './outbox-table';
import {
  DEFAULT_FUNCTION_TIMEOUT,
  PipelineFunction,
  type PipelineFunctionOptions,
} from './pipeline-function';
import type { MonitoringOptions } from './pipeline-observability';

/** Consumer name derived from an entry: its last segment, e.g. `'consumers/order-projection'` → `'order-projection'`. */
export function defaultConsumerName(entry: string): string {
  return entry.split('/').at(-1) ?? entry;
}

/** What a consumer may do on the table that holds its read model: item reads and writes by key. */
export const READ_MODEL_ACTIONS = [
  'dynamodb:GetItem',
  'dynamodb:BatchGetItem',
  'dynamodb:Query',
  'dynamodb:ConditionCheckItem',
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:BatchWriteItem',
] as const;

/** Idempotency record lifetime when none is given: the stack's default outbox retention. */
export const DEFAULT_IDEMPOTENCY_TTL = Duration.days(7);

// The consumer kit's rule (functions/consumers/kit.ts): the name prefixes idempotency keys and
// read-model keys and is a metric dimension, so it stays lowercase kebab-case.
const CONSUMER_NAME_PATTERN = /^[a-z][a-z0-9-]{1,62}$/;

/** Props shared by every consumer construct. */
export interface ConsumerOptions extends PipelineFunctionOptions, MonitoringOptions {
  /** Entry file below `functions/`, without extension, e.g. `'consumers/order-projection'`. */
  readonly entry: string;
  /** Table of the Powertools idempotency records (partition key `id`, TTL `expiration`). */
  readonly idempotencyTable: ITable;
  /** Table the consumer projects into; it gets item read and write access ({@link READ_MODEL_ACTIONS}), not index access. */
  readonly table: ITable;
  /**
   * Name of the consumer in metrics, idempotency and read-model keys (lowercase kebab-case);
   * changing it orphans the read model.
   * @default - the last segment of `entry`, e.g. `'order-projection'`
   */
  readonly consumerName?: string;
  /**
   * Receives of a message before SQS moves it to the dead-letter queue (1..1000).
   * @default 5
   */
  readonly maxReceiveCount?: number;
  /**
   * How long an idempotency record lives (1 hour..365 days). Keep it at least the outbox
   * retention: the relay may publish an event again for as long as its outbox item exists.
   * @default Duration.days(7)
   */
  readonly idempotencyTtl?: Duration;
  /**
   * Most concurrent invocations the queue's event source mapping starts (2..1000).
   *
   * A cap on the mapping rather than reserved concurrency: throttled invocations of an SQS
   * mapping return messages to the queue and count as receives, so reserved concurrency would
   * push healthy messages to the dead-letter queue under load.
   * @default - no cap beyond the account's concurrency
   */
  readonly maxConcurrency?: number;
}

/** Props of {@link ConsumerFunction}. */
export interface ConsumerFunctionProps extends Omit<ConsumerOptions, 'consumerName' | 'maxReceiveCount'> {
  /** Name of the consumer in metrics and read-model keys. */
  readonly consumerName: string;
  /** Queue the function consumes. */
  readonly queue: IQueue;
  /** The queue's dead-letter queue; the function sends messages it can never process there itself, with the reason. */
  readonly deadLetterQueue: IQueue;
  /** Messages per invocation; the owning construct validates the range its queue type allows. */
  readonly batchSize: number;
  /**
   * How long Lambda gathers messages before invoking; not allowed on FIFO queues.
   * @default - no batching window
   */
  readonly maxBatchingWindow?: Duration;
}

/**
 * Visibility timeout for a queue a Lambda function consumes: six times the function timeout
 * plus the batching window, as AWS recommends, so a message is not redelivered while a
 * throttled or retried invocation still holds it.
 */
export function consumerVisibilityTimeout(timeout?: Duration, maxBatchingWindow?: Duration): Duration {
  const functionTimeout = timeout ?? DEFAULT_FUNCTION_TIMEOUT;
  return Duration.seconds(6 * functionTimeout.toSeconds() + (maxBatchingWindow?.toSeconds() ?? 0));
}

/**
 * A consumer's function, wired in one place: environment, grants on the idempotency and
 * read-model tables and on its dead-letter queue, an SQS event source that reports
 * partial batch failures, and registration with the monitor when one is given.
 */
export class ConsumerFunction extends PipelineFunction {
  constructor(scope: Construct, id: string, props: ConsumerFunctionProps) {
    const idempotencyTtl = props.idempotencyTtl ?? DEFAULT_IDEMPOTENCY_TTL;
    validateDurationInRange('idempotencyTtl', idempotencyTtl, Duration.hours(1), Duration.days(365));
    if (!CONSUMER_NAME_PATTERN.test(props.consumerName)) {
      throw new ConstructPropsError(
        `consumerName must be 2 to 63 lowercase letters, digits or '-', starting with a letter (given '${props.consumerName}')`,
      );
    }
    if (props.maxConcurrency !== undefined) {
      validateIntegerInRange('maxConcurrency', props.maxConcurrency, 2, 1000);
    }

    super(scope, id, {
      entry: props.entry,
      serviceName: props.consumerName,
      description: `Outbox consumer ${props.consumerName}`,
      timeout: props.timeout,
      memorySize: props.memorySize,
      logRetention: props.logRetention,
      removalPolicy: props.removalPolicy,
      environment: {
        [ENV.consumerName]: props.consumerName,
        [ENV.tableName]: props.table.tableName,
        [ENV.idempotencyTableName]: props.idempotencyTable.tableName,
        [ENV.idempotencyTtlSeconds]: Tokenization.stringifyNumber(idempotencyTtl.toSeconds()),
        [ENV.deadLetterQueueUrl]: props.deadLetterQueue.queueUrl,
      },
    });

    props.idempotencyTable.grantReadWriteData(this);
    // The read model is a projection the consumer owns: it reads, puts, updates and deletes its
    // items, by key. On the table only: no scans, and no access to the outbox's pending index.
    grantOnTableOnly(props.table, this, ...READ_MODEL_ACTIONS);
    props.deadLetterQueue.grantSendMessages(this);
    this.addEventSource(
      new SqsEventSource(props.queue, {
        batchSize: props.batchSize,
        maxBatchingWindow: props.maxBatchingWindow,
        maxConcurrency: props.maxConcurrency,
        reportBatchItemFailures: true,
      }),
    );
    props.monitor?.monitorConsumer({ consumerName: props.consumerName, function: this });
  }
}

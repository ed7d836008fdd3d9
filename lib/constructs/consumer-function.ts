import { Duration, Tokenization } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { Grant } from 'aws-cdk-lib/aws-iam';
import { EventSourceMapping } from 'aws-cdk-lib/aws-lambda';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { consumerNameProblem } from '../../contract/consumer-name';
import { consumerEntry, type StartPosition } from '../../contract/consumers';
import { ENV } from '../../contract/env';
import { consumerItemPrefix, consumerRecordPrefix } from '../../contract/keys';
import { RETENTION_DEFAULTS } from '../../contract/retention';
import { ConstructPropsError, validateDurationInRange, validateIntegerInRange } from './errors';
import { grantItems, type ItemAction } from './outbox-table';
import {
  DEFAULT_FUNCTION_TIMEOUT,
  PipelineFunction,
  type PipelineFunctionOptions,
} from './pipeline-function';
import type { MonitoringOptions } from './pipeline-observability';

/** What a consumer may do on the items it owns, in either table: read, put, update and delete them by key. */
export const CONSUMER_ITEM_ACTIONS: ReadonlyArray<ItemAction> = [
  'dynamodb:GetItem',
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
];

/** What the event source mapping needs on the queue (the AWSLambdaSQSQueueExecutionRole actions). */
export const SQS_MAPPING_ACTIONS = [
  'sqs:ReceiveMessage',
  'sqs:DeleteMessage',
  'sqs:GetQueueAttributes',
] as const;

/** How long consumers remember what they applied when none is given. */
export const DEFAULT_CONSUMER_MEMORY = Duration.days(RETENTION_DEFAULTS.consumerMemoryDays);

/** Props shared by every consumer construct. */
export interface ConsumerOptions extends PipelineFunctionOptions, MonitoringOptions {
  /**
   * The consumer's name (contract/consumer-name.ts): its code is `functions/consumers/<name>.ts`,
   * and it owns the keys `VIEW#<name>#…` in `table` and `<name>#…` in `idempotencyTable`.
   */
  readonly consumerName: string;
  /** The consumer kit's table (Powertools idempotency records, effect markers, checkpoints, parked events). */
  readonly idempotencyTable: ITable;
  /** Table holding the consumer's own items (its read model). */
  readonly table: ITable;
  /**
   * Receives of a message before SQS moves it to the dead-letter queue (1..1000).
   * @default 5
   */
  readonly maxReceiveCount?: number;
  /**
   * How long the consumer remembers an event it applied (idempotency records, effect markers),
   * 14..365 days: at least as long as any source can deliver the event again (see
   * contract/retention.ts), and dead-letter queues keep messages 14 days.
   * @default Duration.days(14)
   */
  readonly consumerMemory?: Duration;
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
export interface ConsumerFunctionProps extends Omit<ConsumerOptions, 'maxReceiveCount'> {
  readonly kind: 'ordered' | 'unordered';
  /** Ordered consumers: where an aggregate without a checkpoint starts. */
  readonly startPosition: StartPosition;
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

/** Validates a consumer name with the one rule; throws naming what was given. */
export function validateConsumerName(name: string): void {
  const problem = consumerNameProblem(name);
  if (problem) throw new ConstructPropsError(`consumerName: ${problem}`);
}

/**
 * A consumer's function, wired in one place: environment, least-privilege grants (only the items
 * it owns, by key prefix, in both tables; only SendMessage on its dead-letter queue), an SQS event
 * source that reports partial batch failures, and registration with the monitor.
 */
export class ConsumerFunction extends PipelineFunction {
  constructor(scope: Construct, id: string, props: ConsumerFunctionProps) {
    validateConsumerName(props.consumerName);
    const memory = props.consumerMemory ?? DEFAULT_CONSUMER_MEMORY;
    validateDurationInRange(
      'consumerMemory',
      memory,
      Duration.days(RETENTION_DEFAULTS.deadLetterRetentionDays),
      Duration.days(365),
    );
    if (props.maxConcurrency !== undefined)
      validateIntegerInRange('maxConcurrency', props.maxConcurrency, 2, 1000);

    super(scope, id, {
      entry: consumerEntry(props.consumerName),
      serviceName: props.consumerName,
      description: `Outbox ${props.kind} consumer ${props.consumerName}`,
      timeout: props.timeout,
      memorySize: props.memorySize,
      logRetention: props.logRetention,
      removalPolicy: props.removalPolicy,
      environment: {
        [ENV.consumerName]: props.consumerName,
        [ENV.consumerKind]: props.kind,
        [ENV.consumerStartPosition]: props.startPosition,
        [ENV.tableName]: props.table.tableName,
        [ENV.idempotencyTableName]: props.idempotencyTable.tableName,
        [ENV.consumerMemorySeconds]: Tokenization.stringifyNumber(memory.toSeconds()),
        [ENV.deadLetterQueueUrl]: props.deadLetterQueue.queueUrl,
      },
    });

    grantItems(props.table, this, {
      actions: CONSUMER_ITEM_ACTIONS,
      leadingKeys: [`${consumerItemPrefix(props.consumerName)}*`],
    });
    grantItems(props.idempotencyTable, this, {
      actions: CONSUMER_ITEM_ACTIONS,
      leadingKeys: [`${consumerRecordPrefix(props.consumerName)}*`],
    });
    Grant.addToPrincipal({
      grantee: this,
      actions: ['sqs:SendMessage'],
      resourceArns: [props.deadLetterQueue.queueArn],
    });
    const consume = Grant.addToPrincipal({
      grantee: this,
      actions: [...SQS_MAPPING_ACTIONS],
      resourceArns: [props.queue.queueArn],
    });
    const mapping = new EventSourceMapping(this, 'QueueMapping', {
      target: this,
      eventSourceArn: props.queue.queueArn,
      batchSize: props.batchSize,
      maxBatchingWindow: props.maxBatchingWindow,
      maxConcurrency: props.maxConcurrency,
      reportBatchItemFailures: true,
    });
    // Lambda checks the role's permissions when it creates the mapping.
    consume.applyBefore(mapping);
    props.monitor?.monitorConsumer({ consumerName: props.consumerName, kind: props.kind, function: this });
  }
}

import { Duration } from 'aws-cdk-lib';
import { type EventPattern, type IEventBus, Rule } from 'aws-cdk-lib/aws-events';
import { SqsQueue } from 'aws-cdk-lib/aws-events-targets';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ConsumerFunction, type ConsumerOptions, consumerVisibilityTimeout } from './consumer-function';
import { ConstructPropsError, validateDurationInRange, validateIntegerInRange } from './errors';
import { createFailureQueue, SecureQueue } from './secure-queue';

/** Props of {@link UnorderedConsumer}. */
export interface UnorderedConsumerProps extends ConsumerOptions {
  /** Bus the relay publishes to. */
  readonly eventBus: IEventBus;
  /** Events this consumer receives; must set at least one field. */
  readonly eventPattern: EventPattern;
  /**
   * Messages per invocation (1..10000); above 10, Lambda requires `maxBatchingWindow`.
   * @default 10
   */
  readonly batchSize?: number;
  /**
   * How long Lambda gathers messages before invoking (0..300 s).
   * @default - none: invoke as soon as messages arrive
   */
  readonly maxBatchingWindow?: Duration;
  /**
   * Retries of a failed delivery from EventBridge to the queue before the event goes to the
   * target dead-letter queue (0..185).
   * @default 185 (the EventBridge default)
   */
  readonly targetRetryAttempts?: number;
  /**
   * Age after which EventBridge stops retrying delivery to the queue (60 s..24 h).
   * @default Duration.hours(24) (the EventBridge default)
   */
  readonly targetMaxEventAge?: Duration;
}

/**
 * A consumer that does not need order: an EventBridge rule on the bus sends matching events
 * to a standard queue (with a dead-letter queue), consumed by an idempotent function.
 *
 * Delivery from the rule to the queue has its own dead-letter queue, so an event EventBridge
 * cannot deliver (queue deleted, policy broken) is kept rather than dropped.
 *
 * @example
 * new UnorderedConsumer(this, 'OrderActivity', {
 *   eventBus, eventPattern: { source: ['com.example.orders'], detailType: Match.prefix('Order') },
 *   consumerName: 'order-activity', idempotencyTable, table,
 * });
 */
export class UnorderedConsumer extends Construct {
  /** Standard queue the rule delivers to. */
  readonly queue: Queue;
  /** Queue receiving messages that failed `maxReceiveCount` times. */
  readonly deadLetterQueue: Queue;
  /** Queue receiving events EventBridge could not deliver to `queue`. */
  readonly targetDeadLetterQueue: Queue;
  /** Rule selecting the consumer's events. */
  readonly rule: Rule;
  /** The consumer function. */
  readonly function: ConsumerFunction;

  constructor(scope: Construct, id: string, props: UnorderedConsumerProps) {
    super(scope, id);
    const batchSize = props.batchSize ?? 10;
    const { consumerName } = props;
    const targetRetryAttempts = props.targetRetryAttempts ?? 185;
    const targetMaxEventAge = props.targetMaxEventAge ?? Duration.hours(24);
    validateIntegerInRange('batchSize', batchSize, 1, 10_000);
    if (props.maxBatchingWindow !== undefined) {
      validateDurationInRange(
        'maxBatchingWindow',
        props.maxBatchingWindow,
        Duration.seconds(0),
        Duration.seconds(300),
      );
    }
    if (
      batchSize > 10 &&
      (props.maxBatchingWindow === undefined || props.maxBatchingWindow.toSeconds() < 1)
    ) {
      throw new ConstructPropsError(
        `batchSize above 10 needs a maxBatchingWindow of at least 1 second (given batchSize ${batchSize} and maxBatchingWindow ${props.maxBatchingWindow?.toHumanString() ?? 'none'})`,
      );
    }
    validateIntegerInRange('targetRetryAttempts', targetRetryAttempts, 0, 185);
    validateDurationInRange('targetMaxEventAge', targetMaxEventAge, Duration.seconds(60), Duration.hours(24));
    if (!hasAnyField(props.eventPattern)) {
      throw new ConstructPropsError(
        `eventPattern must match on at least one field (given ${JSON.stringify(props.eventPattern)})`,
      );
    }

    const queues = new SecureQueue(this, 'Queue', {
      maxReceiveCount: props.maxReceiveCount,
      visibilityTimeout: consumerVisibilityTimeout(props.timeout, props.maxBatchingWindow),
    });
    this.queue = queues.queue;
    this.deadLetterQueue = queues.deadLetterQueue;
    this.targetDeadLetterQueue = createFailureQueue(this, 'TargetDeadLetterQueue', {
      usedAs: 'dead-letter queue of the EventBridge rule target',
    });

    this.rule = new Rule(this, 'Rule', {
      eventBus: props.eventBus,
      eventPattern: props.eventPattern,
      description: `Events for outbox consumer ${consumerName}`,
      targets: [
        new SqsQueue(this.queue, {
          deadLetterQueue: this.targetDeadLetterQueue,
          retryAttempts: targetRetryAttempts,
          maxEventAge: targetMaxEventAge,
        }),
      ],
    });

    this.function = new ConsumerFunction(this, 'Function', {
      ...props,
      kind: 'unordered',
      startPosition: 'first-seen',
      queue: this.queue,
      deadLetterQueue: this.deadLetterQueue,
      batchSize,
    });
    props.monitor?.monitorDeadLetterQueue(this.deadLetterQueue, `${consumerName} dead-letter queue`);
    props.monitor?.monitorDeadLetterQueue(
      this.targetDeadLetterQueue,
      `${consumerName} EventBridge target dead-letter queue`,
    );
  }
}

function hasAnyField(pattern: EventPattern): boolean {
  return Object.values(pattern).some((value) => value !== undefined);
}

import type { Queue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import {
  ConsumerFunction,
  type ConsumerOptions,
  consumerVisibilityTimeout,
  defaultConsumerName,
} from './consumer-function';
import { validateIntegerInRange } from './errors';
import type { OutboxRelay } from './outbox-relay';
import { SecureQueue } from './secure-queue';

/** Props of {@link OrderedConsumer}. */
export interface OrderedConsumerProps extends ConsumerOptions {
  /** Relay that publishes every event to this consumer's FIFO queue. */
  readonly relay: OutboxRelay;
  /**
   * Messages per invocation (1..10, the limit of a FIFO queue mapping).
   * @default 10
   */
  readonly batchSize?: number;
}

/**
 * A consumer that sees each aggregate's events in order: a high-throughput FIFO queue
 * (message group = aggregate) that the relay publishes to, with a FIFO dead-letter queue,
 * consumed by an idempotent function.
 *
 * Registering with the relay is part of construction, so adding an ordered consumer needs
 * no change to the relay.
 *
 * @example
 * new OrderedConsumer(this, 'OrderProjection', {
 *   relay, entry: 'consumers/order-projection', idempotencyTable, table,
 * });
 */
export class OrderedConsumer extends Construct {
  /** FIFO queue the relay sends to. */
  readonly queue: Queue;
  /** FIFO queue receiving messages that failed `maxReceiveCount` times. */
  readonly deadLetterQueue: Queue;
  /** The consumer function. */
  readonly function: ConsumerFunction;

  constructor(scope: Construct, id: string, props: OrderedConsumerProps) {
    super(scope, id);
    const batchSize = props.batchSize ?? 10;
    const consumerName = props.consumerName ?? defaultConsumerName(props.entry);
    validateIntegerInRange('batchSize', batchSize, 1, 10);

    const queues = new SecureQueue(this, 'Queue', {
      fifo: true,
      maxReceiveCount: props.maxReceiveCount,
      visibilityTimeout: consumerVisibilityTimeout(props.timeout),
    });
    this.queue = queues.queue;
    this.deadLetterQueue = queues.deadLetterQueue;

    this.function = new ConsumerFunction(this, 'Function', {
      ...props,
      consumerName,
      queue: this.queue,
      deadLetterQueue: this.deadLetterQueue,
      batchSize,
    });
    props.relay.addOrderedQueue(this.queue);
    props.monitor?.monitorDeadLetterQueue(this.deadLetterQueue, `${consumerName} dead-letter queue`);
  }
}

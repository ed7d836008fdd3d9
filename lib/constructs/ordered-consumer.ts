import type { Queue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { StartPosition } from '../../contract/consumers';
import { ConsumerFunction, type ConsumerOptions, consumerVisibilityTimeout } from './consumer-function';
import { validateIntegerInRange } from './errors';
import type { OutboxRelay } from './outbox-relay';
import { SecureQueue } from './secure-queue';

/** Props of {@link OrderedConsumer}. */
export interface OrderedConsumerProps extends ConsumerOptions {
  /** Relay that publishes every event to this consumer's FIFO queue. */
  readonly relay: OutboxRelay;
  /**
   * Where the consumer starts an aggregate it has no checkpoint for (contract/consumers.ts):
   * `earliest` (sequence 1; a consumer joining a running system waits for `backfill`) or
   * `first-seen`.
   */
  readonly startPosition: StartPosition;
  /**
   * Messages per invocation (1..10, the limit of a FIFO queue mapping).
   * @default 10
   */
  readonly batchSize?: number;
}

/**
 * A consumer that applies each aggregate's events in order: a high-throughput FIFO queue
 * (message group = aggregate) that the relay publishes to, with a FIFO dead-letter queue,
 * consumed by a function on the consumer kit, which applies event n only after n - 1.
 *
 * Registering with the relay is part of construction, so adding an ordered consumer needs
 * no change to the relay.
 *
 * @example
 * new OrderedConsumer(this, 'OrderProjection', {
 *   relay, consumerName: 'order-projection', startPosition: 'earliest', idempotencyTable, table,
 * });
 */
export class OrderedConsumer extends Construct {
  /** FIFO queue the relay sends to. */
  readonly queue: Queue;
  /** FIFO queue receiving messages that failed `maxReceiveCount` times, or that the kit gave up. */
  readonly deadLetterQueue: Queue;
  /** The consumer function. */
  readonly function: ConsumerFunction;

  constructor(scope: Construct, id: string, props: OrderedConsumerProps) {
    super(scope, id);
    const batchSize = props.batchSize ?? 10;
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
      kind: 'ordered',
      queue: this.queue,
      deadLetterQueue: this.deadLetterQueue,
      batchSize,
    });
    props.relay.addOrderedQueue(this.queue);
    props.monitor?.monitorDeadLetterQueue(this.deadLetterQueue, `${props.consumerName} dead-letter queue`);
  }
}

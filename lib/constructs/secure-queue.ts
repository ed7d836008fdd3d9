import { Duration, Names, Stack, Validations } from 'aws-cdk-lib';
import {
  DeduplicationScope,
  FifoThroughputLimit,
  Queue,
  QueueEncryption,
  type QueueProps,
  RedrivePermission,
} from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { RETENTION_DEFAULTS } from '../../contract/retention';
import { validateIntegerInRange } from './errors';

/** Retention of every queue that holds failed messages: the SQS maximum, to leave time for a redrive. */
export const DEAD_LETTER_RETENTION = Duration.days(RETENTION_DEFAULTS.deadLetterRetentionDays);

/** Receives before SQS moves a message to the dead-letter queue, unless a construct says otherwise. */
export const DEFAULT_MAX_RECEIVE_COUNT = 5;

function baseQueueProps(fifo: boolean): QueueProps {
  return {
    enforceSSL: true,
    // SSE-SQS, not KMS_MANAGED: the AWS managed key aws/sqs has a key policy nobody can
    // edit, so EventBridge rule targets (and other service principals) could not
    // encrypt messages into the queue, and a customer managed key would need a key
    // policy and a grant for every producer and consumer. SSE-SQS encrypts at rest
    // with no key to administer and no per-request KMS cost.
    encryption: QueueEncryption.SQS_MANAGED,
    ...(fifo
      ? {
          fifo: true,
          // High-throughput FIFO: the throughput limit and deduplication apply per message
          // group (one aggregate), which is the only scope whose order the pipeline promises.
          fifoThroughputLimit: FifoThroughputLimit.PER_MESSAGE_GROUP_ID,
          deduplicationScope: DeduplicationScope.MESSAGE_GROUP,
        }
      : {}),
  };
}

/** Options of {@link createFailureQueue}. */
export interface FailureQueueProps {
  /**
   * Make it a FIFO queue (with the high-throughput settings).
   * @default false
   */
  readonly fifo?: boolean;
  /**
   * What sends failures to this queue, e.g. 'the EventBridge rule target's dead-letter queue';
   * recorded as the reason why the queue has no dead-letter queue of its own.
   */
  readonly usedAs: string;
}

/**
 * A queue at the end of a failure path that is not an SQS redrive target (the relay's failure
 * queue, an EventBridge target dead-letter queue): encrypted, SSL only, 14-day retention. Such a
 * queue is itself the dead-letter queue, so it has none.
 */
export function createFailureQueue(scope: Construct, id: string, props: FailureQueueProps): Queue {
  const queue = new Queue(scope, id, {
    ...baseQueueProps(props.fifo ?? false),
    retentionPeriod: DEAD_LETTER_RETENTION,
  });
  Validations.of(queue).acknowledge({
    id: 'AwsSolutions-SQS3',
    reason: `This queue is a dead-letter queue by role (${props.usedAs}); cdk-nag only recognises redrive targets.`,
  });
  return queue;
}

/** Props of {@link SecureQueue}. */
export interface SecureQueueProps {
  /**
   * Make both queues FIFO, with high-throughput settings (limits and deduplication per message group).
   * @default false
   */
  readonly fifo?: boolean;
  /**
   * Receives of a message before SQS moves it to the dead-letter queue (1..1000).
   * @default 5
   */
  readonly maxReceiveCount?: number;
  /**
   * Visibility timeout of the main queue; for a Lambda source, at least 6 x the function timeout.
   * @default Duration.seconds(30)
   */
  readonly visibilityTimeout?: Duration;
}

/**
 * An encrypted, SSL-only queue with a dead-letter queue and redrive policy; the dead-letter
 * queue's redrive-allow policy admits only this queue as its source.
 *
 * The main queue keeps the SQS default retention (4 days) while the dead-letter queue keeps
 * 14: a standard queue's message keeps its original enqueue time when it moves to the
 * dead-letter queue, so the latter must retain longer or redriven messages expire early.
 *
 * The main queue has a name (derived from the stack and the construct path): the dead-letter
 * queue's redrive-allow policy must name its ARN, and taking it from the queue itself would make
 * each queue depend on the other.
 *
 * @example
 * const { queue, deadLetterQueue } = new SecureQueue(this, 'Queue', { fifo: true, maxReceiveCount: 5 });
 */
export class SecureQueue extends Construct {
  /** Queue the consumer reads. */
  readonly queue: Queue;
  /** Where messages go after `maxReceiveCount` failed receives. */
  readonly deadLetterQueue: Queue;

  constructor(scope: Construct, id: string, props: SecureQueueProps = {}) {
    super(scope, id);
    const fifo = props.fifo ?? false;
    const maxReceiveCount = props.maxReceiveCount ?? DEFAULT_MAX_RECEIVE_COUNT;
    validateIntegerInRange('maxReceiveCount', maxReceiveCount, 1, 1000);
    const stack = Stack.of(this);
    // SQS names: 80 characters, letters, digits, '-' and '_', '.fifo' included for FIFO queues.
    const queueName = `${Names.uniqueResourceName(this, { maxLength: fifo ? 75 : 80, separator: '-' })}${fifo ? '.fifo' : ''}`;
    const source = Queue.fromQueueAttributes(this, 'SourceQueue', {
      queueArn: stack.formatArn({ service: 'sqs', resource: queueName }),
      fifo,
    });

    this.deadLetterQueue = new Queue(this, 'DeadLetterQueue', {
      ...baseQueueProps(fifo),
      retentionPeriod: DEAD_LETTER_RETENTION,
      redriveAllowPolicy: { redrivePermission: RedrivePermission.BY_QUEUE, sourceQueues: [source] },
    });
    this.queue = new Queue(this, 'Queue', {
      ...baseQueueProps(fifo),
      queueName,
      visibilityTimeout: props.visibilityTimeout,
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount },
    });
  }
}

import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import { EventBus, Match } from 'aws-cdk-lib/aws-events';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import { validateIntegerInRange } from './constructs/errors';
import { EventConsumer } from './constructs/event-consumer';
import { OrderApi } from './constructs/order-api';
import { OrderedConsumer } from './constructs/ordered-consumer';
import { OutboxRelay } from './constructs/outbox-relay';
import { OutboxSweeper } from './constructs/outbox-sweeper';
import { IdempotencyTable, OutboxTable } from './constructs/outbox-table';
import { PipelineObservability } from './constructs/pipeline-observability';
import { STACK_OUTPUTS } from './stack-outputs';

export { STACK_OUTPUTS } from './stack-outputs';

/** Props of {@link OutboxPipelineStack}. */
export interface OutboxPipelineStackProps extends StackProps {
  /**
   * What happens to tables and log groups when they leave the stack; use DESTROY for
   * throw-away test stacks.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * How long an outbox item lives before DynamoDB TTL deletes it (whole days, 1..365); also the
   * lifetime of consumers' idempotency records, since an event may be republished while its
   * outbox item exists.
   * @default Duration.days(7)
   */
  readonly outboxRetention?: Duration;
  /**
   * CloudEvents `source` of the events the producer writes; the archive and the example
   * event consumer match on it.
   * @default 'com.example.orders'
   */
  readonly eventSource?: string;
  /**
   * Receives of a message on an ordered consumer's FIFO queue before it goes to the
   * dead-letter queue (1..1000).
   * @default 5
   */
  readonly fifoMaxReceiveCount?: number;
  /**
   * Retention of every function's log group.
   * @default RetentionDays.ONE_MONTH
   */
  readonly logRetention?: RetentionDays;
  /**
   * Topic every alarm of the pipeline notifies (on ALARM and OK); subscribe the on-call rotation to it.
   * @default - a new KMS-encrypted topic that only accepts TLS requests (output `AlarmTopicArn`)
   */
  readonly alarmTopic?: ITopic;
}

/**
 * The transactional outbox pipeline: producer API → table (business state and outbox in one
 * transaction) → stream → relay → EventBridge bus and one FIFO queue per ordered consumer →
 * idempotent consumers, each with a dead-letter queue; alarms and a dashboard watch it.
 */
export class OutboxPipelineStack extends Stack {
  constructor(scope: Construct, id: string, props: OutboxPipelineStackProps = {}) {
    super(scope, id, props);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const outboxRetention = props.outboxRetention ?? Duration.days(7);
    const eventSource = props.eventSource ?? 'com.example.orders';
    const fifoMaxReceiveCount = props.fifoMaxReceiveCount ?? 5;
    validateIntegerInRange('fifoMaxReceiveCount', fifoMaxReceiveCount, 1, 1000);
    // Created first: every construct below registers its functions and dead-letter queues with
    // it through `monitor`, so alarms follow the constructs with no list to keep in sync here.
    const observability = new PipelineObservability(this, 'Observability', {
      alarmTopic: props.alarmTopic,
      removalPolicy,
    });
    const functionOptions = {
      logRetention: props.logRetention ?? RetentionDays.ONE_MONTH,
      removalPolicy,
      monitor: observability,
    };

    const { table } = new OutboxTable(this, 'OutboxTable', { removalPolicy });
    const { table: idempotencyTable } = new IdempotencyTable(this, 'IdempotencyTable', { removalPolicy });

    const eventBus = new EventBus(this, 'EventBus', { description: 'Events published from the outbox' });
    // Lets an operator replay the pipeline's events after fixing a consumer.
    const archive = eventBus.archive('EventArchive', {
      description: `Events from ${eventSource}`,
      eventPattern: { source: [eventSource] },
      retention: Duration.days(30),
    });

    const orderApi = new OrderApi(this, 'OrderApi', {
      ...functionOptions,
      table,
      eventSource,
      outboxRetention,
    });
    const relay = new OutboxRelay(this, 'Relay', { ...functionOptions, table, eventBus });
    // Re-publishes what the stream missed and reports the oldest unpublished event for its alarm.
    const sweeper = new OutboxSweeper(this, 'Sweeper', { ...functionOptions, table, relay });

    const consumerOptions = {
      ...functionOptions,
      idempotencyTable,
      table,
      idempotencyTtl: outboxRetention,
    };
    const orderProjection = new OrderedConsumer(this, 'OrderProjection', {
      ...consumerOptions,
      relay,
      entry: 'consumers/order-projection',
      maxReceiveCount: fifoMaxReceiveCount,
    });
    const orderActivity = new EventConsumer(this, 'OrderActivity', {
      ...consumerOptions,
      eventBus,
      eventPattern: { source: [eventSource], detailType: Match.prefix('Order') },
      entry: 'consumers/order-activity',
    });

    const outputs: Record<keyof typeof STACK_OUTPUTS, string> = {
      tableName: table.tableName,
      idempotencyTableName: idempotencyTable.tableName,
      eventBusName: eventBus.eventBusName,
      eventArchiveName: archive.archiveName,
      relayFunctionName: relay.function.functionName,
      relayFailureQueueUrl: relay.failureQueue.queueUrl,
      sweeperFunctionName: sweeper.function.functionName,
      orderApiFunctionName: orderApi.function.functionName,
      orderApiUrl: orderApi.url.url,
      orderProjectionQueueUrl: orderProjection.queue.queueUrl,
      orderProjectionDeadLetterQueueUrl: orderProjection.deadLetterQueue.queueUrl,
      orderProjectionFunctionName: orderProjection.function.functionName,
      orderActivityQueueUrl: orderActivity.queue.queueUrl,
      orderActivityDeadLetterQueueUrl: orderActivity.deadLetterQueue.queueUrl,
      orderActivityTargetDeadLetterQueueUrl: orderActivity.targetDeadLetterQueue.queueUrl,
      orderActivityFunctionName: orderActivity.function.functionName,
      alarmTopicArn: observability.alarmTopic.topicArn,
      dashboardName: observability.dashboard.dashboardName,
    };
    for (const [key, value] of Object.entries(outputs)) {
      new CfnOutput(this, STACK_OUTPUTS[key as keyof typeof STACK_OUTPUTS], { value });
    }
  }
}

import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import { EventBus, Match } from 'aws-cdk-lib/aws-events';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import { ConstructPropsError, validateIntegerInRange } from './constructs/errors';
import { EventConsumer } from './constructs/event-consumer';
import { OrderApi } from './constructs/order-api';
import { OrderedConsumer, type OrderedConsumerProps } from './constructs/ordered-consumer';
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
  private consumerDefaults!: Omit<OrderedConsumerProps, 'relay' | 'entry'>;
  private relay!: OutboxRelay;
  private eventBus!: EventBus;
  private eventSource!: string;
  private fifoMaxReceiveCount!: number;

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

    this.consumerDefaults = {
      ...functionOptions,
      idempotencyTable,
      table,
      idempotencyTtl: outboxRetention,
    };
    this.fifoMaxReceiveCount = fifoMaxReceiveCount;
    this.relay = relay;
    this.eventBus = eventBus;
    this.eventSource = eventSource;

    // Consumers: one line each. `npm run new:consumer` adds its line above the marker.
    this.addOrderedConsumer('OrderProjection', { entry: 'consumers/order-projection' });
    this.addEventConsumer('OrderActivity', { entry: 'consumers/order-activity', detailTypePrefix: 'Order' });
    // new:consumer inserts above this line

    const outputs: Partial<Record<keyof typeof STACK_OUTPUTS, string>> = {
      tableName: table.tableName,
      idempotencyTableName: idempotencyTable.tableName,
      eventBusName: eventBus.eventBusName,
      eventArchiveName: archive.archiveName,
      relayFunctionName: relay.function.functionName,
      relayFailureQueueUrl: relay.failureQueue.queueUrl,
      sweeperFunctionName: sweeper.function.functionName,
      orderApiFunctionName: orderApi.function.functionName,
      orderApiUrl: orderApi.url.url,
      alarmTopicArn: observability.alarmTopic.topicArn,
      dashboardName: observability.dashboard.dashboardName,
    };
    for (const [key, value] of Object.entries(outputs)) {
      new CfnOutput(this, STACK_OUTPUTS[key as keyof typeof STACK_OUTPUTS], { value });
    }
  }

  /**
   * Registers an ordered consumer: its own FIFO queue (which the relay then publishes
   * every event to, in per-aggregate order), a FIFO DLQ and the function at `entry`.
   * Outputs `<id>QueueUrl`, `<id>DeadLetterQueueUrl` and `<id>FunctionName`.
   *
   * @example this.addOrderedConsumer('ShippingProjection', { entry: 'consumers/shipping-projection' });
   */
  addOrderedConsumer(id: string, options: AddConsumerOptions): OrderedConsumer {
    const consumer = new OrderedConsumer(this, id, {
      ...this.consumerDefaults,
      ...options,
      relay: this.relay,
    });
    this.consumerOutputs(id, consumer);
    return consumer;
  }

  /**
   * Registers an unordered consumer fed by an EventBridge rule on the stack's source:
   * the event types in `detailTypes`, those starting with `detailTypePrefix`, or every
   * event of the source when neither is given. Outputs as `addOrderedConsumer`, plus
   * `<id>TargetDeadLetterQueueUrl`.
   *
   * @example this.addEventConsumer('CustomerEmails', { entry: 'consumers/customer-emails', detailTypes: ['OrderPlaced'] });
   */
  addEventConsumer(id: string, options: AddEventConsumerOptions): EventConsumer {
    const { detailTypes, detailTypePrefix, ...rest } = options;
    if (detailTypes !== undefined && detailTypePrefix !== undefined) {
      throw new ConstructPropsError(
        `${id}: give detailTypes or detailTypePrefix, not both (given ${JSON.stringify(options)})`,
      );
    }
    if (detailTypes !== undefined && detailTypes.length === 0) {
      throw new ConstructPropsError(`${id}: detailTypes must name at least one event type (given [])`);
    }
    const detailType =
      detailTypes ?? (detailTypePrefix !== undefined ? Match.prefix(detailTypePrefix) : undefined);
    const consumer = new EventConsumer(this, id, {
      ...this.consumerDefaults,
      ...rest,
      eventBus: this.eventBus,
      eventPattern: { source: [this.eventSource], ...(detailType ? { detailType } : {}) },
    });
    this.consumerOutputs(id, consumer);
    new CfnOutput(this, `${id}TargetDeadLetterQueueUrl`, { value: consumer.targetDeadLetterQueue.queueUrl });
    return consumer;
  }

  private consumerOutputs(id: string, consumer: OrderedConsumer | EventConsumer): void {
    new CfnOutput(this, `${id}QueueUrl`, { value: consumer.queue.queueUrl });
    new CfnOutput(this, `${id}DeadLetterQueueUrl`, { value: consumer.deadLetterQueue.queueUrl });
    new CfnOutput(this, `${id}FunctionName`, { value: consumer.function.functionName });
  }
}

/** Options of {@link OutboxPipelineStack.addOrderedConsumer}. */
export interface AddConsumerOptions {
  /** The handler, as a path under functions/ without extension, e.g. `consumers/order-audit`. */
  readonly entry: string;
  /**
   * Messages per invocation.
   * @default 10
   */
  readonly batchSize?: number;
}

/** Options of {@link OutboxPipelineStack.addEventConsumer}. */
export interface AddEventConsumerOptions extends AddConsumerOptions {
  /**
   * Event types (EventBridge `detail-type`) the rule forwards.
   * @default every event of the stack's source, unless `detailTypePrefix` is given
   */
  readonly detailTypes?: string[];
  /**
   * Forward event types that start with this prefix.
   * @default no prefix filter
   */
  readonly detailTypePrefix?: string;
}

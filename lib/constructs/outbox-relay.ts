import { Duration, Lazy, Stack, Validations } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { IEventBus } from 'aws-cdk-lib/aws-events';
import { Grant } from 'aws-cdk-lib/aws-iam';
import { FilterCriteria, FilterRule, StartingPosition } from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { IQueue, Queue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ENV } from '../../contract/env';
import { ENTITY_TYPES, RELAY_ITEMS } from '../../contract/keys';
import { SERVICES } from '../../contract/metrics';
import { ConstructPropsError, validateDurationInRange, validateIntegerInRange } from './errors';
import type { FailureBucket } from './failure-bucket';
import { grantItems } from './outbox-table';
import { PipelineFunction, type PipelineFunctionOptions } from './pipeline-function';
import type { MonitoringOptions } from './pipeline-observability';
import { createFailureQueue } from './secure-queue';

/** Props of {@link OutboxRelay}. */
export interface OutboxRelayProps extends PipelineFunctionOptions, MonitoringOptions {
  /** Table holding the outbox items; must have a stream with new images. */
  readonly table: ITable;
  /** Bus every event is published to. */
  readonly eventBus: IEventBus;
  /** Where the stream mapping puts the batches it discards, records included (the sweeper re-publishes them). */
  readonly failureBucket: FailureBucket;
  /**
   * Most stream records per invocation (1..10000).
   * @default 100
   */
  readonly batchSize?: number;
  /**
   * How long Lambda gathers records before invoking (0..300 s).
   *
   * Zero keeps publication latency at one poll (about 250 ms): the relay sends to EventBridge
   * and SQS in chunks of 10 (the PutEvents and SendMessageBatch limits), so waiting for larger
   * batches would save invocations but no downstream calls, and under load batches fill anyway
   * because a shard's batches run one after the other.
   * @default Duration.seconds(0)
   */
  readonly maxBatchingWindow?: Duration;
  /**
   * Retries of a failed batch before its records go to the failure queue (0..10000).
   *
   * Bisection halves a failing batch on every retry, so 7 retries isolate one bad record in a
   * batch of 100; 10 leaves a few retries for the record itself.
   * @default 10
   */
  readonly retryAttempts?: number;
  /**
   * Age after which a record still failing goes to the failure bucket instead of being retried
   * (60 s..7 days). The bucket keeps the records, and the sweeper re-publishes them within minutes;
   * six hours rides out a downstream outage or a rolled-back deploy without blocking the shard longer.
   * @default Duration.hours(6)
   */
  readonly maxRecordAge?: Duration;
  /**
   * Concurrent batches per shard (1..10).
   *
   * Above 1, Lambda processes a shard's batches concurrently and keeps order only per item
   * key; the relay's cursor writes and gap fill assume one batch per shard in flight, and events
   * of one aggregate must leave in the order they were written.
   * @default 1
   */
  readonly parallelizationFactor?: number;
}

/**
 * Publishes outbox events from the table's stream to the event bus and to every registered
 * ordered (FIFO) queue.
 *
 * The stream mapping delivers state items (which announce what their transaction committed),
 * outbox items (the payloads) and the sweeper's probe; it reports partial batch failures,
 * bisects failing batches and puts batches that exhaust their retries in the failure bucket,
 * records included. What the relay cannot publish goes to its failure queue with a reason. Given
 * a `monitor`, the relay registers its function and failure queue for alarms.
 *
 * @example
 * const relay = new OutboxRelay(this, 'Relay', { table, eventBus });
 * relay.addOrderedQueue(fifoQueue); // also possible after consumers were created
 */
export class OutboxRelay extends Construct {
  /** The relay function. */
  readonly function: PipelineFunction;
  /** What the relay cannot publish (malformed, refused for good, recovery given up), with the reason. */
  readonly failureQueue: Queue;
  /** Batches the stream mapping discarded, with their records. */
  readonly failureBucket: FailureBucket;
  private readonly table: ITable;
  private readonly eventBus: IEventBus;
  private readonly orderedQueues: IQueue[] = [];
  private readonly publishers: PipelineFunction[] = [];

  constructor(scope: Construct, id: string, props: OutboxRelayProps) {
    super(scope, id);
    this.table = props.table;
    this.eventBus = props.eventBus;
    this.failureBucket = props.failureBucket;
    const batchSize = props.batchSize ?? 100;
    const maxBatchingWindow = props.maxBatchingWindow ?? Duration.seconds(0);
    const retryAttempts = props.retryAttempts ?? 10;
    const maxRecordAge = props.maxRecordAge ?? Duration.hours(6);
    const parallelizationFactor = props.parallelizationFactor ?? 1;
    validateIntegerInRange('batchSize', batchSize, 1, 10_000);
    validateDurationInRange(
      'maxBatchingWindow',
      maxBatchingWindow,
      Duration.seconds(0),
      Duration.seconds(300),
    );
    validateIntegerInRange('retryAttempts', retryAttempts, 0, 10_000);
    validateDurationInRange('maxRecordAge', maxRecordAge, Duration.seconds(60), Duration.days(7));
    validateIntegerInRange('parallelizationFactor', parallelizationFactor, 1, 10);
    if (props.table.tableStreamArn === undefined) {
      throw new ConstructPropsError(
        `table must have a DynamoDB stream with new images (given ${props.table.node.path}, which has none)`,
      );
    }

    this.failureQueue = createFailureQueue(this, 'FailureQueue', {
      usedAs: 'where the relay and the sweeper put the events they cannot publish, with the reason',
    });

    this.function = new PipelineFunction(this, 'Function', {
      entry: 'relay/handler',
      serviceName: SERVICES.relay,
      description: 'Publishes outbox events from the table stream to EventBridge and the ordered FIFO queues',
      timeout: props.timeout,
      memorySize: props.memorySize,
      logRetention: props.logRetention,
      removalPolicy: props.removalPolicy,
    });

    this.bindPublisher(this.function);

    this.function.addEventSource(
      new DynamoEventSource(props.table, {
        startingPosition: StartingPosition.TRIM_HORIZON,
        batchSize,
        maxBatchingWindow,
        retryAttempts,
        maxRecordAge,
        parallelizationFactor,
        bisectBatchOnError: true,
        reportBatchItemFailures: true,
        onFailure: props.failureBucket.onFailureDestination(),
        filters: [
          // State items announce what a transaction committed; outbox items carry the payloads.
          FilterCriteria.filter({
            eventName: FilterRule.or('INSERT', 'MODIFY'),
            dynamodb: {
              NewImage: { entityType: { S: FilterRule.or(ENTITY_TYPES.aggregate, ENTITY_TYPES.outbox) } },
            },
          }),
          // The sweeper's probe: reading it is the relay's heartbeat.
          FilterCriteria.filter({
            dynamodb: { Keys: { pk: { S: FilterRule.isEqual(RELAY_ITEMS.probePk) } } },
          }),
        ],
      }),
    );
    props.monitor?.monitorRelay({ function: this.function, serviceName: SERVICES.relay, maxRecordAge });
    props.monitor?.monitorDeadLetterQueue(this.failureQueue, 'relay failure queue');
    if (this.function.role !== undefined) {
      Validations.of(this.function.role).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'The stream mapping needs dynamodb:ListStreams, which supports no resource-level permissions; reading the stream itself is granted on the stream ARN only.',
      });
    }
  }

  /**
   * Registers a FIFO queue that receives every event, grouped by aggregate, and lets the relay send to it.
   *
   * @param queue - a FIFO queue; an imported queue whose ARN is a token must be imported with `fifo: true`
   * @throws ConstructPropsError if the queue is not FIFO or is already registered
   */
  addOrderedQueue(queue: IQueue): void {
    if (!queue.fifo) {
      throw new ConstructPropsError(
        `ordered queues must be FIFO queues (given ${queue.node.path}, which is not)`,
      );
    }
    if (this.orderedQueues.includes(queue)) {
      throw new ConstructPropsError(`ordered queue is already registered (given ${queue.node.path})`);
    }
    this.orderedQueues.push(queue);
    for (const publisher of this.publishers) grantSend(publisher, queue);
  }

  /**
   * Lets another function run the relay core (the sweeper does, to re-publish what the stream
   * missed): the relay's environment and the relay's grants, including on ordered queues
   * registered later.
   *
   * @throws ConstructPropsError if the function is already bound
   */
  bindPublisher(fn: PipelineFunction): void {
    if (this.publishers.includes(fn)) {
      throw new ConstructPropsError(`function is already bound to the relay (given ${fn.node.path})`);
    }
    this.publishers.push(fn);
    fn.addEnvironment(ENV.tableName, this.table.tableName);
    fn.addEnvironment(ENV.eventBusName, this.eventBus.eventBusName);
    fn.addEnvironment(ENV.relayFailureQueueUrl, this.failureQueue.queueUrl);
    // Resolved at synth, so ordered consumers created after the relay are included.
    fn.addEnvironment(
      ENV.orderedQueueUrls,
      Lazy.string({
        produce: () => Stack.of(this).toJsonString(this.orderedQueues.map((queue) => queue.queueUrl)),
      }),
    );
    // Outbox items a batch does not carry are read with a Query of their aggregate; the only item
    // the relay core writes is its heartbeat. Table only: no index, no scan, no other key.
    grantItems(this.table, fn, { actions: ['dynamodb:Query'] });
    grantItems(this.table, fn, {
      actions: ['dynamodb:UpdateItem'],
      leadingKeys: [RELAY_ITEMS.heartbeatPk],
    });
    this.eventBus.grantPutEventsTo(fn);
    grantSend(fn, this.failureQueue);
    for (const queue of this.orderedQueues) grantSend(fn, queue);
  }
}

/** SendMessage (and SendMessageBatch, which IAM authorizes as SendMessage) only. */
function grantSend(fn: PipelineFunction, queue: IQueue): void {
  Grant.addToPrincipal({ grantee: fn, actions: ['sqs:SendMessage'], resourceArns: [queue.queueArn] });
}

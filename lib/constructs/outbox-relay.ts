import { Duration, Lazy, Stack, Validations } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { IEventBus } from 'aws-cdk-lib/aws-events';
import { FilterCriteria, FilterRule, StartingPosition } from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource, SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { IQueue, Queue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ENV } from '../../functions/shared/env-names';
import { OUTBOX_ENTITY_TYPE } from '../../functions/shared/outbox-item';
import { ConstructPropsError, validateDurationInRange, validateIntegerInRange } from './errors';
import { grantOnTableOnly } from './outbox-table';
import { PipelineFunction, type PipelineFunctionOptions } from './pipeline-function';
import type { MonitoringOptions } from './pipeline-observability';
import { createFailureQueue } from './secure-queue';

/** Powertools service name of the relay: the `service` dimension of its metrics and the `service` key of its logs. */
export const RELAY_SERVICE_NAME = 'outbox-relay';

/** Props of {@link OutboxRelay}. */
export interface OutboxRelayProps extends PipelineFunctionOptions, MonitoringOptions {
  /** Table holding the outbox items; must have a stream with new images. */
  readonly table: ITable;
  /** Bus every event is published to. */
  readonly eventBus: IEventBus;
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
   * Age after which a record still failing goes to the failure queue instead of being retried (60 s..7 days).
   *
   * The failure queue receives only the shard and sequence-number range, not the records; reading
   * them back needs them to still be in the stream, which keeps records for 24 hours. Six hours
   * rides out a downstream outage or a rolled-back deploy and still leaves 18 hours to act.
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
 * Publishes outbox items from the table's stream to the event bus and to every registered
 * ordered (FIFO) queue.
 *
 * The stream mapping delivers only inserted outbox items (`entityType = 'OUTBOX'`), reports
 * partial batch failures, bisects failing batches and sends records that exhaust their retries
 * to a failure queue, which the relay function also uses for malformed records. Given a
 * `monitor`, the relay registers its function and failure queue for alarms.
 *
 * @example
 * const relay = new OutboxRelay(this, 'Relay', { table, eventBus });
 * relay.addOrderedQueue(fifoQueue); // also possible after consumers were created
 */
export class OutboxRelay extends Construct {
  /** The relay function. */
  readonly function: PipelineFunction;
  /** Failed stream batches (mapping on-failure destination) and malformed records (sent by the relay). */
  readonly failureQueue: Queue;
  private readonly table: ITable;
  private readonly eventBus: IEventBus;
  private readonly orderedQueues: IQueue[] = [];
  private readonly publishers: PipelineFunction[] = [];

  constructor(scope: Construct, id: string, props: OutboxRelayProps) {
    super(scope, id);
    this.table = props.table;
    this.eventBus = props.eventBus;
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
      usedAs: 'on-failure destination of the outbox stream mapping and target for malformed outbox records',
    });

    this.function = new PipelineFunction(this, 'Function', {
      entry: 'relay/handler',
      serviceName: RELAY_SERVICE_NAME,
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
        onFailure: new SqsDlq(this.failureQueue),
        filters: [
          FilterCriteria.filter({
            eventName: FilterRule.isEqual('INSERT'),
            dynamodb: { NewImage: { entityType: { S: FilterRule.isEqual(OUTBOX_ENTITY_TYPE) } } },
          }),
        ],
      }),
    );
    props.monitor?.monitorRelay({ function: this.function, serviceName: RELAY_SERVICE_NAME, maxRecordAge });
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
    for (const publisher of this.publishers) queue.grantSendMessages(publisher);
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
    // Cursor reads (BatchGetItem), gap fill (Query on the table), cursor writes and clearing an
    // outbox item's pending marks (UpdateItem). Table only: the relay core reads no index, and it
    // never creates, deletes or scans items.
    grantOnTableOnly(this.table, fn, 'dynamodb:BatchGetItem', 'dynamodb:Query', 'dynamodb:UpdateItem');
    this.eventBus.grantPutEventsTo(fn);
    this.failureQueue.grantSendMessages(fn);
    for (const queue of this.orderedQueues) queue.grantSendMessages(fn);
  }
}

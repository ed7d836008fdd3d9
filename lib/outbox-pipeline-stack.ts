import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { type Archive, type CfnArchive, EventBus, Match } from 'aws-cdk-lib/aws-events';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import { consumerConstructId } from '../contract/consumer-name';
import { CONSUMERS, type ConsumerDeclaration } from '../contract/consumers';
import { RETENTION_DEFAULTS, replayReachProblems } from '../contract/retention';
import { type ConsumerOutput, consumerOutputKey, STACK_OUTPUTS } from '../contract/stack-outputs';
import { validateConsumerName } from './constructs/consumer-function';
import { ConstructPropsError, validateDurationInRange, validateIntegerInRange } from './constructs/errors';
import { FailureBucket } from './constructs/failure-bucket';
import { OrderApi } from './constructs/order-api';
import { OrderedConsumer } from './constructs/ordered-consumer';
import { OutboxRelay } from './constructs/outbox-relay';
import { OutboxSweeper } from './constructs/outbox-sweeper';
import { IdempotencyTable, OutboxTable } from './constructs/outbox-table';
import type { PipelineFunctionOptions } from './constructs/pipeline-function';
import { PipelineObservability } from './constructs/pipeline-observability';
import { UnorderedConsumer } from './constructs/unordered-consumer';

/** Props of {@link OutboxPipelineStack}. */
export interface OutboxPipelineStackProps extends StackProps {
  /**
   * What happens to tables, the failure bucket and log groups when they leave the stack; use
   * DESTROY for throw-away test stacks.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * How long an outbox item lives before DynamoDB TTL deletes it (whole days, 1..365): how far
   * back `replay` and `backfill` reach. At most `consumerMemory`.
   * @default Duration.days(7)
   */
  readonly outboxRetention?: Duration;
  /**
   * How long consumers remember an event they applied (their idempotency records and effect
   * markers; ordered consumers' checkpoints never expire), 14..365 days. Every replay source
   * (outbox, archive, dead-letter queues, failure bucket) is bounded by it, so that no replay
   * applies an event twice: a prop that would reach further is refused.
   * @default Duration.days(14)
   */
  readonly consumerMemory?: Duration;
  /**
   * How long the EventBridge archive keeps events for `archive-replay` (1..365 days). At most `consumerMemory`.
   * @default Duration.days(14)
   */
  readonly archiveRetention?: Duration;
  /**
   * CloudEvents `source` of the events the producer writes; the archive and the unordered
   * consumers' rules match on it.
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
  /**
   * The consumers to deploy.
   * @default the registry, contract/consumers.ts
   */
  readonly consumers?: ReadonlyArray<ConsumerDeclaration>;
}

/** What every consumer construct is given by the stack. */
interface ConsumerContext extends PipelineFunctionOptions {
  readonly table: ITable;
  readonly idempotencyTable: ITable;
  readonly consumerMemory: Duration;
  readonly relay: OutboxRelay;
  readonly eventBus: EventBus;
  readonly eventSource: string;
  readonly fifoMaxReceiveCount: number;
  readonly monitor: PipelineObservability;
}

/**
 * The transactional outbox pipeline: producer API → table (business state and outbox in one
 * transaction) → stream → relay → EventBridge bus and one FIFO queue per ordered consumer →
 * idempotent consumers, each with a dead-letter queue; a sweeper that recovers what the stream
 * missed; alarms and a dashboard. Consumers come from the registry (contract/consumers.ts).
 */
export class OutboxPipelineStack extends Stack {
  constructor(scope: Construct, id: string, props: OutboxPipelineStackProps = {}) {
    super(scope, id, props);
    const settings = pipelineSettings(props);
    const { removalPolicy, eventSource } = settings;
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
    const failureBucket = new FailureBucket(this, 'FailureBucket', {
      removalPolicy,
      retention: Duration.days(RETENTION_DEFAULTS.failureBucketRetentionDays),
    });
    const { eventBus, archive } = this.addEventBus(eventSource, settings.archiveRetention);

    const orderApi = new OrderApi(this, 'OrderApi', {
      ...functionOptions,
      table,
      eventSource,
      outboxRetention: settings.outboxRetention,
    });
    const relay = new OutboxRelay(this, 'Relay', { ...functionOptions, table, eventBus, failureBucket });
    const sweeper = new OutboxSweeper(this, 'Sweeper', { ...functionOptions, table, relay });

    const context: ConsumerContext = {
      ...functionOptions,
      table,
      idempotencyTable,
      consumerMemory: settings.consumerMemory,
      relay,
      eventBus,
      eventSource,
      fifoMaxReceiveCount: settings.fifoMaxReceiveCount,
    };
    const consumers = props.consumers ?? CONSUMERS;
    validateRegistry(consumers);
    for (const declaration of consumers) this.addConsumer(declaration, context);

    this.addOutputs({
      tableName: table.tableName,
      idempotencyTableName: idempotencyTable.tableName,
      eventBusName: eventBus.eventBusName,
      eventArchiveName: archive.archiveName,
      relayFunctionName: relay.function.functionName,
      relayFailureQueueUrl: relay.failureQueue.queueUrl,
      failureBucketName: failureBucket.bucket.bucketName,
      sweeperFunctionName: sweeper.function.functionName,
      orderApiFunctionName: orderApi.function.functionName,
      orderApiUrl: orderApi.url.url,
      alarmTopicArn: observability.alarmTopic.topicArn,
      dashboardName: observability.dashboard.dashboardName,
    });
  }

  /** The bus the relay publishes to, and its archive of the producer's events for `archive-replay`. */
  private addEventBus(
    eventSource: string,
    archiveRetention: Duration,
  ): { eventBus: EventBus; archive: Archive } {
    const eventBus = new EventBus(this, 'EventBus', { description: 'Events published from the outbox' });
    // Lets an operator replay the pipeline's events after fixing a consumer.
    const archive = eventBus.archive('EventArchive', {
      description: `Events from ${eventSource}`,
      eventPattern: { source: [eventSource] },
      retention: archiveRetention,
    });
    // aws-cdk#37847: the archive is synthesized with KmsKeyIdentifier "" (not a valid key), which
    // some regions refuse. Without the property, the archive uses an AWS owned key.
    (archive.node.defaultChild as CfnArchive).addPropertyDeletionOverride('KmsKeyIdentifier');
    return { eventBus, archive };
  }

  /** One stack output per entry of {@link STACK_OUTPUTS}: what the operator CLI and the tests read. */
  private addOutputs(outputs: Record<keyof typeof STACK_OUTPUTS, string>): void {
    for (const [key, value] of Object.entries(outputs)) {
      new CfnOutput(this, STACK_OUTPUTS[key as keyof typeof STACK_OUTPUTS], { value });
    }
  }

  /** Deploys one registry entry: its queue(s), function, alarms and outputs. */
  private addConsumer(declaration: ConsumerDeclaration, context: ConsumerContext): void {
    const id = consumerConstructId(declaration.name);
    const common = {
      logRetention: context.logRetention,
      removalPolicy: context.removalPolicy,
      monitor: context.monitor,
      consumerName: declaration.name,
      table: context.table,
      idempotencyTable: context.idempotencyTable,
      consumerMemory: context.consumerMemory,
      batchSize: declaration.batchSize,
      maxConcurrency: declaration.maxConcurrency,
    };
    const output = (what: ConsumerOutput, value: string) =>
      new CfnOutput(this, consumerOutputKey(declaration.name, what), { value });
    if (declaration.kind === 'ordered') {
      const consumer = new OrderedConsumer(this, id, {
        ...common,
        relay: context.relay,
        startPosition: declaration.startPosition,
        maxReceiveCount: context.fifoMaxReceiveCount,
      });
      output('queueUrl', consumer.queue.queueUrl);
      output('deadLetterQueueUrl', consumer.deadLetterQueue.queueUrl);
      output('functionName', consumer.function.functionName);
      return;
    }
    const detailType =
      declaration.eventTypes ??
      (declaration.detailTypePrefix !== undefined ? Match.prefix(declaration.detailTypePrefix) : undefined);
    const consumer = new UnorderedConsumer(this, id, {
      ...common,
      eventBus: context.eventBus,
      eventPattern: {
        source: [context.eventSource],
        ...(detailType ? { detailType: [...(detailType as string[])] } : {}),
      },
    });
    output('queueUrl', consumer.queue.queueUrl);
    output('deadLetterQueueUrl', consumer.deadLetterQueue.queueUrl);
    output('targetDeadLetterQueueUrl', consumer.targetDeadLetterQueue.queueUrl);
    output('functionName', consumer.function.functionName);
  }
}

/** The stack's props with their defaults, validated. */
interface PipelineSettings {
  readonly removalPolicy: RemovalPolicy;
  readonly outboxRetention: Duration;
  readonly consumerMemory: Duration;
  readonly archiveRetention: Duration;
  readonly eventSource: string;
  readonly fifoMaxReceiveCount: number;
}

/** Applies the defaults of the stack's props and refuses values out of range or that break the replay rule. */
function pipelineSettings(props: OutboxPipelineStackProps): PipelineSettings {
  const outboxRetention = props.outboxRetention ?? Duration.days(RETENTION_DEFAULTS.outboxRetentionDays);
  const consumerMemory = props.consumerMemory ?? Duration.days(RETENTION_DEFAULTS.consumerMemoryDays);
  const archiveRetention = props.archiveRetention ?? Duration.days(RETENTION_DEFAULTS.archiveRetentionDays);
  const fifoMaxReceiveCount = props.fifoMaxReceiveCount ?? 5;
  validateIntegerInRange('fifoMaxReceiveCount', fifoMaxReceiveCount, 1, 1000);
  validateDurationInRange('archiveRetention', archiveRetention, Duration.days(1), Duration.days(365));
  // The archive takes whole days; CDK's toDays() would throw an untyped error on a fraction.
  if (!archiveRetention.isUnresolved() && !Number.isInteger(archiveRetention.toDays({ integral: false }))) {
    throw new ConstructPropsError(
      `archiveRetention must be whole days (given ${archiveRetention.toHumanString()})`,
    );
  }
  validateReplayReach(outboxRetention, archiveRetention, consumerMemory);
  return {
    removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    outboxRetention,
    consumerMemory,
    archiveRetention,
    eventSource: props.eventSource ?? 'com.example.orders',
    fifoMaxReceiveCount,
  };
}

/** The one replay rule (contract/retention.ts), for the props of this stack. */
function validateReplayReach(
  outboxRetention: Duration,
  archiveRetention: Duration,
  consumerMemory: Duration,
): void {
  if ([outboxRetention, archiveRetention, consumerMemory].some((d) => d.isUnresolved())) return;
  const problems = replayReachProblems(
    {
      outboxRetentionDays: outboxRetention.toDays({ integral: false }),
      archiveRetentionDays: archiveRetention.toDays({ integral: false }),
      deadLetterRetentionDays: RETENTION_DEFAULTS.deadLetterRetentionDays,
      failureBucketRetentionDays: RETENTION_DEFAULTS.failureBucketRetentionDays,
    },
    consumerMemory.toDays({ integral: false }),
  );
  if (problems.length > 0) throw new ConstructPropsError(problems.join('; '));
}

/** Names valid and unique, and each unordered consumer's events given one way. */
function validateRegistry(consumers: ReadonlyArray<ConsumerDeclaration>): void {
  const seen = new Set<string>();
  for (const consumer of consumers) {
    validateConsumerName(consumer.name);
    if (seen.has(consumer.name)) {
      throw new ConstructPropsError(`consumer ${consumer.name} is declared twice in the registry`);
    }
    seen.add(consumer.name);
    if (
      consumer.kind === 'unordered' &&
      consumer.eventTypes !== undefined &&
      consumer.detailTypePrefix !== undefined
    ) {
      throw new ConstructPropsError(
        `${consumer.name}: give eventTypes or detailTypePrefix, not both (given ${JSON.stringify(consumer)})`,
      );
    }
    if (consumer.kind === 'unordered' && consumer.eventTypes?.length === 0) {
      throw new ConstructPropsError(
        `${consumer.name}: eventTypes must name at least one event type (given [])`,
      );
    }
  }
}

import { Duration, Names, RemovalPolicy, Stack } from 'aws-cdk-lib';
import {
  Alarm,
  type AlarmProps,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  type GraphWidgetProps,
  MathExpression,
  Metric,
  Stats,
  TextWidget,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { type ITopic, Topic } from 'aws-cdk-lib/aws-sns';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct, type IConstruct } from 'constructs';
import { OLDEST_UNPUBLISHED_METRIC } from '../../functions/sweeper/sweeper';
import { ConstructPropsError, validateDurationInRange } from './errors';
import { METRICS_NAMESPACE } from './pipeline-function';

/**
 * Metric the outbox sweeper emits on every run (namespace {@link METRICS_NAMESPACE}, Powertools
 * `service` dimension): the age in seconds of the oldest outbox item still in the pending index,
 * 0 when there is none. Defined next to the sweeper that emits it.
 */
export { OLDEST_UNPUBLISHED_METRIC };

/** Where the alarm descriptions send the person on call. */
export const RUNBOOK = 'docs/operations.md';

/** A relay, as the observability construct needs to see it. */
export interface MonitoredRelay {
  /** The relay function; its stream mapping's IteratorAge and its Errors are alarmed on. */
  readonly function: IFunction;
  /** Powertools service name of the relay: the `service` dimension of its custom metrics. */
  readonly serviceName: string;
  /** The stream mapping's maximum record age; the iterator-age threshold must stay below it. */
  readonly maxRecordAge: Duration;
}

/** The sweeper, as the observability construct needs to see it. */
export interface MonitoredSweeper {
  /** The sweeper function. */
  readonly function: IFunction;
  /** Powertools service name of the sweeper: the `service` dimension of `OldestUnpublishedAgeSeconds`. */
  readonly serviceName: string;
  /** How often it runs (whole minutes): the period of the oldest-unpublished alarm. */
  readonly interval: Duration;
  /** Age from which it re-publishes a pending event; the alarm threshold must leave it time to. */
  readonly sweepAfter: Duration;
}

/** A consumer, as the observability construct needs to see it. */
export interface MonitoredConsumer {
  /** Consumer name: the `service` dimension of its metrics. */
  readonly consumerName: string;
  /** The consumer function; its Errors are alarmed on. */
  readonly function: IFunction;
}

/**
 * What the pipeline's constructs report to observability. The constructs call it themselves
 * when given one, so a new consumer gets its alarms and dashboard lines with no extra line in
 * the stack.
 */
export interface PipelineMonitor {
  /** Alarms on the relay's iterator age, errors, publish failures and malformed items; charts its metrics. */
  monitorRelay(relay: MonitoredRelay): void;
  /**
   * Alarms on the age of the oldest unpublished outbox item (the sweeper's metric, missing data
   * breaching) and on the sweeper's errors; charts its metrics.
   */
  monitorSweeper(sweeper: MonitoredSweeper): void;
  /** Alarms on the consumer's errors; charts its processed, duplicate and dead-lettered events. */
  monitorConsumer(consumer: MonitoredConsumer): void;
  /** Alarms on the function's errors and charts them (for functions that are neither relay nor consumer). */
  monitorFunction(fn: IFunction, description: string): void;
  /** Alarms as soon as the queue holds a message, and charts its depth. */
  monitorDeadLetterQueue(queue: IQueue, description: string): void;
}

/** Lets a construct props interface accept a {@link PipelineMonitor}. */
export interface MonitoringOptions {
  /**
   * Where the construct registers its functions and dead-letter queues for alarms and the dashboard.
   * @default - not monitored
   */
  readonly monitor?: PipelineMonitor;
}

/** Props of {@link PipelineObservability}. */
export interface PipelineObservabilityProps {
  /**
   * Topic every alarm notifies, on ALARM and on OK.
   * @default - a new topic, encrypted with a new customer managed KMS key (rotated yearly) whose
   * policy lets CloudWatch alarms of this account publish, and denying requests without TLS
   */
  readonly alarmTopic?: ITopic;
  /**
   * Relay iterator age (how old the last record of a batch is when the relay receives it) above
   * which it alarms, when above for 3 consecutive minutes; 1 minute..6 hours, and below the
   * stream mapping's maximum record age.
   * @default Duration.minutes(5)
   */
  readonly iteratorAgeThreshold?: Duration;
  /**
   * Age of the oldest unpublished outbox item above which it alarms (1 minute..1 day); must
   * exceed the sweeper's `sweepAfter` plus its interval, so the sweeper gets a chance first.
   * @default Duration.minutes(15)
   */
  readonly oldestUnpublishedThreshold?: Duration;
  /**
   * What happens to the KMS key of the created alarm topic when it leaves the stack.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

const ERRORS_PERIOD = Duration.minutes(5);
const CUSTOM_METRIC_PERIOD = Duration.minutes(5);
const ONE_MINUTE = Duration.minutes(1);

/**
 * Alarms and a dashboard for the outbox pipeline.
 *
 * The parts of the pipeline register themselves and bring their alarms: the relay (iterator
 * age, errors, publish failures, malformed items), the sweeper (oldest unpublished outbox item,
 * errors), every consumer and other function (errors) and every dead-letter or failure queue
 * (depth). Each alarm notifies the alarm topic on ALARM and on OK and names its runbook section in
 * {@link RUNBOOK}.
 *
 * @example
 * const observability = new PipelineObservability(this, 'Observability', {});
 * new OutboxRelay(this, 'Relay', { table, eventBus, monitor: observability });
 */
export class PipelineObservability extends Construct implements PipelineMonitor {
  /** The topic alarms notify. */
  readonly alarmTopic: ITopic;
  /** The pipeline's dashboard. */
  readonly dashboard: Dashboard;
  private readonly action: SnsAction;
  private readonly iteratorAgeThreshold: Duration;
  private readonly oldestUnpublishedThreshold: Duration;
  private readonly registered = new Set<IConstruct>();
  private readonly allAlarms: Alarm[] = [];
  private relayRegistered = false;
  private sweeperRegistered = false;
  private readonly widgets: {
    readonly published: GraphWidget;
    readonly publishLag: GraphWidget;
    readonly iteratorAge: GraphWidget;
    readonly oldestUnpublished: GraphWidget;
    readonly relayProblems: GraphWidget;
    readonly sweeper: GraphWidget;
    readonly errors: GraphWidget;
    readonly processed: GraphWidget;
    readonly duplicates: GraphWidget;
    readonly deadLettered: GraphWidget;
    readonly deadLetterDepth: GraphWidget;
    readonly endToEnd: GraphWidget;
  };

  constructor(scope: Construct, id: string, props: PipelineObservabilityProps = {}) {
    super(scope, id);
    this.iteratorAgeThreshold = props.iteratorAgeThreshold ?? Duration.minutes(5);
    this.oldestUnpublishedThreshold = props.oldestUnpublishedThreshold ?? Duration.minutes(15);
    validateDurationInRange('iteratorAgeThreshold', this.iteratorAgeThreshold, ONE_MINUTE, Duration.hours(6));
    validateDurationInRange(
      'oldestUnpublishedThreshold',
      this.oldestUnpublishedThreshold,
      ONE_MINUTE,
      Duration.days(1),
    );

    this.alarmTopic = props.alarmTopic ?? this.createAlarmTopic(props.removalPolicy ?? RemovalPolicy.RETAIN);
    this.action = new SnsAction(this.alarmTopic);

    const graph = (title: string, extra: Omit<GraphWidgetProps, 'title'> = {}) =>
      new GraphWidget({ title, width: 8, height: 6, ...extra });
    this.widgets = {
      published: graph('Events published / s'),
      publishLag: graph('Publish lag (commit → published), ms'),
      iteratorAge: graph('Relay iterator age, ms', {
        leftAnnotations: [{ value: this.iteratorAgeThreshold.toMilliseconds(), label: 'alarm' }],
      }),
      oldestUnpublished: graph('Oldest unpublished outbox item, s', {
        leftAnnotations: [{ value: this.oldestUnpublishedThreshold.toSeconds(), label: 'alarm' }],
      }),
      relayProblems: graph('Relay publish failures, retries and malformed items'),
      sweeper: graph('Sweeper: events re-published, failures'),
      errors: graph('Function errors', { width: 12 }),
      processed: graph('Events processed, per consumer'),
      duplicates: graph('Duplicates suppressed, per consumer'),
      deadLettered: graph('Events dead-lettered, per consumer'),
      deadLetterDepth: graph('Dead-letter and failure queue depth', { width: 12 }),
      endToEnd: graph('End-to-end latency p99 (commit → consumer done), ms', { width: 24 }),
    };
    const w = this.widgets;
    this.dashboard = new Dashboard(this, 'Dashboard', {
      widgets: [
        [
          new TextWidget({
            markdown: `# Outbox pipeline\nWhat each alarm means and what to do: \`${RUNBOOK}\`. Operator CLI: \`npm run outbox -- --help\`.`,
            width: 24,
            height: 2,
          }),
        ],
        [w.published, w.publishLag, w.iteratorAge],
        [w.oldestUnpublished, w.relayProblems, w.sweeper],
        [w.processed, w.duplicates, w.deadLettered],
        [w.deadLetterDepth, w.errors],
        [w.endToEnd],
      ],
    });
  }

  /** Every alarm created so far. */
  get alarms(): ReadonlyArray<Alarm> {
    return [...this.allAlarms];
  }

  monitorRelay(relay: MonitoredRelay): void {
    if (this.relayRegistered) {
      throw new ConstructPropsError(`a relay is already monitored (given ${relay.function.node.path})`);
    }
    if (
      !this.iteratorAgeThreshold.isUnresolved() &&
      !relay.maxRecordAge.isUnresolved() &&
      this.iteratorAgeThreshold.toMilliseconds() >= relay.maxRecordAge.toMilliseconds()
    ) {
      throw new ConstructPropsError(
        `iteratorAgeThreshold must be below the relay's maxRecordAge, or records are dropped to the failure queue before it alarms (given ${this.iteratorAgeThreshold.toHumanString()}, maxRecordAge ${relay.maxRecordAge.toHumanString()})`,
      );
    }
    this.relayRegistered = true;
    const relayMetric = (metricName: string, statistic: string, period: Duration, label: string) =>
      new Metric({
        namespace: METRICS_NAMESPACE,
        metricName,
        dimensionsMap: { service: relay.serviceName },
        statistic,
        period,
        label,
      });

    // Maximum over one-minute periods, three in a row: a burst that the relay clears within
    // minutes does not page, a relay that stays behind does, hours before records reach the
    // mapping's maxRecordAge (then the failure queue) and a day before the stream drops them.
    const iteratorAge = relay.function.metric('IteratorAge', {
      statistic: Stats.MAXIMUM,
      period: ONE_MINUTE,
      label: 'iterator age',
    });
    this.addAlarm('RelayIteratorAgeAlarm', {
      metric: iteratorAge,
      threshold: this.iteratorAgeThreshold.toMilliseconds(),
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 3,
      datapointsToAlarm: 3,
      // Lambda reports IteratorAge only while the mapping invokes; an idle stream is healthy.
      // A stopped mapping is caught by the oldest-unpublished alarm instead.
      treatMissingData: TreatMissingData.NOT_BREACHING,
      alarmDescription: `The relay is more than ${this.iteratorAgeThreshold.toHumanString()} behind the outbox stream; records older than ${relay.maxRecordAge.toHumanString()} go to the relay failure queue, and the stream keeps them 24 hours. Runbook: ${RUNBOOK}#relay-iterator-age`,
    });
    this.widgets.iteratorAge.addLeftMetric(iteratorAge);

    const publishFailures = relayMetric(
      'PublishFailures',
      Stats.SUM,
      CUSTOM_METRIC_PERIOD,
      'publish failures',
    );
    // Failed entries are retried by the stream, so one bad period heals itself; two of three
    // five-minute periods mean a target keeps refusing.
    this.addAlarm('RelayPublishFailuresAlarm', {
      metric: publishFailures,
      threshold: 0,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
      treatMissingData: TreatMissingData.NOT_BREACHING,
      alarmDescription: `EventBridge or an ordered FIFO queue keeps refusing events after the relay's retries. Runbook: ${RUNBOOK}#relay-publish-failures`,
    });
    const malformed = relayMetric('MalformedOutboxItems', Stats.SUM, CUSTOM_METRIC_PERIOD, 'malformed items');
    // Each one is an event that will never be published without a person: page on the first.
    this.addAlarm('RelayMalformedItemsAlarm', {
      metric: malformed,
      threshold: 0,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
      alarmDescription: `The relay quarantined an outbox item it cannot publish (malformed or oversize) in the relay failure queue. Runbook: ${RUNBOOK}#relay-malformed-outbox-items`,
    });
    this.widgets.relayProblems.addLeftMetric(publishFailures);
    this.widgets.relayProblems.addLeftMetric(malformed);
    this.widgets.relayProblems.addLeftMetric(
      relayMetric('EntriesRetried', Stats.SUM, CUSTOM_METRIC_PERIOD, 'entries retried'),
    );

    const published = relayMetric('EventsPublished', Stats.SUM, ONE_MINUTE, 'published');
    this.widgets.published.addLeftMetric(
      new MathExpression({
        expression: 'published / PERIOD(published)',
        usingMetrics: { published },
        label: 'events / s',
        period: ONE_MINUTE,
      }),
    );
    for (const percentile of [50, 99]) {
      this.widgets.publishLag.addLeftMetric(
        relayMetric('PublishLag', Stats.percentile(percentile), ONE_MINUTE, `p${percentile}`),
      );
    }
    this.monitorFunction(relay.function, 'outbox relay');
  }

  monitorSweeper(sweeper: MonitoredSweeper): void {
    if (this.sweeperRegistered) {
      throw new ConstructPropsError(`a sweeper is already monitored (given ${sweeper.function.node.path})`);
    }
    const { interval, sweepAfter } = sweeper;
    if (!interval.isUnresolved() && interval.toSeconds({ integral: false }) % 60 !== 0) {
      // CloudWatch alarm periods above a minute must be multiples of 60 seconds.
      throw new ConstructPropsError(
        `sweeper interval must be whole minutes (given ${interval.toHumanString()})`,
      );
    }
    if (
      !interval.isUnresolved() &&
      !sweepAfter.isUnresolved() &&
      !this.oldestUnpublishedThreshold.isUnresolved() &&
      sweepAfter.toSeconds() + interval.toSeconds() >= this.oldestUnpublishedThreshold.toSeconds()
    ) {
      throw new ConstructPropsError(
        `oldestUnpublishedThreshold must exceed the sweeper's sweepAfter plus its interval, or it alarms before the sweeper had a chance to re-publish (given ${this.oldestUnpublishedThreshold.toHumanString()}, sweepAfter ${sweepAfter.toHumanString()}, interval ${interval.toHumanString()})`,
      );
    }
    this.sweeperRegistered = true;
    const sweeperMetric = (metricName: string, statistic: string, label: string) =>
      new Metric({
        namespace: METRICS_NAMESPACE,
        metricName,
        dimensionsMap: { service: sweeper.serviceName },
        statistic,
        period: interval,
        label,
      });
    const oldestUnpublished = sweeperMetric(
      OLDEST_UNPUBLISHED_METRIC,
      Stats.MAXIMUM,
      'oldest unpublished (s)',
    );
    // Missing data is breaching: the sweeper emits on every run (0 when nothing is pending), so
    // silence means the sweeper is broken, and a broken sweeper must not read as a healthy outbox.
    // Two periods, so that one late run (two runs in one period, none in the next) does not page.
    this.addAlarm('OldestUnpublishedAlarm', {
      metric: oldestUnpublished,
      threshold: this.oldestUnpublishedThreshold.toSeconds(),
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 2,
      datapointsToAlarm: 2,
      treatMissingData: TreatMissingData.BREACHING,
      alarmDescription: `An outbox event committed more than ${this.oldestUnpublishedThreshold.toHumanString()} ago is still unpublished, or the sweeper stopped reporting. Runbook: ${RUNBOOK}#oldest-unpublished-outbox-item`,
    });
    this.widgets.oldestUnpublished.addLeftMetric(oldestUnpublished);
    this.widgets.sweeper.addLeftMetric(sweeperMetric('SweptEvents', Stats.SUM, 're-published'));
    this.widgets.sweeper.addLeftMetric(sweeperMetric('SweepFailures', Stats.SUM, 'failures'));
    this.monitorFunction(sweeper.function, 'outbox sweeper');
  }

  monitorConsumer(consumer: MonitoredConsumer): void {
    const consumerMetric = (metricName: string, statistic: string) =>
      new Metric({
        namespace: METRICS_NAMESPACE,
        metricName,
        dimensionsMap: { service: consumer.consumerName },
        statistic,
        period: CUSTOM_METRIC_PERIOD,
        label: consumer.consumerName,
      });
    this.widgets.processed.addLeftMetric(consumerMetric('EventsProcessed', Stats.SUM));
    this.widgets.duplicates.addLeftMetric(consumerMetric('DuplicatesSuppressed', Stats.SUM));
    this.widgets.deadLettered.addLeftMetric(consumerMetric('EventsDeadLettered', Stats.SUM));
    this.widgets.endToEnd.addLeftMetric(consumerMetric('EndToEndLatency', Stats.percentile(99)));
    this.monitorFunction(consumer.function, `consumer ${consumer.consumerName}`);
  }

  monitorFunction(fn: IFunction, description: string): void {
    this.register(fn, description);
    const errors = fn.metricErrors({ statistic: Stats.SUM, period: ERRORS_PERIOD, label: description });
    // Handlers report per-record failures in their batch response; an invocation error means
    // the whole batch failed (a bug, a timeout, a permission), which is worth a page at once.
    this.addAlarm(`${Names.nodeUniqueId(fn.node)}ErrorsAlarm`, {
      metric: errors,
      threshold: 0,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
      alarmDescription: `Invocations of the ${description} function failed as a whole. Runbook: ${RUNBOOK}#function-errors`,
    });
    this.widgets.errors.addLeftMetric(errors);
  }

  monitorDeadLetterQueue(queue: IQueue, description: string): void {
    this.register(queue, description);
    const depth = queue.metricApproximateNumberOfMessagesVisible({
      statistic: Stats.MAXIMUM,
      period: ONE_MINUTE,
      label: description,
    });
    // A dead-letter queue is empty in a healthy pipeline: the first message is an event that
    // some consumer (or the relay) gave up on, and it expires after 14 days if nobody acts.
    this.addAlarm(`${Names.nodeUniqueId(queue.node)}DepthAlarm`, {
      metric: depth,
      threshold: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      // SQS stops reporting a queue that has been empty and untouched for six hours.
      treatMissingData: TreatMissingData.NOT_BREACHING,
      alarmDescription: `The ${description} holds messages. Runbook: ${RUNBOOK}#dead-letter-queue-not-empty`,
    });
    this.widgets.deadLetterDepth.addLeftMetric(depth);
  }

  private register(construct: IConstruct, description: string): void {
    if (description.trim() === '') {
      throw new ConstructPropsError(
        `description must not be empty (given '${description}' for ${construct.node.path})`,
      );
    }
    if (this.registered.has(construct)) {
      throw new ConstructPropsError(`${construct.node.path} is already monitored`);
    }
    this.registered.add(construct);
  }

  private addAlarm(id: string, props: AlarmProps & { readonly metric: Metric }): Alarm {
    const { metric } = props;
    // Without the dashboard label, so that the alarm gets the plain MetricName/Namespace/Statistic
    // form (a labelled metric becomes a metric-math `Metrics` list).
    const plain = new Metric({
      namespace: metric.namespace,
      metricName: metric.metricName,
      dimensionsMap: metric.dimensions as Record<string, string> | undefined,
      statistic: metric.statistic,
      period: metric.period,
    });
    const alarm = new Alarm(this, id, { ...props, metric: plain });
    alarm.addAlarmAction(this.action);
    alarm.addOkAction(this.action);
    this.allAlarms.push(alarm);
    return alarm;
  }

  private createAlarmTopic(removalPolicy: RemovalPolicy): Topic {
    // Not the AWS managed aws/sns key: its policy cannot be changed to let CloudWatch encrypt
    // the notifications it publishes, so alarms would be dropped silently.
    const key = new Key(this, 'AlarmTopicKey', {
      description: 'Encrypts the outbox pipeline alarm topic',
      enableKeyRotation: true,
      removalPolicy,
    });
    const { account, region, partition } = Stack.of(this);
    const cloudWatch = new ServicePrincipal('cloudwatch.amazonaws.com');
    // Only alarms of this account and region may use the key and publish (confused deputy).
    const conditions = {
      StringEquals: { 'aws:SourceAccount': account },
      ArnLike: { 'aws:SourceArn': `arn:${partition}:cloudwatch:${region}:${account}:alarm:*` },
    };
    key.addToResourcePolicy(
      new PolicyStatement({
        principals: [cloudWatch],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions,
      }),
    );
    const topic = new Topic(this, 'AlarmTopic', {
      displayName: 'Outbox pipeline alarms',
      masterKey: key,
      enforceSSL: true,
    });
    topic.addToResourcePolicy(
      new PolicyStatement({
        principals: [cloudWatch],
        actions: ['sns:Publish'],
        resources: [topic.topicArn],
        conditions,
      }),
    );
    return topic;
  }
}

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
import { CONSUMER_METRICS, METRICS_NAMESPACE, RELAY_METRICS, SWEEPER_METRICS } from '../../contract/metrics';
import { ConstructPropsError, validateDurationInRange } from './errors';

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
  /** How often it runs (whole minutes): the period of its alarms. */
  readonly interval: Duration;
}

/** A consumer, as the observability construct needs to see it. */
export interface MonitoredConsumer {
  /** Consumer name: the `service` dimension of its metrics. */
  readonly consumerName: string;
  /** Ordered consumers park events that arrive early: they get an alarm on parking that lasts. */
  readonly kind: 'ordered' | 'unordered';
  /** The consumer function; its Errors are alarmed on. */
  readonly function: IFunction;
}

/**
 * What the pipeline's constructs report to observability. The constructs call it themselves
 * when given one, so a new consumer gets its alarms and dashboard lines with no extra line in
 * the stack.
 */
export interface PipelineMonitor {
  /** Alarms on the relay's iterator age, errors, publish failures and poison events; charts its metrics. */
  monitorRelay(relay: MonitoredRelay): void;
  /**
   * Alarms on the relay's lag as the sweeper's probe measures it (missing data breaching), on
   * stream batches left unrecovered and on recovery failures, and on the sweeper's errors.
   */
  monitorSweeper(sweeper: MonitoredSweeper): void;
  /** Alarms on the consumer's errors (and, ordered, on lasting parking); charts its events. */
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
   * How far behind the relay may be, as the sweeper's probe measures it, before it alarms
   * (1 minute..1 day); at least three sweeper intervals, since a probe is written once a run.
   * @default Duration.minutes(15)
   */
  readonly relayLagThreshold?: Duration;
  /**
   * Age of the oldest discarded stream batch not yet re-published above which it alarms
   * (1 minute..1 day): the sweeper normally re-publishes one within a run.
   * @default Duration.minutes(15)
   */
  readonly unrecoveredThreshold?: Duration;
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
  private readonly relayLagThreshold: Duration;
  private readonly unrecoveredThreshold: Duration;
  private readonly registered = new Set<IConstruct>();
  private readonly allAlarms: Alarm[] = [];
  private relayRegistered = false;
  private sweeperRegistered = false;
  private readonly widgets: {
    readonly published: GraphWidget;
    readonly publishLag: GraphWidget;
    readonly iteratorAge: GraphWidget;
    readonly relayLag: GraphWidget;
    readonly relayProblems: GraphWidget;
    readonly sweeper: GraphWidget;
    readonly errors: GraphWidget;
    readonly processed: GraphWidget;
    readonly duplicates: GraphWidget;
    readonly deadLettered: GraphWidget;
    readonly parked: GraphWidget;
    readonly deadLetterDepth: GraphWidget;
    readonly endToEnd: GraphWidget;
  };

  constructor(scope: Construct, id: string, props: PipelineObservabilityProps = {}) {
    super(scope, id);
    this.iteratorAgeThreshold = props.iteratorAgeThreshold ?? Duration.minutes(5);
    this.relayLagThreshold = props.relayLagThreshold ?? Duration.minutes(15);
    this.unrecoveredThreshold = props.unrecoveredThreshold ?? Duration.minutes(15);
    validateDurationInRange('iteratorAgeThreshold', this.iteratorAgeThreshold, ONE_MINUTE, Duration.hours(6));
    validateDurationInRange('relayLagThreshold', this.relayLagThreshold, ONE_MINUTE, Duration.days(1));
    validateDurationInRange('unrecoveredThreshold', this.unrecoveredThreshold, ONE_MINUTE, Duration.days(1));

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
      relayLag: graph('Relay lag (age of the newest probe it read), s', {
        leftAnnotations: [{ value: this.relayLagThreshold.toSeconds(), label: 'alarm' }],
      }),
      relayProblems: graph('Relay publish failures, retries and poison events'),
      sweeper: graph('Sweeper: records recovered, failures, given up; oldest unrecovered (s)'),
      errors: graph('Function errors', { width: 12 }),
      processed: graph('Events processed, per consumer'),
      duplicates: graph('Duplicates suppressed, per consumer'),
      deadLettered: graph('Events dead-lettered, per consumer'),
      parked: graph('Events parked / resumed, ordered consumers'),
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
        [w.relayLag, w.relayProblems, w.sweeper],
        [w.processed, w.duplicates, w.deadLettered],
        [w.parked],
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
    this.checkRelay(relay);
    this.relayRegistered = true;
    const relayMetric = serviceMetrics(relay.serviceName);
    this.alarmOnRelayIteratorAge(relay);
    this.alarmOnRelayPublishProblems(relayMetric);
    this.chartRelayThroughput(relayMetric);
    this.monitorFunction(relay.function, 'outbox relay');
  }

  /** Refuses a second relay, and an iterator-age threshold the relay's maxRecordAge would pre-empt. */
  private checkRelay(relay: MonitoredRelay): void {
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
  }

  /** Alarms on the relay's stream mapping staying behind (IteratorAge), and charts it. */
  private alarmOnRelayIteratorAge(relay: MonitoredRelay): void {
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
      // A stopped mapping is caught by the relay-lag alarm (the sweeper's probe) instead.
      treatMissingData: TreatMissingData.NOT_BREACHING,
      alarmDescription: `The relay is more than ${this.iteratorAgeThreshold.toHumanString()} behind the outbox stream; batches older than ${relay.maxRecordAge.toHumanString()} go to the failure bucket for the sweeper, and the stream keeps records 24 hours. Runbook: ${RUNBOOK}#relay-iterator-age`,
    });
    this.widgets.iteratorAge.addLeftMetric(iteratorAge);
  }

  /** Alarms on events the relay cannot publish (lasting publish failures, poison events), and charts them with its retries. */
  private alarmOnRelayPublishProblems(relayMetric: ServiceMetric): void {
    const publishFailures = relayMetric(
      RELAY_METRICS.publishFailures,
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
    const poison = relayMetric(RELAY_METRICS.poisonEvents, Stats.SUM, CUSTOM_METRIC_PERIOD, 'poison events');
    // Each one is an event no target can carry, stepped over: a person must look at it.
    this.addAlarm('RelayPoisonEventsAlarm', {
      metric: poison,
      threshold: 0,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
      alarmDescription: `The relay stepped over an outbox item no target can carry (malformed, oversize, refused for good); it is in the relay failure queue with the reason. Runbook: ${RUNBOOK}#relay-poison-events`,
    });
    this.widgets.relayProblems.addLeftMetric(publishFailures);
    this.widgets.relayProblems.addLeftMetric(poison);
    this.widgets.relayProblems.addLeftMetric(
      relayMetric(RELAY_METRICS.entriesRetried, Stats.SUM, CUSTOM_METRIC_PERIOD, 'entries retried'),
    );
  }

  /** Charts the relay's publish rate and its publish lag (p50, p99); no alarm. */
  private chartRelayThroughput(relayMetric: ServiceMetric): void {
    const published = relayMetric(RELAY_METRICS.eventsPublished, Stats.SUM, ONE_MINUTE, 'published');
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
        relayMetric(RELAY_METRICS.publishLag, Stats.percentile(percentile), ONE_MINUTE, `p${percentile}`),
      );
    }
  }

  monitorSweeper(sweeper: MonitoredSweeper): void {
    this.checkSweeper(sweeper);
    this.sweeperRegistered = true;
    this.alarmOnRelayLag(sweeper);
    this.alarmOnRecovery(sweeper);
    this.monitorFunction(sweeper.function, 'outbox sweeper');
  }

  /** Refuses a second sweeper, an interval of part minutes, and a relay-lag threshold under three intervals. */
  private checkSweeper(sweeper: MonitoredSweeper): void {
    if (this.sweeperRegistered) {
      throw new ConstructPropsError(`a sweeper is already monitored (given ${sweeper.function.node.path})`);
    }
    const { interval } = sweeper;
    if (!interval.isUnresolved() && interval.toSeconds({ integral: false }) % 60 !== 0) {
      // CloudWatch alarm periods above a minute must be multiples of 60 seconds.
      throw new ConstructPropsError(
        `sweeper interval must be whole minutes (given ${interval.toHumanString()})`,
      );
    }
    if (
      !interval.isUnresolved() &&
      !this.relayLagThreshold.isUnresolved() &&
      this.relayLagThreshold.toSeconds() < 3 * interval.toSeconds()
    ) {
      throw new ConstructPropsError(
        `relayLagThreshold must be at least three sweeper intervals: a probe is written once a run, so the lag reads up to one interval in a healthy pipeline (given ${this.relayLagThreshold.toHumanString()}, interval ${interval.toHumanString()})`,
      );
    }
  }

  /** Alarms on the relay's lag as the sweeper's probe measures it (silence breaching), and charts it. */
  private alarmOnRelayLag(sweeper: MonitoredSweeper): void {
    const relayLag = serviceMetrics(sweeper.serviceName)(
      SWEEPER_METRICS.relayProbeLag,
      Stats.MAXIMUM,
      sweeper.interval,
      'relay lag (s)',
    );
    // Missing data is breaching: the sweeper emits on every run, so silence means the sweeper is
    // broken, and a broken sweeper must not read as a healthy relay. Two periods, so that one late
    // run (two runs in one period, none in the next) does not page.
    this.addAlarm('RelayLagAlarm', {
      metric: relayLag,
      threshold: this.relayLagThreshold.toSeconds(),
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 2,
      datapointsToAlarm: 2,
      treatMissingData: TreatMissingData.BREACHING,
      alarmDescription: `The relay has read no sweeper probe for more than ${this.relayLagThreshold.toHumanString()} (its stream mapping is stopped, failing or far behind), or the sweeper stopped reporting. After 23 hours the sweeper opens a lost window and recovers it by a table scan once the relay reads again. Runbook: ${RUNBOOK}#relay-lag`,
    });
    this.widgets.relayLag.addLeftMetric(relayLag);
  }

  /**
   * Alarms on what the sweeper has not recovered yet (unrecovered batches, failing recoveries, a
   * lost stream window), and charts its recoveries.
   */
  private alarmOnRecovery(sweeper: MonitoredSweeper): void {
    const metric = serviceMetrics(sweeper.serviceName);
    const sweeperMetric = (metricName: string, statistic: string, label: string) =>
      metric(metricName, statistic, sweeper.interval, label);
    const unrecovered = sweeperMetric(
      SWEEPER_METRICS.oldestUnrecovered,
      Stats.MAXIMUM,
      'oldest unrecovered (s)',
    );
    this.addAlarm('UnrecoveredBatchesAlarm', {
      metric: unrecovered,
      threshold: this.unrecoveredThreshold.toSeconds(),
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 2,
      datapointsToAlarm: 2,
      treatMissingData: TreatMissingData.NOT_BREACHING,
      alarmDescription: `A stream batch the relay's mapping discarded (or a lost window) has waited more than ${this.unrecoveredThreshold.toHumanString()} to be re-published. Runbook: ${RUNBOOK}#unrecovered-stream-batches`,
    });
    const failures = sweeperMetric(SWEEPER_METRICS.recoveryFailures, Stats.SUM, 'recovery failures');
    // One failing run can be a target's hiccup; three in a row is an aggregate or target stuck.
    this.addAlarm('RecoveryFailuresAlarm', {
      metric: failures,
      threshold: 0,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 3,
      datapointsToAlarm: 3,
      treatMissingData: TreatMissingData.NOT_BREACHING,
      alarmDescription: `The sweeper could not re-publish some recovered records three runs in a row; after 12 runs it gives them up to the relay failure queue. Runbook: ${RUNBOOK}#recovery-failures`,
    });
    const lostWindows = sweeperMetric(SWEEPER_METRICS.lostWindows, Stats.SUM, 'lost windows opened');
    this.addAlarm('LostStreamWindowAlarm', {
      metric: lostWindows,
      threshold: 0,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
      alarmDescription: `The relay read no stream record for nearly 24 hours, so records may expire unread: the sweeper opened a lost window and will re-publish everything committed in it by a table scan once the relay reads again. Runbook: ${RUNBOOK}#lost-stream-window`,
    });
    this.widgets.sweeper.addLeftMetric(
      sweeperMetric(SWEEPER_METRICS.recordsRecovered, Stats.SUM, 'recovered'),
    );
    this.widgets.sweeper.addLeftMetric(failures);
    this.widgets.sweeper.addLeftMetric(sweeperMetric(SWEEPER_METRICS.recoveryGivenUp, Stats.SUM, 'given up'));
    this.widgets.sweeper.addRightMetric(unrecovered);
  }

  monitorConsumer(consumer: MonitoredConsumer): void {
    const metric = serviceMetrics(consumer.consumerName);
    const consumerMetric = (metricName: string, statistic: string) =>
      metric(metricName, statistic, CUSTOM_METRIC_PERIOD, consumer.consumerName);
    this.widgets.processed.addLeftMetric(consumerMetric(CONSUMER_METRICS.processed, Stats.SUM));
    this.widgets.duplicates.addLeftMetric(consumerMetric(CONSUMER_METRICS.duplicates, Stats.SUM));
    this.widgets.deadLettered.addLeftMetric(consumerMetric(CONSUMER_METRICS.deadLettered, Stats.SUM));
    this.widgets.endToEnd.addLeftMetric(
      consumerMetric(CONSUMER_METRICS.endToEndLatency, Stats.percentile(99)),
    );
    if (consumer.kind === 'ordered') {
      const parked = consumerMetric(CONSUMER_METRICS.parked, Stats.SUM);
      // An event parks when its predecessor has not been applied: after a redrive or a recovery it
      // resumes within minutes; parking for three periods in a row means a predecessor is missing
      // (in the DLQ, in the relay failure queue, or never sent to a consumer that joined late).
      this.addAlarm(`${Names.nodeUniqueId(consumer.function.node)}ParkedAlarm`, {
        metric: parked,
        threshold: 0,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 3,
        datapointsToAlarm: 3,
        treatMissingData: TreatMissingData.NOT_BREACHING,
        alarmDescription: `Consumer ${consumer.consumerName} keeps parking events whose predecessor it has not applied. Runbook: ${RUNBOOK}#events-parked`,
      });
      this.widgets.parked.addLeftMetric(parked);
      this.widgets.parked.addRightMetric(consumerMetric(CONSUMER_METRICS.resumed, Stats.SUM));
    }
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

/** Makes one custom metric of a service; see {@link serviceMetrics}. */
type ServiceMetric = (metricName: string, statistic: string, period: Duration, label: string) => Metric;

/**
 * The custom metrics (namespace {@link METRICS_NAMESPACE}) of one service of the pipeline, the
 * relay, the sweeper or a consumer: its Powertools service name is their `service` dimension.
 */
function serviceMetrics(service: string): ServiceMetric {
  return (metricName, statistic, period, label) =>
    new Metric({
      namespace: METRICS_NAMESPACE,
      metricName,
      dimensionsMap: { service },
      statistic,
      period,
      label,
    });
}

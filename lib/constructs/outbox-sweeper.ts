import { Duration } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { Construct } from 'constructs';
import { ENV } from '../../contract/env';
import { RELAY_ITEMS } from '../../contract/keys';
import { SERVICES } from '../../contract/metrics';
import { ConstructPropsError, validateDurationInRange } from './errors';
import type { OutboxRelay } from './outbox-relay';
import { grantItems, grantScan } from './outbox-table';
import { PipelineFunction, type PipelineFunctionOptions } from './pipeline-function';
import type { MonitoringOptions } from './pipeline-observability';

/** Props of {@link OutboxSweeper}. */
export interface OutboxSweeperProps extends Omit<PipelineFunctionOptions, 'timeout'>, MonitoringOptions {
  /** The outbox table: the sweeper writes its probe there and scans it to recover a lost window. */
  readonly table: ITable;
  /** The relay whose core the sweeper runs: same environment, same grants, same ordered queues, same failure bucket. */
  readonly relay: OutboxRelay;
  /**
   * How often the sweeper runs (whole minutes, 1..60): the probe cadence, so also how fresh the
   * relay-lag metric is, and how soon a discarded batch is re-published.
   * @default Duration.minutes(5)
   */
  readonly interval?: Duration;
  /**
   * Maximum run time of one sweep; shorter than `interval`.
   * @default 2 minutes, or 10 seconds less than `interval` when that is shorter
   */
  readonly timeout?: Duration;
}

/**
 * Probes the relay and re-publishes what the stream did not deliver, on a schedule: writes a
 * probe whose stream record the relay acknowledges (its heartbeat), feeds the batches the stream
 * mapping discarded (failure bucket) through the relay core, and recovers a lost window by a
 * table scan after the relay was stopped for nearly a day. Emits the relay's lag and the age of
 * the oldest unrecovered batch on every run.
 *
 * A failed run is not retried: the next scheduled run does the same work, and a retry would
 * overlap it.
 *
 * @example
 * new OutboxSweeper(this, 'Sweeper', { table, relay, monitor: observability });
 */
export class OutboxSweeper extends Construct {
  /** The sweeper function. */
  readonly function: PipelineFunction;
  /** The schedule that invokes it. */
  readonly schedule: Rule;

  constructor(scope: Construct, id: string, props: OutboxSweeperProps) {
    super(scope, id);
    const interval = props.interval ?? Duration.minutes(5);
    validateDurationInRange('interval', interval, Duration.minutes(1), Duration.hours(1));
    if (!interval.isUnresolved() && interval.toSeconds({ integral: false }) % 60 !== 0) {
      throw new ConstructPropsError(`interval must be whole minutes (given ${interval.toHumanString()})`);
    }
    // Shorter than the interval: a sweep still running when the next starts doubles the work for nothing.
    const timeout =
      props.timeout ??
      (interval.isUnresolved()
        ? Duration.minutes(2)
        : Duration.seconds(Math.min(120, interval.toSeconds() - 10)));
    if (!interval.isUnresolved() && !timeout.isUnresolved() && timeout.toSeconds() >= interval.toSeconds()) {
      throw new ConstructPropsError(
        `timeout must be shorter than interval (given timeout ${timeout.toHumanString()}, interval ${interval.toHumanString()})`,
      );
    }

    this.function = new PipelineFunction(this, 'Function', {
      entry: 'sweeper/handler',
      serviceName: SERVICES.sweeper,
      description: 'Probes the outbox relay and re-publishes what the stream did not deliver',
      timeout,
      memorySize: props.memorySize,
      logRetention: props.logRetention,
      removalPolicy: props.removalPolicy,
      environment: {
        [ENV.sweepIntervalSeconds]: String(interval.toSeconds()),
        [ENV.failureBucketName]: props.relay.failureBucket.bucket.bucketName,
      },
    });
    // No asynchronous retries: a failed run waits for the next schedule instead of overlapping it.
    this.function.configureAsyncInvoke({
      retryAttempts: 0,
      maxEventAge: Duration.seconds(Math.max(60, interval.toSeconds())),
    });
    props.relay.bindPublisher(this.function);
    // Its own bookkeeping (probe, lost window) and what the relay core writes; nothing else.
    grantItems(props.table, this.function, {
      actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
      leadingKeys: [RELAY_ITEMS.probePk, RELAY_ITEMS.heartbeatPk, RELAY_ITEMS.lostWindowPk],
    });
    grantScan(props.table, this.function);
    props.relay.failureBucket.grantRecover(this.function);

    this.schedule = new Rule(this, 'Schedule', {
      description: 'Runs the outbox sweeper',
      schedule: Schedule.rate(interval),
      targets: [new LambdaFunction(this.function, { retryAttempts: 0 })],
    });
    props.monitor?.monitorSweeper({ function: this.function, serviceName: SERVICES.sweeper, interval });
  }
}

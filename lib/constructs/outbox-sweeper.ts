import { Duration } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { Construct } from 'constructs';
import { ENV } from '../../functions/shared/env-names';
import { ConstructPropsError, validateDurationInRange } from './errors';
import type { OutboxRelay } from './outbox-relay';
import { grantPendingIndexQuery } from './outbox-table';
import { PipelineFunction, type PipelineFunctionOptions } from './pipeline-function';
import type { MonitoringOptions } from './pipeline-observability';

/** Powertools service name of the sweeper: the `service` dimension of `OldestUnpublishedAgeSeconds`. */
export const SWEEPER_SERVICE_NAME = 'outbox-sweeper';

/** Props of {@link OutboxSweeper}. */
export interface OutboxSweeperProps extends Omit<PipelineFunctionOptions, 'timeout'>, MonitoringOptions {
  /** The outbox table; the sweeper queries its pending index. */
  readonly table: ITable;
  /** The relay whose core the sweeper runs: same environment, same grants, same ordered queues. */
  readonly relay: OutboxRelay;
  /**
   * How often the sweeper runs (whole minutes, 1..60); also the period of the
   * oldest-unpublished alarm, since the sweeper emits that metric once a run.
   * @default Duration.minutes(5)
   */
  readonly interval?: Duration;
  /**
   * Age from which a pending outbox event is re-published (1 minute..6 hours). Well above the
   * relay's normal lag (under a second), so the sweeper only picks up what the stream missed.
   * @default Duration.minutes(5)
   */
  readonly sweepAfter?: Duration;
  /**
   * Maximum run time of one sweep; shorter than `interval`.
   * @default 2 minutes, or 10 seconds less than `interval` when that is shorter
   */
  readonly timeout?: Duration;
}

/**
 * Re-publishes outbox events the stream did not deliver, on a schedule: reads the sparse
 * pending index oldest first, and feeds overdue events through the relay core (same order,
 * cursors and event ids, so racing the relay is harmless). Emits the age of the oldest
 * unpublished event on every run.
 *
 * It may query the pending index and nothing else beyond what the relay may do.
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
    const sweepAfter = props.sweepAfter ?? Duration.minutes(5);
    validateDurationInRange('interval', interval, Duration.minutes(1), Duration.hours(1));
    if (!interval.isUnresolved() && interval.toSeconds({ integral: false }) % 60 !== 0) {
      throw new ConstructPropsError(`interval must be whole minutes (given ${interval.toHumanString()})`);
    }
    validateDurationInRange('sweepAfter', sweepAfter, Duration.minutes(1), Duration.hours(6));
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
      serviceName: SWEEPER_SERVICE_NAME,
      description: 'Re-publishes outbox events that stayed unpublished, and reports the oldest one',
      timeout,
      memorySize: props.memorySize,
      logRetention: props.logRetention,
      removalPolicy: props.removalPolicy,
      environment: {
        [ENV.sweepAfterSeconds]: String(sweepAfter.toSeconds()),
      },
    });
    props.relay.bindPublisher(this.function);
    grantPendingIndexQuery(props.table, this.function);

    this.schedule = new Rule(this, 'Schedule', {
      description: 'Runs the outbox sweeper',
      schedule: Schedule.rate(interval),
      targets: [new LambdaFunction(this.function, { retryAttempts: 0 })],
    });
    props.monitor?.monitorSweeper({
      function: this.function,
      serviceName: SWEEPER_SERVICE_NAME,
      interval,
      sweepAfter,
    });
  }
}

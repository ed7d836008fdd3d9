import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { EventBus } from 'aws-cdk-lib/aws-events';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { describe, expect, it } from 'vitest';
import { CONSUMER_METRICS, SWEEPER_METRICS } from '../../../contract/metrics';
import { ConstructPropsError } from '../../../lib/constructs/errors';
import { FailureBucket } from '../../../lib/constructs/failure-bucket';
import { OrderedConsumer } from '../../../lib/constructs/ordered-consumer';
import { OutboxRelay, type OutboxRelayProps } from '../../../lib/constructs/outbox-relay';
import { OutboxSweeper, type OutboxSweeperProps } from '../../../lib/constructs/outbox-sweeper';
import { IdempotencyTable, OutboxTable } from '../../../lib/constructs/outbox-table';
import {
  PipelineObservability,
  type PipelineObservabilityProps,
} from '../../../lib/constructs/pipeline-observability';
import {
  logicalId,
  messageOf,
  newUnbundledStack,
  refOf,
  resourcesOfType,
  thrownBy,
} from '../template-helpers';

function observed(props: PipelineObservabilityProps = {}) {
  const stack = newUnbundledStack();
  const observability = new PipelineObservability(stack, 'Observability', props);
  const { table } = new OutboxTable(stack, 'OutboxTable');
  const { table: idempotencyTable } = new IdempotencyTable(stack, 'IdempotencyTable');
  const failureBucket = new FailureBucket(stack, 'FailureBucket');
  const relayWith = (relayProps: Partial<OutboxRelayProps> = {}, id = 'Relay') =>
    new OutboxRelay(stack, id, {
      table,
      eventBus: new EventBus(stack, `${id}Bus`),
      failureBucket,
      ...relayProps,
    });
  return {
    stack,
    observability,
    table,
    idempotencyTable,
    relayWith,
    template: () => Template.fromStack(stack),
  };
}

function sweeperOf(setup: ReturnType<typeof observed>, props: Partial<OutboxSweeperProps> = {}) {
  const relay = setup.relayWith();
  return new OutboxSweeper(setup.stack, 'Sweeper', {
    table: setup.table,
    relay,
    monitor: setup.observability,
    ...props,
  });
}

function alarmedQueueIds(template: Template): string[] {
  return resourcesOfType(template, 'AWS::CloudWatch::Alarm')
    .filter((alarm) => alarm.Properties.MetricName === 'ApproximateNumberOfMessagesVisible')
    .map((alarm) => (alarm.Properties.Dimensions as Array<{ Value: { 'Fn::GetAtt': [string] } }>)[0]?.Value)
    .map((value) => value?.['Fn::GetAtt'][0] ?? '')
    .sort();
}

describe('PipelineObservability', () => {
  it('gives a consumer its error, parked and dead-letter alarms through its monitor prop alone', () => {
    // Arrange
    const setup = observed();
    const relay = setup.relayWith({ monitor: setup.observability });

    // Act
    const projection = new OrderedConsumer(setup.stack, 'OrderProjection', {
      relay,
      consumerName: 'order-projection',
      startPosition: 'earliest',
      idempotencyTable: setup.idempotencyTable,
      table: setup.table,
      monitor: setup.observability,
    });

    // Assert
    const template = setup.template();
    expect(alarmedQueueIds(template)).toEqual(
      [logicalId(projection.deadLetterQueue), logicalId(relay.failureQueue)].sort(),
    );
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'Errors',
      Dimensions: [{ Name: 'FunctionName', Value: refOf(projection.function) }],
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: CONSUMER_METRICS.parked,
      Dimensions: [{ Name: 'service', Value: 'order-projection' }],
    });
  });

  it('notifies the topic it is given and creates no topic or key of its own', () => {
    // Arrange
    const stack = newUnbundledStack();
    const topic = new Topic(stack, 'OnCall', { enforceSSL: true });

    // Act
    const observability = new PipelineObservability(stack, 'Observability', { alarmTopic: topic });
    observability.monitorDeadLetterQueue(new Queue(stack, 'Dlq'), 'test dead-letter queue');

    // Assert
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::SNS::Topic', 1);
    template.resourceCountIs('AWS::KMS::Key', 0);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmActions: [refOf(topic)],
      OKActions: [refOf(topic)],
    });
    expect(observability.alarms).toHaveLength(1);
  });

  it('deletes the key of its topic with the stack when asked', () => {
    // Arrange
    const stack = newUnbundledStack();

    // Act
    new PipelineObservability(stack, 'Observability', { removalPolicy: RemovalPolicy.DESTROY });

    // Assert
    const [key] = resourcesOfType(Template.fromStack(stack), 'AWS::KMS::Key');
    expect(key?.DeletionPolicy).toBe('Delete');
  });

  it('uses the thresholds it is given', () => {
    // Arrange
    const setup = observed({
      iteratorAgeThreshold: Duration.minutes(10),
      relayLagThreshold: Duration.minutes(30),
      unrecoveredThreshold: Duration.minutes(45),
    });
    setup.relayWith({ monitor: setup.observability }, 'MonitoredRelay');

    // Act
    sweeperOf(setup);

    // Assert
    const template = setup.template();
    for (const [metricName, threshold] of [
      ['IteratorAge', 600_000],
      [SWEEPER_METRICS.relayProbeLag, 1800],
      [SWEEPER_METRICS.oldestUnrecovered, 2700],
    ] as const) {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        MetricName: metricName,
        Threshold: threshold,
      });
    }
  });

  it('times the sweeper alarms by the sweeper interval', () => {
    // Arrange
    const setup = observed();

    // Act
    sweeperOf(setup, { interval: Duration.minutes(2) });

    // Assert
    const periods = resourcesOfType(setup.template(), 'AWS::CloudWatch::Alarm')
      .filter((alarm) => JSON.stringify(alarm.Properties.Dimensions).includes('outbox-sweeper'))
      .map((alarm) => alarm.Properties.Period);
    expect(periods).toEqual([120, 120, 120, 120]);
  });

  it.each<[PipelineObservabilityProps, RegExp]>([
    [
      { iteratorAgeThreshold: Duration.seconds(30) },
      /iteratorAgeThreshold must be between 1 minute and 6 hours \(given 30 seconds\)/,
    ],
    [
      { relayLagThreshold: Duration.days(2) },
      /relayLagThreshold must be between 1 minute and 1 day \(given 2 days\)/,
    ],
    [
      { unrecoveredThreshold: Duration.seconds(59) },
      /unrecoveredThreshold must be between 1 minute and 1 day \(given 59 seconds\)/,
    ],
  ])('rejects %o with a ConstructPropsError', (props, message) => {
    // Act
    const error = thrownBy(() => observed(props));

    // Assert
    expect(error).toBeInstanceOf(ConstructPropsError);
    expect(messageOf(error)).toMatch(message);
  });

  it('rejects an iterator-age threshold that the relay would never reach before discarding batches', () => {
    // Arrange
    const setup = observed({ iteratorAgeThreshold: Duration.hours(2) });

    // Act
    const error = thrownBy(() =>
      setup.relayWith({ maxRecordAge: Duration.hours(1), monitor: setup.observability }),
    );

    // Assert
    expect(error).toBeInstanceOf(ConstructPropsError);
    expect(messageOf(error)).toMatch(
      /iteratorAgeThreshold must be below the relay's maxRecordAge.*given 2 hours, maxRecordAge 1 hour/,
    );
  });

  it('rejects a relay-lag threshold under three sweeper intervals', () => {
    // Arrange
    const setup = observed({ relayLagThreshold: Duration.minutes(15) });

    // Act
    const error = thrownBy(() => sweeperOf(setup, { interval: Duration.minutes(10) }));

    // Assert
    expect(error).toBeInstanceOf(ConstructPropsError);
    expect(messageOf(error)).toMatch(
      /relayLagThreshold must be at least three sweeper intervals.*\(given 15 minutes, interval 10 minutes\)/,
    );
  });

  it('rejects a sweeper interval that is not whole minutes, which no alarm period can be', () => {
    // Arrange
    const setup = observed();
    const relay = setup.relayWith();

    // Act
    const error = thrownBy(() =>
      setup.observability.monitorSweeper({
        function: relay.function,
        serviceName: 'sweeper',
        interval: Duration.seconds(90),
      }),
    );

    // Assert
    expect(error).toBeInstanceOf(ConstructPropsError);
    expect(messageOf(error)).toMatch(/sweeper interval must be whole minutes \(given 1 minute 30 seconds\)/);
  });

  it.each([
    [
      'a queue registered twice',
      (setup: ReturnType<typeof observed>) => {
        const queue = new Queue(setup.stack, 'Dlq');
        setup.observability.monitorDeadLetterQueue(queue, 'first');
        return () => setup.observability.monitorDeadLetterQueue(queue, 'second');
      },
      /TestStack\/Dlq is already monitored/,
    ],
    [
      'a second relay',
      (setup: ReturnType<typeof observed>) => {
        setup.relayWith({ monitor: setup.observability });
        return () => setup.relayWith({ monitor: setup.observability }, 'Relay2');
      },
      /a relay is already monitored \(given TestStack\/Relay2\/Function\)/,
    ],
    [
      'a second sweeper',
      (setup: ReturnType<typeof observed>) => {
        const sweeper = sweeperOf(setup);
        const monitored = { function: sweeper.function, serviceName: 'again', interval: Duration.minutes(5) };
        return () => setup.observability.monitorSweeper(monitored);
      },
      /a sweeper is already monitored \(given TestStack\/Sweeper\/Function\)/,
    ],
    [
      'an empty description',
      (setup: ReturnType<typeof observed>) => () =>
        setup.observability.monitorDeadLetterQueue(new Queue(setup.stack, 'Dlq'), ' '),
      /description must not be empty \(given ' ' for TestStack\/Dlq\)/,
    ],
  ])('rejects %s with a ConstructPropsError', (_case, arrange, message) => {
    // Arrange
    const act = arrange(observed());

    // Act
    const error = thrownBy(act);

    // Assert
    expect(error).toBeInstanceOf(ConstructPropsError);
    expect(messageOf(error)).toMatch(message);
  });
});

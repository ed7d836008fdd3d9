import { Duration } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { EventBus } from 'aws-cdk-lib/aws-events';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { describe, expect, it } from 'vitest';
import { ConstructPropsError } from '../../../lib/constructs/errors';
import { OrderedConsumer } from '../../../lib/constructs/ordered-consumer';
import { OutboxRelay } from '../../../lib/constructs/outbox-relay';
import { OutboxSweeper } from '../../../lib/constructs/outbox-sweeper';
import { IdempotencyTable, OutboxTable } from '../../../lib/constructs/outbox-table';
import {
  PipelineObservability,
  type PipelineObservabilityProps,
} from '../../../lib/constructs/pipeline-observability';
import { logicalId, newUnbundledStack } from '../template-helpers';

function observed(props: PipelineObservabilityProps = {}) {
  const stack = newUnbundledStack();
  const observability = new PipelineObservability(stack, 'Observability', props);
  const { table } = new OutboxTable(stack, 'OutboxTable');
  const { table: idempotencyTable } = new IdempotencyTable(stack, 'IdempotencyTable');
  const eventBus = new EventBus(stack, 'Bus');
  return { stack, observability, table, idempotencyTable, eventBus };
}

function alarmedQueueIds(template: Template): string[] {
  return Object.values(template.findResources('AWS::CloudWatch::Alarm'))
    .filter((alarm) => alarm.Properties.MetricName === 'ApproximateNumberOfMessagesVisible')
    .map((alarm) => alarm.Properties.Dimensions[0].Value['Fn::GetAtt'][0] as string)
    .sort();
}

describe('PipelineObservability', () => {
  it('gives a consumer added to the stack its error and dead-letter alarms through its monitor prop alone', () => {
    // Arrange
    const { stack, observability, table, idempotencyTable, eventBus } = observed();
    const relay = new OutboxRelay(stack, 'Relay', { table, eventBus, monitor: observability });

    // Act
    const audit = new OrderedConsumer(stack, 'OrderAudit', {
      relay,
      entry: 'consumers/order-projection',
      consumerName: 'order-audit',
      idempotencyTable,
      table,
      monitor: observability,
    });

    // Assert
    const template = Template.fromStack(stack);
    expect(alarmedQueueIds(template)).toEqual(
      [logicalId(audit.deadLetterQueue), logicalId(relay.failureQueue)].sort(),
    );
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'Errors',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: logicalId(audit.function) } }],
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
      AlarmActions: [{ Ref: logicalId(topic) }],
      OKActions: [{ Ref: logicalId(topic) }],
    });
  });

  it('uses the thresholds it is given', () => {
    // Arrange
    const { stack, observability, table, eventBus } = observed({
      iteratorAgeThreshold: Duration.minutes(10),
      oldestUnpublishedThreshold: Duration.minutes(30),
    });
    const relay = new OutboxRelay(stack, 'Relay', { table, eventBus, monitor: observability });

    // Act
    new OutboxSweeper(stack, 'Sweeper', { table, relay, monitor: observability });

    // Assert
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'IteratorAge',
      Threshold: 600_000,
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'OldestUnpublishedAgeSeconds',
      Threshold: 1800,
    });
  });

  it('times the oldest-unpublished alarm by the sweeper interval', () => {
    // Arrange
    const { stack, observability, table, eventBus } = observed();
    const relay = new OutboxRelay(stack, 'Relay', { table, eventBus });

    // Act
    new OutboxSweeper(stack, 'Sweeper', {
      table,
      relay,
      interval: Duration.minutes(2),
      sweepAfter: Duration.minutes(3),
      monitor: observability,
    });

    // Assert
    Template.fromStack(stack).hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'OldestUnpublishedAgeSeconds',
      Period: 120,
    });
  });

  it.each([
    [
      { iteratorAgeThreshold: Duration.seconds(30) },
      /iteratorAgeThreshold must be between 1 minute and 6 hours \(given 30 seconds\)/,
    ],
    [
      { oldestUnpublishedThreshold: Duration.days(2) },
      /oldestUnpublishedThreshold must be between 1 minute and 1 day \(given 2 days\)/,
    ],
  ])('rejects %o', (props, message) => {
    // Act
    const create = () => observed(props);

    // Assert
    expect(create).toThrow(ConstructPropsError);
    expect(create).toThrow(message);
  });

  it('rejects an iterator-age threshold that the relay would never reach before dropping records', () => {
    // Arrange
    const { stack, observability, table, eventBus } = observed({ iteratorAgeThreshold: Duration.hours(2) });

    // Act
    const create = () =>
      new OutboxRelay(stack, 'Relay', {
        table,
        eventBus,
        maxRecordAge: Duration.hours(1),
        monitor: observability,
      });

    // Assert
    expect(create).toThrow(
      /iteratorAgeThreshold must be below the relay's maxRecordAge.*given 2 hours, maxRecordAge 1 hour/,
    );
  });

  it('rejects an oldest-unpublished threshold that fires before the sweeper had a chance', () => {
    // Arrange
    const { stack, observability, table, eventBus } = observed({
      oldestUnpublishedThreshold: Duration.minutes(10),
    });
    const relay = new OutboxRelay(stack, 'Relay', { table, eventBus });

    // Act
    const create = () => new OutboxSweeper(stack, 'Sweeper', { table, relay, monitor: observability });

    // Assert
    expect(create).toThrow(
      /oldestUnpublishedThreshold must exceed the sweeper's sweepAfter plus its interval.*given 10 minutes, sweepAfter 5 minutes, interval 5 minutes/,
    );
  });

  it('rejects a queue registered twice', () => {
    // Arrange
    const { stack, observability } = observed();
    const queue = new Queue(stack, 'Dlq');
    observability.monitorDeadLetterQueue(queue, 'first');

    // Act
    const again = () => observability.monitorDeadLetterQueue(queue, 'second');

    // Assert
    expect(again).toThrow(/TestStack\/Dlq is already monitored/);
  });

  it('rejects a second relay', () => {
    // Arrange
    const { stack, observability, table, eventBus } = observed();
    new OutboxRelay(stack, 'Relay', { table, eventBus, monitor: observability });

    // Act
    const second = () => new OutboxRelay(stack, 'Relay2', { table, eventBus, monitor: observability });

    // Assert
    expect(second).toThrow(/a relay is already monitored \(given TestStack\/Relay2\/Function\)/);
  });

  it('rejects an empty description', () => {
    // Arrange
    const { stack, observability } = observed();

    // Act
    const register = () => observability.monitorDeadLetterQueue(new Queue(stack, 'Dlq'), ' ');

    // Assert
    expect(register).toThrow(/description must not be empty/);
  });
});

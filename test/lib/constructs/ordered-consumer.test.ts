import { Duration } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { ENV } from '../../../contract/env';
import { CONSUMER_METRICS } from '../../../contract/metrics';
import { ConstructPropsError } from '../../../lib/constructs/errors';
import { OrderedConsumer, type OrderedConsumerProps } from '../../../lib/constructs/ordered-consumer';
import { PipelineObservability } from '../../../lib/constructs/pipeline-observability';
import { permissionsFor, permissionsOf } from '../iam-helpers';
import {
  arnOf,
  environmentOf,
  messageOf,
  newUnbundledStack,
  pipelineBase,
  propertiesOf,
  refOf,
  thrownBy,
} from '../template-helpers';

function orderedConsumerWith(props: Partial<OrderedConsumerProps>) {
  const stack = newUnbundledStack();
  const base = pipelineBase(stack);
  const consumer = new OrderedConsumer(stack, 'OrderProjection', {
    relay: base.relay,
    consumerName: 'order-projection',
    startPosition: 'earliest',
    idempotencyTable: base.idempotencyTable,
    table: base.table,
    ...props,
  });
  return { stack, consumer, relay: base.relay, template: () => Template.fromStack(stack) };
}

describe('OrderedConsumer', () => {
  it('reads a high-throughput FIFO queue with a FIFO dead-letter queue, after the receives it is given', () => {
    // Act
    const { consumer, template } = orderedConsumerWith({ maxReceiveCount: 3 });

    // Assert
    const fifo = {
      FifoQueue: true,
      FifoThroughputLimit: 'perMessageGroupId',
      DeduplicationScope: 'messageGroup',
    };
    expect(propertiesOf(template(), consumer.queue)).toMatchObject({
      ...fifo,
      RedrivePolicy: { deadLetterTargetArn: arnOf(consumer.deadLetterQueue), maxReceiveCount: 3 },
    });
    expect(propertiesOf(template(), consumer.deadLetterQueue)).toMatchObject(fifo);
  });

  it('registers its queue with the relay, which may then send to it and lists its URL', () => {
    // Act
    const { consumer, relay, template } = orderedConsumerWith({});

    // Assert
    const sends = permissionsFor(permissionsOf(template(), relay.function), 'sqs:SendMessage');
    expect(sends.map((permission) => permission.resource)).toContainEqual(arnOf(consumer.queue));
    expect(environmentOf(template(), relay.function)[ENV.orderedQueueUrls]).toEqual({
      'Fn::Join': ['', ['["', refOf(consumer.queue), '"]']],
    });
  });

  it('tells its function it is ordered, where it starts and how long it remembers', () => {
    // Act
    const { consumer, template } = orderedConsumerWith({
      startPosition: 'first-seen',
      consumerMemory: Duration.days(30),
    });

    // Assert
    expect(environmentOf(template(), consumer.function)).toMatchObject({
      [ENV.consumerName]: 'order-projection',
      [ENV.consumerKind]: 'ordered',
      [ENV.consumerStartPosition]: 'first-seen',
      [ENV.consumerMemorySeconds]: String(30 * 24 * 60 * 60),
      [ENV.deadLetterQueueUrl]: refOf(consumer.deadLetterQueue),
    });
  });

  it('sizes the visibility timeout from a custom function timeout', () => {
    // Act
    const { consumer, template } = orderedConsumerWith({ timeout: Duration.seconds(60) });

    // Assert
    expect(propertiesOf(template(), consumer.queue).VisibilityTimeout).toBe(360);
  });

  it('passes its batch size and concurrency cap to the event source mapping, with no batching window', () => {
    // Act
    const { consumer, template } = orderedConsumerWith({ batchSize: 5, maxConcurrency: 5 });

    // Assert
    template().hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: refOf(consumer.function),
      EventSourceArn: arnOf(consumer.queue),
      BatchSize: 5,
      ScalingConfig: { MaximumConcurrency: 5 },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
    const mapping = Object.values(template().findResources('AWS::Lambda::EventSourceMapping')).find(
      (m) => JSON.stringify(m.Properties.FunctionName) === JSON.stringify(refOf(consumer.function)),
    );
    expect(mapping?.Properties.MaximumBatchingWindowInSeconds).toBeUndefined();
  });

  it('gets an alarm on lasting parking, on errors and on its dead-letter queue from the monitor', () => {
    // Arrange
    const stack = newUnbundledStack();
    const base = pipelineBase(stack);
    const monitor = new PipelineObservability(stack, 'Observability');

    // Act
    new OrderedConsumer(stack, 'OrderProjection', {
      relay: base.relay,
      consumerName: 'order-projection',
      startPosition: 'earliest',
      idempotencyTable: base.idempotencyTable,
      table: base.table,
      monitor,
    });

    // Assert
    const metrics = Object.values(Template.fromStack(stack).findResources('AWS::CloudWatch::Alarm')).map(
      (alarm) => alarm.Properties.MetricName,
    );
    expect(metrics.sort()).toEqual(
      [CONSUMER_METRICS.parked, 'ApproximateNumberOfMessagesVisible', 'Errors'].sort(),
    );
  });

  it.each<[string, Partial<OrderedConsumerProps>, RegExp]>([
    [
      'a batch size above the FIFO limit of 10',
      { batchSize: 11 },
      /batchSize must be between 1 and 10 \(given 11\)/,
    ],
    [
      'a maximum receive count of 0',
      { maxReceiveCount: 0 },
      /maxReceiveCount must be between 1 and 1000 \(given 0\)/,
    ],
    [
      'a consumer memory under 14 days',
      { consumerMemory: Duration.days(7) },
      /consumerMemory must be between 14 days and 365 days \(given 7 days\)/,
    ],
    [
      'a maximum concurrency of 1',
      { maxConcurrency: 1 },
      /maxConcurrency must be between 2 and 1000 \(given 1\)/,
    ],
    [
      'a consumer name that is not kebab-case',
      { consumerName: 'OrderProjection' },
      /consumerName: a consumer name must be kebab-case.*\(given "OrderProjection"\)/,
    ],
  ])('rejects %s with a ConstructPropsError', (_case, props, message) => {
    // Act
    const error = thrownBy(() => orderedConsumerWith(props));

    // Assert
    expect(error).toBeInstanceOf(ConstructPropsError);
    expect(messageOf(error)).toMatch(message);
  });
});

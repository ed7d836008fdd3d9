import { Duration } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { ENV } from '../../../contract/env';
import { ConstructPropsError } from '../../../lib/constructs/errors';
import { PipelineObservability } from '../../../lib/constructs/pipeline-observability';
import { UnorderedConsumer, type UnorderedConsumerProps } from '../../../lib/constructs/unordered-consumer';
import {
  arnOf,
  environmentOf,
  logicalId,
  messageOf,
  newUnbundledStack,
  pipelineBase,
  propertiesOf,
  refOf,
  thrownBy,
} from '../template-helpers';

function unorderedConsumerWith(props: Partial<UnorderedConsumerProps>) {
  const stack = newUnbundledStack();
  const { eventBus, table, idempotencyTable } = pipelineBase(stack);
  const consumer = new UnorderedConsumer(stack, 'OrderActivity', {
    eventBus,
    eventPattern: { source: ['com.example.orders'] },
    consumerName: 'order-activity',
    idempotencyTable,
    table,
    ...props,
  });
  return { consumer, template: () => Template.fromStack(stack) };
}

describe('UnorderedConsumer', () => {
  it('accepts batches above 10 when a batching window is set, and caps concurrency when asked', () => {
    // Act
    const { consumer, template } = unorderedConsumerWith({
      batchSize: 100,
      maxBatchingWindow: Duration.seconds(5),
      maxConcurrency: 4,
    });

    // Assert
    template().hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: refOf(consumer.function),
      EventSourceArn: arnOf(consumer.queue),
      BatchSize: 100,
      MaximumBatchingWindowInSeconds: 5,
      ScalingConfig: { MaximumConcurrency: 4 },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
  });

  it('adds the batching window to the visibility timeout', () => {
    // Act
    const { consumer, template } = unorderedConsumerWith({
      batchSize: 100,
      maxBatchingWindow: Duration.seconds(5),
    });

    // Assert
    expect(propertiesOf(template(), consumer.queue).VisibilityTimeout).toBe(6 * 30 + 5);
  });

  it('passes its event pattern to the rule and its retry settings to the rule target', () => {
    // Act
    const { consumer, template } = unorderedConsumerWith({
      eventPattern: { source: ['com.example.shop'], detailType: ['OrderPlaced'] },
      targetRetryAttempts: 3,
      targetMaxEventAge: Duration.hours(2),
    });

    // Assert
    expect(propertiesOf(template(), consumer.rule)).toMatchObject({
      EventPattern: { source: ['com.example.shop'], 'detail-type': ['OrderPlaced'] },
      Targets: [
        {
          Arn: arnOf(consumer.queue),
          DeadLetterConfig: { Arn: arnOf(consumer.targetDeadLetterQueue) },
          RetryPolicy: { MaximumRetryAttempts: 3, MaximumEventAgeInSeconds: 7200 },
        },
      ],
    });
  });

  it('lets only its rule send to its queue and to the target dead-letter queue', () => {
    // Act
    const { consumer, template } = unorderedConsumerWith({});

    // Assert
    for (const [queue, action] of [
      [consumer.queue, Match.arrayWith(['sqs:SendMessage'])],
      [consumer.targetDeadLetterQueue, 'sqs:SendMessage'],
    ] as const) {
      template().hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [refOf(queue)],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: 'Allow',
              Principal: { Service: 'events.amazonaws.com' },
              Action: action,
              Condition: { ArnEquals: { 'aws:SourceArn': arnOf(consumer.rule) } },
            }),
          ]),
        },
      });
    }
  });

  it('tells its function it is unordered and starts where it joins', () => {
    // Act
    const { consumer, template } = unorderedConsumerWith({});

    // Assert
    expect(environmentOf(template(), consumer.function)).toMatchObject({
      [ENV.consumerName]: 'order-activity',
      [ENV.consumerKind]: 'unordered',
      [ENV.consumerStartPosition]: 'first-seen',
    });
  });

  it('registers its function and both dead-letter queues with the monitor, with no parked alarm', () => {
    // Arrange
    const stack = newUnbundledStack();
    const { eventBus, table, idempotencyTable } = pipelineBase(stack);
    const monitor = new PipelineObservability(stack, 'Observability');

    // Act
    const consumer = new UnorderedConsumer(stack, 'OrderActivity', {
      eventBus,
      eventPattern: { source: ['com.example.orders'] },
      consumerName: 'order-activity',
      idempotencyTable,
      table,
      monitor,
    });

    // Assert
    const alarms = Object.values(Template.fromStack(stack).findResources('AWS::CloudWatch::Alarm'));
    const watched = alarms.map((alarm) => JSON.stringify(alarm.Properties.Dimensions[0].Value));
    expect(watched.sort()).toEqual(
      [
        { Ref: logicalId(consumer.function) },
        { 'Fn::GetAtt': [logicalId(consumer.deadLetterQueue), 'QueueName'] },
        { 'Fn::GetAtt': [logicalId(consumer.targetDeadLetterQueue), 'QueueName'] },
      ]
        .map((value) => JSON.stringify(value))
        .sort(),
    );
  });

  it.each<[string, Partial<UnorderedConsumerProps>, RegExp]>([
    [
      'an empty event pattern',
      { eventPattern: {} },
      /eventPattern must match on at least one field \(given \{\}\)/,
    ],
    [
      'a batch size above 10 without a batching window',
      { batchSize: 100 },
      /batchSize above 10 needs a maxBatchingWindow .*\(given batchSize 100 and maxBatchingWindow none\)/,
    ],
    [
      'a batching window in part seconds, which Lambda cannot take',
      { maxBatchingWindow: Duration.millis(500) },
      /maxBatchingWindow must be whole seconds \(given 500 milliseconds\)/,
    ],
    ['a batch size of 0', { batchSize: 0 }, /batchSize must be between 1 and 10000 \(given 0\)/],
    [
      'a batching window above 300 seconds',
      { maxBatchingWindow: Duration.seconds(301) },
      /maxBatchingWindow must be between 0 seconds and 5 minutes \(given 5 minutes 1 second\)/,
    ],
    [
      'more target retries than EventBridge allows',
      { targetRetryAttempts: 186 },
      /targetRetryAttempts must be between 0 and 185 \(given 186\)/,
    ],
    [
      'a target event age under a minute',
      { targetMaxEventAge: Duration.seconds(30) },
      /targetMaxEventAge must be between 1 minute and 1 day \(given 30 seconds\)/,
    ],
    [
      'a maximum receive count of 0',
      { maxReceiveCount: 0 },
      /maxReceiveCount must be between 1 and 1000 \(given 0\)/,
    ],
    [
      'a consumer memory shorter than the dead-letter queues keep messages',
      { consumerMemory: Duration.days(13) },
      /consumerMemory must be between 14 days and 365 days \(given 13 days\)/,
    ],
    [
      'a maximum concurrency of 1',
      { maxConcurrency: 1 },
      /maxConcurrency must be between 2 and 1000 \(given 1\)/,
    ],
    [
      'a consumer name that is not kebab-case',
      { consumerName: 'Order Activity' },
      /consumerName: a consumer name must be kebab-case.*\(given "Order Activity"\)/,
    ],
  ])('rejects %s with a ConstructPropsError', (_case, props, message) => {
    // Act
    const error = thrownBy(() => unorderedConsumerWith(props));

    // Assert
    expect(error).toBeInstanceOf(ConstructPropsError);
    expect(messageOf(error)).toMatch(message);
  });
});

import { Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { Construct } from 'constructs';
import { describe, expect, it } from 'vitest';
import { ConstructPropsError } from '../../../lib/constructs/errors';
import { createFailureQueue, SecureQueue } from '../../../lib/constructs/secure-queue';
import { arnOf, messageOf, newApp, newUnbundledStack, propertiesOf, thrownBy } from '../template-helpers';

function queueArnFromName(name: string) {
  return {
    'Fn::Join': [
      '',
      [
        'arn:',
        { Ref: 'AWS::Partition' },
        ':sqs:',
        { Ref: 'AWS::Region' },
        ':',
        { Ref: 'AWS::AccountId' },
        `:${name}`,
      ],
    ],
  };
}

describe('SecureQueue', () => {
  it('gives a standard queue a standard dead-letter queue, after 5 receives by default', () => {
    // Arrange
    const stack = newUnbundledStack();

    // Act
    const { queue, deadLetterQueue } = new SecureQueue(stack, 'Queue');

    // Assert
    const properties = propertiesOf(Template.fromStack(stack), queue);
    expect(properties.FifoQueue).toBeUndefined();
    expect(properties.FifoThroughputLimit).toBeUndefined();
    expect(properties.RedrivePolicy).toEqual({
      deadLetterTargetArn: arnOf(deadLetterQueue),
      maxReceiveCount: 5,
    });
  });

  it('makes both queues high-throughput FIFO queues, the main one named with .fifo', () => {
    // Arrange
    const stack = newUnbundledStack();

    // Act
    const { queue, deadLetterQueue } = new SecureQueue(stack, 'Queue', { fifo: true, maxReceiveCount: 7 });

    // Assert
    const template = Template.fromStack(stack);
    const fifo = {
      FifoQueue: true,
      FifoThroughputLimit: 'perMessageGroupId',
      DeduplicationScope: 'messageGroup',
    };
    expect(propertiesOf(template, queue)).toMatchObject({ ...fifo, RedrivePolicy: { maxReceiveCount: 7 } });
    expect(propertiesOf(template, queue).QueueName).toMatch(/\.fifo$/);
    expect(propertiesOf(template, deadLetterQueue)).toMatchObject(fifo);
  });

  it.each([false, true])('lets only its queue redrive from the dead-letter queue (fifo: %s)', (fifo) => {
    // Arrange
    const stack = newUnbundledStack();

    // Act
    const { queue, deadLetterQueue } = new SecureQueue(stack, 'Queue', { fifo });

    // Assert
    const template = Template.fromStack(stack);
    const name = String(propertiesOf(template, queue).QueueName);
    expect(propertiesOf(template, deadLetterQueue).RedriveAllowPolicy).toEqual({
      redrivePermission: 'byQueue',
      sourceQueueArns: [queueArnFromName(name)],
    });
  });

  it('keeps failed messages 14 days and uses the visibility timeout it is given', () => {
    // Arrange
    const stack = newUnbundledStack();

    // Act
    const { queue, deadLetterQueue } = new SecureQueue(stack, 'Queue', {
      visibilityTimeout: Duration.seconds(90),
    });

    // Assert
    const template = Template.fromStack(stack);
    expect(propertiesOf(template, queue).VisibilityTimeout).toBe(90);
    expect(propertiesOf(template, queue).MessageRetentionPeriod).toBeUndefined();
    expect(propertiesOf(template, deadLetterQueue).MessageRetentionPeriod).toBe(14 * 24 * 60 * 60);
  });

  it('names a deeply nested FIFO queue within the 80-character SQS limit', () => {
    // Arrange
    const stack = new Stack(newApp(), 'AStackWithAVeryLongNameIndeed');
    let scope: Construct = stack;
    for (const id of ['SomeDeeplyNestedConstruct', 'AnotherLevelOfNesting', 'AndYetAnotherOne']) {
      scope = new Construct(scope, id);
    }

    // Act
    const { queue } = new SecureQueue(scope, 'OrderProjectionQueue', { fifo: true });

    // Assert
    const name = String(propertiesOf(Template.fromStack(stack), queue).QueueName);
    expect(name.length).toBeLessThanOrEqual(80);
    expect(name).toMatch(/^[A-Za-z0-9_-]+\.fifo$/);
  });

  it.each([
    [1001, /maxReceiveCount must be between 1 and 1000 \(given 1001\)/],
    [0, /maxReceiveCount must be between 1 and 1000 \(given 0\)/],
  ])('rejects a maximum receive count of %i with a ConstructPropsError', (maxReceiveCount, message) => {
    // Arrange
    const stack = newUnbundledStack();

    // Act
    const error = thrownBy(() => new SecureQueue(stack, 'Queue', { maxReceiveCount }));

    // Assert
    expect(error).toBeInstanceOf(ConstructPropsError);
    expect(messageOf(error)).toMatch(message);
  });
});

describe('createFailureQueue', () => {
  it('creates an encrypted queue that keeps messages for 14 days', () => {
    // Arrange
    const stack = newUnbundledStack();

    // Act
    const queue = createFailureQueue(stack, 'Failures', { usedAs: 'a test' });

    // Assert
    expect(propertiesOf(Template.fromStack(stack), queue)).toEqual({
      MessageRetentionPeriod: 1_209_600,
      SqsManagedSseEnabled: true,
    });
  });

  it('creates a high-throughput FIFO queue when asked', () => {
    // Arrange
    const stack = newUnbundledStack();

    // Act
    const queue = createFailureQueue(stack, 'Failures', { usedAs: 'a test', fifo: true });

    // Assert
    expect(propertiesOf(Template.fromStack(stack), queue)).toMatchObject({
      FifoQueue: true,
      FifoThroughputLimit: 'perMessageGroupId',
      DeduplicationScope: 'messageGroup',
    });
  });
});

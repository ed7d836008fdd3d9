import { Duration } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { EventConsumer, type EventConsumerProps } from '../../../lib/constructs/event-consumer';
import { logicalId, newUnbundledStack, pipelineBase } from '../template-helpers';

function eventConsumerWith(props: Partial<EventConsumerProps>): EventConsumer {
  const stack = newUnbundledStack();
  const { eventBus, table, idempotencyTable } = pipelineBase(stack);
  return new EventConsumer(stack, 'Consumer', {
    eventBus,
    eventPattern: { source: ['com.example.orders'] },
    entry: 'consumers/order-activity',
    idempotencyTable,
    table,
    ...props,
  });
}

describe('EventConsumer', () => {
  it('accepts batches above 10 when a batching window is set', () => {
    // Act
    const consumer = eventConsumerWith({ batchSize: 100, maxBatchingWindow: Duration.seconds(5) });

    // Assert
    Template.fromStack(consumer.function.stack).hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: logicalId(consumer.function) },
      BatchSize: 100,
      MaximumBatchingWindowInSeconds: 5,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
  });

  it('adds the batching window to the visibility timeout', () => {
    // Act
    const consumer = eventConsumerWith({ batchSize: 100, maxBatchingWindow: Duration.seconds(5) });

    // Assert
    const queue = Template.fromStack(consumer.function.stack).toJSON().Resources[logicalId(consumer.queue)];
    expect(queue.Properties.VisibilityTimeout).toBe(185);
  });

  it('rejects an empty event pattern, which would match nothing', () => {
    // Act
    const act = () => eventConsumerWith({ eventPattern: {} });

    // Assert
    expect(act).toThrow(/eventPattern must match on at least one field \(given \{\}\)/);
  });

  it('rejects a batch size above 10 without a batching window', () => {
    // Act
    const act = () => eventConsumerWith({ batchSize: 100 });

    // Assert
    expect(act).toThrow(
      /batchSize above 10 needs a maxBatchingWindow .*\(given batchSize 100 and maxBatchingWindow none\)/,
    );
  });

  it('rejects a batch size of 0', () => {
    // Act
    const act = () => eventConsumerWith({ batchSize: 0 });

    // Assert
    expect(act).toThrow(/batchSize must be between 1 and 10000 \(given 0\)/);
  });

  it('rejects more target retries than EventBridge allows', () => {
    // Act
    const act = () => eventConsumerWith({ targetRetryAttempts: 186 });

    // Assert
    expect(act).toThrow(/targetRetryAttempts must be between 0 and 185 \(given 186\)/);
  });
});

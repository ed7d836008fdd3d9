import { Duration } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { OrderedConsumer, type OrderedConsumerProps } from '../../../lib/constructs/ordered-consumer';
import { logicalId, newUnbundledStack, pipelineBase } from '../template-helpers';

function orderedConsumerWith(props: Partial<OrderedConsumerProps>): OrderedConsumer {
  const stack = newUnbundledStack();
  const { relay, table, idempotencyTable } = pipelineBase(stack);
  return new OrderedConsumer(stack, 'Consumer', {
    relay,
    entry: 'consumers/order-projection',
    idempotencyTable,
    table,
    ...props,
  });
}

describe('OrderedConsumer', () => {
  it('derives the consumer name from the entry file', () => {
    // Act
    const consumer = orderedConsumerWith({});

    // Assert
    const environment = Template.fromStack(consumer.function.stack).toJSON().Resources[
      logicalId(consumer.function)
    ].Properties.Environment.Variables;
    expect(environment.CONSUMER_NAME).toBe('order-projection');
  });

  it('sizes the visibility timeout from a custom function timeout', () => {
    // Act
    const consumer = orderedConsumerWith({ timeout: Duration.seconds(60) });

    // Assert
    const queue = Template.fromStack(consumer.function.stack).toJSON().Resources[logicalId(consumer.queue)];
    expect(queue.Properties.VisibilityTimeout).toBe(360);
  });

  it('caps concurrency on the event source mapping when asked', () => {
    // Act
    const consumer = orderedConsumerWith({ maxConcurrency: 5 });

    // Assert
    Template.fromStack(consumer.function.stack).hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: logicalId(consumer.function) },
      ScalingConfig: { MaximumConcurrency: 5 },
    });
  });

  it('rejects a batch size above the FIFO limit of 10', () => {
    // Act
    const act = () => orderedConsumerWith({ batchSize: 11 });

    // Assert
    expect(act).toThrow(/batchSize must be between 1 and 10 \(given 11\)/);
  });

  it('rejects a maximum receive count of 0', () => {
    // Act
    const act = () => orderedConsumerWith({ maxReceiveCount: 0 });

    // Assert
    expect(act).toThrow(/maxReceiveCount must be between 1 and 1000 \(given 0\)/);
  });

  it('rejects an idempotency TTL under one hour', () => {
    // Act
    const act = () => orderedConsumerWith({ idempotencyTtl: Duration.minutes(30) });

    // Assert
    expect(act).toThrow(/idempotencyTtl must be between 1 hour and 365 days \(given 30 minutes\)/);
  });

  it('rejects a maximum concurrency of 1, below the SQS mapping minimum', () => {
    // Act
    const act = () => orderedConsumerWith({ maxConcurrency: 1 });

    // Assert
    expect(act).toThrow(/maxConcurrency must be between 2 and 1000 \(given 1\)/);
  });

  it('rejects a consumer name that is not lowercase kebab-case', () => {
    // Act
    const act = () => orderedConsumerWith({ consumerName: 'Order Projection' });

    // Assert
    expect(act).toThrow(/consumerName must be .* \(given 'Order Projection'\)/);
  });
});

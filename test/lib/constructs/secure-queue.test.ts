import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { createFailureQueue, SecureQueue } from '../../../lib/constructs/secure-queue';
import { logicalId, newUnbundledStack } from '../template-helpers';

describe('SecureQueue', () => {
  it('gives a standard queue a standard dead-letter queue without FIFO settings', () => {
    // Arrange
    const stack = newUnbundledStack();

    // Act
    const { queue } = new SecureQueue(stack, 'Queue');

    // Assert
    const properties = Template.fromStack(stack).toJSON().Resources[logicalId(queue)].Properties;
    expect(properties.FifoQueue).toBeUndefined();
    expect(properties.FifoThroughputLimit).toBeUndefined();
    expect(properties.RedrivePolicy.maxReceiveCount).toBe(5);
  });

  it('rejects a maximum receive count above 1000', () => {
    // Arrange
    const stack = newUnbundledStack();

    // Act
    const act = () => new SecureQueue(stack, 'Queue', { maxReceiveCount: 1001 });

    // Assert
    expect(act).toThrow(/maxReceiveCount must be between 1 and 1000 \(given 1001\)/);
  });
});

describe('createFailureQueue', () => {
  it('creates an encrypted queue that keeps messages for 14 days', () => {
    // Arrange
    const stack = newUnbundledStack();

    // Act
    const queue = createFailureQueue(stack, 'Failures', { usedAs: 'a test' });

    // Assert
    const properties = Template.fromStack(stack).toJSON().Resources[logicalId(queue)].Properties;
    expect(properties).toEqual({ MessageRetentionPeriod: 1_209_600, SqsManagedSseEnabled: true });
  });
});

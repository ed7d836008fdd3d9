import { Duration } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { OrderApi, type OrderApiProps } from '../../../lib/constructs/order-api';
import { OutboxTable } from '../../../lib/constructs/outbox-table';
import { newUnbundledStack } from '../template-helpers';

function orderApiWith(props: Partial<OrderApiProps>): OrderApi {
  const stack = newUnbundledStack();
  const { table } = new OutboxTable(stack, 'OutboxTable');
  return new OrderApi(stack, 'Api', {
    table,
    eventSource: 'com.example.orders',
    outboxRetention: Duration.days(7),
    ...props,
  });
}

describe('OrderApi', () => {
  it('rejects an outbox retention that is not whole days', () => {
    // Act
    const act = () => orderApiWith({ outboxRetention: Duration.hours(36) });

    // Assert
    expect(act).toThrow(/outboxRetention must be whole days \(given 1 day 12 hours\)/);
  });

  it('rejects an outbox retention beyond 365 days', () => {
    // Act
    const act = () => orderApiWith({ outboxRetention: Duration.days(400) });

    // Assert
    expect(act).toThrow(/outboxRetention must be between 1 day and 365 days \(given 400 days\)/);
  });

  it('rejects an empty event source', () => {
    // Act
    const act = () => orderApiWith({ eventSource: '' });

    // Assert
    expect(act).toThrow(/eventSource must be a non-empty URI reference without spaces \(given ''\)/);
  });
});

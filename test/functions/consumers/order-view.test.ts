import { describe, expect, it } from 'vitest';
import { applyOrderEvent } from '../../../functions/consumers/order-view';
import { buildEnvelope, type EventEnvelope } from '../../../functions/shared/envelope';
import { PermanentFailure } from '../../../functions/shared/errors';

function event(sequence: number, type: string, data: unknown): EventEnvelope {
  return buildEnvelope(
    { type, data },
    {
      source: 'com.example.orders',
      aggregateType: 'Order',
      aggregateId: 'o-1',
      sequence,
      time: new Date(1_800_000_000_000 + sequence),
    },
  );
}

describe('applyOrderEvent', () => {
  it('builds the view from place, add-item and confirm events', () => {
    // Arrange
    const placed = event(1, 'OrderPlaced', {
      customerId: 'c-1',
      lines: [{ sku: 'A', quantity: 2, unitPrice: 100 }],
      total: 200,
    });
    const added = event(2, 'OrderItemAdded', { line: { sku: 'B', quantity: 1, unitPrice: 50 }, total: 250 });
    const confirmed = event(3, 'OrderConfirmed', { total: 250 });

    // Act
    const view = [placed, added, confirmed].reduce(applyOrderEvent, undefined as never);

    // Assert
    expect(view).toMatchObject({
      orderId: 'o-1',
      status: 'CONFIRMED',
      customerId: 'c-1',
      total: 250,
      itemCount: 3,
      lastSequence: 3,
      lastEventId: confirmed.id,
    });
  });

  it('marks a cancelled order', () => {
    const placed = applyOrderEvent(
      undefined,
      event(1, 'OrderPlaced', { customerId: 'c', lines: [], total: 0 }),
    );
    expect(applyOrderEvent(placed, event(2, 'OrderCancelled', { reason: 'r' })).status).toBe('CANCELLED');
  });

  it('fails permanently on an event type it does not know', () => {
    expect(() => applyOrderEvent(undefined, event(1, 'OrderTeleported', {}))).toThrow(PermanentFailure);
    expect(() => applyOrderEvent(undefined, event(1, 'OrderTeleported', {}))).toThrow(
      /UnknownEventType: order-projection does not handle OrderTeleported v1/,
    );
  });

  it('fails permanently on a change to an order it never saw placed', () => {
    expect(() => applyOrderEvent(undefined, event(2, 'OrderConfirmed', { total: 1 }))).toThrow(/SequenceGap/);
  });
});

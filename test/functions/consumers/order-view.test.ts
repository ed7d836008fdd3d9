import { describe, expect, it } from 'vitest';
import { applyOrderEvent, type OrderEvent } from '../../../functions/consumers/order-view';
import type { EventData } from '../../../functions/events/catalog';
import type { OrderEventType } from '../../../functions/events/order-events';
import { buildEnvelope, type EventEnvelope } from '../../../functions/shared/envelope';
import { PermanentFailure } from '../../../functions/shared/errors';

function envelope(sequence: number, type: string, data: unknown): EventEnvelope {
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

/** An order event as the kit delivers it (latest version of its type). */
function event<T extends OrderEventType>(sequence: number, type: T, data: EventData<T>): OrderEvent {
  return envelope(sequence, type, data) as OrderEvent;
}

const line = { sku: 'A', quantity: 2, unitPrice: 100 };

describe('applyOrderEvent', () => {
  it('builds the view from place, add-item and confirm events', () => {
    // Arrange
    const placed = event(1, 'OrderPlaced', { customerId: 'c-1', lines: [line], total: 200, currency: 'USD' });
    const added = event(2, 'OrderItemAdded', { line: { sku: 'B', quantity: 1, unitPrice: 50 }, total: 250 });
    const confirmed = event(3, 'OrderConfirmed', { total: 250 });

    // Act
    const view = [placed, added, confirmed].reduce<ReturnType<typeof applyOrderEvent> | undefined>(
      applyOrderEvent,
      undefined,
    );

    // Assert
    expect(view).toMatchObject({
      orderId: 'o-1',
      status: 'CONFIRMED',
      customerId: 'c-1',
      total: 250,
      currency: 'USD',
      itemCount: 3,
      lastSequence: 3,
      lastEventId: confirmed.id,
    });
  });

  it('marks a cancelled order', () => {
    const placed = applyOrderEvent(
      undefined,
      event(1, 'OrderPlaced', { customerId: 'c', lines: [line], total: 200, currency: 'EUR' }),
    );
    expect(applyOrderEvent(placed, event(2, 'OrderCancelled', { reason: 'r' })).status).toBe('CANCELLED');
  });

  it('fails permanently on an event type it does not know', () => {
    // Given an event the kit would have refused, forced through a cast
    const teleported = envelope(1, 'OrderTeleported', {}) as unknown as OrderEvent;

    // Then
    expect(() => applyOrderEvent(undefined, teleported)).toThrow(PermanentFailure);
    expect(() => applyOrderEvent(undefined, teleported)).toThrow(
      /UnknownEventType: order-projection does not handle OrderTeleported v1/,
    );
  });

  it('fails permanently on a change to an order it never saw placed', () => {
    expect(() => applyOrderEvent(undefined, event(2, 'OrderConfirmed', { total: 1 }))).toThrow(/MissingView/);
  });
});

import type { TypedEvent } from '../events/catalog';
import type { OrderEventType } from '../events/order-events';
import type { EventEnvelope } from '../shared/envelope';
import { PermanentFailure } from '../shared/errors';

/** Status of an order as the view shows it. */
export type OrderViewStatus = 'PLACED' | 'CONFIRMED' | 'CANCELLED';

/** An order event as the kit delivers it: validated and upcast to the latest version of its type. */
export type OrderEvent = TypedEvent<OrderEventType>;

/** The order read model kept by the order-projection consumer. */
export interface OrderView {
  readonly orderId: string;
  readonly status: OrderViewStatus;
  readonly customerId: string;
  readonly total: number;
  /** ISO 4217 currency of `total` (EUR for orders placed before OrderPlaced v2). */
  readonly currency: string;
  readonly itemCount: number;
  /** Sequence of the last event applied (the kit's checkpoint keeps the order; this shows it). */
  readonly lastSequence: number;
  readonly lastEventId: string;
  readonly updatedAt: string;
}

/**
 * Applies one order event to the view (pure). The consumer kit guarantees order: it applies
 * event n only after n - 1, so the view passed is the one as of `event.sequence - 1`.
 *
 * @throws PermanentFailure('UnknownEventType') for a type it does not know (only reachable
 *   through a cast: the kit refuses types outside the catalog before this runs)
 */
export function applyOrderEvent(view: OrderView | undefined, event: OrderEvent): OrderView {
  const base = positionOf(event);
  switch (event.type) {
    case 'OrderPlaced': {
      const { data } = event;
      return {
        orderId: event.aggregateid,
        status: 'PLACED',
        customerId: data.customerId,
        total: data.total,
        currency: data.currency,
        itemCount: data.lines.reduce((n, line) => n + line.quantity, 0),
        ...base,
      };
    }
    case 'OrderItemAdded': {
      const current = requireView(view, event);
      return {
        ...current,
        total: event.data.total,
        itemCount: current.itemCount + event.data.line.quantity,
        ...base,
      };
    }
    case 'OrderConfirmed':
      return { ...requireView(view, event), status: 'CONFIRMED', ...base };
    case 'OrderCancelled':
      return { ...requireView(view, event), status: 'CANCELLED', ...base };
    default: {
      const unknown: EventEnvelope = event;
      throw new PermanentFailure(
        'UnknownEventType',
        `order-projection does not handle ${unknown.type} v${unknown.schemaversion}`,
      );
    }
  }
}

function positionOf(event: EventEnvelope) {
  return { lastSequence: event.sequence, lastEventId: event.id, updatedAt: event.time };
}

function requireView(view: OrderView | undefined, event: EventEnvelope): OrderView {
  if (!view)
    throw new PermanentFailure(
      'MissingView',
      `${event.type} (sequence ${event.sequence}) found no view of the order: was OrderPlaced applied?`,
    );
  return view;
}

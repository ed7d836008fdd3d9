import type { OrderEvents, OrderStatus } from '../producer/orders';
import type { EventEnvelope } from '../shared/envelope';
import { PermanentFailure } from '../shared/errors';

/** The order read model kept by the order-projection consumer. */
export interface OrderView {
  readonly orderId: string;
  readonly status: OrderStatus;
  readonly customerId: string;
  readonly total: number;
  readonly itemCount: number;
  /** Sequence of the last event applied; the next one must be lastSequence + 1. */
  readonly lastSequence: number;
  readonly lastEventId: string;
  readonly updatedAt: string;
}

/**
 * Applies one order event to the view (pure). The caller guarantees order: it
 * passes the view as of `event.sequence - 1`.
 *
 * @throws PermanentFailure('UnknownEventType') for a type it does not know
 */
export function applyOrderEvent(view: OrderView | undefined, event: EventEnvelope): OrderView {
  const base = {
    lastSequence: event.sequence,
    lastEventId: event.id,
    updatedAt: event.time,
  };
  switch (event.type) {
    case 'OrderPlaced': {
      const data = event.data as OrderEvents['OrderPlaced'];
      return {
        orderId: event.aggregateid,
        status: 'PLACED',
        customerId: data.customerId,
        total: data.total,
        itemCount: data.lines.reduce((n, line) => n + line.quantity, 0),
        ...base,
      };
    }
    case 'OrderItemAdded': {
      const data = event.data as OrderEvents['OrderItemAdded'];
      const current = requireView(view, event);
      return { ...current, total: data.total, itemCount: current.itemCount + data.line.quantity, ...base };
    }
    case 'OrderConfirmed':
      return { ...requireView(view, event), status: 'CONFIRMED', ...base };
    case 'OrderCancelled':
      return { ...requireView(view, event), status: 'CANCELLED', ...base };
    default:
      throw new PermanentFailure(
        'UnknownEventType',
        `order-projection does not handle ${event.type} v${event.schemaversion}`,
      );
  }
}

function requireView(view: OrderView | undefined, event: EventEnvelope): OrderView {
  if (!view)
    throw new PermanentFailure(
      'SequenceGap',
      `${event.type} (sequence ${event.sequence}) arrived before the order was placed`,
    );
  return view;
}

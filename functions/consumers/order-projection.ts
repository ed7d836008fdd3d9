import { formatAggregateKey } from '../../contract/keys';
import { createConsumer, defineConsumer } from '../consumer-kit';
import { ORDER_EVENT_TYPES } from '../events/order-events';
import { applyOrderEvent, type OrderView } from './order-view';

/**
 * Ordered consumer on its own FIFO queue: keeps each order's read model, one item per order
 * (`store` key = the aggregate key). The kit applies an order's events in sequence and commits
 * the view with the order's checkpoint, so each event changes the view exactly once; events of
 * other types take their place in the sequence without reaching `handle`.
 */
export const consumer = defineConsumer('order-projection', {
  handles: ORDER_EVENT_TYPES,
  async handle(event, { store }) {
    const key = formatAggregateKey(event.aggregatetype, event.aggregateid);
    store.put(key, applyOrderEvent(await store.get<OrderView>(key), event));
  },
});

export const handler = createConsumer(consumer);

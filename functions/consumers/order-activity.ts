import { formatAggregateKey } from '../../contract/keys';
import { createConsumer, defineConsumer } from '../consumer-kit';

/**
 * Unordered consumer behind an EventBridge rule (every `Order*` event): counts events per order,
 * as an activity feed's counter would. It reads no payload, so it is raw: it counts whatever type
 * or version its rule delivers. The kit commits the increment with an effect marker, so the count
 * moves exactly once per event even if the function stops between the write and its idempotency
 * record.
 */
export const consumer = defineConsumer('order-activity', {
  async handle(event, { store }) {
    store.update(formatAggregateKey(event.aggregatetype, event.aggregateid), {
      add: { eventCount: 1 },
      set: { lastEventType: event.type },
    });
  },
});

export const handler = createConsumer(consumer);

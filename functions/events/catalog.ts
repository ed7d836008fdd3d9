import type { z } from 'zod';
import type { EventEnvelope } from '../shared/envelope';
import { EventCatalog, type LatestDefinition } from './event-catalog';
import { ORDER_EVENTS } from './order-events';

/**
 * The event catalog: every event type the pipeline carries, each version declared once with its
 * zod schema. The producer's writer validates against it before commit; the consumer kit
 * validates and upcasts against it before a handler runs. Add a type or a version in its
 * `*-events.ts` file and list it here.
 */
export const catalog = new EventCatalog([...ORDER_EVENTS]);

type Definitions = (typeof ORDER_EVENTS)[number];

/** Every event type in the catalog. */
export type EventType = Definitions['type'];

/** The versions of an event type. */
export type EventVersion<T extends EventType> = Extract<Definitions, { readonly type: T }>['version'];

/** The latest version of an event type: what producers write and consumers receive. */
export type LatestVersion<T extends EventType> = LatestDefinition<Definitions, T>['version'];

/**
 * The data of an event type, in its latest version unless `V` says otherwise.
 *
 * @example
 * const data: EventData<'OrderPlaced'> = { customerId: 'c-1', lines, total: 2500, currency: 'EUR' };
 */
export type EventData<T extends EventType, V extends number = LatestVersion<T>> = z.output<
  Extract<Definitions, { readonly type: T; readonly version: V }>['schema']
>;

/**
 * An envelope whose `data` was validated and upcast to the latest version of its type; a union
 * discriminated on `type`, so a `switch (event.type)` narrows `event.data`.
 */
export type TypedEvent<T extends EventType = EventType> = T extends EventType
  ? Omit<EventEnvelope<EventData<T>>, 'type'> & { readonly type: T }
  : never;

/** What a producer passes to the writer for one event of the catalog (latest version). */
export type CatalogNewEvent<T extends EventType = EventType> = T extends EventType
  ? { readonly type: T; readonly schemaVersion?: LatestVersion<T>; readonly data: EventData<T> }
  : never;

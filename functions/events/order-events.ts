// A namespace import lets esbuild drop the parts of zod that are not used (~90 KB instead of ~450 KB per bundle).
import * as z from 'zod';
import { AGGREGATE_TYPES } from '../../contract/aggregates';
import { defineEvent } from './event-catalog';

/** Most lines an order holds (placed with them, or grown line by line). */
export const MAX_ORDER_LINES = 50;

/** One line of an order: a SKU, how many, and the unit price in cents. */
export const OrderLineSchema = z.object({
  sku: z.string().regex(/^[A-Za-z0-9-]{1,40}$/, 'must be 1 to 40 letters, digits or dashes'),
  quantity: z.number().int().min(1).max(1000),
  unitPrice: z.number().int().min(0),
});

const orderPlacedV1 = z.object({
  customerId: z.string().min(1).max(64),
  lines: z.array(OrderLineSchema).min(1).max(MAX_ORDER_LINES),
  /** Sum of quantity × unitPrice, in cents. */
  total: z.number().int().min(0),
});

/** An order was placed. Version 1: no currency (every order was in euros). */
export const OrderPlacedV1 = defineEvent({
  type: 'OrderPlaced',
  version: 1,
  description: 'An order was placed by a customer (amounts in euro cents).',
  schema: orderPlacedV1,
});

/**
 * An order was placed. Version 2 adds the ISO 4217 `currency` of its amounts; a breaking change
 * for readers that must know it, so a new version. Version 1 events upcast to currency EUR.
 */
export const OrderPlacedV2 = defineEvent({
  type: 'OrderPlaced',
  version: 2,
  description: 'An order was placed by a customer (amounts in cents of `currency`).',
  schema: orderPlacedV1.extend({
    currency: z.string().regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code such as EUR'),
  }),
  upcast: { from: OrderPlacedV1, run: (v1) => ({ ...v1, currency: 'EUR' }) },
});

/** A line was added to a placed order. */
export const OrderItemAddedV1 = defineEvent({
  type: 'OrderItemAdded',
  version: 1,
  description: 'A line was added to a placed order; `total` is the new order total in cents.',
  schema: z.object({ line: OrderLineSchema, total: z.number().int().min(0) }),
});

/** A placed order was confirmed. */
export const OrderConfirmedV1 = defineEvent({
  type: 'OrderConfirmed',
  version: 1,
  description: 'A placed order was confirmed; `total` is its final total in cents.',
  schema: z.object({ total: z.number().int().min(0) }),
});

/** A placed or confirmed order was cancelled. */
export const OrderCancelledV1 = defineEvent({
  type: 'OrderCancelled',
  version: 1,
  description: 'A placed or confirmed order was cancelled, with the reason given.',
  schema: z.object({ reason: z.string().min(1).max(200) }),
});

/** Every version of every order event; register new versions here. */
export const ORDER_EVENTS = [
  OrderPlacedV1,
  OrderPlacedV2,
  OrderItemAddedV1,
  OrderConfirmedV1,
  OrderCancelledV1,
] as const;

/** Aggregate type of every order event (the `aggregatetype` of their envelopes). */
export const ORDER_AGGREGATE_TYPE = AGGREGATE_TYPES.order;

/** The order event types. */
export type OrderEventType = (typeof ORDER_EVENTS)[number]['type'];

/** The order event types, each once, in registration order. */
export const ORDER_EVENT_TYPES: ReadonlyArray<OrderEventType> = [
  ...new Set(ORDER_EVENTS.map((definition) => definition.type)),
];

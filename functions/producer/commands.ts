// A namespace import lets esbuild drop the parts of zod that are not used.
import * as z from 'zod';
import { MAX_ORDER_LINES, OrderCancelledV1, OrderLineSchema, OrderPlacedV2 } from '../events/order-events';
import { AGGREGATE_ID_PATTERN } from '../shared/envelope';

/**
 * The order commands' request bodies, built from the event catalog's schemas so that a command
 * accepts exactly what its event may carry: one copy of each rule. Parsed by the API through the
 * Powertools parser and checked again by the OrderService for callers that bypass the API.
 */

export { MAX_ORDER_LINES };

/** The id of an order, as it appears in paths and aggregate keys. */
export const OrderIdSchema = z
  .string()
  .regex(AGGREGATE_ID_PATTERN, 'must be 1 to 99 letters, digits or ._:@-');

/** `POST /orders/{id}/items`: one line, with no field the event would not carry. */
export const AddItemCommand = OrderLineSchema.strict();

/**
 * `POST /orders`. Without `orderId`, the API chooses one (a retry with the same Idempotency-Key
 * gets the same). Closed at every level: the event schema would strip an unknown field of a line
 * silently, a command refuses it so that the caller learns of the mistake.
 */
export const PlaceOrderCommand = z
  .object({
    orderId: OrderIdSchema.optional(),
    customerId: OrderPlacedV2.schema.shape.customerId,
    // The event's bounds on lines (1..MAX_ORDER_LINES), with closed lines.
    lines: z.array(AddItemCommand).min(1).max(MAX_ORDER_LINES),
    currency: OrderPlacedV2.schema.shape.currency.optional(),
  })
  .strict();

/** `POST /orders/{id}/cancel`. */
export const CancelOrderCommand = z.object({ reason: OrderCancelledV1.schema.shape.reason }).strict();

/** `POST /orders/{id}/confirm`: no body, or an empty object. */
export const ConfirmOrderCommand = z.object({}).strict();

export type PlaceOrderInput = z.infer<typeof PlaceOrderCommand>;
export type AddItemInput = z.infer<typeof AddItemCommand>;

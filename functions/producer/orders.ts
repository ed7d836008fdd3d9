import type { z } from 'zod';
import { catalog, type EventData } from '../events/catalog';
import { formatPath, parseWithSchema } from '../events/event-catalog';
import { ORDER_AGGREGATE_TYPE, type OrderEventType } from '../events/order-events';
import { OutboxError, TransactionConflictError, ValidationError } from '../shared/errors';
import type { CommandIdempotency, CommitResult, OutboxWriter } from '../shared/outbox-writer';
import {
  AddItemCommand,
  type AddItemInput,
  CancelOrderCommand,
  MAX_ORDER_LINES,
  OrderIdSchema,
  PlaceOrderCommand,
  type PlaceOrderInput,
} from './commands';

export { ORDER_EVENT_TYPES, type OrderEventType } from '../events/order-events';

/**
 * The example domain: an order that is placed, may gain items, and is then
 * confirmed or cancelled. Each command loads the order, decides, and commits the
 * new state with its events through the OutboxWriter.
 */
export type OrderStatus = 'PLACED' | 'CONFIRMED' | 'CANCELLED';

export interface OrderLine {
  readonly sku: string;
  readonly quantity: number;
  readonly unitPrice: number;
}

export interface OrderState extends Record<string, unknown> {
  readonly status: OrderStatus;
  readonly customerId: string;
  readonly lines: ReadonlyArray<OrderLine>;
  readonly total: number;
  /** ISO 4217 code of the amounts; absent on orders placed before it was recorded (EUR). */
  readonly currency?: string;
}

/** The order events and their payloads, in the latest version of each (declared in the event catalog). */
export type OrderEvents = { [T in OrderEventType]: EventData<T> };

/** Currency of an order placed without one. */
export const DEFAULT_CURRENCY = 'EUR';

/** A command that the order's current state does not allow (e.g. confirming a cancelled order). */
export class InvalidTransitionError extends OutboxError {
  constructor(orderId: string, command: string, status: OrderStatus | 'ABSENT') {
    super('InvalidTransition', `cannot ${command} order ${orderId} while it is ${status}`);
  }
}

/** A command that would take an order past one of its limits (e.g. more than 50 lines). */
export class OrderLimitError extends OutboxError {
  constructor(orderId: string, problem: string) {
    super('OrderLimit', `order ${orderId} ${problem}`);
  }
}

/** Request/trace ids carried into the events, and the command's idempotency key. */
export interface CommandMeta {
  readonly correlationId?: string;
  readonly causationId?: string;
  readonly traceparent?: string;
  /** A retry with the same key commits nothing and gets the first result. @default none */
  readonly idempotency?: CommandIdempotency;
}

/** Order commands over an OutboxWriter. */
export class OrderService {
  constructor(
    private readonly writer: OutboxWriter,
    private readonly options: { readonly conflictRetries?: number } = {},
  ) {}

  /** Places a new order; fails with ConcurrencyConflictError if the id is taken. */
  placeOrder(
    orderId: string,
    input: Omit<PlaceOrderInput, 'orderId'>,
    meta: CommandMeta = {},
  ): Promise<CommitResult> {
    const id = checked(OrderIdSchema, orderId, 'orderId');
    const { customerId, lines, currency = DEFAULT_CURRENCY } = checked(PlaceOrderCommand, input, 'request');
    const total = totalOf(lines);
    return this.retryingConflicts(() =>
      this.writer.commit({
        aggregateType: ORDER_AGGREGATE_TYPE,
        aggregateId: id,
        expectedVersion: 0,
        state: { status: 'PLACED', customerId, lines, total, currency } satisfies OrderState,
        events: [orderEvent('OrderPlaced', { customerId, lines, total, currency })],
        ...meta,
      }),
    );
  }

  /** Adds a line to a placed order, up to {@link MAX_ORDER_LINES} lines. */
  addItem(orderId: string, line: AddItemInput, meta: CommandMeta = {}): Promise<CommitResult> {
    const valid = checked(AddItemCommand, line, 'line');
    return this.change(orderId, 'add an item to', ['PLACED'], meta, (order) => {
      if (order.lines.length >= MAX_ORDER_LINES) {
        throw new OrderLimitError(
          orderId,
          `already has ${order.lines.length} lines, the most an order may have`,
        );
      }
      const lines = [...order.lines, valid];
      const total = totalOf(lines);
      return { state: { ...order, lines, total }, type: 'OrderItemAdded', data: { line: valid, total } };
    });
  }

  /** Confirms a placed order. */
  confirmOrder(orderId: string, meta: CommandMeta = {}): Promise<CommitResult> {
    return this.change(orderId, 'confirm', ['PLACED'], meta, (order) => ({
      state: { ...order, status: 'CONFIRMED' },
      type: 'OrderConfirmed',
      data: { total: order.total },
    }));
  }

  /** Cancels a placed or confirmed order. */
  cancelOrder(orderId: string, reason: string, meta: CommandMeta = {}): Promise<CommitResult> {
    const valid = checked(CancelOrderCommand, { reason }, 'request');
    return this.change(orderId, 'cancel', ['PLACED', 'CONFIRMED'], meta, (order) => ({
      state: { ...order, status: 'CANCELLED' },
      type: 'OrderCancelled',
      data: { reason: valid.reason },
    }));
  }

  /** Reads an order (strongly consistent). */
  async getOrder(orderId: string): Promise<{ version: number; state: OrderState } | undefined> {
    return this.writer.load<OrderState>(ORDER_AGGREGATE_TYPE, checked(OrderIdSchema, orderId, 'orderId'));
  }

  private async change<T extends OrderEventType>(
    orderId: string,
    command: string,
    allowed: ReadonlyArray<OrderStatus>,
    meta: CommandMeta,
    decide: (order: OrderState) => { state: OrderState; type: T; data: OrderEvents[T] },
  ): Promise<CommitResult> {
    const id = checked(OrderIdSchema, orderId, 'orderId');
    return this.retryingConflicts(async () => {
      const current = await this.writer.load<OrderState>(ORDER_AGGREGATE_TYPE, id);
      if (!current) throw new InvalidTransitionError(id, command, 'ABSENT');
      if (!allowed.includes(current.state.status)) {
        const refusal = new InvalidTransitionError(id, command, current.state.status);
        if (meta.idempotency) return this.replayOr(meta.idempotency, refusal);
        throw refusal;
      }
      const { state, type, data } = decide(current.state);
      return this.writer.commit({
        aggregateType: ORDER_AGGREGATE_TYPE,
        aggregateId: id,
        expectedVersion: current.version,
        state,
        events: [orderEvent(type, data)],
        ...meta,
      });
    });
  }

  /**
   * A command the current state refuses may be the retry of one that committed (a confirm whose
   * answer was lost finds the order confirmed): its first result, or the refusal.
   */
  private async replayOr(idempotency: CommandIdempotency, refusal: OutboxError): Promise<CommitResult> {
    try {
      return await this.writer.replay(idempotency);
    } catch (error) {
      if (error instanceof OutboxError && error.code === 'IdempotencyRecordExpired') throw refusal;
      throw error;
    }
  }

  /**
   * Runs a load-decide-commit again when DynamoDB cancelled it for a transaction
   * conflict: the cancelled attempt wrote nothing, so a retry cannot duplicate it.
   * A version conflict (another command won) is returned to the caller.
   */
  private async retryingConflicts(attempt: () => Promise<CommitResult>): Promise<CommitResult> {
    const retries = this.options.conflictRetries ?? 2;
    for (let tries = 0; ; tries++) {
      try {
        return await attempt();
      } catch (error) {
        if (!(error instanceof TransactionConflictError) || tries >= retries) throw error;
      }
    }
  }
}

/**
 * An order event in the latest version of its type: producers write the latest, consumers
 * upcast older ones. The version is explicit so that a writer without a catalog stamps the
 * same version as one with it.
 */
function orderEvent<T extends OrderEventType>(type: T, data: OrderEvents[T]) {
  return { type, schemaVersion: catalog.latest(type).version, data };
}

/**
 * Parses a command's input with its schema (through the Powertools parser, as the API does).
 *
 * @throws ValidationError naming the first field that is wrong, and what was given
 */
export function checked<S extends z.ZodType>(schema: S, input: unknown, field: string): z.output<S> {
  const result = parseWithSchema(schema, input);
  if (result.ok) return result.data;
  throw new ValidationError(formatPath([field, ...result.path]), result.message, result.given);
}

function totalOf(lines: ReadonlyArray<OrderLine>): number {
  return lines.reduce((sum, line) => sum + line.quantity * line.unitPrice, 0);
}

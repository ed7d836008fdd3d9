import { catalog, type EventData } from '../events/catalog';
import { ORDER_AGGREGATE_TYPE, type OrderEventType } from '../events/order-events';
import { OutboxError, TransactionConflictError, ValidationError } from '../shared/errors';
import type { CommitResult, OutboxWriter } from '../shared/outbox-writer';

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

/** Request/trace ids carried into the events. */
export interface CommandMeta {
  readonly correlationId?: string;
  readonly causationId?: string;
  readonly traceparent?: string;
}

export const ORDER_AGGREGATE = ORDER_AGGREGATE_TYPE;

/** Order commands over an OutboxWriter. */
export class OrderService {
  constructor(
    private readonly writer: OutboxWriter,
    private readonly options: { readonly conflictRetries?: number } = {},
  ) {}

  /** Places a new order; fails with ConcurrencyConflictError if the id is taken. */
  placeOrder(
    orderId: string,
    input: { customerId: string; lines: OrderLine[]; currency?: string },
    meta: CommandMeta = {},
  ): Promise<CommitResult> {
    const lines = validateLines(input?.lines);
    if (
      typeof input.customerId !== 'string' ||
      input.customerId.length === 0 ||
      input.customerId.length > 64
    ) {
      throw new ValidationError('customerId', 'must be a string of 1 to 64 characters', input.customerId);
    }
    const currency = input.currency ?? DEFAULT_CURRENCY;
    if (typeof currency !== 'string' || !/^[A-Z]{3}$/.test(currency)) {
      throw new ValidationError('currency', 'must be an ISO 4217 code of 3 capital letters', input.currency);
    }
    const total = totalOf(lines);
    return this.retryingConflicts(() =>
      this.writer.commit({
        aggregateType: ORDER_AGGREGATE,
        aggregateId: orderId,
        expectedVersion: 0,
        state: {
          status: 'PLACED',
          customerId: input.customerId,
          lines,
          total,
          currency,
        } satisfies OrderState,
        events: [orderEvent('OrderPlaced', { customerId: input.customerId, lines, total, currency })],
        ...meta,
      }),
    );
  }

  /** Adds a line to a placed order. */
  addItem(orderId: string, line: OrderLine, meta: CommandMeta = {}): Promise<CommitResult> {
    const [valid] = validateLines([line]) as [OrderLine];
    return this.change(orderId, 'add an item to', ['PLACED'], meta, (order) => {
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
    if (typeof reason !== 'string' || reason.length === 0 || reason.length > 200) {
      throw new ValidationError('reason', 'must be a string of 1 to 200 characters', reason);
    }
    return this.change(orderId, 'cancel', ['PLACED', 'CONFIRMED'], meta, (order) => ({
      state: { ...order, status: 'CANCELLED' },
      type: 'OrderCancelled',
      data: { reason },
    }));
  }

  /** Reads an order (strongly consistent). */
  async getOrder(orderId: string): Promise<{ version: number; state: OrderState } | undefined> {
    return this.writer.load<OrderState>(ORDER_AGGREGATE, orderId);
  }

  private async change<T extends OrderEventType>(
    orderId: string,
    command: string,
    allowed: ReadonlyArray<OrderStatus>,
    meta: CommandMeta,
    decide: (order: OrderState) => { state: OrderState; type: T; data: OrderEvents[T] },
  ): Promise<CommitResult> {
    return this.retryingConflicts(async () => {
      const current = await this.writer.load<OrderState>(ORDER_AGGREGATE, orderId);
      if (!current) throw new InvalidTransitionError(orderId, command, 'ABSENT');
      if (!allowed.includes(current.state.status))
        throw new InvalidTransitionError(orderId, command, current.state.status);
      const { state, type, data } = decide(current.state);
      return this.writer.commit({
        aggregateType: ORDER_AGGREGATE,
        aggregateId: orderId,
        expectedVersion: current.version,
        state,
        events: [orderEvent(type, data)],
        ...meta,
      });
    });
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

function validateLines(lines: unknown): OrderLine[] {
  if (!Array.isArray(lines) || lines.length === 0 || lines.length > 50) {
    throw new ValidationError('lines', 'must be an array of 1 to 50 order lines', lines);
  }
  return lines.map((line, index) => {
    const l = line as Partial<OrderLine>;
    if (typeof l?.sku !== 'string' || !/^[A-Za-z0-9-]{1,40}$/.test(l.sku)) {
      throw new ValidationError(`lines[${index}].sku`, 'must be 1 to 40 letters, digits or dashes', l?.sku);
    }
    if (!Number.isInteger(l.quantity) || (l.quantity as number) < 1 || (l.quantity as number) > 1000) {
      throw new ValidationError(`lines[${index}].quantity`, 'must be an integer from 1 to 1000', l.quantity);
    }
    if (!Number.isInteger(l.unitPrice) || (l.unitPrice as number) < 0) {
      throw new ValidationError(
        `lines[${index}].unitPrice`,
        'must be a whole number of cents >= 0',
        l.unitPrice,
      );
    }
    return { sku: l.sku, quantity: l.quantity as number, unitPrice: l.unitPrice as number };
  });
}

function totalOf(lines: ReadonlyArray<OrderLine>): number {
  return lines.reduce((sum, line) => sum + line.quantity * line.unitPrice, 0);
}

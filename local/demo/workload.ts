import { randomUUID } from 'node:crypto';
import { LOCAL_CREDENTIALS, LOCAL_REGION, seededRandom } from 'local-aws';
import { ORDER_API_HEADERS } from '../../contract/order-api';
import { type ApiResponse, OrderApiClient } from '../../tools/order-api/client';

/** One HTTP command of the demo workload, against the producer's Function URL. */
export interface Command {
  readonly orderId: string;
  readonly method: 'POST';
  readonly path: string;
  readonly body?: unknown;
}

/** Result of running the workload. */
export interface WorkloadResult {
  /** Event ids the producer reported as committed, with their aggregate key, sequence and event type. */
  readonly committed: Map<string, { aggregate: string; sequence: number; type: string }>;
  /** Commands refused because another command won the race (409 version conflicts). */
  readonly conflicts: number;
  /** Commands refused by the domain (e.g. confirming a cancelled order). */
  readonly rejected: number;
  /** Commands refused with 503 (a DynamoDB conflict that outlasted the producer's retries); nothing was written. */
  readonly unavailable: number;
  /** Commands retried with their idempotency key after a 500 or 503. */
  readonly retried: number;
  /** Retries answered with the first result (the command had committed; nothing was written twice). */
  readonly replayed: number;
  /** Commands that failed for any other reason (should be 0). */
  readonly errors: string[];
  readonly firstCommitAt: number;
  readonly lastCommitAt: number;
}

/** Shape of a workload. */
export interface WorkloadOptions {
  /** Approximate number of events to commit. */
  readonly events: number;
  readonly aggregates: number;
  /** Share of orders that get two racing commands (one must lose). @default 0.1 */
  readonly conflictRate?: number;
  /** Commands in flight at once. @default 16 */
  readonly concurrency?: number;
  readonly seed?: number;
  readonly onProgress?: (done: number, total: number) => void;
}

/** One order of the workload: how many items it gains, how it ends, and whether it races. */
interface OrderPlan {
  readonly orderId: string;
  readonly items: number;
  readonly cancel: boolean;
  readonly race: boolean;
}

/** A workload's result as it is filled in. */
type MutableResult = { -readonly [K in keyof WorkloadResult]: WorkloadResult[K] };

/**
 * Runs a seeded order workload through the producer's Function URL: every order
 * is placed, gains a few items, and is confirmed or cancelled; some orders get two
 * racing commands so that optimistic concurrency rejects one of them. Commands of
 * one order run in sequence; orders run concurrently.
 */
export async function runWorkload(baseUrl: string, options: WorkloadOptions): Promise<WorkloadResult> {
  const plans = planOrders(options);
  const total = plans.reduce((n, p) => n + p.items + 2 + (p.race ? 1 : 0), 0);
  const result: MutableResult = {
    committed: new Map(),
    conflicts: 0,
    rejected: 0,
    unavailable: 0,
    retried: 0,
    replayed: 0,
    errors: [],
    firstCommitAt: 0,
    lastCommitAt: 0,
  };
  let done = 0;
  const sender = new CommandSender(baseUrl, result, () => options.onProgress?.(++done, total));
  let next = 0;
  const workers = Array.from({ length: Math.min(options.concurrency ?? 16, plans.length) }, async () => {
    while (next < plans.length) {
      const plan = plans[next++];
      if (!plan) continue;
      // Each step's commands run together (a race), steps one after the other.
      for (const step of commandsOf(plan)) await Promise.all(step.map((command) => sender.send(command)));
    }
  });
  await Promise.all(workers);
  return result;
}

/** The orders of a workload, seeded. */
function planOrders(options: WorkloadOptions): OrderPlan[] {
  if (!Number.isInteger(options.events) || options.events < 1)
    throw new RangeError(`events must be a positive integer (given ${options.events})`);
  if (
    !Number.isInteger(options.aggregates) ||
    options.aggregates < 1 ||
    options.aggregates > options.events
  ) {
    throw new RangeError(`aggregates must be between 1 and events (given ${options.aggregates})`);
  }
  const random = seededRandom(options.seed ?? 7);
  const conflictRate = options.conflictRate ?? 0.1;
  const perOrder = Math.max(2, Math.round(options.events / options.aggregates));
  const runId = Date.now().toString(36);
  return Array.from({ length: options.aggregates }, (_, i) => ({
    orderId: `o-${runId}-${i}`,
    items: Math.max(0, perOrder - 2),
    cancel: random() < 0.25,
    race: random() < conflictRate,
  }));
}

/** An order's commands, step by step: place, add items, then confirm or cancel (twice at once when it races). */
function commandsOf(plan: OrderPlan): Command[][] {
  const { orderId } = plan;
  const place: Command = {
    orderId,
    method: 'POST',
    path: '/orders',
    body: {
      orderId,
      customerId: `c-${orderId.length % 50}`,
      lines: [{ sku: 'SKU-1', quantity: 1, unitPrice: 1000 }],
    },
  };
  const items = Array.from({ length: plan.items }, (_, i): Command[] => [
    {
      orderId,
      method: 'POST',
      path: `/orders/${orderId}/items`,
      body: { sku: `SKU-${i + 2}`, quantity: 1 + (i % 3), unitPrice: 250 },
    },
  ]);
  const finish: Command = plan.cancel
    ? { orderId, method: 'POST', path: `/orders/${orderId}/cancel`, body: { reason: 'customer request' } }
    : { orderId, method: 'POST', path: `/orders/${orderId}/confirm` };
  // Two commands that read the same version: the version condition lets exactly one commit.
  const race: Command = {
    orderId,
    method: 'POST',
    path: `/orders/${orderId}/cancel`,
    body: { reason: 'race' },
  };
  return [[place], ...items, plan.race ? [finish, race] : [finish]];
}

/** Sends commands, retrying 500/503 with the same idempotency key, and records what each did. */
class CommandSender {
  // Signed with the operator key: the URL uses AWS_IAM auth, which the local runtime enforces.
  private readonly api: OrderApiClient;

  constructor(
    baseUrl: string,
    private readonly result: MutableResult,
    private readonly onDone: () => void,
  ) {
    this.api = new OrderApiClient({ baseUrl, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  }

  async send(command: Command): Promise<void> {
    // One key per command, kept across retries: a retry after a lost answer commits nothing twice.
    const options = { idempotencyKey: randomUUID(), correlationId: `demo-${command.orderId}` };
    let response = await this.api.post(command.path, command.body ?? {}, options);
    for (let retry = 0; retry < 3 && (response.status === 500 || response.status === 503); retry++) {
      this.result.retried++;
      await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** retry));
      response = await this.api.post(command.path, command.body ?? {}, options);
    }
    this.onDone();
    this.record(command, response);
  }

  private record(command: Command, response: ApiResponse): void {
    const body = response.body as { eventIds?: string[]; version?: number; error?: string; message?: string };
    const { result } = this;
    if (response.status === 201 && body.eventIds && body.version !== undefined) {
      if (response.headers.get(ORDER_API_HEADERS.idempotentReplayed) === 'true') result.replayed++;
      const now = Date.now();
      if (!result.firstCommitAt) result.firstCommitAt = now;
      result.lastCommitAt = now;
      const version = body.version;
      body.eventIds.forEach((id, i, all) => {
        result.committed.set(id, {
          aggregate: `Order#${command.orderId}`,
          sequence: version - all.length + i + 1,
          type: eventTypeOf(command.path),
        });
      });
    } else if (response.status === 409 && body.error === 'ConcurrencyConflict') {
      result.conflicts++;
    } else if (response.status === 409) {
      result.rejected++;
    } else if (response.status === 503) {
      result.unavailable++;
    } else {
      result.errors.push(`${command.method} ${command.path} → ${response.status} ${body.message ?? ''}`);
    }
  }
}

/** The event type the order API commits for a command path. */
export function eventTypeOf(path: string): string {
  if (/^\/?orders$/.test(path)) return 'OrderPlaced';
  if (path.endsWith('/items')) return 'OrderItemAdded';
  if (path.endsWith('/confirm')) return 'OrderConfirmed';
  if (path.endsWith('/cancel')) return 'OrderCancelled';
  throw new RangeError(`no order command at ${path}`);
}

import { randomUUID } from 'node:crypto';
import { LOCAL_CREDENTIALS, LOCAL_REGION, seededRandom } from 'local-aws';
import { ORDER_API_HEADERS } from '../../contract/order-api';
import { OrderApiClient } from '../../tools/order-api/client';

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

/**
 * Runs a seeded order workload through the producer's Function URL: every order
 * is placed, gains a few items, and is confirmed or cancelled; some orders get two
 * racing commands so that optimistic concurrency rejects one of them. Commands of
 * one order run in sequence; orders run concurrently.
 */
export async function runWorkload(baseUrl: string, options: WorkloadOptions): Promise<WorkloadResult> {
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
  const plans = Array.from({ length: options.aggregates }, (_, i) => ({
    orderId: `o-${runId}-${i}`,
    items: Math.max(0, perOrder - 2),
    cancel: random() < 0.25,
    race: random() < conflictRate,
  }));
  const total = plans.reduce((n, p) => n + p.items + 2 + (p.race ? 1 : 0), 0);
  const result: WorkloadResult = {
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

  // Signed with the operator key: the URL uses AWS_IAM auth, which the local runtime enforces.
  const api = new OrderApiClient({ baseUrl, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  const send = async (command: Command): Promise<void> => {
    // One key per command, kept across retries: a retry after a lost answer commits nothing twice.
    const idempotencyKey = randomUUID();
    let response = await api.post(command.path, command.body ?? {}, {
      idempotencyKey,
      correlationId: `demo-${command.orderId}`,
    });
    for (let retry = 0; retry < 3 && (response.status === 500 || response.status === 503); retry++) {
      (result as { retried: number }).retried++;
      await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** retry));
      response = await api.post(command.path, command.body ?? {}, {
        idempotencyKey,
        correlationId: `demo-${command.orderId}`,
      });
    }
    const body = response.body as {
      eventIds?: string[];
      version?: number;
      error?: string;
      message?: string;
    };
    done++;
    options.onProgress?.(done, total);
    if (response.status === 201 && body.eventIds && body.version !== undefined) {
      if (response.headers.get(ORDER_API_HEADERS.idempotentReplayed) === 'true')
        (result as { replayed: number }).replayed++;
      const now = Date.now();
      if (!result.firstCommitAt) (result as { firstCommitAt: number }).firstCommitAt = now;
      (result as { lastCommitAt: number }).lastCommitAt = now;
      body.eventIds.forEach((id, i, all) => {
        result.committed.set(id, {
          aggregate: `Order#${command.orderId}`,
          sequence: (body.version as number) - all.length + i + 1,
          type: eventTypeOf(command.path),
        });
      });
    } else if (response.status === 409 && body.error === 'ConcurrencyConflict') {
      (result as { conflicts: number }).conflicts++;
    } else if (response.status === 409) {
      (result as { rejected: number }).rejected++;
    } else if (response.status === 503) {
      (result as { unavailable: number }).unavailable++;
    } else {
      result.errors.push(`${command.method} ${command.path} → ${response.status} ${body.message ?? ''}`);
    }
  };

  const runOrder = async (plan: (typeof plans)[number]) => {
    await send({
      orderId: plan.orderId,
      method: 'POST',
      path: '/orders',
      body: {
        orderId: plan.orderId,
        customerId: `c-${plan.orderId.length % 50}`,
        lines: [{ sku: 'SKU-1', quantity: 1, unitPrice: 1000 }],
      },
    });
    for (let i = 0; i < plan.items; i++) {
      await send({
        orderId: plan.orderId,
        method: 'POST',
        path: `/orders/${plan.orderId}/items`,
        body: { sku: `SKU-${i + 2}`, quantity: 1 + (i % 3), unitPrice: 250 },
      });
    }
    const finish: Command = plan.cancel
      ? {
          orderId: plan.orderId,
          method: 'POST',
          path: `/orders/${plan.orderId}/cancel`,
          body: { reason: 'customer request' },
        }
      : { orderId: plan.orderId, method: 'POST', path: `/orders/${plan.orderId}/confirm` };
    if (plan.race) {
      // Two commands that read the same version: the version condition lets exactly one commit.
      await Promise.all([
        send(finish),
        send({
          orderId: plan.orderId,
          method: 'POST',
          path: `/orders/${plan.orderId}/cancel`,
          body: { reason: 'race' },
        }),
      ]);
    } else {
      await send(finish);
    }
  };

  let next = 0;
  const workers = Array.from({ length: Math.min(options.concurrency ?? 16, plans.length) }, async () => {
    while (next < plans.length) {
      const plan = plans[next++];
      if (plan) await runOrder(plan);
    }
  });
  await Promise.all(workers);
  return result;
}

/** The event type the order API commits for a command path. */
export function eventTypeOf(path: string): string {
  if (/^\/?orders$/.test(path)) return 'OrderPlaced';
  if (path.endsWith('/items')) return 'OrderItemAdded';
  if (path.endsWith('/confirm')) return 'OrderConfirmed';
  if (path.endsWith('/cancel')) return 'OrderCancelled';
  throw new RangeError(`no order command at ${path}`);
}

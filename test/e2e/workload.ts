import { randomBytes, randomUUID } from 'node:crypto';
import { ORDER_API_HEADERS } from '../../contract/order-api';
import type { ApiResponse, OrderApiClient } from '../../tools/order-api/client';

/**
 * The suite's workload against the order API: three orders moved through their lifecycles
 * concurrently, each command with an Idempotency-Key of its own; retries of committed commands
 * with their keys; a key reused for another body; a placement under a taken id; and hostile
 * bodies. Unique ids per run, so runs against a long-lived stack never see each other's orders.
 */

export const LINE = { sku: 'E2E-SKU-1', quantity: 2, unitPrice: 1250 } as const;

/** One POST and what it was answered. */
export interface SentCommand {
  readonly request: string;
  readonly path: string;
  readonly body: unknown;
  readonly idempotencyKey: string;
  readonly response: ApiResponse;
}

/** An order the workload commits events for, and what the pipeline must end up with. */
export interface OrderScript {
  readonly id: string;
  readonly customerId: string;
  readonly finalStatus: 'PLACED' | 'CONFIRMED' | 'CANCELLED';
  /** Every event the order's commands commit, in sequence order. */
  readonly eventTypes: ReadonlyArray<string>;
  /** The placement and the commands after it, in the order they were sent, with their answers. */
  readonly sent: ReadonlyArray<SentCommand>;
}

/** A POST sent again with the key of an earlier one. */
export interface Retry {
  readonly label: string;
  readonly first: SentCommand;
  readonly retry: SentCommand;
}

/** A body the API must refuse with 400, committing nothing. */
export interface HostileCommand extends SentCommand {
  readonly label: string;
  readonly orderId: string;
}

export interface WorkloadResult {
  readonly runId: string;
  /** Orders that committed events: the three scripted ones and the one whose id the API chose. */
  readonly scripts: ReadonlyArray<OrderScript>;
  /** Same key, same body: each must answer with the first result. */
  readonly retries: ReadonlyArray<Retry>;
  /** A key of a committed placement sent with another body. */
  readonly keyReuse: {
    readonly first: SentCommand;
    readonly reused: SentCommand;
    readonly order: OrderScript;
  };
  /** A placement, under a fresh key, of an id that is taken. */
  readonly conflict: { readonly sent: SentCommand; readonly order: OrderScript };
  readonly hostile: ReadonlyArray<HostileCommand>;
  /** GET /orders/{id} after all commands, for every script and every hostile order id. */
  readonly finalReads: Readonly<Record<string, ApiResponse>>;
}

/** A command the workload depends on did not get the expected answer. */
export class UnexpectedResponseError extends Error {
  override readonly name = 'UnexpectedResponseError';
  constructor(request: string, expected: number, response: ApiResponse) {
    super(
      `${request} answered ${response.status} (expected ${expected}): ${JSON.stringify(response.body).slice(0, 500)}`,
    );
  }
}

/** Whether an answer says it replays the first result of its key. */
export function isReplayed(response: ApiResponse): boolean {
  return response.headers.get(ORDER_API_HEADERS.idempotentReplayed) === 'true';
}

/** The parts of a command's answer that a replay must repeat. */
export function firstResultOf(response: ApiResponse): unknown {
  const { orderId, version, eventIds } = (response.body ?? {}) as Record<string, unknown>;
  return { status: response.status, orderId, version, eventIds };
}

/** Runs the workload; see the module comment. */
export async function runWorkload(api: OrderApiClient, runId: string = newRunId()): Promise<WorkloadResult> {
  const send = async (path: string, body: unknown, idempotencyKey = `${runId}-${randomUUID()}`) => {
    const response = await api.post(path, body, { idempotencyKey, correlationId: runId });
    return { request: `POST ${path}`, path, body, idempotencyKey, response } satisfies SentCommand;
  };
  const resend = (command: SentCommand) => send(command.path, command.body, command.idempotencyKey);

  const plans = [
    {
      id: `${runId}-confirmed`,
      customerId: 'e2e-customer-a',
      commands: [
        { path: 'items', body: { sku: 'E2E-SKU-2', quantity: 1, unitPrice: 999 } },
        { path: 'confirm', body: {} },
      ],
      finalStatus: 'CONFIRMED',
      eventTypes: ['OrderPlaced', 'OrderItemAdded', 'OrderConfirmed'],
    },
    {
      id: `${runId}-cancelled`,
      customerId: 'e2e-customer-b',
      commands: [{ path: 'cancel', body: { reason: 'changed my mind' } }],
      finalStatus: 'CANCELLED',
      eventTypes: ['OrderPlaced', 'OrderCancelled'],
    },
    {
      id: `${runId}-confirmed-then-cancelled`,
      customerId: 'e2e-customer-c',
      commands: [
        { path: 'confirm', body: {} },
        { path: 'cancel', body: { reason: 'out of stock' } },
      ],
      finalStatus: 'CANCELLED',
      eventTypes: ['OrderPlaced', 'OrderConfirmed', 'OrderCancelled'],
    },
  ] as const;

  // Orders run concurrently; each order's commands run in order, as a client would send them.
  const scripted: OrderScript[] = await Promise.all(
    plans.map(async (plan) => {
      const sent = [await send('/orders', { orderId: plan.id, customerId: plan.customerId, lines: [LINE] })];
      for (const command of plan.commands) {
        sent.push(await send(`/orders/${plan.id}/${command.path}`, command.body));
      }
      for (const command of sent) expectStatus(command, 201);
      return {
        id: plan.id,
        customerId: plan.customerId,
        finalStatus: plan.finalStatus,
        eventTypes: plan.eventTypes,
        sent,
      };
    }),
  );
  const [confirmed, cancelled, confirmedThenCancelled] = scripted as [OrderScript, OrderScript, OrderScript];

  // An order whose id the API chooses: only the key makes its retry land on the same order.
  const placedByApi = await send('/orders', { customerId: 'e2e-customer-d', lines: [LINE] });
  expectStatus(placedByApi, 201);
  const apiChosenId = String((placedByApi.response.body as { orderId?: unknown }).orderId);
  const apiChosen: OrderScript = {
    id: apiChosenId,
    customerId: 'e2e-customer-d',
    finalStatus: 'PLACED',
    eventTypes: ['OrderPlaced'],
    sent: [placedByApi],
  };

  // Retries, once the first answers are in: a placement, a command the order has since moved
  // past (items after confirm), and the placement whose id the API chose.
  const retried = [
    { label: 'placement with its id', first: at(confirmed.sent, 0) },
    { label: 'add-item after the order was confirmed', first: at(confirmed.sent, 1) },
    { label: 'placement without an id', first: placedByApi },
  ];
  const retries: Retry[] = [];
  for (const { label, first } of retried) retries.push({ label, first, retry: await resend(first) });

  const keyReuseFirst = at(cancelled.sent, 0);
  const reused = await send(
    keyReuseFirst.path,
    { orderId: cancelled.id, customerId: 'e2e-someone-else', lines: [LINE] },
    keyReuseFirst.idempotencyKey,
  );

  const conflict = await send('/orders', {
    orderId: cancelled.id,
    customerId: 'e2e-someone-else',
    lines: [LINE],
  });

  const hostile: HostileCommand[] = [];
  for (const { label, body } of hostileBodies(runId)) {
    hostile.push({ label, orderId: body.orderId, ...(await send('/orders', body)) });
  }

  const scripts = [confirmed, cancelled, confirmedThenCancelled, apiChosen];
  const readIds = [...scripts.map((s) => s.id), ...hostile.map((h) => h.orderId)];
  const finalReads = Object.fromEntries(
    await Promise.all(readIds.map(async (id) => [id, await api.get(`/orders/${id}`)] as const)),
  );
  return {
    runId,
    scripts,
    retries,
    keyReuse: { first: keyReuseFirst, reused, order: cancelled },
    conflict: { sent: conflict, order: cancelled },
    hostile,
    finalReads,
  };
}

/**
 * Placements the API must refuse with 400 before anything is written, one fault each:
 * U+FFFF in customerId (valid JSON and within the schema, but a character SQS refuses, so the
 * relay could never deliver the event), 51 lines (one over the limit), and a field the
 * command does not have.
 */
export function hostileBodies(
  runId: string,
): Array<{ label: string; body: { orderId: string } & Record<string, unknown> }> {
  return [
    {
      label: 'U+FFFF in customerId',
      body: { orderId: `${runId}-hostile-uffff`, customerId: 'e2e-\uFFFF-customer', lines: [LINE] },
    },
    {
      label: '51 lines',
      body: {
        orderId: `${runId}-hostile-51-lines`,
        customerId: 'e2e-customer-h',
        lines: Array.from({ length: 51 }, (_, index) => ({ ...LINE, sku: `E2E-SKU-${index}` })),
      },
    },
    {
      label: 'an unknown field',
      body: {
        orderId: `${runId}-hostile-unknown-field`,
        customerId: 'e2e-customer-h',
        lines: [LINE],
        discount: 100,
      },
    },
  ];
}

function expectStatus(command: SentCommand, status: number): void {
  if (command.response.status !== status)
    throw new UnexpectedResponseError(command.request, status, command.response);
}

function at<T>(items: ReadonlyArray<T>, index: number): T {
  const item = items[index];
  if (item === undefined) throw new RangeError(`no item ${index} (of ${items.length})`);
  return item;
}

function newRunId(): string {
  return `e2e-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}

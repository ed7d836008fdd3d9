import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DeployedStack, E2eConfigurationError, resolveDeployment, skipMessage } from './deployed-stack';
import { type ApiResponse, OrderApiClient } from './order-api-client';
import { FAILURE_QUEUES, observeUntil, PipelineProbes, type ReadModels } from './pipeline-probes';

// Resolved while collecting, so the skip decision and its message happen once, before any test.
const deployment = resolveDeployment();
if (!deployment.configured) console.warn(skipMessage(deployment.reason));

/** After the read models match, how long to keep watching for a late, doubled effect. */
const SETTLE_MS = 3000;

const LINE = { sku: 'E2E-SKU-1', quantity: 2, unitPrice: 1250 };

/** One order's commands after it is placed, and what the pipeline must end up with. */
interface OrderScript {
  readonly id: string;
  readonly customerId: string;
  readonly commands: ReadonlyArray<{ readonly path: string; readonly body: unknown }>;
  readonly finalStatus: 'CONFIRMED' | 'CANCELLED';
  /** Every event the order's commands commit, in sequence order. */
  readonly eventTypes: ReadonlyArray<string>;
}

interface WorkloadResult {
  readonly scripts: ReadonlyArray<OrderScript>;
  /** Versions returned by each order's commands, placement first. */
  readonly versions: Record<string, number[]>;
  /** The order whose id the conflicting command reused. */
  readonly conflicted: OrderScript;
  readonly conflictResponse: ApiResponse;
  /** GET /orders/{id} after all commands. */
  readonly finalReads: Record<string, ApiResponse>;
}

/** A command the workload depends on did not get the expected answer. */
class UnexpectedResponseError extends Error {
  constructor(request: string, expected: number, response: ApiResponse) {
    super(
      `${request} answered ${response.status} (expected ${expected}): ${JSON.stringify(response.body).slice(0, 500)}`,
    );
    this.name = 'UnexpectedResponseError';
  }
}

describe.skipIf(!deployment.configured)('the outbox pipeline on a deployed stack', () => {
  let stack: DeployedStack;
  let probes: PipelineProbes | undefined;
  let run: WorkloadResult;
  let expectedReadModels: Record<string, ReadModels>;
  let observedReadModels: Record<string, ReadModels>;
  let convergedAfterMs: number | undefined;

  beforeAll(async () => {
    if (!deployment.configured)
      throw new E2eConfigurationError('the suite runs only against a configured stack');
    stack = deployment.stack;
    const reader = new PipelineProbes(stack);
    probes = reader;
    await reader.assertReachable();

    run = await runWorkload(OrderApiClient.for(stack), newRunId());

    const readAll = () => readModelsOf(reader, run.scripts);
    expectedReadModels = Object.fromEntries(
      run.scripts.map((s) => [
        s.id,
        {
          projection: { lastSequence: s.eventTypes.length, status: s.finalStatus },
          activity: { eventCount: s.eventTypes.length },
        },
      ]),
    );
    const outcome = await observeUntil(readAll, expectedReadModels, { timeoutMs: stack.waitMs });
    observedReadModels = outcome.observed;
    if (outcome.matched) {
      convergedAfterMs = outcome.elapsedMs;
      await sleep(SETTLE_MS);
      observedReadModels = await readAll();
    }
  });

  afterAll(() => {
    probes?.destroy();
  });

  function stackProbes(): PipelineProbes {
    if (!probes) throw new E2eConfigurationError('probes are created in beforeAll');
    return probes;
  }

  it('answers each accepted command with the order’s next version', () => {
    // Given the workload's commands (beforeAll)
    const expected = Object.fromEntries(
      run.scripts.map((s) => [s.id, s.eventTypes.map((_type, index) => index + 1)]),
    );

    // Then each command moved its order one version on
    expect(run.versions).toEqual(expected);
  });

  it('rejects placing an order under a taken id with 409 ConcurrencyConflict', () => {
    // Given a second placement of an existing order id (beforeAll)
    // Then the optimistic-concurrency check refused it
    expect(run.conflictResponse.status).toBe(409);
    expect(run.conflictResponse.body).toMatchObject({ error: 'ConcurrencyConflict' });
  });

  it('leaves the order unchanged after the rejected command', () => {
    // Given the rejected placement (beforeAll)
    const { conflicted } = run;

    // Then the order still has the state and version its accepted commands gave it
    expect(run.finalReads[conflicted.id]).toMatchObject({
      status: 200,
      body: {
        version: conflicted.eventTypes.length,
        state: { status: conflicted.finalStatus, customerId: conflicted.customerId },
      },
    });
  });

  it('commits no outbox item for the rejected command', async () => {
    // Given the rejected placement (beforeAll)
    const { conflicted } = run;

    // When the order's outbox items are read back
    const items = await stackProbes().outboxItems(conflicted.id);

    // Then there is exactly one per accepted event, sequences 1..version, and nothing else
    expect(items).toEqual(
      conflicted.eventTypes.map((eventType, index) => ({ sequence: index + 1, eventType })),
    );
  });

  it('brings each order’s projection and activity counter to the order’s version, exactly once', () => {
    // Given the consumers had up to OUTBOX_E2E_WAIT_SECONDS to catch up, then SETTLE_MS more
    // Then the ordered view applied every event and the counter counted each once
    expect(
      observedReadModels,
      convergedAfterMs === undefined ? 'read models did not match within the wait' : undefined,
    ).toEqual(expectedReadModels);
  });

  it('leaves the relay failure queue and every consumer dead-letter queue empty', async () => {
    // Given the workload has been processed (beforeAll waited for the read models)
    // When the failure queues are inspected
    const depths = Object.fromEntries(
      await Promise.all(
        FAILURE_QUEUES.map(async (output) => [output, await stackProbes().queueDepth(stack.outputs[output])]),
      ),
    );

    // Then none holds a message (messages left by earlier runs count too: inspect and purge them)
    expect(depths).toEqual(Object.fromEntries(FAILURE_QUEUES.map((output) => [output, 0])));
  });
});

/** Places three orders, moves them through their lifecycles, and sends one conflicting command. */
async function runWorkload(api: OrderApiClient, runId: string): Promise<WorkloadResult> {
  const scripts: OrderScript[] = [
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
  ];

  // Orders run concurrently; each order's commands run in order, as a client would send them.
  const versionLists = await Promise.all(
    scripts.map(async (script) => {
      const versions = [
        versionOf(
          'POST /orders',
          await api.post('/orders', { orderId: script.id, customerId: script.customerId, lines: [LINE] }),
        ),
      ];
      for (const command of script.commands) {
        const path = `/orders/${script.id}/${command.path}`;
        versions.push(versionOf(`POST ${path}`, await api.post(path, command.body)));
      }
      return [script.id, versions] as const;
    }),
  );

  const [, conflicted] = scripts as [OrderScript, OrderScript, OrderScript];
  const conflictResponse = await api.post('/orders', {
    orderId: conflicted.id,
    customerId: 'e2e-someone-else',
    lines: [LINE],
  });

  const finalReads = Object.fromEntries(
    await Promise.all(scripts.map(async (s) => [s.id, await api.get(`/orders/${s.id}`)] as const)),
  );
  return { scripts, versions: Object.fromEntries(versionLists), conflicted, conflictResponse, finalReads };
}

function versionOf(request: string, response: ApiResponse): number {
  const version = (response.body as { version?: unknown } | null)?.version;
  if (response.status !== 201 || typeof version !== 'number') {
    throw new UnexpectedResponseError(request, 201, response);
  }
  return version;
}

async function readModelsOf(
  probes: PipelineProbes,
  scripts: ReadonlyArray<OrderScript>,
): Promise<Record<string, ReadModels>> {
  return Object.fromEntries(
    await Promise.all(scripts.map(async (s) => [s.id, await probes.readModels(s.id)])),
  );
}

// Unique per run, so runs against a long-lived stack never see each other's orders.
function newRunId(): string {
  return `e2e-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}

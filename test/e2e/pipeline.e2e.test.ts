import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queueLabel } from '../../tools/outbox-cli/stack-outputs';
import {
  type DeployedStack,
  describeTarget,
  E2eConfigurationError,
  orderApiFor,
  resolveDeployment,
  skipMessage,
} from './deployed-stack';
import { observeUntil, PipelineProbes, type ReadModels } from './pipeline-probes';
import { firstResultOf, isReplayed, runWorkload, type WorkloadResult } from './workload';

// Resolved while collecting, so the skip decision and its message happen once, before any test.
const deployment = resolveDeployment();
console.warn(deployment.configured ? describeTarget(deployment.stack) : skipMessage(deployment.reason));

/** After the read models match, how long to keep watching for a late, doubled effect. */
const SETTLE_MS = 3000;
/** Once the read models match, how long the consumers' queues may take to delete their last messages. */
const DRAIN_MS = 30_000;

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

    run = await runWorkload(orderApiFor(stack));

    // Orders that committed events, and hostile ones that must never show up in a read model.
    const outcomes = [
      ...run.scripts.map(
        (s) => [s.id, { eventCount: s.eventTypes.length, finalStatus: s.finalStatus }] as const,
      ),
      ...run.hostile.map((h) => [h.orderId, null] as const),
    ];
    expectedReadModels = Object.fromEntries(
      outcomes.map(([id, outcome]) => [id, reader.expectedReadModels(outcome)]),
    );
    const readAll = async () =>
      Object.fromEntries(
        await Promise.all(outcomes.map(async ([id]) => [id, await reader.readModels(id)] as const)),
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

  it('answers each accepted command with the order’s next version, not as a replay', () => {
    // Given the workload's first sends of each command, each under its own key (beforeAll)
    const answers = Object.fromEntries(
      run.scripts.map((s) => [
        s.id,
        s.sent.map((c) => ({
          status: c.response.status,
          version: (c.response.body as { version?: unknown }).version,
          replayed: isReplayed(c.response),
        })),
      ]),
    );

    // Then each command moved its order one version on, and none was answered as a replay
    expect(answers).toEqual(
      Object.fromEntries(
        run.scripts.map((s) => [
          s.id,
          s.eventTypes.map((_type, index) => ({ status: 201, version: index + 1, replayed: false })),
        ]),
      ),
    );
  });

  it('answers a retried POST with the first result under the same Idempotency-Key', () => {
    // Given each retry sent the same body under the key of a committed command (beforeAll)
    const answers = run.retries.map(({ label, retry }) => ({
      label,
      result: firstResultOf(retry.response),
      replayed: isReplayed(retry.response),
    }));

    // Then each got the first result back, marked idempotent-replayed: true
    expect(answers).toEqual(
      run.retries.map(({ label, first }) => ({
        label,
        result: firstResultOf(first.response),
        replayed: true,
      })),
    );
  });

  it('refuses an Idempotency-Key sent again with another body with 422, leaving the order as it was', () => {
    // Given the key of a committed placement, sent with another customer (beforeAll)
    const { reused, order } = run.keyReuse;

    // Then the API refused it and the order kept its own customer and version
    expect(reused.response).toMatchObject({ status: 422, body: { error: 'IdempotencyKeyReused' } });
    expect(run.finalReads[order.id]).toMatchObject({
      status: 200,
      body: {
        version: order.eventTypes.length,
        state: { customerId: order.customerId, status: order.finalStatus },
      },
    });
  });

  it('rejects placing an order under a taken id with 409 ConcurrencyConflict', () => {
    // Given a second placement of an existing order id under a fresh key (beforeAll)
    // Then the optimistic-concurrency check refused it
    expect(run.conflict.sent.response).toMatchObject({ status: 409, body: { error: 'ConcurrencyConflict' } });
  });

  it('commits exactly the accepted events: nothing for retries, reused keys or the conflict', async () => {
    // Given every order's commands, retries and refused commands (beforeAll)
    // When the orders' outbox items and state are read back
    const items = Object.fromEntries(
      await Promise.all(run.scripts.map(async (s) => [s.id, await stackProbes().outboxItems(s.id)] as const)),
    );
    const states = Object.fromEntries(
      run.scripts.map((s) => {
        const read = run.finalReads[s.id];
        const body = (read?.body ?? {}) as {
          version?: unknown;
          state?: { status?: unknown; customerId?: unknown };
        };
        return [
          s.id,
          {
            status: read?.status,
            version: body.version,
            state: body.state?.status,
            customerId: body.state?.customerId,
          },
        ];
      }),
    );

    // Then there is one item per accepted event, sequences 1..version, and the state matches
    expect(items).toEqual(
      Object.fromEntries(
        run.scripts.map((s) => [
          s.id,
          s.eventTypes.map((eventType, index) => ({ sequence: index + 1, eventType })),
        ]),
      ),
    );
    expect(states).toEqual(
      Object.fromEntries(
        run.scripts.map((s) => [
          s.id,
          { status: 200, version: s.eventTypes.length, state: s.finalStatus, customerId: s.customerId },
        ]),
      ),
    );
  });

  it('refuses hostile bodies with 400 and commits nothing for them', async () => {
    // Given placements with U+FFFF in customerId, 51 lines, and an unknown field (beforeAll)
    // When their orders, outbox items and command records are looked up
    const observed = await Promise.all(
      run.hostile.map(async (h) => ({
        label: h.label,
        status: h.response.status,
        error: (h.response.body as { error?: unknown } | null)?.error,
        read: run.finalReads[h.orderId]?.status,
        outboxItems: (await stackProbes().outboxItems(h.orderId)).length,
        commandRecorded: await stackProbes().commandRecorded(h.idempotencyKey),
      })),
    );

    // Then each was a ValidationError, and no order, event or command record exists for it
    expect(observed).toEqual(
      run.hostile.map((h) => ({
        label: h.label,
        status: 400,
        error: 'ValidationError',
        read: 404,
        outboxItems: 0,
        commandRecorded: false,
      })),
    );
  });

  it('brings every known read model to each order’s events, exactly once, and shows nothing for hostile orders', () => {
    // Given the consumers had up to OUTBOX_E2E_WAIT_SECONDS to catch up, then SETTLE_MS more
    // Then each registered consumer the suite knows applied every event once, and no retry,
    // refused command or hostile body added one
    expect(
      stackProbes().readModelConsumers,
      'no registered consumer has a read model this suite knows',
    ).not.toEqual([]);
    expect(
      observedReadModels,
      convergedAfterMs === undefined ? 'read models did not match within the wait' : undefined,
    ).toEqual(expectedReadModels);
  });

  it('drains every registered consumer’s queue', async () => {
    // Given the read models matched (or the wait ran out)
    const queues = stack.resources.consumers.map((c) => ({ label: c.consumer.name, url: c.queueUrl }));
    const empty = Object.fromEntries(queues.map((q) => [q.label, 0]));

    // When the consumers' queues are watched until they are empty, for at most DRAIN_MS
    const { observed } = await observeUntil(() => stackProbes().queueDepths(queues), empty, {
      timeoutMs: DRAIN_MS,
    });

    // Then none holds a message
    expect(observed).toEqual(empty);
  });

  it('leaves the relay failure queue and every dead-letter queue of every registered consumer empty', async () => {
    // Given the workload has been processed (beforeAll waited for the read models)
    const queues = stack.resources.failureQueues.map((q) => ({ label: queueLabel(q), url: q.url }));

    // When the failure queues are inspected
    const depths = await stackProbes().queueDepths(queues);

    // Then none holds a message (messages left by earlier runs count too: inspect them with
    // `npm run outbox -- status`, then redrive or purge them)
    expect(queues.length).toBe(
      1 + stack.resources.consumers.reduce((n, c) => n + (c.targetDeadLetterQueueUrl ? 2 : 1), 0),
    );
    expect(depths).toEqual(Object.fromEntries(queues.map((q) => [q.label, 0])));
  });
});

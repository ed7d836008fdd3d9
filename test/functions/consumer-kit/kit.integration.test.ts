import { randomUUID } from 'node:crypto';
import { DynamoDBClient, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from 'local-aws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consumerRecordPrefix, effectMarkerId } from '../../../contract/keys';
import { TRANSPORT_ATTRIBUTES } from '../../../contract/transport';
import {
  type ConsumerContext,
  consumerDefinition,
  createConsumer,
  PermanentFailure,
  runtimeFromEnv,
} from '../../../functions/consumer-kit';
import type { EventType } from '../../../functions/events/catalog';
import type { EventEnvelope } from '../../../functions/shared/envelope';
import { ConfigurationError } from '../../../functions/shared/errors';
import { eventFixture } from '../../contract/fixtures';
import {
  bridgedRecord,
  checkpointOf,
  consumerItem,
  deleteKitRecord,
  drainDeadLetters,
  fifoRecord,
  invoke,
  type KitEngines,
  startKitEngines,
  voidRecord,
} from '../../support/kit-harness';

let engines: KitEngines;
beforeAll(async () => {
  engines = await startKitEngines();
});
afterAll(async () => {
  await engines?.stop();
});

/** An order event of the catalog (from its fixture), placed at `sequence` of order `orderId`. */
function orderEvent(
  orderId: string,
  sequence: number,
  type: EventType = sequence === 1 ? 'OrderPlaced' : 'OrderItemAdded',
): EventEnvelope {
  return { ...eventFixture(type), id: randomUUID(), aggregateid: orderId, subject: orderId, sequence };
}

/**
 * An ordered consumer that records, per order, the sequences its `handle` applied, and keeps a
 * count in its store. `failOn` makes `handle` throw for some events.
 */
function orderedProbe(
  name: string,
  options: {
    readonly startPosition?: 'earliest' | 'first-seen';
    readonly failOn?: (event: EventEnvelope) => Error | undefined;
    readonly dynamodb?: DynamoDBClient;
  } = {},
) {
  const applied = new Map<string, number[]>();
  const definition = consumerDefinition({
    name,
    kind: 'ordered',
    startPosition: options.startPosition ?? 'earliest',
    handles: ['OrderPlaced', 'OrderItemAdded', 'OrderConfirmed'],
    async handle(event: EventEnvelope, { store }: ConsumerContext) {
      const failure = options.failOn?.(event);
      if (failure) throw failure;
      applied.set(event.aggregateid, [...(applied.get(event.aggregateid) ?? []), event.sequence]);
      store.update(event.aggregateid, { add: { applied: 1 }, set: { lastSequence: event.sequence } });
    },
  });
  const runtime = {
    ...engines.runtime('ordered'),
    ...(options.dynamodb ? { dynamodb: options.dynamodb } : {}),
  };
  return { applied, handler: createConsumer(definition, runtime), definition };
}

/**
 * A client of the same DynamoDB Local whose next `conflicts` TransactWriteItems are cancelled for
 * a TransactionConflict before they reach it, as DynamoDB cancels a transaction that meets another.
 */
function conflictingClient(conflicts: number): { client: DynamoDBClient; left: () => number } {
  let left = conflicts;
  const client = new DynamoDBClient({
    endpoint: engines.dynamo.engine.endpoint,
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
  });
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName !== 'TransactWriteItemsCommand' || left === 0) return next(args);
      left--;
      throw new TransactionCanceledException({
        message:
          'Transaction cancelled, please refer cancellation reasons for specific reasons [TransactionConflict]',
        $metadata: { httpStatusCode: 400 },
        CancellationReasons: [
          { Code: 'TransactionConflict', Message: 'Transaction is ongoing for the item' },
        ],
      });
    },
    { step: 'initialize', name: 'injectTransactionConflicts' },
  );
  return { client, left: () => left };
}

describe('ordered consumers: the kit keeps each aggregate in order', () => {
  it('applies events in sequence and commits what handle staged with the checkpoint', async () => {
    // Arrange
    const probe = orderedProbe('kit-in-order');
    const events = [1, 2, 3].map((s) => orderEvent('o-1', s));

    // Act
    const response = await invoke(
      probe.handler,
      events.map((e) => fifoRecord(e)),
    );

    // Assert
    expect(response.batchItemFailures).toEqual([]);
    expect(probe.applied.get('o-1')).toEqual([1, 2, 3]);
    expect(await checkpointOf(engines, 'kit-in-order', 'Order#o-1')).toEqual({ last: 3, parked: [] });
    expect(await consumerItem(engines, 'kit-in-order', 'o-1')).toMatchObject({ applied: 3, lastSequence: 3 });
  });

  it('applies through transaction conflicts without failing a message or applying twice', async () => {
    // Arrange: the first two transactions are cancelled for a conflict
    const conflicts = conflictingClient(2);
    const probe = orderedProbe('kit-conflicts', { dynamodb: conflicts.client });
    const events = [1, 2, 3].map((s) => orderEvent('o-1', s));

    // Act
    const response = await invoke(
      probe.handler,
      events.map((e) => fifoRecord(e)),
    );

    // Assert
    expect(conflicts.left()).toBe(0);
    expect(response.batchItemFailures).toEqual([]);
    expect(await checkpointOf(engines, 'kit-conflicts', 'Order#o-1')).toEqual({ last: 3, parked: [] });
    expect(await consumerItem(engines, 'kit-conflicts', 'o-1')).toMatchObject({
      applied: 3,
      lastSequence: 3,
    });
    conflicts.client.destroy();
  });

  it('does not apply a redelivered event again, even after its idempotency record is gone', async () => {
    // Arrange
    const probe = orderedProbe('kit-redelivery');
    const event = orderEvent('o-1', 1);
    await invoke(probe.handler, [fifoRecord(event)]);
    await deleteKitRecord(engines, `${consumerRecordPrefix('kit-redelivery')}not-the-record`);

    // Act: redelivered twice (once the Powertools record would be found, the checkpoint answers either way)
    await invoke(probe.handler, [fifoRecord(event)]);
    await invoke(probe.handler, [fifoRecord({ ...event, id: randomUUID() })]);

    // Assert
    expect(probe.applied.get('o-1')).toEqual([1]);
    expect(await consumerItem(engines, 'kit-redelivery', 'o-1')).toMatchObject({ applied: 1 });
  });

  it('parks an event that arrives before its predecessor and applies both, in order, when the predecessor comes', async () => {
    // Arrange
    const probe = orderedProbe('kit-park');
    const [one, two, three] = [1, 2, 3].map((s) => orderEvent('o-1', s));
    await invoke(probe.handler, [fifoRecord(one as EventEnvelope)]);

    // Act: 3 before 2
    await invoke(probe.handler, [fifoRecord(three as EventEnvelope)]);
    const parked = await checkpointOf(engines, 'kit-park', 'Order#o-1');
    await invoke(probe.handler, [fifoRecord(two as EventEnvelope)]);

    // Assert
    expect(parked).toEqual({ last: 1, parked: [3] });
    expect(probe.applied.get('o-1')).toEqual([1, 2, 3]);
    expect(await checkpointOf(engines, 'kit-park', 'Order#o-1')).toEqual({ last: 3, parked: [] });
  });

  it("logs a released event under its own id and sequence, not its predecessor's", async () => {
    // Arrange: handle notes the keys its logger carries
    const keys: Array<{ event: number; logged: unknown; eventId: unknown }> = [];
    const definition = consumerDefinition({
      name: 'kit-log-keys',
      kind: 'ordered',
      startPosition: 'earliest',
      handles: ['OrderPlaced', 'OrderItemAdded'],
      async handle(event: EventEnvelope, { logger }: ConsumerContext) {
        const attributes = logger.getPersistentLogAttributes();
        keys.push({
          event: event.sequence,
          logged: attributes.sequence,
          eventId: attributes.eventId === event.id,
        });
      },
    });
    const handler = createConsumer(definition, engines.runtime('ordered'));
    const [one, two, three] = [1, 2, 3].map((s) => orderEvent('o-keys', s));

    // Act: 2 and 3 park, then 1 releases them
    await invoke(handler, [fifoRecord(two as EventEnvelope)]);
    await invoke(handler, [fifoRecord(three as EventEnvelope)]);
    await invoke(handler, [fifoRecord(one as EventEnvelope)]);

    // Assert
    expect(keys).toEqual([
      { event: 1, logged: 1, eventId: true },
      { event: 2, logged: 2, eventId: true },
      { event: 3, logged: 3, eventId: true },
    ]);
  });

  it('dead-letters a permanently failing event, parks what follows, and heals once it is redriven, while traffic goes on', async () => {
    // Arrange: handle refuses #2 until fixed
    let broken = true;
    const probe = orderedProbe('kit-quarantine', {
      failOn: (event) =>
        broken && event.sequence === 2 ? new PermanentFailure('Refused', 'not today') : undefined,
    });
    const events = [1, 2, 3, 4].map((s) => orderEvent('o-q', s));
    const other = orderEvent('o-other', 1);

    // Act: 1..4 and another order arrive; #2 goes to the DLQ, 3 and 4 park, the other order is unaffected
    await invoke(probe.handler, [...events.map((e) => fifoRecord(e)), fifoRecord(other)]);
    const dead = await drainDeadLetters(engines, engines.fifoDlqUrl);
    broken = false;
    // …#5 is published before the operator's redrive of #2 lands (traffic goes on)…
    await invoke(probe.handler, [fifoRecord(orderEvent('o-q', 5))]);
    // …then the redrive delivers #2 again, with its transport attributes.
    const redriven = dead.find((m) => JSON.parse(m.body).aggregateid === 'o-q');
    await invoke(probe.handler, [
      fifoRecord(events[1] as EventEnvelope, { attributes: redriven?.attributes ?? {} }),
    ]);

    // Assert
    expect(dead.filter((m) => JSON.parse(m.body).aggregateid === 'o-q')).toEqual([
      expect.objectContaining({
        attributes: expect.objectContaining({ reason: 'Refused', consumer: 'kit-quarantine' }),
        groupId: 'Order#o-q',
      }),
    ]);
    expect(probe.applied.get('o-other')).toEqual([1]);
    expect(probe.applied.get('o-q')).toEqual([1, 2, 3, 4, 5]);
    expect(await checkpointOf(engines, 'kit-quarantine', 'Order#o-q')).toEqual({ last: 5, parked: [] });
  });

  it('keeps an event in the DLQ when it is dead-lettered again minutes after a redrive (no deduplication drop)', async () => {
    // Arrange: #2 keeps failing, so the redriven copy fails again at once
    const probe = orderedProbe('kit-twice', {
      failOn: (event) => (event.sequence === 2 ? new PermanentFailure('Refused', 'still broken') : undefined),
    });
    const [first, second] = [1, 2].map((s) => orderEvent('o-twice', s));
    await invoke(probe.handler, [fifoRecord(first as EventEnvelope), fifoRecord(second as EventEnvelope)]);
    const [dead] = (await drainDeadLetters(engines, engines.fifoDlqUrl)).filter(
      (m) => JSON.parse(m.body).aggregateid === 'o-twice',
    );

    // Act: the operator redrives it; it fails again within SQS's 5-minute deduplication window
    await invoke(probe.handler, [
      fifoRecord(second as EventEnvelope, { attributes: dead?.attributes ?? {} }),
    ]);
    const again = (await drainDeadLetters(engines, engines.fifoDlqUrl)).filter(
      (m) => JSON.parse(m.body).aggregateid === 'o-twice',
    );

    // Assert
    expect(dead).toBeDefined();
    expect(again).toHaveLength(1);
    expect(JSON.parse(again[0]?.body ?? '{}')).toMatchObject({ sequence: 2 });
  });

  it('parks behind an event SQS moved to the DLQ after maxReceiveCount, until it is redriven', async () => {
    // Arrange: #2 never reaches the consumer (SQS moved it after too many receives)
    const probe = orderedProbe('kit-sqs-dlq');
    const events = [1, 2, 3].map((s) => orderEvent('o-s', s));

    // Act
    await invoke(probe.handler, [
      fifoRecord(events[0] as EventEnvelope),
      fifoRecord(events[2] as EventEnvelope),
    ]);
    const meanwhile = [...(probe.applied.get('o-s') ?? [])];
    await invoke(probe.handler, [fifoRecord(events[1] as EventEnvelope)]);

    // Assert
    expect(meanwhile).toEqual([1]);
    expect(probe.applied.get('o-s')).toEqual([1, 2, 3]);
  });

  it('dead-letters an event of a type the catalog does not know, naming the reason, and keeps the order behind it', async () => {
    // Arrange
    const probe = orderedProbe('kit-unknown');
    const first = orderEvent('o-u', 1);
    const unknown = { ...orderEvent('o-u', 2), type: 'OrderTeleported' };
    const third = orderEvent('o-u', 3);

    // Act
    await invoke(probe.handler, [fifoRecord(first), fifoRecord(unknown), fifoRecord(third)]);

    // Assert
    const dead = (await drainDeadLetters(engines, engines.fifoDlqUrl)).filter(
      (m) => JSON.parse(m.body).aggregateid === 'o-u',
    );
    expect(dead.map((m) => m.attributes.reason)).toEqual(['UnknownEventType']);
    expect(probe.applied.get('o-u')).toEqual([1]);
    expect(await checkpointOf(engines, 'kit-unknown', 'Order#o-u')).toEqual({ last: 1, parked: [3] });
  });

  it('dead-letters an invalid payload without writing its values in the reason', async () => {
    // Arrange
    const probe = orderedProbe('kit-invalid');
    const bad = {
      ...orderEvent('o-i', 1),
      data: { customerId: 'secret-customer', lines: 'not lines', total: 1, currency: 'EUR' },
    };

    // Act
    await invoke(probe.handler, [fifoRecord(bad)]);

    // Assert
    const [dead] = (await drainDeadLetters(engines, engines.fifoDlqUrl)).filter(
      (m) => JSON.parse(m.body).aggregateid === 'o-i',
    );
    expect(dead?.attributes.reason).toBe('InvalidPayload');
    expect(dead?.attributes.error).toMatch(/data.lines/);
    expect(dead?.attributes.error).not.toMatch(/secret-customer|not lines/);
  });

  it('steps over a sequence the relay declared void and applies what follows', async () => {
    // Arrange
    const probe = orderedProbe('kit-void');
    const events = [1, 2, 3].map((s) => orderEvent('o-v', s));

    // Act
    await invoke(probe.handler, [
      fifoRecord(events[0] as EventEnvelope),
      voidRecord(events[1] as EventEnvelope),
      fifoRecord(events[2] as EventEnvelope),
    ]);

    // Assert
    expect(probe.applied.get('o-v')).toEqual([1, 3]);
    expect(await checkpointOf(engines, 'kit-void', 'Order#o-v')).toEqual({ last: 3, parked: [] });
  });

  it('starts an aggregate at the first event it sees when it starts there, and never applies earlier ones', async () => {
    // Arrange
    const probe = orderedProbe('kit-first-seen', { startPosition: 'first-seen' });

    // Act: a consumer that joined after #1 and #2
    await invoke(probe.handler, [fifoRecord(orderEvent('o-f', 3)), fifoRecord(orderEvent('o-f', 4))]);
    await invoke(probe.handler, [fifoRecord(orderEvent('o-f', 2))]);

    // Assert
    expect(probe.applied.get('o-f')).toEqual([3, 4]);
  });

  it('waits, when it starts at the earliest event, until the backfill sends the history', async () => {
    // Arrange: a consumer that joined after #1..#2 were published
    const probe = orderedProbe('kit-earliest');
    const history = [1, 2].map((s) => orderEvent('o-e', s));

    // Act: live #3 arrives first, then the backfill sends #1, #2
    await invoke(probe.handler, [fifoRecord(orderEvent('o-e', 3))]);
    const waiting = [...(probe.applied.get('o-e') ?? [])];
    await invoke(
      probe.handler,
      history.map((e) => fifoRecord(e)),
    );

    // Assert
    expect(waiting).toEqual([]);
    expect(probe.applied.get('o-e')).toEqual([1, 2, 3]);
  });

  it("starts at the backfill's oldest retained event when earlier ones expired, and releases what was parked", async () => {
    // Arrange
    const probe = orderedProbe('kit-oldest');
    await invoke(probe.handler, [fifoRecord(orderEvent('o-x', 6))]);

    // Act: the backfill could read #5 only
    await invoke(probe.handler, [
      fifoRecord(orderEvent('o-x', 5), { attributes: { [TRANSPORT_ATTRIBUTES.startsAggregate]: 'true' } }),
    ]);

    // Assert
    expect(probe.applied.get('o-x')).toEqual([5, 6]);
  });

  it('fails only the messages of the group whose head fails, and does not fail the invocation', async () => {
    // Arrange: every event of o-bad fails for a while (a transient error); o-good is healthy
    const probe = orderedProbe('kit-groups', {
      failOn: (event) => (event.aggregateid === 'o-bad' ? new Error('downstream unavailable') : undefined),
    });
    const bad = [1, 2].map((s) => fifoRecord(orderEvent('o-bad', s)));
    const good = [1, 2].map((s) => fifoRecord(orderEvent('o-good', s)));

    // Act
    const response = await invoke(
      probe.handler,
      [bad[0], good[0], bad[1], good[1]].filter((r) => r !== undefined),
    );

    // Assert
    expect(response.batchItemFailures.map((f) => f.itemIdentifier).sort()).toEqual(
      bad.map((r) => r.messageId).sort(),
    );
    expect(probe.applied.get('o-good')).toEqual([1, 2]);
  });
});

describe('unordered consumers: each effect once', () => {
  function unorderedProbe(name: string, dynamodb?: DynamoDBClient) {
    let calls = 0;
    const definition = consumerDefinition({
      name,
      kind: 'unordered',
      async handle(event: EventEnvelope, { store }: ConsumerContext) {
        calls++;
        store.update(event.aggregateid, { add: { count: 1 }, set: { lastType: event.type } });
      },
    });
    const runtime = { ...engines.runtime('unordered'), ...(dynamodb ? { dynamodb } : {}) };
    return { calls: () => calls, handler: createConsumer(definition, runtime) };
  }

  it('commits once through transaction conflicts, without failing the message', async () => {
    // Arrange: the first two transactions are cancelled for a conflict
    const conflicts = conflictingClient(2);
    const probe = unorderedProbe('kit-effect-conflicts', conflicts.client);
    const event = orderEvent('o-1', 1);

    // Act
    const response = await invoke(probe.handler, [bridgedRecord(event)]);

    // Assert
    expect(conflicts.left()).toBe(0);
    expect(response.batchItemFailures).toEqual([]);
    expect(await consumerItem(engines, 'kit-effect-conflicts', 'o-1')).toMatchObject({ count: 1 });
    conflicts.client.destroy();
  });

  it('commits the staged writes once per event, even when handle runs again after its idempotency record is lost', async () => {
    // Arrange
    const probe = unorderedProbe('kit-effect');
    const event = orderEvent('o-1', 1);
    await invoke(probe.handler, [bridgedRecord(event)]);

    // Act: the idempotency record is gone (expired early, or the function stopped before saving it)
    const { ScanCommand } = await import('@aws-sdk/client-dynamodb');
    const { Items = [] } = await engines.dynamo.client.send(
      new ScanCommand({ TableName: engines.dynamo.idempotencyTable.name, ConsistentRead: true }),
    );
    for (const item of Items) {
      const id = item.id?.S ?? '';
      if (id.startsWith('kit-effect#') && id !== effectMarkerId('kit-effect', event.id))
        await deleteKitRecord(engines, id);
    }
    await invoke(probe.handler, [bridgedRecord(event)]);

    // Assert: handle ran twice, the effect happened once
    expect(probe.calls()).toBe(2);
    expect(await consumerItem(engines, 'kit-effect', 'o-1')).toMatchObject({ count: 1 });
  });

  it('suppresses a duplicate delivery without running handle again', async () => {
    // Arrange
    const probe = unorderedProbe('kit-duplicate');
    const event = orderEvent('o-2', 1);

    // Act
    await invoke(probe.handler, [bridgedRecord(event)]);
    await invoke(probe.handler, [bridgedRecord(event)]);

    // Assert
    expect(probe.calls()).toBe(1);
  });

  it('dead-letters a message that is not an EventBridge event, with the reason', async () => {
    // Arrange
    const probe = unorderedProbe('kit-malformed');
    const record = { ...bridgedRecord(orderEvent('o-3', 1)), body: JSON.stringify(orderEvent('o-3', 1)) };

    // Act
    const response = await invoke(probe.handler, [record]);

    // Assert
    expect(response.batchItemFailures).toEqual([]);
    const dead = await drainDeadLetters(engines, engines.standardDlqUrl);
    expect(dead.map((m) => m.attributes.reason)).toContain('MalformedEvent');
    expect(probe.calls()).toBe(0);
  });
});

describe('the runtime the stack gives a consumer', () => {
  it('refuses to run a consumer under another name or kind than the stack deployed', () => {
    // Arrange
    const env = {
      CONSUMER_NAME: 'order-audit',
      CONSUMER_KIND: 'unordered',
      TABLE_NAME: 't',
      IDEMPOTENCY_TABLE_NAME: 'i',
      CONSUMER_MEMORY_SECONDS: '1209600',
      DEAD_LETTER_QUEUE_URL: 'https://sqs/q',
    };

    // Act / Assert
    expect(() => runtimeFromEnv({ name: 'order-audit', kind: 'ordered' }, {}, env)).toThrow(
      ConfigurationError,
    );
    expect(() => runtimeFromEnv({ name: 'order-audit', kind: 'ordered' }, {}, env)).toThrow(
      /deployed it as order-audit \(unordered\)/,
    );
    expect(() =>
      runtimeFromEnv({ name: 'order-audit', kind: 'unordered' }, {}, { ...env, TABLE_NAME: '' }),
    ).toThrow('TABLE_NAME environment variable is not set');
  });
});

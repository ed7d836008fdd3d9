import {
  DynamoDBClient,
  GetItemCommand,
  TransactionCanceledException,
  TransactWriteItemsCommand,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { beforeEach, describe, expect, it } from 'vitest';
import { catalog } from '../../../functions/events/catalog';
import { EventSchemaError } from '../../../functions/events/event-catalog';
import {
  ConcurrencyConflictError,
  IdempotencyKeyReuseError,
  LimitExceededError,
  TransactionConflictError,
  ValidationError,
} from '../../../functions/shared/errors';
import { fromOutboxItem } from '../../../functions/shared/outbox-item';
import { OutboxWriter } from '../../../functions/shared/outbox-writer';

const ddb = mockClient(DynamoDBClient);
const now = new Date('2026-11-23T10:00:00.000Z');

function writer() {
  return new OutboxWriter({
    client: new DynamoDBClient({}),
    tableName: 'outbox',
    source: 'com.example.orders',
    now: () => now,
  });
}

const request = {
  aggregateType: 'Order',
  aggregateId: 'o-1',
  expectedVersion: 2,
  state: { status: 'CONFIRMED' },
  events: [
    { type: 'OrderConfirmed', data: { total: 10 } },
    { type: 'OrderNoted', data: { note: 'n' } },
  ],
  correlationId: 'req-9',
};

describe('OutboxWriter.commit', () => {
  beforeEach(() => ddb.reset());

  it('writes the state and one outbox item per event in one transaction', async () => {
    // Arrange
    ddb.on(TransactWriteItemsCommand).resolves({});

    // Act
    const result = await writer().commit(request);

    // Assert
    const calls = ddb.commandCalls(TransactWriteItemsCommand);
    expect(calls).toHaveLength(1);
    const items = calls[0]?.args[0].input.TransactItems ?? [];
    expect(items).toHaveLength(3);
    expect(items[0]?.Put?.ConditionExpression).toBe('#version = :expected');
    expect(items[0]?.Put?.ExpressionAttributeValues).toEqual({ ':expected': { N: '2' } });
    expect(unmarshall(items[0]?.Put?.Item ?? {})).toMatchObject({ pk: 'Order#o-1', sk: 'STATE', version: 4 });
    const outbox = items.slice(1).map((item) => fromOutboxItem(unmarshall(item.Put?.Item ?? {})));
    expect(outbox.map((o) => [o.pk, o.sequence, o.envelope.type])).toEqual([
      ['Order#o-1', 3, 'OrderConfirmed'],
      ['Order#o-1', 4, 'OrderNoted'],
    ]);
    expect(items[1]?.Put?.ConditionExpression).toBe('attribute_not_exists(pk)');
    expect(result.version).toBe(4);
    expect(result.events.map((e) => e.correlationid)).toEqual(['req-9', 'req-9']);
  });

  it('sets the TTL to the retention after the commit time', async () => {
    ddb.on(TransactWriteItemsCommand).resolves({});
    await writer().commit(request);
    const item =
      ddb.commandCalls(TransactWriteItemsCommand)[0]?.args[0].input.TransactItems?.[1]?.Put?.Item ?? {};
    expect(Number(item.expiresAt?.N)).toBe(now.getTime() / 1000 + 7 * 24 * 3600);
  });

  it('creates an aggregate only if it does not exist when expectedVersion is 0', async () => {
    ddb.on(TransactWriteItemsCommand).resolves({});
    await writer().commit({ ...request, expectedVersion: 0 });
    const put = ddb.commandCalls(TransactWriteItemsCommand)[0]?.args[0].input.TransactItems?.[0]?.Put;
    expect(put?.ConditionExpression).toBe('attribute_not_exists(pk)');
  });

  it('reports the stored version when the expected version does not match', async () => {
    // Arrange
    ddb.on(TransactWriteItemsCommand).rejects(
      new TransactionCanceledException({
        message: 'Transaction cancelled',
        $metadata: {},
        CancellationReasons: [
          { Code: 'ConditionalCheckFailed', Item: marshall({ version: 5 }) },
          { Code: 'None' },
          { Code: 'None' },
        ],
      }),
    );

    // Act / Assert
    await expect(writer().commit(request)).rejects.toThrow(ConcurrencyConflictError);
    await expect(writer().commit(request)).rejects.toThrow(
      /Order#o-1 expected version 2 but found version 5/,
    );
  });

  it('turns a TransactionConflict cancellation into a retryable TransactionConflictError', async () => {
    ddb.on(TransactWriteItemsCommand).rejects(
      new TransactionCanceledException({
        message: 'Transaction cancelled',
        $metadata: {},
        CancellationReasons: [{ Code: 'TransactionConflict' }, { Code: 'None' }, { Code: 'None' }],
      }),
    );
    await expect(writer().commit(request)).rejects.toThrow(TransactionConflictError);
  });

  it('refuses more than 100 actions before calling DynamoDB', async () => {
    const events = Array.from({ length: 100 }, () => ({ type: 'X', data: {} }));
    await expect(writer().commit({ ...request, events })).rejects.toThrow(LimitExceededError);
    await expect(writer().commit({ ...request, events })).rejects.toThrow(
      /TransactWriteItems actions is limited to 100 but the request has 101/,
    );
    expect(ddb.commandCalls(TransactWriteItemsCommand)).toHaveLength(0);
  });

  it('refuses an event larger than an EventBridge entry allows', async () => {
    const events = [{ type: 'Big', data: { blob: 'x'.repeat(260 * 1024) } }];
    await expect(writer().commit({ ...request, events })).rejects.toThrow(
      /EventBridge entry size \(bytes\) is limited to 262144/,
    );
    expect(ddb.commandCalls(TransactWriteItemsCommand)).toHaveLength(0);
  });

  it('refuses a state item over 400 KB', async () => {
    const state = { blob: 'x'.repeat(401 * 1024) };
    await expect(writer().commit({ ...request, state })).rejects.toThrow(
      /DynamoDB item size \(bytes\) is limited to 409600/,
    );
  });

  it('refuses a transaction over 4 MB in total', async () => {
    const events = Array.from({ length: 20 }, () => ({
      type: 'Mid',
      data: { blob: 'x'.repeat(220 * 1024) },
    }));
    await expect(writer().commit({ ...request, events })).rejects.toThrow(
      /TransactWriteItems total size \(bytes\) is limited to 4194304/,
    );
  });

  it.each([
    [{ ...request, expectedVersion: -1 }, /expectedVersion must be a whole number >= 0.*given -1/],
    [{ ...request, events: [] }, /events must be a non-empty array \(given an array of 0\)/],
    [{ ...request, state: null as never }, /state must be an object \(given null\)/],
    [{ ...request, aggregateId: '' }, /aggregateId must match/],
  ])('validates the request and says what was given (%#)', async (bad, message) => {
    await expect(writer().commit(bad)).rejects.toThrow(ValidationError);
    await expect(writer().commit(bad)).rejects.toThrow(message);
  });

  it('validates its options', () => {
    expect(
      () =>
        new OutboxWriter({
          client: new DynamoDBClient({}),
          tableName: 'outbox',
          source: 's',
          retentionSeconds: 10,
        }),
    ).toThrow(/options.retentionSeconds must be a whole number of seconds, at least 3600 \(given 10\)/);
  });
});

describe('OutboxWriter.commit: what the targets cannot carry', () => {
  beforeEach(() => {
    ddb.reset();
    ddb.on(TransactWriteItemsCommand).resolves({});
  });

  it.each([
    ['U+FFFF', '\uFFFF'],
    ['U+FFFE', '\uFFFE'],
  ])(
    'refuses %s (JSON.stringify leaves it raw, SQS refuses it), naming the field, and writes nothing',
    async (code, character) => {
      // Arrange
      const hostile = { ...request, events: [{ type: 'OrderNoted', data: { note: `a${character}b` } }] };

      // Act
      const commit = writer().commit(hostile);

      // Assert
      await expect(commit).rejects.toThrow(ValidationError);
      await expect(writer().commit(hostile)).rejects.toThrow(`events[0].data.note contains ${code}`);
      expect(ddb.commandCalls(TransactWriteItemsCommand)).toHaveLength(0);
    },
  );

  it('refuses a refused character in an object key too', async () => {
    // Arrange
    const hostile = { ...request, events: [{ type: 'OrderNoted', data: { 'k\uFFFE': 1 } }] };

    // Act
    const commit = writer().commit(hostile);

    // Assert
    await expect(commit).rejects.toThrow('(a key)');
  });

  it('accepts what SQS accepts once serialized: control characters and lone surrogates are escaped, astral characters pass', async () => {
    // Arrange
    const note = 'tab\t nul\u0000 bell\u0007 lone\uD800 emoji \u{1F600} private\uE000 last\uFFFD';

    // Act
    const result = await writer().commit({ ...request, events: [{ type: 'OrderNoted', data: { note } }] });

    // Assert
    expect(result.events[0]?.data).toEqual({ note });
  });

  it('commits a string exactly when its JSON holds no character outside the SQS rule (any string)', async () => {
    // Arrange
    const sqsAccepts = (text: string) =>
      /^[\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]*$/u.test(text);

    // Act / Assert
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: 'binary', maxLength: 20 }), async (note) => {
        const outcome = await writer()
          .commit({ ...request, events: [{ type: 'OrderNoted', data: { note } }] })
          .then(
            () => 'committed' as const,
            (error: unknown) => (error instanceof ValidationError ? 'refused' : 'other'),
          );
        expect(outcome).toBe(sqsAccepts(JSON.stringify({ note })) ? 'committed' : 'refused');
      }),
      { numRuns: 300 },
    );
  });
});

describe('OutboxWriter.commit: the state item announces the transaction to the relay', () => {
  beforeEach(() => {
    ddb.reset();
    ddb.on(TransactWriteItemsCommand).resolves({});
  });

  it('records the first sequence the transaction commits beside the new version', async () => {
    // Act
    await writer().commit(request);

    // Assert
    const state = unmarshall(
      ddb.commandCalls(TransactWriteItemsCommand)[0]?.args[0].input.TransactItems?.[0]?.Put?.Item ?? {},
    );
    expect(state).toMatchObject({ committedFrom: 3, version: 4 });
  });
});

describe('OutboxWriter.commit: idempotency keys', () => {
  const idempotency = { key: 'cmd-1', fingerprint: 'sha-of-request' };
  const keyed = { ...request, idempotency };
  const keyConflict = () =>
    new TransactionCanceledException({
      message: 'Transaction cancelled',
      $metadata: {},
      CancellationReasons: [
        { Code: 'ConditionalCheckFailed' },
        { Code: 'None' },
        { Code: 'None' },
        { Code: 'ConditionalCheckFailed' },
      ],
    });
  const commandRecord = (fingerprint: string) =>
    marshall({
      pk: 'COMMAND#cmd-1',
      sk: 'COMMAND',
      fingerprint,
      aggregateType: 'Order',
      aggregateId: 'o-1',
      version: 4,
      eventIds: ['e-3', 'e-4'],
    });

  beforeEach(() => ddb.reset());

  it('writes the command record in the same transaction, only if the key is new', async () => {
    // Arrange
    ddb.on(TransactWriteItemsCommand).resolves({});

    // Act
    await writer().commit(keyed);

    // Assert
    const items = ddb.commandCalls(TransactWriteItemsCommand)[0]?.args[0].input.TransactItems ?? [];
    expect(items).toHaveLength(4);
    expect(items[3]?.Put?.ConditionExpression).toBe('attribute_not_exists(pk)');
    expect(unmarshall(items[3]?.Put?.Item ?? {})).toMatchObject({
      fingerprint: 'sha-of-request',
      aggregateKey: 'Order#o-1',
      version: 4,
    });
  });

  it('answers a retry with the first result and writes nothing', async () => {
    // Arrange: the key is taken by the same request
    ddb.on(TransactWriteItemsCommand).rejects(keyConflict());
    ddb.on(GetItemCommand).resolves({ Item: commandRecord('sha-of-request') });

    // Act
    const result = await writer().commit(keyed);

    // Assert
    expect(result).toMatchObject({ replayed: true, version: 4, eventIds: ['e-3', 'e-4'], events: [] });
  });

  it('refuses the key with another request (IdempotencyKeyReuseError)', async () => {
    // Arrange
    ddb.on(TransactWriteItemsCommand).rejects(keyConflict());
    ddb.on(GetItemCommand).resolves({ Item: commandRecord('another-request') });

    // Act
    const commit = writer().commit(keyed);

    // Assert
    await expect(commit).rejects.toThrow(IdempotencyKeyReuseError);
  });

  it.each([
    [{ key: '', fingerprint: 'f' }, 'idempotency.key'],
    [{ key: 'k\n', fingerprint: 'f' }, 'idempotency.key'],
    [{ key: 'k', fingerprint: '' }, 'idempotency.fingerprint'],
    [{ key: 'k', fingerprint: 'f', ttlSeconds: 5 }, 'idempotency.ttlSeconds'],
  ])('validates the key (%j)', async (bad, field) => {
    // Act
    const commit = writer().commit({ ...request, idempotency: bad });

    // Assert
    await expect(commit).rejects.toThrow(ValidationError);
    await expect(writer().commit({ ...request, idempotency: bad })).rejects.toThrow(field);
  });
});

describe('OutboxWriter.load', () => {
  beforeEach(() => ddb.reset());

  it('returns the version and state with a consistent read', async () => {
    ddb.on(GetItemCommand).resolves({
      Item: marshall({ pk: 'Order#o-1', sk: 'STATE', version: 3, state: { status: 'PLACED' } }),
    });
    await expect(writer().load('Order', 'o-1')).resolves.toEqual({ version: 3, state: { status: 'PLACED' } });
    expect(ddb.commandCalls(GetItemCommand)[0]?.args[0].input.ConsistentRead).toBe(true);
  });

  it('returns undefined for an aggregate that does not exist', async () => {
    ddb.on(GetItemCommand).resolves({});
    await expect(writer().load('Order', 'o-404')).resolves.toBeUndefined();
  });
});

describe('OutboxWriter with the event catalog', () => {
  beforeEach(() => ddb.reset());

  const catalogWriter = () =>
    new OutboxWriter({
      client: new DynamoDBClient({}),
      tableName: 'outbox',
      source: 'com.example.orders',
      now: () => now,
      catalog,
    });
  const placed = {
    customerId: 'c-1',
    lines: [{ sku: 'SKU-1', quantity: 2, unitPrice: 100 }],
    total: 200,
    currency: 'EUR',
  };
  const placing = (event: { type: string; schemaVersion?: number; data: unknown }) => ({
    aggregateType: 'Order',
    aggregateId: 'o-1',
    expectedVersion: 0,
    state: { status: 'PLACED' },
    events: [event],
  });
  const published = () =>
    (ddb.commandCalls(TransactWriteItemsCommand)[0]?.args[0].input.TransactItems ?? [])
      .slice(1)
      .map((item) => fromOutboxItem(unmarshall(item.Put?.Item ?? {})).envelope);

  it('stamps the latest version of the type and publishes the schema output', async () => {
    // Given a payload with a field the schema does not declare
    ddb.on(TransactWriteItemsCommand).resolves({});

    // When
    await catalogWriter().commit(
      placing({ type: 'OrderPlaced', data: { ...placed, note: 'not in the schema' } }),
    );

    // Then
    expect(published()).toEqual([
      expect.objectContaining({ type: 'OrderPlaced', schemaversion: 2, data: placed }),
    ]);
  });

  it('refuses a payload that does not match its schema, naming the event, the version and the field, and writes nothing', async () => {
    // Given
    const bad = placing({
      type: 'OrderPlaced',
      data: { ...placed, lines: [{ sku: 'SKU-1', quantity: 0, unitPrice: 100 }] },
    });

    // When / Then
    const error = await catalogWriter()
      .commit(bad)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect(error).toBeInstanceOf(EventSchemaError);
    expect(error).toMatchObject({
      reason: 'InvalidPayload',
      eventType: 'OrderPlaced',
      schemaVersion: 2,
      field: 'events[0].data.lines[0].quantity',
    });
    expect((error as Error).message).toBe(
      'events[0].data.lines[0].quantity does not match OrderPlaced v2: Too small: expected number to be >=1 (given 0)',
    );
    expect(ddb.commandCalls(TransactWriteItemsCommand)).toHaveLength(0);
  });

  it('refuses an event type that is not in the catalog', async () => {
    await expect(catalogWriter().commit(placing({ type: 'OrderTeleported', data: {} }))).rejects.toThrow(
      /events\[0\].type is not in the event catalog \(known: OrderPlaced, OrderItemAdded, OrderConfirmed, OrderCancelled\) \(given "OrderTeleported"\)/,
    );
    expect(ddb.commandCalls(TransactWriteItemsCommand)).toHaveLength(0);
  });

  it('refuses a version other than the latest: producers write the latest, consumers upcast', async () => {
    const { currency: _, ...v1 } = placed;
    await expect(
      catalogWriter().commit(placing({ type: 'OrderPlaced', schemaVersion: 1, data: v1 })),
    ).rejects.toThrow(/events\[0\].schemaVersion of OrderPlaced must be its latest version 2/);
  });

  it('writes events as given when it has no catalog', async () => {
    ddb.on(TransactWriteItemsCommand).resolves({});
    await writer().commit(placing({ type: 'OrderTeleported', data: { anything: true } }));
    expect(published()).toEqual([
      expect.objectContaining({ type: 'OrderTeleported', schemaversion: 1, data: { anything: true } }),
    ]);
  });
});

import {
  DynamoDBClient,
  GetItemCommand,
  TransactionCanceledException,
  TransactWriteItemsCommand,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { ENV } from '../../../contract/env';
import { ENTITY_TYPES } from '../../../contract/keys';
import { catalog } from '../../../functions/events/catalog';
import { OrderService } from '../../../functions/producer/orders';
import { TransactionConflictError } from '../../../functions/shared/errors';
import { fromOutboxItem } from '../../../functions/shared/outbox-item';
import { OutboxWriter } from '../../../functions/shared/outbox-writer';

const ddb = mockClient(DynamoDBClient);
const lines = [{ sku: 'SKU-1', quantity: 2, unitPrice: 1250 }];

function service(withCatalog = true): OrderService {
  return new OrderService(
    new OutboxWriter({
      client: new DynamoDBClient({}),
      tableName: 'outbox',
      source: 'com.example.orders',
      ...(withCatalog ? { catalog } : {}),
    }),
  );
}

/** Envelopes of the outbox items of the first transaction sent. */
function publishedEvents() {
  const items = ddb.commandCalls(TransactWriteItemsCommand)[0]?.args[0].input.TransactItems ?? [];
  return items
    .map((item) => unmarshall(item.Put?.Item ?? {}))
    .filter((item) => item.entityType === ENTITY_TYPES.outbox)
    .map((item) => fromOutboxItem(item).envelope);
}

beforeEach(() => {
  ddb.reset();
  ddb.on(TransactWriteItemsCommand).resolves({});
});
afterAll(() => ddb.restore());

describe('OrderService', () => {
  it('retries a place that DynamoDB cancelled for a transaction conflict, and gives up after two retries', async () => {
    // Given: the first attempt is cancelled by a conflict, the second commits.
    const conflict = new TransactionCanceledException({
      message: 'Transaction cancelled',
      $metadata: {},
      CancellationReasons: [{ Code: 'TransactionConflict' }, { Code: 'None' }],
    });
    ddb.on(TransactWriteItemsCommand).rejectsOnce(conflict).resolves({});

    // When
    const result = await service().placeOrder('o-retry', { customerId: 'c-1', lines });

    // Then
    expect(result.version).toBe(1);
    expect(ddb.commandCalls(TransactWriteItemsCommand)).toHaveLength(2);

    // And: three conflicts in a row surface as the retryable error.
    ddb.reset();
    ddb.on(TransactWriteItemsCommand).rejects(conflict);
    await expect(service().placeOrder('o-busy', { customerId: 'c-1', lines })).rejects.toThrow(
      TransactionConflictError,
    );
    expect(ddb.commandCalls(TransactWriteItemsCommand)).toHaveLength(3);
  });

  it('places an order with OrderPlaced in its latest version, in euros unless told otherwise', async () => {
    // When
    await service().placeOrder('o-1', { customerId: 'c-1', lines });

    // Then
    expect(publishedEvents()).toEqual([
      expect.objectContaining({
        type: 'OrderPlaced',
        schemaversion: 2,
        data: { customerId: 'c-1', lines, total: 2500, currency: 'EUR' },
      }),
    ]);
  });

  it('records the currency given', async () => {
    await service().placeOrder('o-1', { customerId: 'c-1', lines, currency: 'USD' });
    expect(publishedEvents()[0]?.data).toMatchObject({ currency: 'USD' });
  });

  it('refuses a currency that is not an ISO 4217 code, before writing anything', () => {
    expect(() => service().placeOrder('o-1', { customerId: 'c-1', lines, currency: 'euro' })).toThrow(
      /request\.currency must be an ISO 4217 code such as EUR \(given "euro"\)/,
    );
    expect(ddb.commandCalls(TransactWriteItemsCommand)).toHaveLength(0);
  });

  it('stamps the same versions through a writer without a catalog', async () => {
    await service(false).placeOrder('o-1', { customerId: 'c-1', lines });
    expect(publishedEvents()[0]).toMatchObject({ type: 'OrderPlaced', schemaversion: 2 });
  });

  it('writes the change events of a placed order in their latest versions', async () => {
    // Given a placed order
    ddb.on(GetItemCommand).resolves({
      Item: marshall({
        pk: 'Order#o-1',
        sk: 'STATE',
        version: 1,
        state: { status: 'PLACED', customerId: 'c-1', lines, total: 2500, currency: 'EUR' },
      }),
    });

    // When
    await service().addItem('o-1', { sku: 'SKU-2', quantity: 1, unitPrice: 990 });

    // Then
    expect(publishedEvents()).toEqual([
      expect.objectContaining({
        type: 'OrderItemAdded',
        schemaversion: catalog.latest('OrderItemAdded').version,
        sequence: 2,
        data: { line: { sku: 'SKU-2', quantity: 1, unitPrice: 990 }, total: 3490 },
      }),
    ]);
  });
});

describe('the order API handler', () => {
  const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
  let keys = 0;
  const request = (
    body: unknown,
    options: { path?: string; headers?: Record<string, string>; raw?: string; base64?: boolean } = {},
  ): APIGatewayProxyEventV2 => {
    const text = options.raw ?? JSON.stringify(body);
    return {
      rawPath: options.path ?? '/orders',
      headers: { 'idempotency-key': `key-${++keys}`, ...options.headers },
      requestContext: { http: { method: 'POST' }, requestId: 'req-1' },
      body: options.base64 ? Buffer.from(text).toString('base64') : text,
      isBase64Encoded: options.base64 === true,
    } as unknown as APIGatewayProxyEventV2;
  };
  const context = { functionName: 'order-api', awsRequestId: 'r-1' } as Context;

  async function api() {
    vi.stubEnv(ENV.tableName, 'outbox');
    vi.stubEnv(ENV.eventSource, 'com.example.orders');
    vi.stubEnv(ENV.outboxRetentionDays, '7');
    return (await import('../../../functions/producer/orders-api')).handler;
  }
  afterAll(() => vi.unstubAllEnvs());

  const errorOf = (response: { body?: string }) =>
    JSON.parse(response.body ?? '{}') as { error?: string; message?: string };

  it('places an order in the currency of the request', async () => {
    // Arrange
    const handler = await api();

    // Act
    const response = await handler(
      request({ orderId: 'o-9', customerId: 'c-1', lines, currency: 'GBP' }),
      context,
    );

    // Assert
    expect(response.statusCode).toBe(201);
    expect(publishedEvents()[0]).toMatchObject({ schemaversion: 2, data: { currency: 'GBP' } });
  });

  it('reads a base64-encoded body as the Function URL sends it', async () => {
    // Arrange
    const handler = await api();

    // Act
    const response = await handler(
      request({ orderId: 'o-b64', customerId: 'c-1', lines }, { base64: true }),
      context,
    );

    // Assert
    expect(response.statusCode).toBe(201);
  });

  it('refuses a POST without an Idempotency-Key, saying what to send, and writes nothing', async () => {
    // Arrange
    const handler = await api();
    const event = request({ customerId: 'c-1', lines });
    event.headers = {};

    // Act
    const response = await handler(event, context);

    // Assert
    expect(response.statusCode).toBe(400);
    expect(errorOf(response)).toMatchObject({
      error: 'IdempotencyKeyRequired',
      message: expect.stringContaining('idempotency-key'),
    });
    expect(ddb.commandCalls(TransactWriteItemsCommand)).toHaveLength(0);
  });

  it.each([
    ['a bad currency', { orderId: 'o-9', customerId: 'c-1', lines, currency: 1 }, /^body\.currency/],
    ['a field the command does not have', { customerId: 'c-1', lines, admin: true }, /admin/],
    [
      'a negative quantity',
      { customerId: 'c-1', lines: [{ sku: 'A', quantity: -1, unitPrice: 1 }] },
      /quantity/,
    ],
    [
      'a fractional price',
      { customerId: 'c-1', lines: [{ sku: 'A', quantity: 1, unitPrice: 0.5 }] },
      /unitPrice/,
    ],
    ['no lines', { customerId: 'c-1', lines: [] }, /lines/],
    ['51 lines', { customerId: 'c-1', lines: Array.from({ length: 51 }, () => lines[0]) }, /lines/],
    ['an order id with a key separator', { orderId: 'o#1', customerId: 'c-1', lines }, /orderId/],
    ['U+FFFF, which SQS refuses', { customerId: 'c-\uFFFF', lines }, /customerId contains U\+FFFF/],
    ['U+FFFE in a line key', { customerId: 'c', lines: [{ ...lines[0], 'sku\uFFFE': 'x' }] }, /lines/],
    [
      'an envelope field smuggled in',
      { customerId: 'c', lines, 'detail-type': 'OrderCancelled' },
      /detail-type/,
    ],
    ['an oversize customer id', { customerId: 'c'.repeat(300_000), lines }, /customerId/],
    ['an array instead of an object', [1, 2], /body/],
    ['null', null, /body/],
  ])('answers 400 naming the field for %s, and writes nothing', async (_, body, message) => {
    // Arrange
    const handler = await api();

    // Act
    const response = await handler(request(body), context);

    // Assert
    expect(response.statusCode).toBe(400);
    expect(errorOf(response).message).toMatch(message);
    expect(ddb.commandCalls(TransactWriteItemsCommand)).toHaveLength(0);
  });

  it.each([
    ['a body that is not JSON', '{"customerId":'],
    ['a body with a duplicate-looking but broken escape', '{"customerId":"\\u12"}'],
  ])('answers 400 for %s', async (_, raw) => {
    // Arrange
    const handler = await api();

    // Act
    const response = await handler(request(undefined, { raw }), context);

    // Assert
    expect(response.statusCode).toBe(400);
    expect(errorOf(response).error).toBe('ValidationError');
  });

  it('answers 400 for an event larger than EventBridge carries, and writes nothing', async () => {
    // Arrange
    const handler = await api();
    const huge = Array.from({ length: 50 }, (_, i) => ({
      sku: `${'S'.repeat(60)}${i}`.slice(0, 64),
      quantity: 1,
      unitPrice: 1,
    }));

    // Act
    const response = await handler(request({ customerId: 'c'.repeat(200_000), lines: huge }), context);

    // Assert
    expect(response.statusCode).toBe(400);
    expect(ddb.commandCalls(TransactWriteItemsCommand)).toHaveLength(0);
  });

  it('answers a retried POST with the first result and the idempotent-replayed header', async () => {
    // Arrange: the first attempt commits; the retry finds its key taken by the same request
    const handler = await api();
    const body = { orderId: 'o-retry', customerId: 'c-1', lines };
    const headers = { 'idempotency-key': 'same-key' };
    await handler(request(body, { headers }), context);
    const record = ddb.commandCalls(TransactWriteItemsCommand)[0]?.args[0].input.TransactItems?.at(-1)
      ?.Put?.Item;
    ddb.on(TransactWriteItemsCommand).rejects(
      new TransactionCanceledException({
        message: 'Transaction cancelled',
        $metadata: {},
        CancellationReasons: [
          { Code: 'ConditionalCheckFailed' },
          { Code: 'None' },
          { Code: 'ConditionalCheckFailed' },
        ],
      }),
    );
    ddb.on(GetItemCommand).resolves({ Item: record });

    // Act
    const retry = await handler(request(body, { headers }), context);

    // Assert
    expect(retry.statusCode).toBe(201);
    expect(retry.headers).toMatchObject({ 'idempotent-replayed': 'true' });
    expect(JSON.parse(retry.body ?? '{}')).toMatchObject({ orderId: 'o-retry', version: 1, replayed: true });
  });

  it('answers 422 when an Idempotency-Key comes back with another request', async () => {
    // Arrange
    const handler = await api();
    const headers = { 'idempotency-key': 'reused-key' };
    await handler(request({ orderId: 'o-a', customerId: 'c-1', lines }, { headers }), context);
    const record = ddb.commandCalls(TransactWriteItemsCommand)[0]?.args[0].input.TransactItems?.at(-1)
      ?.Put?.Item;
    ddb.on(TransactWriteItemsCommand).rejects(
      new TransactionCanceledException({
        message: 'Transaction cancelled',
        $metadata: {},
        CancellationReasons: [{ Code: 'None' }, { Code: 'None' }, { Code: 'ConditionalCheckFailed' }],
      }),
    );
    ddb.on(GetItemCommand).resolves({ Item: record });

    // Act
    const response = await handler(
      request({ orderId: 'o-b', customerId: 'c-2', lines }, { headers }),
      context,
    );

    // Assert
    expect(response.statusCode).toBe(422);
    expect(errorOf(response).error).toBe('IdempotencyKeyReused');
  });

  it("continues the caller's traceparent in the events, and starts a trace for a malformed one", async () => {
    // Arrange
    const handler = await api();

    // Act
    await handler(
      request({ orderId: 'o-t1', customerId: 'c-1', lines }, { headers: { traceparent: TRACEPARENT } }),
      context,
    );
    const first = publishedEvents()[0]?.traceparent;
    ddb.reset();
    ddb.on(TransactWriteItemsCommand).resolves({});
    await handler(
      request({ orderId: 'o-t2', customerId: 'c-1', lines }, { headers: { traceparent: 'not-a-trace' } }),
      context,
    );
    const second = publishedEvents()[0]?.traceparent;

    // Assert
    expect(first).toBe(TRACEPARENT);
    expect(second).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
  });

  it('answers 503, not 500, when DynamoDB throttles the command beyond the SDK retries', async () => {
    // Arrange
    const handler = await api();
    const throttled = Object.assign(new Error('Rate of requests exceeds the allowed throughput'), {
      name: 'ProvisionedThroughputExceededException',
      $metadata: {},
    });
    ddb.on(TransactWriteItemsCommand).rejects(throttled);

    // Act
    const response = await handler(request({ orderId: 'o-10', customerId: 'c-1', lines }), context);

    // Assert
    expect(response.statusCode).toBe(503);
    expect(errorOf(response)).toMatchObject({ error: 'Throttled' });
  });

  it('answers 500 for an unknown failure, telling the caller to retry with the same key', async () => {
    // Arrange
    const handler = await api();
    ddb
      .on(TransactWriteItemsCommand)
      .rejects(Object.assign(new Error('socket hang up'), { name: 'TimeoutError' }));

    // Act
    const response = await handler(request({ orderId: 'o-11', customerId: 'c-1', lines }), context);

    // Assert
    expect(response.statusCode).toBe(500);
    expect(errorOf(response).message).toContain('same Idempotency-Key');
    expect(response.body).not.toContain('socket hang up');
  });
});

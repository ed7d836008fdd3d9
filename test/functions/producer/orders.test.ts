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
import { catalog } from '../../../functions/events/catalog';
import { OrderService } from '../../../functions/producer/orders';
import { ENV } from '../../../functions/shared/env-names';
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
  return items.slice(1).map((item) => fromOutboxItem(unmarshall(item.Put?.Item ?? {})).envelope);
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
      /currency must be an ISO 4217 code of 3 capital letters \(given "euro"\)/,
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
  const request = (body: unknown): APIGatewayProxyEventV2 =>
    ({
      rawPath: '/orders',
      headers: {},
      requestContext: { http: { method: 'POST' }, requestId: 'req-1' },
      body: JSON.stringify(body),
      isBase64Encoded: false,
    }) as unknown as APIGatewayProxyEventV2;
  const context = { functionName: 'order-api', awsRequestId: 'r-1' } as Context;

  async function api() {
    vi.stubEnv(ENV.tableName, 'outbox');
    vi.stubEnv(ENV.eventSource, 'com.example.orders');
    vi.stubEnv(ENV.outboxRetentionDays, '7');
    return (await import('../../../functions/producer/orders-api')).handler;
  }
  afterAll(() => vi.unstubAllEnvs());

  it('places an order in the currency of the request', async () => {
    const handler = await api();
    const response = await handler(
      request({ orderId: 'o-9', customerId: 'c-1', lines, currency: 'GBP' }),
      context,
    );
    expect(response.statusCode).toBe(201);
    expect(publishedEvents()[0]).toMatchObject({ schemaversion: 2, data: { currency: 'GBP' } });
  });

  it('answers 400 with the field for a bad currency', async () => {
    const handler = await api();
    const response = await handler(
      request({ orderId: 'o-9', customerId: 'c-1', lines, currency: 1 }),
      context,
    );
    expect(response.statusCode).toBe(400);
    expect(JSON.parse(response.body ?? '{}')).toMatchObject({
      error: 'ValidationError',
      message: expect.stringMatching(/^currency must be an ISO 4217 code/),
    });
    expect(ddb.commandCalls(TransactWriteItemsCommand)).toHaveLength(0);
  });

  it('answers 503, not 500, when DynamoDB throttles the command beyond the SDK retries', async () => {
    // Given
    const handler = await api();
    const throttled = Object.assign(new Error('Rate of requests exceeds the allowed throughput'), {
      name: 'ProvisionedThroughputExceededException',
      $metadata: {},
    });
    ddb.on(TransactWriteItemsCommand).rejects(throttled);

    // When
    const response = await handler(request({ orderId: 'o-10', customerId: 'c-1', lines }), context);

    // Then
    expect(response.statusCode).toBe(503);
    expect(JSON.parse(response.body ?? '{}')).toMatchObject({ error: 'Throttled' });
  });
});

import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { catalog } from '../events/catalog';
import { requireEnv, requirePositiveIntEnv } from '../shared/env';
import { ENV } from '../shared/env-names';
import { newEventId } from '../shared/envelope';
import { ConcurrencyConflictError, OutboxError, TransactionConflictError } from '../shared/errors';
import { OutboxWriter } from '../shared/outbox-writer';
import { type CommandMeta, OrderService } from './orders';

const logger = new Logger();
const orders = new OrderService(
  new OutboxWriter({
    client: new DynamoDBClient({}),
    tableName: requireEnv(ENV.tableName),
    source: requireEnv(ENV.eventSource),
    retentionSeconds: requirePositiveIntEnv(ENV.outboxRetentionDays) * 24 * 3600,
    // Every event is checked against its schema before commit: a bad payload is a 400, never a DLQ'd event.
    catalog,
  }),
);

const ROUTES: Array<{
  method: string;
  pattern: RegExp;
  run: (match: RegExpMatchArray, body: unknown, meta: CommandMeta) => Promise<unknown>;
}> = [
  {
    method: 'POST',
    pattern: /^\/orders$/,
    run: async (_m, body, meta) => {
      const input = (body ?? {}) as { orderId?: string; customerId: string; lines: []; currency?: string };
      const orderId = input.orderId ?? newEventId();
      const result = await orders.placeOrder(orderId, input, meta);
      return { orderId, version: result.version, eventIds: result.events.map((e) => e.id) };
    },
  },
  {
    method: 'POST',
    pattern: /^\/orders\/([^/]+)\/items$/,
    run: async (m, body, meta) => summary(await orders.addItem(m[1] ?? '', body as never, meta)),
  },
  {
    method: 'POST',
    pattern: /^\/orders\/([^/]+)\/confirm$/,
    run: async (m, _body, meta) => summary(await orders.confirmOrder(m[1] ?? '', meta)),
  },
  {
    method: 'POST',
    pattern: /^\/orders\/([^/]+)\/cancel$/,
    run: async (m, body, meta) =>
      summary(await orders.cancelOrder(m[1] ?? '', (body as { reason?: string })?.reason ?? '', meta)),
  },
  {
    method: 'GET',
    pattern: /^\/orders\/([^/]+)$/,
    run: async (m) => (await orders.getOrder(m[1] ?? '')) ?? null,
  },
];

/** Producer Lambda behind a Function URL: order commands that commit state and events in one transaction. */
export const handler = middy(
  async (event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> => {
    const method = event.requestContext?.http?.method ?? 'GET';
    const path = event.rawPath ?? '/';
    const route = ROUTES.find((r) => r.method === method && r.pattern.test(path));
    if (!route) return json(404, { error: 'NotFound', message: `no route for ${method} ${path}` });
    let body: unknown;
    try {
      body = event.body
        ? JSON.parse(event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body)
        : undefined;
    } catch {
      return json(400, { error: 'ValidationError', message: 'request body is not valid JSON' });
    }
    const headers = event.headers ?? {};
    const meta: CommandMeta = {
      correlationId: headers['x-correlation-id'] ?? event.requestContext?.requestId,
      traceparent: headers.traceparent,
    };
    try {
      const result = await route.run(path.match(route.pattern) as RegExpMatchArray, body, meta);
      if (result === null) return json(404, { error: 'NotFound', message: `${path} does not exist` });
      return json(method === 'POST' ? 201 : 200, result);
    } catch (error) {
      return toHttpError(error);
    }
  },
).use(injectLambdaContext(logger));

function summary(result: { version: number; events: ReadonlyArray<{ id: string }> }) {
  return { version: result.version, eventIds: result.events.map((e) => e.id) };
}

/** DynamoDB errors that mean "too busy now": the request had no effect. */
const THROTTLING_ERRORS = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
]);

function toHttpError(error: unknown): APIGatewayProxyStructuredResultV2 {
  if (error instanceof ConcurrencyConflictError)
    return json(409, { error: error.code, message: error.message });
  if (error instanceof TransactionConflictError)
    return json(503, { error: error.code, message: error.message });
  if (error instanceof OutboxError) {
    const status = error.code === 'InvalidTransition' ? 409 : 400;
    return json(status, { error: error.code, message: error.message });
  }
  if (THROTTLING_ERRORS.has((error as Error)?.name)) {
    // DynamoDB throttled the command beyond the SDK's own retries: nothing was written.
    logger.warn('command throttled', { error: (error as Error).name });
    return json(503, { error: 'Throttled', message: 'the table is busy; retry the command with backoff' });
  }
  logger.error('command failed', { error: (error as Error).message });
  return json(500, { error: 'InternalError', message: 'the command failed; it is safe to retry' });
}

function json(statusCode: number, body: unknown): APIGatewayProxyStructuredResultV2 {
  return { statusCode, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
}

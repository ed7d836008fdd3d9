import { createHash } from 'node:crypto';
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Tracer } from '@aws-lambda-powertools/tracer';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { ENV } from '../../contract/env';
import { SERVICES } from '../../contract/metrics';
import { ORDER_API_HEADERS } from '../../contract/order-api';
import { catalog } from '../events/catalog';
import { requireEnv, requirePositiveIntEnv } from '../shared/env';
import { newEventId } from '../shared/envelope';
import {
  ConcurrencyConflictError,
  IdempotencyKeyReuseError,
  OutboxError,
  TransactionConflictError,
} from '../shared/errors';
import { OutboxWriter } from '../shared/outbox-writer';
import { newTraceparent, parseTraceparent, traceparentFromXray } from '../shared/trace';
import { AddItemCommand, CancelOrderCommand, ConfirmOrderCommand, PlaceOrderCommand } from './commands';
import { type CommandMeta, checked, OrderService } from './orders';

const logger = new Logger({ serviceName: SERVICES.ordersApi });
const tracer = new Tracer({ serviceName: SERVICES.ordersApi });
const orders = new OrderService(
  new OutboxWriter({
    client: tracer.captureAWSv3Client(new DynamoDBClient({})),
    tableName: requireEnv(ENV.tableName),
    source: requireEnv(ENV.eventSource),
    retentionSeconds: requirePositiveIntEnv(ENV.outboxRetentionDays) * 24 * 3600,
    // Every event is checked against its schema before commit: a bad payload is a 400, never a DLQ'd event.
    catalog,
  }),
);

interface Route {
  readonly method: 'GET' | 'POST';
  readonly pattern: RegExp;
  run(id: string, body: unknown, meta: CommandMeta): Promise<unknown>;
}

const ROUTES: ReadonlyArray<Route> = [
  {
    method: 'POST',
    pattern: /^\/orders$/,
    async run(_id, body, meta) {
      const { orderId = newEventId(), ...input } = checked(PlaceOrderCommand, body ?? {}, 'body');
      return summary(await orders.placeOrder(orderId, input, meta));
    },
  },
  {
    method: 'POST',
    pattern: /^\/orders\/([^/]+)\/items$/,
    run: async (id, body, meta) =>
      summary(await orders.addItem(id, checked(AddItemCommand, body, 'body'), meta)),
  },
  {
    method: 'POST',
    pattern: /^\/orders\/([^/]+)\/confirm$/,
    async run(id, body, meta) {
      checked(ConfirmOrderCommand, body ?? {}, 'body');
      return summary(await orders.confirmOrder(id, meta));
    },
  },
  {
    method: 'POST',
    pattern: /^\/orders\/([^/]+)\/cancel$/,
    async run(id, body, meta) {
      const { reason } = checked(CancelOrderCommand, body, 'body');
      return summary(await orders.cancelOrder(id, reason, meta));
    },
  },
  {
    method: 'GET',
    pattern: /^\/orders\/([^/]+)$/,
    run: async (id) => (await orders.getOrder(id)) ?? null,
  },
];

/**
 * Producer Lambda behind a Function URL: order commands that commit state and events in one
 * transaction. Every POST needs an `Idempotency-Key` header: the key is recorded in the same
 * transaction, so a retry commits nothing and answers with the first result.
 */
export const handler = middy(
  async (event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> => {
    const method = event.requestContext?.http?.method ?? 'GET';
    const path = event.rawPath ?? '/';
    const route = ROUTES.find((r) => r.method === method && r.pattern.test(path));
    if (!route) return json(404, { error: 'NotFound', message: `no route for ${method} ${path}` });
    const body = parseBody(event);
    if (body === INVALID_JSON)
      return json(400, { error: 'ValidationError', message: 'request body is not valid JSON' });
    const headers = event.headers ?? {};
    const traceparent = requestTraceparent(headers[ORDER_API_HEADERS.traceparent]);
    const key = headers[ORDER_API_HEADERS.idempotencyKey];
    if (method === 'POST' && !key) {
      return json(400, {
        error: 'IdempotencyKeyRequired',
        message: `send an ${ORDER_API_HEADERS.idempotencyKey} header (a UUID per command): without it a retried command would commit twice`,
      });
    }
    const meta: CommandMeta = {
      correlationId: headers[ORDER_API_HEADERS.correlationId] ?? event.requestContext?.requestId,
      traceparent,
      ...(key ? { idempotency: { key, fingerprint: fingerprintOf(method, path, body) } } : {}),
    };
    logger.info('command received', { method, path, traceparent, correlation_id: meta.correlationId });
    try {
      const result = await route.run(path.match(route.pattern)?.[1] ?? '', body, meta);
      if (result === null) return json(404, { error: 'NotFound', message: `${path} does not exist` });
      const replayed = typeof result === 'object' && (result as { replayed?: boolean }).replayed === true;
      if (method === 'POST' && result !== null && typeof result === 'object') {
        const { orderId, version, eventIds } = result as {
          orderId?: string;
          version?: number;
          eventIds?: string[];
        };
        // Ids and versions only, never the request body: where `npm run trace` starts an order's path.
        logger.info(replayed ? 'command replayed' : 'command committed', {
          orderId,
          version,
          eventIds,
          traceparent,
        });
      }
      return json(
        method === 'POST' ? 201 : 200,
        result,
        replayed ? { [ORDER_API_HEADERS.idempotentReplayed]: 'true' } : {},
      );
    } catch (error) {
      return toHttpError(error, key !== undefined);
    }
  },
)
  .use(captureLambdaHandler(tracer))
  .use(injectLambdaContext(logger));

function summary(result: {
  aggregateId: string;
  version: number;
  eventIds: ReadonlyArray<string>;
  replayed: boolean;
}) {
  return {
    orderId: result.aggregateId,
    version: result.version,
    eventIds: result.eventIds,
    replayed: result.replayed,
  };
}

const INVALID_JSON = Symbol('invalid JSON');

function parseBody(event: APIGatewayProxyEventV2): unknown {
  if (!event.body) return undefined;
  try {
    return JSON.parse(
      event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body,
    );
  } catch {
    return INVALID_JSON;
  }
}

/** The request's W3C traceparent, else one continuing Lambda's X-Ray trace, else a new one. */
function requestTraceparent(header: string | undefined): string {
  if (parseTraceparent(header)) return header as string;
  return traceparentFromXray(process.env._X_AMZN_TRACE_ID) ?? newTraceparent();
}

/** What makes two requests with one idempotency key "the same command". */
function fingerprintOf(method: string, path: string, body: unknown): string {
  return createHash('sha256')
    .update(`${method} ${path} ${JSON.stringify(body ?? null)}`)
    .digest('base64url');
}

/** DynamoDB errors that mean "too busy now": the request had no effect. */
const THROTTLING_ERRORS = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
]);

function toHttpError(error: unknown, withKey: boolean): APIGatewayProxyStructuredResultV2 {
  if (error instanceof ConcurrencyConflictError)
    return json(409, { error: error.code, message: error.message });
  if (error instanceof IdempotencyKeyReuseError)
    return json(422, { error: error.code, message: error.message });
  if (error instanceof TransactionConflictError)
    return json(503, { error: error.code, message: error.message });
  if (error instanceof OutboxError) {
    const status = error.code === 'InvalidTransition' || error.code === 'OrderLimit' ? 409 : 400;
    return json(status, { error: error.code, message: error.message });
  }
  if (THROTTLING_ERRORS.has((error as Error)?.name)) {
    // DynamoDB throttled the command beyond the SDK's own retries: nothing was written.
    logger.warn('command throttled', { error: (error as Error).name });
    return json(503, {
      error: 'Throttled',
      message: 'the table is busy; nothing was written: retry the command with backoff',
    });
  }
  logger.error('command failed', { error: (error as Error).message });
  // An unknown failure may come after the commit (the answer was lost): only the key makes a retry safe.
  return json(500, {
    error: 'InternalError',
    message: withKey
      ? 'the command failed, maybe after it committed: retry it with the same Idempotency-Key, which commits it at most once'
      : 'the command failed, maybe after it committed',
  });
}

function json(
  statusCode: number,
  body: unknown,
  headers: Record<string, string> = {},
): APIGatewayProxyStructuredResultV2 {
  return {
    statusCode,
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  };
}

import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { getFreePort, LOOPBACK_HOST } from '../engines/free-port';
import type { LocalFunction } from './local-function';

/** A refusal to send instead of invoking: status, headers and body as the Function URL answers. */
export interface FunctionUrlRefusal {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** Decides on each request before the function runs: undefined lets it through. */
export type FunctionUrlAuthorizer = (request: {
  readonly url: string;
  readonly headers: IncomingMessage['headers'];
}) => FunctionUrlRefusal | undefined;

/** A Lambda Function URL served on loopback. */
export interface LocalFunctionUrl {
  readonly url: string;
  stop(): Promise<void>;
}

/**
 * Serves a function the way a Function URL does: each HTTP request becomes a
 * payload-format 2.0 event, and the handler's result becomes the response.
 * With `authorize` (the runtime's IAM: AuthType AWS_IAM, the function's resource
 * policy, the caller's identity policy), a refused request gets the refusal and
 * never reaches the function; without it every request is invoked.
 */
export async function serveFunctionUrl(
  fn: LocalFunction,
  authorize?: FunctionUrlAuthorizer,
): Promise<LocalFunctionUrl> {
  const port = await getFreePort();
  const server: Server = createServer(async (req, res) => {
    const refusal = authorize?.({ url: req.url ?? '/', headers: req.headers });
    if (refusal !== undefined) {
      req.resume();
      res.writeHead(refusal.status, {
        ...refusal.headers,
        'content-length': Buffer.byteLength(refusal.body),
      });
      res.end(refusal.body);
      return;
    }
    try {
      const event = await toEvent(req, port);
      // Lambda continues the caller's X-Ray trace from the request's X-Amzn-Trace-Id.
      const result = await fn.invoke<APIGatewayProxyStructuredResultV2 | string | undefined>(event, {
        traceHeader: event.headers['x-amzn-trace-id'],
      });
      const structured: APIGatewayProxyStructuredResultV2 =
        typeof result === 'object' && result !== null && 'statusCode' in result
          ? result
          : {
              statusCode: 200,
              headers: { 'content-type': 'application/json' },
              body: JSON.stringify(result ?? null),
            };
      res.writeHead(structured.statusCode ?? 200, structured.headers as Record<string, string>);
      res.end(
        structured.isBase64Encoded && structured.body
          ? Buffer.from(structured.body, 'base64')
          : (structured.body ?? ''),
      );
    } catch (error) {
      res.writeHead(502, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ message: 'Internal Server Error', error: (error as Error).message }));
    }
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve) => server.listen(port, LOOPBACK_HOST, resolve));
  return {
    url: `http://${LOOPBACK_HOST}:${port}/`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function toEvent(req: IncomingMessage, port: number): Promise<APIGatewayProxyEventV2> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const body = Buffer.concat(chunks).toString('utf8');
  const url = new URL(req.url ?? '/', `http://${LOOPBACK_HOST}:${port}`);
  const headers: Record<string, string> = {};
  for (const [key, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers[key.toLowerCase()] = Array.isArray(value) ? value.join(',') : value;
  }
  const now = new Date();
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: url.pathname,
    rawQueryString: url.search.replace(/^\?/, ''),
    headers,
    queryStringParameters: url.search ? Object.fromEntries(url.searchParams) : undefined,
    requestContext: {
      accountId: 'anonymous',
      apiId: 'local',
      domainName: `${LOOPBACK_HOST}:${port}`,
      domainPrefix: 'local',
      http: {
        method: req.method ?? 'GET',
        path: url.pathname,
        protocol: `HTTP/${req.httpVersion}`,
        sourceIp: req.socket.remoteAddress ?? LOOPBACK_HOST,
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: randomUUID(),
      routeKey: '$default',
      stage: '$default',
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
    },
    body: body.length > 0 ? body : undefined,
    isBase64Encoded: false,
  };
}

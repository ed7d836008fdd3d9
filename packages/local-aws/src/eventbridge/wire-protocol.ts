/**
 * The wire side of the local EventBridge: an HTTP server on 127.0.0.1 that
 * speaks AWS JSON 1.1 (`POST /`, `X-Amz-Target: AWSEvents.<Operation>`,
 * `Content-Type: application/x-amz-json-1.1`), so the unchanged SDK client and
 * `aws events ... --endpoint-url` talk to it. It parses bodies, dispatches to
 * the operation handlers it is given and serialises results and errors in the
 * JSON 1.1 shape (`{"__type": code, "message": ...}` plus `x-amzn-ErrorType`).
 * No EventBridge semantics live here.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { LOOPBACK_HOST } from '../engines/free-port';
import { EventBusEmulatorError, ServiceError } from './errors';
import { PutEventsRequestError } from './put-events';

/** What an operation answers, and what to run once the answer is sent (EventBridge routes after answering). */
export interface OperationResult {
  readonly response: unknown;
  readonly afterResponse?: () => void;
}

/** An operation handler: the parsed request body in, the result out; throws {@link ServiceError} to fail. */
export type OperationHandler = (body: unknown) => OperationResult;

const JSON_CONTENT_TYPE = 'application/x-amz-json-1.1';
const TARGET_PREFIX = 'AWSEvents.';
/** Far above any valid PutEvents request; only guards the process against runaway bodies. */
const MAX_REQUEST_BODY_BYTES = 8 * 1024 * 1024;

/** An HTTP server answering the AWS JSON 1.1 protocol for a fixed set of `AWSEvents.*` operations. */
export class JsonWireServer {
  endpoint = '';
  port = 0;
  private readonly server: Server;

  /**
   * @param operations handlers by operation name (`PutEvents`, not `AWSEvents.PutEvents`)
   * @param onRequest called once per HTTP request, before it is parsed
   */
  constructor(
    private readonly operations: ReadonlyMap<string, OperationHandler>,
    private readonly onRequest: () => void = () => {},
  ) {
    this.server = createServer((request, response) => {
      void this.handle(request, response);
    });
  }

  /** Listens on 127.0.0.1:`port` (0 = a free port) and sets `port` and `endpoint`. */
  async listen(port: number): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen({ port, host: LOOPBACK_HOST }, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    const address = this.server.address();
    if (address === null || typeof address === 'string') {
      this.server.close();
      throw new EventBusEmulatorError(
        'EngineStartFailed',
        `event bus emulator has no TCP address (got ${String(address)})`,
      );
    }
    this.port = address.port;
    this.endpoint = `http://${LOOPBACK_HOST}:${address.port}`;
  }

  /** Stops listening and closes kept-alive connections. */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    // The SDK keeps connections alive; without this, close() would wait for them to time out.
    this.server.closeAllConnections();
    await closed;
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    this.onRequest();
    const requestId = randomUUID();
    let afterResponse: (() => void) | undefined;
    try {
      const body = await readJsonBody(request);
      const result = this.handlerFor(request.headers['x-amz-target'])(body);
      afterResponse = result.afterResponse;
      send(response, 200, requestId, result.response);
    } catch (error) {
      const failure = asServiceError(error);
      send(
        response,
        failure.status,
        requestId,
        { __type: failure.code, message: failure.message },
        failure.code,
      );
    }
    if (afterResponse !== undefined) setImmediate(afterResponse);
  }

  private handlerFor(target: string | string[] | undefined): OperationHandler {
    const operation =
      typeof target === 'string' && target.startsWith(TARGET_PREFIX)
        ? target.slice(TARGET_PREFIX.length)
        : undefined;
    const handler = operation === undefined ? undefined : this.operations.get(operation);
    if (handler === undefined) {
      throw new ServiceError(
        'UnknownOperationException',
        `Operation ${String(target)} is not supported by the local EventBridge (${[...this.operations.keys()].join(', ')} are)`,
      );
    }
    return handler;
  }
}

function asServiceError(error: unknown): ServiceError {
  if (error instanceof ServiceError) return error;
  if (error instanceof PutEventsRequestError) return new ServiceError(error.code, error.message);
  return new ServiceError('InternalFailure', error instanceof Error ? error.message : String(error), 500);
}

function readJsonBody(request: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_REQUEST_BODY_BYTES) {
        reject(
          new ServiceError('RequestEntityTooLarge', `Request body over ${MAX_REQUEST_BODY_BYTES} bytes`, 413),
        );
        request.destroy();
        return;
      }
      chunks.push(chunk);
    });
    request.on('error', reject);
    request.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      if (text.trim() === '') {
        resolve({});
        return;
      }
      try {
        resolve(JSON.parse(text));
      } catch {
        reject(new ServiceError('SerializationException', 'Request body is not valid JSON'));
      }
    });
  });
}

function send(
  response: ServerResponse,
  status: number,
  requestId: string,
  body: unknown,
  errorType?: string,
): void {
  if (response.headersSent || response.destroyed) return;
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'Content-Type': JSON_CONTENT_TYPE,
    'Content-Length': Buffer.byteLength(text),
    'x-amzn-RequestId': requestId,
    ...(errorType === undefined ? {} : { 'x-amzn-ErrorType': errorType }),
  });
  response.end(text);
}

import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { getFreePort, LOOPBACK_HOST } from './engines/free-port';
import { seededRandom } from './faults';

/** DynamoDB faults to inject between the functions and DynamoDB Local (which never throttles). */
export interface DynamoDbFaults {
  /** Probability that a request is refused with ProvisionedThroughputExceededException. @default 0 */
  readonly throttleRate?: number;
  /** Probability that a TransactWriteItems is cancelled with a TransactionConflict. @default 0 */
  readonly transactionConflictRate?: number;
  /** @default 1 */
  readonly seed?: number;
}

/** A running fault proxy. */
export interface DynamoDbFaultProxy {
  /** Give this to functions as AWS_ENDPOINT_URL_DYNAMODB. */
  readonly endpoint: string;
  readonly injected: { throttles: number; conflicts: number };
  set(faults: DynamoDbFaults): void;
  stop(): Promise<void>;
}

/**
 * An HTTP proxy in front of DynamoDB Local that refuses some requests the way
 * DynamoDB does under load: throttling (which the SDK retries by itself) and
 * transaction conflicts (which the writer reports as TransactionConflictError).
 * A refused request never reaches the engine, so it has no effect, exactly as
 * on AWS. Stream reads do not go through it.
 */
export async function startDynamoDbFaultProxy(
  target: string,
  initial: DynamoDbFaults = {},
): Promise<DynamoDbFaultProxy> {
  const upstream = new URL(target);
  let throttleRate = 0;
  let conflictRate = 0;
  let random = seededRandom(1);
  const injected = { throttles: 0, conflicts: 0 };
  const set = (faults: DynamoDbFaults) => {
    for (const [name, rate] of Object.entries({
      throttleRate: faults.throttleRate ?? 0,
      transactionConflictRate: faults.transactionConflictRate ?? 0,
    })) {
      if (!(rate >= 0 && rate <= 1)) throw new RangeError(`${name} must be between 0 and 1 (given ${rate})`);
    }
    throttleRate = faults.throttleRate ?? 0;
    conflictRate = faults.transactionConflictRate ?? 0;
    random = seededRandom(faults.seed ?? 1);
  };
  set(initial);

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const target = String(req.headers['x-amz-target'] ?? '');
      if (target.endsWith('.TransactWriteItems') && conflictRate > 0 && random() < conflictRate) {
        injected.conflicts++;
        refuse(
          res,
          'TransactionCanceledException',
          'Transaction cancelled, please refer cancellation reasons for specific reasons [TransactionConflict]',
          { CancellationReasons: conflictReasons(body) },
        );
        return;
      }
      if (throttleRate > 0 && random() < throttleRate) {
        injected.throttles++;
        refuse(res, 'ProvisionedThroughputExceededException', 'injected throttling');
        return;
      }
      forward(upstream, req, res, body);
    });
  });
  const port = await getFreePort();
  await new Promise<void>((resolve) => server.listen(port, LOOPBACK_HOST, resolve));
  return {
    endpoint: `http://${LOOPBACK_HOST}:${port}`,
    injected,
    set,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Answers the way DynamoDB refuses a request (JSON 1.0 error, HTTP 400). */
function refuse(
  res: ServerResponse,
  type: string,
  message: string,
  extra: Record<string, unknown> = {},
): void {
  const payload = JSON.stringify({ __type: `com.amazonaws.dynamodb.v20120810#${type}`, message, ...extra });
  res.writeHead(400, { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': 'injected' });
  res.end(payload);
}

/** One reason per item of the TransactWriteItems request: the first conflicted, the others were not run. */
function conflictReasons(body: Buffer): Array<{ Code: string; Message?: string }> {
  let items: unknown[] = [];
  try {
    items = (JSON.parse(body.toString('utf8')) as { TransactItems?: unknown[] }).TransactItems ?? [];
  } catch {
    // A body DynamoDB Local would refuse anyway: one reason is enough.
  }
  return (items.length > 0 ? items : [undefined]).map((_, i) =>
    i === 0
      ? { Code: 'TransactionConflict', Message: 'Transaction is ongoing for the item' }
      : { Code: 'None' },
  );
}

/** Passes a request through to DynamoDB Local unchanged. */
function forward(upstream: URL, req: IncomingMessage, res: ServerResponse, body: Buffer): void {
  const request = httpRequest(
    {
      host: upstream.hostname,
      port: upstream.port,
      method: req.method,
      path: req.url,
      headers: { ...req.headers, host: upstream.host },
    },
    (upstreamRes) => {
      res.writeHead(upstreamRes.statusCode ?? 500, upstreamRes.headers);
      upstreamRes.pipe(res);
    },
  );
  request.on('error', (error) => {
    res.writeHead(502, { 'content-type': 'text/plain' });
    res.end(`DynamoDB Local unreachable: ${error.message}`);
  });
  request.end(body);
}

/**
 * An HTTP proxy on 127.0.0.1 in front of one engine endpoint (DynamoDB Local,
 * fauxqs SQS or S3, the EventBridge emulator) that authorizes every request
 * with an {@link IamAuthorizer}: allowed requests are forwarded unchanged and
 * the engine's response is streamed back; refused ones never reach the engine
 * and get the service's AccessDenied (or authentication) error instead.
 *
 * Cost per request: one JSON.parse of the body and a few compiled-RegExp
 * matches; upstream connections are kept alive. S3 bodies are streamed to the
 * engine without buffering, except DeleteObjects (whose keys are authorized).
 * SQS queue URLs naming the proxy's port are swapped for the engine's on the way
 * in and back on the way out (see `sqs-queue-urls.ts`), so functions given URLs
 * on the proxy's port stay behind it.
 */
import {
  Agent,
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { getFreePort, LOOPBACK_HOST } from '../engines/free-port';
import type { IamAuthorizer, IncomingServiceRequest } from './authorizer';
import type { HttpResponse, ProxiedService } from './denials';
import { swapQueueUrlPorts } from './sqs-queue-urls';

/** Options of {@link startIamProxy}. */
export interface IamProxyOptions {
  readonly service: ProxiedService;
  /** The engine endpoint, e.g. `http://127.0.0.1:8000`. */
  readonly upstream: string;
  readonly authorizer: IamAuthorizer;
  /**
   * Largest body read into memory to authorize it (JSON services, S3 DeleteObjects).
   * @default 16 MiB (DynamoDB and SQS bodies are far smaller)
   */
  readonly maxBodyBytes?: number;
}

/** A running enforcing proxy. */
export interface IamProxy {
  /** Give this to functions as `AWS_ENDPOINT_URL_<SERVICE>`. */
  readonly endpoint: string;
  /** The port of {@link endpoint}: SQS queue URLs that name it reach the proxy (see `queueUrlBehindProxy`). */
  readonly port: number;
  readonly service: ProxiedService;
  /** Requests forwarded to the engine and requests refused. */
  readonly counters: { forwarded: number; refused: number };
  /** Closes the server and its connections. Safe to call twice. */
  stop(): Promise<void>;
}

/** Raised when a proxy cannot start (bad upstream URL). */
export class IamProxyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IamProxyError';
  }
}

function send(res: ServerResponse, response: HttpResponse): void {
  res.writeHead(response.status, { ...response.headers, 'content-length': Buffer.byteLength(response.body) });
  res.end(response.body);
}

function needsBody(service: ProxiedService, req: IncomingMessage): boolean {
  return service !== 's3' || (req.method === 'POST' && /[?&]delete(=|&|$)/.test(req.url ?? ''));
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(new IamProxyError(`request body over ${limit} bytes`));
        req.destroy();
      } else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

interface Upstream {
  readonly upstream: URL;
  readonly agent: Agent;
  readonly service: ProxiedService;
  /** The proxy's own port, for the SQS queue URL swap. */
  readonly port: number;
}

/** The request's headers for a body sent whole: its own length, never chunked. */
function bufferedHeaders(req: IncomingMessage, host: string, body: Buffer) {
  const { 'transfer-encoding': _chunked, ...headers } = req.headers;
  return { ...headers, host, 'content-length': String(body.length) };
}

/** SQS answers are small JSON documents: read them whole and swap the engine's port in queue URLs for the proxy's. */
function relaySqsAnswer(upstreamRes: IncomingMessage, res: ServerResponse, target: Upstream): void {
  const chunks: Buffer[] = [];
  upstreamRes.on('data', (chunk: Buffer) => chunks.push(chunk));
  upstreamRes.on('error', (error) => res.destroy(error));
  upstreamRes.on('end', () => {
    const original = Buffer.concat(chunks);
    const swapped = upstreamRes.headers['content-encoding']
      ? undefined
      : swapQueueUrlPorts(original.toString('utf8'), Number(target.upstream.port), target.port);
    const body = swapped === undefined ? original : Buffer.from(swapped, 'utf8');
    const { 'transfer-encoding': _chunked, ...headers } = upstreamRes.headers;
    res.writeHead(upstreamRes.statusCode ?? 502, { ...headers, 'content-length': body.length });
    res.end(body);
  });
}

/**
 * Sends an allowed request on to the engine and pipes the answer back. The Host
 * names the engine (S3 keeps a virtual-hosted bucket name and only swaps the port).
 */
function forward(
  req: IncomingMessage,
  res: ServerResponse,
  body: Buffer | undefined,
  target: Upstream,
): void {
  const { upstream, agent, service } = target;
  const swapped =
    service === 'sqs' && body !== undefined
      ? swapQueueUrlPorts(body.toString('utf8'), target.port, Number(upstream.port))
      : undefined;
  const outgoingBody = swapped === undefined ? body : Buffer.from(swapped, 'utf8');
  const host =
    service === 's3'
      ? (req.headers.host ?? upstream.host).replace(/:\d+$/, `:${upstream.port}`)
      : upstream.host;
  const outgoing = httpRequest(
    {
      host: upstream.hostname,
      port: upstream.port,
      method: req.method,
      path: req.url,
      headers:
        outgoingBody === undefined ? { ...req.headers, host } : bufferedHeaders(req, host, outgoingBody),
      agent,
    },
    (upstreamRes) => {
      if (service === 'sqs') return relaySqsAnswer(upstreamRes, res, target);
      res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
      upstreamRes.pipe(res);
    },
  );
  outgoing.on('error', (error) => {
    if (res.headersSent) res.destroy(error);
    else
      send(res, {
        status: 502,
        headers: { 'content-type': 'text/plain' },
        body: `${service} engine unreachable: ${error.message}`,
      });
  });
  if (outgoingBody === undefined) req.pipe(outgoing);
  else outgoing.end(outgoingBody);
}

/** Starts an enforcing proxy on a free loopback port. */
export async function startIamProxy(options: IamProxyOptions): Promise<IamProxy> {
  let upstream: URL;
  try {
    upstream = new URL(options.upstream);
  } catch {
    throw new IamProxyError(`upstream must be an http URL (given ${JSON.stringify(options.upstream)})`);
  }
  if (upstream.protocol !== 'http:')
    throw new IamProxyError(`upstream must be an http URL (given ${options.upstream})`);
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const counters = { forwarded: 0, refused: 0 };
  const limit = options.maxBodyBytes ?? 16 * 1024 * 1024;
  const port = await getFreePort();

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const body = needsBody(options.service, req) ? await readBody(req, limit) : undefined;
    const request: IncomingServiceRequest = {
      method: req.method ?? 'GET',
      url: req.url ?? '/',
      headers: req.headers,
      body: body?.toString('utf8'),
    };
    const outcome = options.authorizer.authorizeHttpRequest(options.service, request);
    if (!outcome.allowed) {
      counters.refused++;
      if (body === undefined) req.resume();
      send(res, outcome.response);
      return;
    }
    counters.forwarded++;
    forward(req, res, body, { upstream, agent, service: options.service, port });
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: Error) => {
      if (!res.headersSent)
        send(res, { status: 400, headers: { 'content-type': 'text/plain' }, body: error.message });
      else res.destroy(error);
    });
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, LOOPBACK_HOST, () => resolve());
  });
  let stopped: Promise<void> | undefined;
  return {
    endpoint: `http://${LOOPBACK_HOST}:${port}`,
    port,
    service: options.service,
    counters,
    stop: () => {
      stopped ??= new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
        agent.destroy();
      });
      return stopped;
    },
  };
}

import { createHash, createHmac, type Hash, type Hmac, randomUUID } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import type {
  AwsCredentialIdentity,
  AwsCredentialIdentityProvider,
  Checksum,
  SourceData,
} from '@smithy/types';
import { ORDER_API_HEADERS } from '../../contract/order-api';

/**
 * HTTP client of the order API (the producer's Function URL), used by the local demo and chaos
 * workloads and by the deployed-stack suite. The URL uses `AWS_IAM` auth, so requests are SigV4
 * signed for service `lambda` (callers need lambda:InvokeFunctionUrl and lambda:InvokeFunction);
 * every POST carries an Idempotency-Key, so a retry of a command commits it at most once.
 */

/** What the Function URL answered. */
export interface ApiResponse {
  readonly status: number;
  /** The parsed JSON body, or the raw text when it is not JSON. */
  readonly body: unknown;
  readonly headers: Headers;
}

/** Options of an {@link OrderApiClient}. */
export interface OrderApiClientOptions {
  /** The Function URL (stack output OrderApiUrl). */
  readonly baseUrl: string;
  readonly region: string;
  /** Credentials to sign with; requests go unsigned without them (LocalStack). */
  readonly credentials?: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  /** @default 60000 */
  readonly timeoutMs?: number;
}

/** Per-request extras. */
export interface RequestOptions {
  /** @default a new UUID for each POST */
  readonly idempotencyKey?: string;
  readonly traceparent?: string;
  readonly correlationId?: string;
  /** The body as raw text, sent as is (for malformed requests). */
  readonly rawBody?: string;
}

/** A bad option of the client, or a URL it cannot use. */
export class OrderApiClientError extends Error {
  override readonly name = 'OrderApiClientError';
}

/** The order API could not be reached at all (no HTTP response). */
export class OrderApiUnreachableError extends Error {
  override readonly name = 'OrderApiUnreachableError';
  constructor(method: string, url: URL, cause: unknown) {
    super(
      `${method} ${url.href} got no response: ${describeCause(cause)}. ` +
        'Is the stack running (npm start -- --keep) or deployed, and is the URL its OrderApiUrl output?',
    );
    this.cause = cause;
  }
}

/** Client of the order API; see the module comment. */
export class OrderApiClient {
  private readonly baseUrl: URL;
  private readonly signer: SignatureV4 | undefined;
  private readonly timeoutMs: number;

  constructor(options: OrderApiClientOptions) {
    try {
      this.baseUrl = new URL(options.baseUrl);
    } catch {
      throw new OrderApiClientError(
        `baseUrl must be the OrderApiUrl of the stack (given ${JSON.stringify(options.baseUrl)})`,
      );
    }
    if (typeof options.region !== 'string' || options.region === '') {
      throw new OrderApiClientError(
        `region must be an AWS region such as us-east-1 (given ${JSON.stringify(options.region)})`,
      );
    }
    this.timeoutMs = options.timeoutMs ?? 60_000;
    this.signer = options.credentials
      ? new SignatureV4({
          service: 'lambda',
          region: options.region,
          credentials: options.credentials,
          sha256: NodeSha256,
        })
      : undefined;
  }

  post(path: string, body: unknown, options: RequestOptions = {}): Promise<ApiResponse> {
    return this.send('POST', path, options.rawBody ?? JSON.stringify(body), {
      ...options,
      idempotencyKey: options.idempotencyKey ?? randomUUID(),
    });
  }

  get(path: string, options: RequestOptions = {}): Promise<ApiResponse> {
    return this.send('GET', path, undefined, options);
  }

  private async send(
    method: 'GET' | 'POST',
    path: string,
    payload: string | undefined,
    options: RequestOptions,
  ): Promise<ApiResponse> {
    const url = new URL(path.replace(/^\//, ''), this.baseUrl);
    let headers: Record<string, string> = {
      host: url.host,
      ...(payload === undefined ? {} : { 'content-type': 'application/json' }),
      ...(options.idempotencyKey ? { [ORDER_API_HEADERS.idempotencyKey]: options.idempotencyKey } : {}),
      ...(options.traceparent ? { [ORDER_API_HEADERS.traceparent]: options.traceparent } : {}),
      ...(options.correlationId ? { [ORDER_API_HEADERS.correlationId]: options.correlationId } : {}),
    };
    if (this.signer) {
      const signed = await this.signer.sign({
        method,
        protocol: url.protocol,
        hostname: url.hostname,
        port: url.port === '' ? undefined : Number(url.port),
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        headers,
        body: payload,
      });
      headers = signed.headers;
    }
    // fetch sets Host itself (to the same value that was signed) and refuses to take it from us.
    const { host: _host, ...sendHeaders } = headers;
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers: sendHeaders,
        body: payload,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      throw new OrderApiUnreachableError(method, url, error);
    }
    const text = await response.text();
    return { status: response.status, body: parseJson(text), headers: response.headers };
  }
}

/** SHA-256 and HMAC-SHA-256 on node:crypto, in the shape SignatureV4 expects. */
class NodeSha256 implements Checksum {
  private hash: Hash | Hmac;

  constructor(private readonly secret?: SourceData) {
    this.hash = this.fresh();
  }

  update(chunk: SourceData): void {
    this.hash.update(toBytes(chunk));
  }

  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }

  reset(): void {
    this.hash = this.fresh();
  }

  private fresh(): Hash | Hmac {
    return this.secret === undefined ? createHash('sha256') : createHmac('sha256', toBytes(this.secret));
  }
}

function toBytes(data: SourceData): Uint8Array {
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return new Uint8Array(data);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** The innermost reason of a failed fetch or SDK call, e.g. `connect ECONNREFUSED 127.0.0.1:4566`. */
export function describeCause(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  while (current instanceof Error && parts.length < 4) {
    // Node reports a refused dual-stack connect as an AggregateError with an empty message.
    const message =
      current.message === '' && current instanceof AggregateError
        ? current.errors.map((e: unknown) => (e instanceof Error ? e.message : String(e))).join('; ')
        : current.message;
    const code = (current as { code?: unknown }).code;
    parts.push(typeof code === 'string' && !message.includes(code) ? `${message} (${code})` : message);
    current = current.cause;
  }
  if (parts.length === 0) return String(error);
  return parts.reverse().join(' <- ');
}

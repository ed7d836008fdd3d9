import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SignatureV4 } from '@smithy/signature-v4';
import type { Checksum, SourceData } from '@smithy/types';
import { type DeployedStack, E2eConfigurationError } from './deployed-stack';

/** What the Function URL answered. */
export interface ApiResponse {
  readonly status: number;
  /** The parsed JSON body, or the raw text when it is not JSON. */
  readonly body: unknown;
}

/** The order API could not be reached at all (no HTTP response). */
export class OrderApiUnreachableError extends E2eConfigurationError {
  constructor(method: string, url: URL, cause: unknown) {
    super(
      `${method} ${url.href} got no response: ${describeCause(cause)}. ` +
        'Is the stack deployed and, for LocalStack, does *.localhost.localstack.cloud resolve to 127.0.0.1 here?',
    );
    this.cause = cause;
  }
}

const REQUEST_TIMEOUT_MS = 60_000;

/**
 * HTTP client for the producer's Function URL. On real AWS the URL uses `AWS_IAM` auth, so
 * requests are SigV4-signed for service `lambda` with the default credential chain; LocalStack
 * does not enforce IAM by default, so requests to it go unsigned.
 */
export class OrderApiClient {
  private constructor(
    private readonly baseUrl: URL,
    private readonly signer: SignatureV4 | undefined,
  ) {}

  /** A client for the stack's `OrderApiUrl`. */
  static for(stack: DeployedStack): OrderApiClient {
    const baseUrl = new URL(stack.outputs.orderApiUrl);
    if (stack.target.kind === 'localstack') return new OrderApiClient(baseUrl, undefined);
    // The SDK client resolves the default credential chain (env, profile, SSO, IMDS, …) for us.
    const credentials = new DynamoDBClient({ region: stack.region }).config.credentials;
    const signer = new SignatureV4({
      service: 'lambda',
      region: stack.region,
      credentials,
      sha256: NodeSha256,
    });
    return new OrderApiClient(baseUrl, signer);
  }

  post(path: string, body: unknown): Promise<ApiResponse> {
    return this.send('POST', path, JSON.stringify(body));
  }

  get(path: string): Promise<ApiResponse> {
    return this.send('GET', path, undefined);
  }

  private async send(
    method: 'GET' | 'POST',
    path: string,
    payload: string | undefined,
  ): Promise<ApiResponse> {
    const url = new URL(path.replace(/^\//, ''), this.baseUrl);
    let headers: Record<string, string> = {
      host: url.host,
      ...(payload === undefined ? {} : { 'content-type': 'application/json' }),
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
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
    } catch (error) {
      throw new OrderApiUnreachableError(method, url, error);
    }
    const text = await response.text();
    return { status: response.status, body: parseJson(text) };
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

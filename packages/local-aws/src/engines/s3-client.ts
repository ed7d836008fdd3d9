/**
 * The two S3 calls the runtime itself makes on fauxqs (CreateBucket and
 * PutObject), as plain path-style REST requests: fauxqs checks no signatures,
 * and the package needs no S3 SDK for them. Functions use their own
 * `@aws-sdk/client-s3` through `AWS_ENDPOINT_URL_S3`: with an IP-address
 * endpoint the SDK addresses buckets path-style, which fauxqs serves (its
 * virtual-hosted addressing needs `<bucket>.localhost` names to resolve).
 */
import { EngineError } from './errors';

/** An S3 call fauxqs refused or could not be reached for. */
export class S3RequestError extends EngineError {
  constructor(
    readonly operation: string,
    readonly status: number | undefined,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(
      'S3RequestFailed',
      `S3 ${operation} failed${status === undefined ? '' : ` (HTTP ${status})`}: ${message}`,
      options,
    );
  }
}

/** Who the client's requests come from, for an IAM proxy in front of S3. */
export interface S3CallerIdentity {
  readonly accessKeyId: string;
  readonly region: string;
}

/**
 * The `Authorization` header of a request from `identity`. The local IAM proxy identifies
 * callers by the access key id of the SigV4 credential scope and never verifies signatures
 * (see src/iam/README.md), and fauxqs checks none, so the header carries the scope and no
 * real signature.
 */
function authorizationHeader(identity: S3CallerIdentity, at: Date): string {
  const day = at.toISOString().slice(0, 10).replaceAll('-', '');
  return `AWS4-HMAC-SHA256 Credential=${identity.accessKeyId}/${day}/${identity.region}/s3/aws4_request, SignedHeaders=host, Signature=${'0'.repeat(64)}`;
}

const XML_ENTITIES: Readonly<Record<string, string>> = { lt: '<', gt: '>', quot: '"', apos: "'", amp: '&' };

/** `<Code>: <Message>` of an S3 XML error, unescaped; else the start of the body. */
function errorText(body: string): string {
  const field = (name: string) =>
    new RegExp(`<${name}>([^<]*)</${name}>`)
      .exec(body)?.[1]
      ?.replace(/&(lt|gt|quot|apos|amp);/g, (_, entity: string) => XML_ENTITIES[entity] ?? '');
  const code = field('Code');
  return code === undefined ? body.slice(0, 500) : `${code}: ${field('Message') ?? ''}`;
}

/** S3 on fauxqs, path-style. */
export class LocalS3Client {
  /**
   * @param endpoint fauxqs's endpoint, e.g. http://127.0.0.1:4566, or an IAM proxy in front of it
   * @param identity whose access key the requests name; @default none: unsigned requests, as the runtime's own
   */
  constructor(
    readonly endpoint: string,
    private readonly identity?: S3CallerIdentity,
  ) {
    if (!/^https?:\/\/[^/]+$/.test(endpoint)) {
      throw new S3RequestError(
        'configuration',
        undefined,
        `endpoint must be http(s)://host:port (given ${JSON.stringify(endpoint)})`,
      );
    }
  }

  /**
   * Creates a bucket (PUT /<bucket>). Creating a bucket that exists succeeds, as in us-east-1.
   * @throws S3RequestError when fauxqs refuses or cannot be reached
   */
  async createBucket(bucket: string): Promise<void> {
    await this.request('CreateBucket', 'PUT', `/${encodeURIComponent(bucket)}`);
  }

  /**
   * Writes an object (PUT /<bucket>/<key>).
   * @throws S3RequestError when fauxqs refuses or cannot be reached
   */
  async putObject(
    bucket: string,
    key: string,
    body: string,
    contentType = 'application/json',
  ): Promise<void> {
    if (key === '') throw new S3RequestError('PutObject', undefined, 'the object key must not be empty');
    const path = `/${encodeURIComponent(bucket)}/${key.split('/').map(encodeURIComponent).join('/')}`;
    await this.request('PutObject', 'PUT', path, body, contentType);
  }

  private async request(
    operation: string,
    method: string,
    path: string,
    body?: string,
    contentType?: string,
  ): Promise<void> {
    let response: Response;
    const headers: Record<string, string> = contentType === undefined ? {} : { 'content-type': contentType };
    if (this.identity !== undefined) headers.authorization = authorizationHeader(this.identity, new Date());
    try {
      response = await fetch(`${this.endpoint}${path}`, { method, body, headers });
    } catch (error) {
      throw new S3RequestError(operation, undefined, error instanceof Error ? error.message : String(error), {
        cause: error,
      });
    }
    const text = await response.text();
    if (!response.ok)
      throw new S3RequestError(operation, response.status, errorText(text) || response.statusText);
  }
}

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

/** S3 on fauxqs, path-style. */
export class LocalS3Client {
  /** @param endpoint fauxqs's endpoint, e.g. http://127.0.0.1:4566 */
  constructor(readonly endpoint: string) {
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
    try {
      response = await fetch(`${this.endpoint}${path}`, {
        method,
        body,
        headers: contentType === undefined ? {} : { 'content-type': contentType },
      });
    } catch (error) {
      throw new S3RequestError(operation, undefined, error instanceof Error ? error.message : String(error), {
        cause: error,
      });
    }
    const text = await response.text();
    if (!response.ok)
      throw new S3RequestError(operation, response.status, text.slice(0, 500) || response.statusText);
  }
}

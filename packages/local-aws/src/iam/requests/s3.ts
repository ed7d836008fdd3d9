/**
 * S3 REST requests → IAM authorizations ("Required permissions for Amazon S3
 * API operations", S3 User Guide). Bucket and key come from the path
 * (`/<bucket>/<key>`) or, virtual-hosted style, from the Host
 * (`<bucket>.s3.<host>`). Objects are `arn:aws:s3:::<bucket>/<key>`, buckets
 * `arn:aws:s3:::<bucket>`.
 *
 * - GetObject and HeadObject: `s3:GetObject` (`s3:GetObjectVersion` with versionId).
 * - PutObject, CreateMultipartUpload, UploadPart, CompleteMultipartUpload:
 *   `s3:PutObject`; CopyObject / UploadPartCopy also `s3:GetObject` on the source.
 * - DeleteObject: `s3:DeleteObject` (`s3:DeleteObjectVersion` with versionId);
 *   DeleteObjects: `s3:DeleteObject` for each key of the body.
 * - ListObjects(V2) and HeadBucket: `s3:ListBucket` on the bucket, with
 *   `s3:prefix`, `s3:delimiter`, `s3:max-keys`.
 */
import type { AuthorizationRequest } from '../evaluate';
import type { MappedRequest } from './types';

/** The parts of an S3 HTTP request the mapping reads. */
export interface S3HttpRequest {
  readonly method: string;
  /** Path and query string, as in `IncomingMessage.url`. */
  readonly url: string;
  readonly headers: Readonly<Record<string, string | readonly string[] | undefined>>;
  /** Needed only for DeleteObjects (the XML list of keys). */
  readonly body?: string;
}

const bucketArn = (bucket: string) => `arn:aws:s3:::${bucket}`;
const objectArn = (bucket: string, key: string) => `arn:aws:s3:::${bucket}/${key}`;
const header = (request: S3HttpRequest, name: string) => {
  const value = request.headers[name];
  return typeof value === 'string' ? value : value?.[0];
};

function locate(request: S3HttpRequest): { bucket?: string; key?: string; query: URLSearchParams } {
  const url = new URL(request.url, 'http://s3.local');
  const host = (header(request, 'host') ?? '').split(':', 1)[0] ?? '';
  const virtual = /^(.+?)\.s3[.-]/.exec(host)?.[1];
  const segments = url.pathname.split('/').slice(1);
  const [bucket, ...key] = virtual === undefined ? segments : [virtual, ...segments];
  const decodedKey =
    key.length === 0 || (key.length === 1 && key[0] === '') ? undefined : decodeURIComponent(key.join('/'));
  return { bucket: bucket === '' ? undefined : bucket, key: decodedKey, query: url.searchParams };
}

/** Bucket subresources: operation and the action it needs (DeleteBucketTagging needs s3:PutBucketTagging). */
const BUCKET_SUBRESOURCES: Readonly<Record<string, Readonly<Record<string, readonly [string, string]>>>> = {
  GET: {
    versions: ['ListObjectVersions', 's3:ListBucketVersions'],
    uploads: ['ListMultipartUploads', 's3:ListBucketMultipartUploads'],
    location: ['GetBucketLocation', 's3:GetBucketLocation'],
    policy: ['GetBucketPolicy', 's3:GetBucketPolicy'],
    tagging: ['GetBucketTagging', 's3:GetBucketTagging'],
  },
  PUT: {
    policy: ['PutBucketPolicy', 's3:PutBucketPolicy'],
    tagging: ['PutBucketTagging', 's3:PutBucketTagging'],
  },
  DELETE: {
    policy: ['DeleteBucketPolicy', 's3:DeleteBucketPolicy'],
    tagging: ['DeleteBucketTagging', 's3:PutBucketTagging'],
  },
};

function bucketAuthorizations(
  request: S3HttpRequest,
  bucket: string,
  query: URLSearchParams,
): MappedRequest | undefined {
  const method = request.method.toUpperCase();
  const resource = bucketArn(bucket);
  const subresource = Object.entries(BUCKET_SUBRESOURCES[method] ?? {}).find(([name]) => query.has(name));
  if (subresource) {
    const [operation, action] = subresource[1];
    return { operation, authorizations: [{ action, resource, context: {} }] };
  }
  if (method === 'POST' && query.has('delete')) {
    const keys = [...(request.body ?? '').matchAll(/<Key>([^<]*)<\/Key>/g)].map((m) =>
      unescapeXml(m[1] ?? ''),
    );
    return {
      operation: 'DeleteObjects',
      authorizations: keys.map((key) => ({
        action: 's3:DeleteObject',
        resource: objectArn(bucket, key),
        context: {},
      })),
    };
  }
  if (method === 'GET' || method === 'HEAD') {
    const context = {
      's3:prefix': query.get('prefix') ?? undefined,
      's3:delimiter': query.get('delimiter') ?? undefined,
      's3:max-keys': query.get('max-keys') ?? undefined,
    };
    const operation =
      method === 'HEAD' ? 'HeadBucket' : query.get('list-type') === '2' ? 'ListObjectsV2' : 'ListObjects';
    return { operation, authorizations: [{ action: 's3:ListBucket', resource, context }] };
  }
  if (method === 'PUT')
    return {
      operation: 'CreateBucket',
      authorizations: [{ action: 's3:CreateBucket', resource, context: {} }],
    };
  if (method === 'DELETE')
    return {
      operation: 'DeleteBucket',
      authorizations: [{ action: 's3:DeleteBucket', resource, context: {} }],
    };
  return undefined;
}

function unescapeXml(text: string): string {
  return text
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&');
}

/** `x-amz-copy-source: /<bucket>/<key>[?versionId=…]` → the source object ARN. */
function copySource(request: S3HttpRequest): AuthorizationRequest[] {
  const source = header(request, 'x-amz-copy-source');
  if (source === undefined) return [];
  const [path] = decodeURIComponent(source).replace(/^\//, '').split('?', 1);
  return [{ action: 's3:GetObject', resource: `arn:aws:s3:::${path}`, context: {} }];
}

function objectOperation(
  method: string,
  query: URLSearchParams,
  copy: boolean,
): [string, string] | undefined {
  const versioned = query.has('versionId');
  switch (method) {
    case 'GET':
      if (query.has('tagging')) return ['GetObjectTagging', 's3:GetObjectTagging'];
      if (query.has('uploadId')) return ['ListParts', 's3:ListMultipartUploadParts'];
      return ['GetObject', versioned ? 's3:GetObjectVersion' : 's3:GetObject'];
    case 'HEAD':
      return ['HeadObject', versioned ? 's3:GetObjectVersion' : 's3:GetObject'];
    case 'PUT':
      if (query.has('tagging')) return ['PutObjectTagging', 's3:PutObjectTagging'];
      if (query.has('uploadId')) return [copy ? 'UploadPartCopy' : 'UploadPart', 's3:PutObject'];
      return [copy ? 'CopyObject' : 'PutObject', 's3:PutObject'];
    case 'POST':
      if (query.has('uploads')) return ['CreateMultipartUpload', 's3:PutObject'];
      if (query.has('uploadId')) return ['CompleteMultipartUpload', 's3:PutObject'];
      return undefined;
    case 'DELETE':
      if (query.has('tagging')) return ['DeleteObjectTagging', 's3:DeleteObjectTagging'];
      if (query.has('uploadId')) return ['AbortMultipartUpload', 's3:AbortMultipartUpload'];
      return ['DeleteObject', versioned ? 's3:DeleteObjectVersion' : 's3:DeleteObject'];
    default:
      return undefined;
  }
}

/** Authorizations of one S3 request; undefined for an operation this module does not map. */
export function mapS3Request(request: S3HttpRequest): MappedRequest | undefined {
  const { bucket, key, query } = locate(request);
  const method = request.method.toUpperCase();
  if (bucket === undefined) {
    if (method !== 'GET') return undefined;
    return {
      operation: 'ListBuckets',
      authorizations: [{ action: 's3:ListAllMyBuckets', resource: '*', context: {} }],
    };
  }
  if (key === undefined) return bucketAuthorizations(request, bucket, query);
  const copy = copySource(request);
  const operation = objectOperation(method, query, copy.length > 0 && method === 'PUT');
  if (operation === undefined) return undefined;
  const [name, action] = operation;
  const main = { action, resource: objectArn(bucket, key), context: {} };
  return { operation: name, authorizations: method === 'PUT' ? [main, ...copy] : [main] };
}

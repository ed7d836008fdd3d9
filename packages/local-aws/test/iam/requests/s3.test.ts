import { describe, expect, it } from 'vitest';
import { mapS3Request } from '../../../src/iam/requests/s3';

const map = (method: string, url: string, headers: Record<string, string> = {}, body?: string) =>
  mapS3Request({ method, url, headers: { host: '127.0.0.1:4566', ...headers }, body });
const pairs = (...args: Parameters<typeof map>) => {
  const mapped = map(...args);
  return mapped === undefined
    ? undefined
    : [mapped.operation, mapped.authorizations.map((a) => [a.action, a.resource])];
};

describe('mapS3Request', () => {
  it.each([
    ['GET', '/assets/a/b.json', 'GetObject', 's3:GetObject', 'arn:aws:s3:::assets/a/b.json'],
    ['HEAD', '/assets/a/b.json', 'HeadObject', 's3:GetObject', 'arn:aws:s3:::assets/a/b.json'],
    ['PUT', '/assets/a%20b.json', 'PutObject', 's3:PutObject', 'arn:aws:s3:::assets/a b.json'],
    ['DELETE', '/assets/a.json', 'DeleteObject', 's3:DeleteObject', 'arn:aws:s3:::assets/a.json'],
    ['GET', '/assets/a.json?versionId=3', 'GetObject', 's3:GetObjectVersion', 'arn:aws:s3:::assets/a.json'],
    ['POST', '/assets/a.json?uploads', 'CreateMultipartUpload', 's3:PutObject', 'arn:aws:s3:::assets/a.json'],
    ['GET', '/assets?list-type=2', 'ListObjectsV2', 's3:ListBucket', 'arn:aws:s3:::assets'],
    ['HEAD', '/assets', 'HeadBucket', 's3:ListBucket', 'arn:aws:s3:::assets'],
    ['GET', '/', 'ListBuckets', 's3:ListAllMyBuckets', '*'],
  ])('maps %s %s to %s authorized as %s on %s', (method, url, operation, action, resource) => {
    // Act
    const mapped = pairs(method, url);

    // Assert
    expect(mapped).toEqual([operation, [[action, resource]]]);
  });

  it('reads the bucket from a virtual-hosted Host header', () => {
    // Act
    const mapped = pairs('GET', '/reports/2026.csv', { host: 'assets.s3.localhost:4566' });

    // Assert
    expect(mapped).toEqual(['GetObject', [['s3:GetObject', 'arn:aws:s3:::assets/reports/2026.csv']]]);
  });

  it('gives ListObjectsV2 the prefix, delimiter and max-keys condition keys', () => {
    // Act
    const mapped = map('GET', '/assets?list-type=2&prefix=reports%2F&delimiter=%2F&max-keys=10');

    // Assert
    expect(mapped?.authorizations[0]?.context).toEqual({
      's3:prefix': 'reports/',
      's3:delimiter': '/',
      's3:max-keys': '10',
    });
  });

  it('authorizes CopyObject as PutObject on the target and GetObject on the source', () => {
    // Act
    const mapped = pairs('PUT', '/assets/copy.json', {
      'x-amz-copy-source': '/originals/a.json?versionId=1',
    });

    // Assert
    expect(mapped).toEqual([
      'CopyObject',
      [
        ['s3:PutObject', 'arn:aws:s3:::assets/copy.json'],
        ['s3:GetObject', 'arn:aws:s3:::originals/a.json'],
      ],
    ]);
  });

  it('authorizes DeleteObjects as DeleteObject on every key of the body', () => {
    // Act
    const mapped = pairs(
      'POST',
      '/assets?delete',
      {},
      '<Delete><Object><Key>a.json</Key></Object><Object><Key>b&amp;c.json</Key></Object></Delete>',
    );

    // Assert
    expect(mapped).toEqual([
      'DeleteObjects',
      [
        ['s3:DeleteObject', 'arn:aws:s3:::assets/a.json'],
        ['s3:DeleteObject', 'arn:aws:s3:::assets/b&c.json'],
      ],
    ]);
  });

  it('leaves an object operation it does not know unmapped', () => {
    // Act
    const mapped = map('POST', '/assets/a.json?restore');

    // Assert
    expect(mapped).toBeUndefined();
  });
});

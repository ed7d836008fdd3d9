/** The proxy's HTTP behaviour, in front of a recording stand-in for an engine. */
import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { getFreePort, LOOPBACK_HOST } from '../../src/engines/free-port';
import { createIamAuthorizer } from '../../src/iam/authorizer';
import { CredentialRegistry } from '../../src/iam/credentials';
import { type IamProxy, IamProxyError, startIamProxy } from '../../src/iam/proxy';
import { readTemplatePolicies } from '../../src/iam/template-policies';

interface Received {
  readonly method?: string;
  readonly url?: string;
  readonly host?: string;
  readonly bytes: number;
}

let upstream: Server;
let upstreamUrl: string;
let received: Received[] = [];
let dynamodbProxy: IamProxy;
let s3Proxy: IamProxy;

beforeAll(async () => {
  upstream = createServer((req: IncomingMessage, res) => {
    let bytes = 0;
    req.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
    });
    req.on('end', () => {
      received.push({ method: req.method, url: req.url, host: req.headers.host, bytes });
      res.writeHead(201, { 'content-type': 'text/plain', 'x-engine': 'stand-in' });
      res.end(`engine saw ${bytes} bytes`);
    });
  });
  const port = await getFreePort();
  await new Promise<void>((resolve) => upstream.listen(port, LOOPBACK_HOST, resolve));
  upstreamUrl = `http://${LOOPBACK_HOST}:${port}`;
  const policies = readTemplatePolicies(
    { Resources: {} },
    { resolve: String, accountId: '000000000000', region: 'us-east-1' },
  );
  const authorizer = createIamAuthorizer({
    policies,
    credentials: new CredentialRegistry({ accountId: '000000000000' }),
    tableKeys: () => undefined,
  });
  [dynamodbProxy, s3Proxy] = await Promise.all([
    startIamProxy({ service: 'dynamodb', upstream: upstreamUrl, authorizer }),
    startIamProxy({ service: 's3', upstream: upstreamUrl, authorizer }),
  ]);
});

beforeEach(() => {
  received = [];
});

afterAll(async () => {
  await Promise.all([dynamodbProxy?.stop(), s3Proxy?.stop()]);
  upstream.closeAllConnections();
  await new Promise<void>((resolve) => upstream.close(() => resolve()));
});

/** fetch cannot set Host; node:http can, as the SDK does for virtual-hosted S3. */
function put(url: string, headers: Record<string, string>, body: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: 'PUT', headers }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const operator =
  'AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0';

describe('startIamProxy', () => {
  it('forwards an allowed request unchanged and streams the engine response back', async () => {
    // Act
    const response = await fetch(`${dynamodbProxy.endpoint}/`, {
      method: 'POST',
      headers: { authorization: operator, 'x-amz-target': 'DynamoDB_20120810.ListTables' },
      body: '{}',
    });

    // Assert
    expect([response.status, response.headers.get('x-engine'), await response.text()]).toEqual([
      201,
      'stand-in',
      'engine saw 2 bytes',
    ]);
    expect(received).toEqual([{ method: 'POST', url: '/', host: new URL(upstreamUrl).host, bytes: 2 }]);
  });

  it('answers a refused request itself, without reaching the engine', async () => {
    // Act
    const response = await fetch(`${dynamodbProxy.endpoint}/`, {
      method: 'POST',
      headers: { 'x-amz-target': 'DynamoDB_20120810.ListTables' },
      body: '{}',
    });

    // Assert
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({
      __type: 'com.amazon.coral.service#MissingAuthenticationTokenException',
    });
    expect(received).toEqual([]);
    expect(dynamodbProxy.counters.refused).toBeGreaterThan(0);
  });

  it('refuses an anonymous S3 read of a bucket without a policy as AccessDenied XML', async () => {
    // Act
    const response = await fetch(`${s3Proxy.endpoint}/assets/report.csv`);

    // Assert
    expect(response.status).toBe(403);
    expect(await response.text()).toContain('<Code>AccessDenied</Code><Message>Access Denied</Message>');
    expect(received).toEqual([]);
  });

  it('streams an allowed S3 upload to the engine, keeping a virtual-hosted bucket in the Host', async () => {
    // Arrange
    const body = Buffer.alloc(2 * 1024 * 1024, 7);
    const port = new URL(s3Proxy.endpoint).port;

    // Act
    const status = await put(
      `${s3Proxy.endpoint}/big.bin`,
      { authorization: operator, host: `assets.s3.localhost:${port}` },
      body,
    );

    // Assert
    expect(status).toBe(201);
    expect(received).toEqual([
      {
        method: 'PUT',
        url: '/big.bin',
        host: `assets.s3.localhost:${new URL(upstreamUrl).port}`,
        bytes: body.length,
      },
    ]);
  });

  it('answers 502 when the engine is not reachable', async () => {
    // Arrange
    const port = await getFreePort();
    const proxy = await startIamProxy({
      service: 'dynamodb',
      upstream: `http://${LOOPBACK_HOST}:${port}`,
      authorizer: createIamAuthorizer({
        policies: readTemplatePolicies(
          {},
          { resolve: String, accountId: '000000000000', region: 'us-east-1' },
        ),
        credentials: new CredentialRegistry({ accountId: '000000000000' }),
        tableKeys: () => undefined,
      }),
    });

    // Act
    const response = await fetch(`${proxy.endpoint}/`, {
      method: 'POST',
      headers: { authorization: operator },
      body: '{}',
    });
    await proxy.stop();

    // Assert
    expect(response.status).toBe(502);
    expect(await response.text()).toMatch(/^dynamodb engine unreachable/);
  });

  it('rejects an upstream that is not an http URL, saying what was given', async () => {
    // Act
    const start = startIamProxy({
      service: 'sqs',
      upstream: 'sqs.local',
      authorizer: createIamAuthorizer({
        policies: readTemplatePolicies(
          {},
          { resolve: String, accountId: '000000000000', region: 'us-east-1' },
        ),
        credentials: new CredentialRegistry({ accountId: '000000000000' }),
        tableKeys: () => undefined,
      }),
    });

    // Assert
    await expect(start).rejects.toThrow(IamProxyError);
    await expect(start).rejects.toThrow('upstream must be an http URL (given "sqs.local")');
  });
});

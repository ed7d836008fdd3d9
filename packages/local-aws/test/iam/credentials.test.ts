import { describe, expect, it } from 'vitest';
import { CredentialRegistry, signingIdentity } from '../../src/iam/credentials';

const role = { roleArn: 'arn:aws:iam::000000000000:role/Worker', roleName: 'Worker' };
const authorization = (accessKeyId: string) =>
  `AWS4-HMAC-SHA256 Credential=${accessKeyId}/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc`;

describe('signingIdentity', () => {
  it('reads the access key id, region and service of a SigV4 Authorization header', () => {
    // Act
    const identity = signingIdentity({ authorization: authorization('ASIAEXAMPLE') });

    // Assert
    expect(identity).toEqual({
      kind: 'signed',
      accessKeyId: 'ASIAEXAMPLE',
      region: 'us-east-1',
      service: 'dynamodb',
    });
  });

  it('reads the access key id of a presigned URL', () => {
    // Act
    const identity = signingIdentity(
      {},
      '/bucket/key?X-Amz-Credential=AKIDX%2F20260101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Signature=1',
    );

    // Assert
    expect(identity).toMatchObject({ kind: 'signed', accessKeyId: 'AKIDX', service: 's3' });
  });

  it.each([
    [{}],
    [{ authorization: 'Basic dXNlcjpwYXNz' }],
    [{ authorization: 'AWS4-HMAC-SHA256 Signature=abc' }],
  ])('treats %j as unsigned', (headers) => {
    // Act
    const identity = signingIdentity(headers);

    // Assert
    expect(identity).toEqual({ kind: 'unsigned' });
  });
});

describe('CredentialRegistry', () => {
  it('issues a role session named after the function, with the assumed-role ARN AWS shows', () => {
    // Arrange
    const registry = new CredentialRegistry({ accountId: '000000000000' });

    // Act
    const credentials = registry.issueRoleSession(role, 'WorkerFunction');

    // Assert
    expect(credentials.accessKeyId).toMatch(/^ASIA[A-Z2-7]{16}$/);
    expect(registry.resolve(credentials.accessKeyId)).toEqual({
      kind: 'role-session',
      arn: 'arn:aws:sts::000000000000:assumed-role/Worker/WorkerFunction',
      roleArn: role.roleArn,
      roleName: 'Worker',
      sessionName: 'WorkerFunction',
      accountId: '000000000000',
    });
  });

  it('issues the same keys for the same session and different keys for another function', () => {
    // Arrange
    const registry = new CredentialRegistry({ accountId: '000000000000' });

    // Act
    const first = registry.issueRoleSession(role, 'A');
    const again = registry.issueRoleSession(role, 'A');
    const other = registry.issueRoleSession(role, 'B');

    // Assert
    expect(again).toEqual(first);
    expect(other.accessKeyId).not.toBe(first.accessKeyId);
  });

  it('knows the operator key as administrator and nothing it did not issue', () => {
    // Arrange
    const registry = new CredentialRegistry({ accountId: '000000000000' });

    // Act
    const operator = registry.resolve('local');
    const stranger = registry.resolve('AKIAUNKNOWN');

    // Assert
    expect(operator).toEqual({ kind: 'administrator' });
    expect(stranger).toBeUndefined();
  });

  it('refuses to register one access key id for two callers', () => {
    // Arrange
    const registry = new CredentialRegistry({ accountId: '000000000000' });
    const session = {
      kind: 'role-session' as const,
      arn: 'arn:aws:sts::000000000000:assumed-role/Worker/A',
      roleArn: role.roleArn,
      roleName: 'Worker',
      sessionName: 'A',
      accountId: '000000000000',
    };

    // Act
    const act = () => registry.register('local', session);

    // Assert
    expect(act).toThrow(/access key id local is already registered/);
  });
});

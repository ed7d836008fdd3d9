import { describe, expect, it } from 'vitest';
import {
  accessDeniedMessage,
  accessDeniedResponse,
  authenticationFailureResponse,
  type DeniedRequest,
  functionUrlForbiddenResponse,
} from '../../src/iam/denials';

const denied: DeniedRequest = {
  principal: 'arn:aws:sts::000000000000:assumed-role/Worker/WorkerFn',
  action: 'dynamodb:PutItem',
  resource: 'arn:aws:dynamodb:us-east-1:000000000000:table/Orders',
  reason: 'implicit-deny',
  hasIdentityPolicies: true,
};

describe('accessDeniedMessage', () => {
  it('words an implicit deny as AWS does', () => {
    // Act
    const message = accessDeniedMessage('dynamodb', denied);

    // Assert
    expect(message).toBe(
      'User: arn:aws:sts::000000000000:assumed-role/Worker/WorkerFn is not authorized to perform: dynamodb:PutItem on resource: arn:aws:dynamodb:us-east-1:000000000000:table/Orders because no identity-based policy allows the dynamodb:PutItem action',
    );
  });

  it.each([
    ['explicit-deny-identity', 'with an explicit deny in an identity-based policy'],
    ['explicit-deny-resource', 'with an explicit deny in a resource-based policy'],
  ] as const)('ends an %s with "%s"', (reason, ending) => {
    // Act
    const message = accessDeniedMessage('dynamodb', { ...denied, reason });

    // Assert
    expect(message.endsWith(` ${ending}`)).toBe(true);
  });

  it('blames the resource-based policy for a caller that has no identity policies', () => {
    // Act
    const message = accessDeniedMessage('sqs', {
      ...denied,
      principal: 'events.amazonaws.com',
      action: 'sqs:SendMessage',
      hasIdentityPolicies: false,
    });

    // Assert
    expect(message).toMatch(/because no resource-based policy allows the sqs:sendmessage action$/);
  });

  it('quotes the resource in S3 messages', () => {
    // Act
    const message = accessDeniedMessage('s3', {
      ...denied,
      action: 's3:GetObject',
      resource: 'arn:aws:s3:::b/k',
    });

    // Assert
    expect(message).toContain('on resource: "arn:aws:s3:::b/k" because');
  });
});

describe('accessDeniedResponse', () => {
  it('answers DynamoDB with a 400 coral AccessDeniedException', () => {
    // Act
    const response = accessDeniedResponse('dynamodb', denied);

    // Assert
    expect(response.status).toBe(400);
    expect(JSON.parse(response.body)).toEqual({
      __type: 'com.amazon.coral.service#AccessDeniedException',
      Message: accessDeniedMessage('dynamodb', denied),
    });
  });

  it('answers SQS with a 403 and the query-compatible AccessDenied code header', () => {
    // Act
    const response = accessDeniedResponse('sqs', { ...denied, action: 'sqs:ReceiveMessage' });

    // Assert
    expect(response.status).toBe(403);
    expect(response.headers['x-amzn-query-error']).toBe('AccessDenied;Sender');
  });

  it('answers S3 with an XML AccessDenied, escaping the message', () => {
    // Act
    const response = accessDeniedResponse('s3', {
      ...denied,
      action: 's3:GetObject',
      resource: 'arn:aws:s3:::b/a&b',
    });

    // Assert
    expect(response.status).toBe(403);
    expect(response.body).toMatch(
      /<Error><Code>AccessDenied<\/Code><Message>User: .* on resource: "arn:aws:s3:::b\/a&amp;b" because/,
    );
  });

  it('answers an anonymous S3 caller with the plain "Access Denied"', () => {
    // Act
    const response = accessDeniedResponse('s3', {
      ...denied,
      principal: 'anonymous',
      hasIdentityPolicies: false,
    });

    // Assert
    expect(response.body).toContain('<Message>Access Denied</Message>');
  });
});

describe('authenticationFailureResponse', () => {
  it.each([
    ['dynamodb', { kind: 'unknown-key', accessKeyId: 'AKIDX' }, 400, 'UnrecognizedClientException'],
    ['dynamodb', { kind: 'unsigned' }, 400, 'MissingAuthenticationTokenException'],
    ['events', { kind: 'unknown-key', accessKeyId: 'AKIDX' }, 400, 'UnrecognizedClientException'],
    ['sqs', { kind: 'unknown-key', accessKeyId: 'AKIDX' }, 403, 'InvalidClientTokenId'],
    ['sqs', { kind: 'unsigned' }, 403, 'MissingAuthenticationToken'],
    ['s3', { kind: 'unknown-key', accessKeyId: 'AKIDX' }, 403, 'InvalidAccessKeyId'],
  ] as const)('answers %s %j with %i %s', (service, failure, status, code) => {
    // Act
    const response = authenticationFailureResponse(service, failure);

    // Assert
    expect(response.status).toBe(status);
    expect(response.body).toContain(code);
  });
});

describe('functionUrlForbiddenResponse', () => {
  it('answers 403 with the Forbidden message of function URLs', () => {
    // Act
    const response = functionUrlForbiddenResponse();

    // Assert
    expect(response.status).toBe(403);
    expect(JSON.parse(response.body).Message).toMatch(
      /^Forbidden\. For troubleshooting Function URL authorization issues/,
    );
  });
});

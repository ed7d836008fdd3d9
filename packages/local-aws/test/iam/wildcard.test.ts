import { describe, expect, it } from 'vitest';
import { contextLookup } from '../../src/iam/context';
import { matchesArn, matchesWildcard, substituteVariables } from '../../src/iam/wildcard';

/** `${name}`: an IAM policy variable (a plain string in policies, not a template literal). */
const v = (name: string) => `\${${name}}`;

describe('matchesWildcard', () => {
  it.each([
    ['dynamodb:Get*', 'dynamodb:GetItem', true],
    ['dynamodb:Get*', 'dynamodb:PutItem', false],
    ['dynamodb:?etItem', 'dynamodb:GetItem', true],
    ['dynamodb:?etItem', 'dynamodb:GeetItem', false],
    ['arn:aws:s3:::bucket/*', 'arn:aws:s3:::bucket/a/b:c.json', true],
    ['arn:aws:dynamodb:*:*:table/Orders', 'arn:aws:dynamodb:us-east-1:000000000000:table/Orders', true],
    [
      'arn:aws:dynamodb:*:*:table/Orders',
      'arn:aws:dynamodb:us-east-1:000000000000:table/Orders/index/ByDay',
      false,
    ],
    ['a.b(c)', 'a.b(c)', true],
    ['a.b', 'axb', false],
  ])('matches %s against %s: %s', (pattern, value, expected) => {
    // Act
    const matched = matchesWildcard(pattern, value);

    // Assert
    expect(matched).toBe(expected);
  });

  it('compares case-insensitively when asked, as for action names', () => {
    // Act
    const matched = matchesWildcard('DynamoDB:getitem', 'dynamodb:GetItem', { ignoreCase: true });

    // Assert
    expect(matched).toBe(true);
  });

  it('compares resources case-sensitively by default', () => {
    // Act
    const matched = matchesWildcard(
      'arn:aws:sqs:us-east-1:000000000000:orders',
      'arn:aws:sqs:us-east-1:000000000000:Orders',
    );

    // Assert
    expect(matched).toBe(false);
  });

  it('replaces a policy variable by its context value and keeps the wildcards around it', () => {
    // Arrange
    const lookup = contextLookup({ 'aws:PrincipalAccount': '000000000000' });

    // Act
    const inside = matchesWildcard(
      `arn:aws:sqs:*:${v('aws:PrincipalAccount')}:*`,
      'arn:aws:sqs:us-east-1:000000000000:q',
      {
        lookup,
      },
    );
    const outside = matchesWildcard(
      `arn:aws:sqs:*:${v('aws:PrincipalAccount')}:*`,
      'arn:aws:sqs:us-east-1:111111111111:q',
      {
        lookup,
      },
    );

    // Assert
    expect([inside, outside]).toEqual([true, false]);
  });

  it('does not match when a policy variable names a key the request does not carry', () => {
    // Act
    const matched = matchesWildcard(`arn:aws:s3:::b/${v('aws:username')}/*`, 'arn:aws:s3:::b/x/y', {
      lookup: contextLookup({}),
    });

    // Assert
    expect(matched).toBe(false);
  });

  it(`reads ${v('*')} as a literal star, not a wildcard`, () => {
    // Arrange
    const lookup = contextLookup({});

    // Act
    const literal = matchesWildcard(`a${v('*')}b`, 'a*b', { lookup });
    const other = matchesWildcard(`a${v('*')}b`, 'axxb', { lookup });

    // Assert
    expect([literal, other]).toEqual([true, false]);
  });
});

describe('matchesArn', () => {
  it('does not let a wildcard cross the colon between ARN components', () => {
    // Act
    const crossing = matchesArn('arn:aws:events:*', 'arn:aws:events:us-east-1:000000000000:rule/bus/r');

    // Assert
    expect(crossing).toBe(false);
  });

  it('matches each of the six components with its own wildcards', () => {
    // Act
    const matched = matchesArn(
      'arn:aws:events:*:*:rule/bus/*',
      'arn:aws:events:us-east-1:000000000000:rule/bus/r',
    );

    // Assert
    expect(matched).toBe(true);
  });

  it('does not match a value that is not an ARN', () => {
    // Act
    const matched = matchesArn('arn:aws:sqs:*:*:*', 'not-an-arn');

    // Assert
    expect(matched).toBe(false);
  });
});

describe('substituteVariables', () => {
  it('uses the default value written after the variable when the key is missing', () => {
    // Act
    const value = substituteVariables(v("aws:username, 'nobody'"), contextLookup({}));

    // Assert
    expect(value).toBe('nobody');
  });
});

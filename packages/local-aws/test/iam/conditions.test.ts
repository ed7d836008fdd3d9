import { describe, expect, it } from 'vitest';
import { evaluateCondition, parseOperator } from '../../src/iam/conditions';
import { type ConditionContext, contextLookup } from '../../src/iam/context';

/** `${name}`: an IAM policy variable (a plain string in policies, not a template literal). */
const v = (name: string) => `\${${name}}`;

function holds(operator: string, key: string, values: string[], context: ConditionContext): boolean {
  return evaluateCondition({ operator, key, values }, contextLookup(context));
}

describe('evaluateCondition on single-valued keys', () => {
  it.each([
    ['StringEquals', ['Orders'], 'Orders', true],
    ['StringEquals', ['Orders'], 'orders', false],
    ['StringEquals', ['A', 'Orders'], 'Orders', true],
    ['StringNotEquals', ['Orders'], 'Invoices', true],
    ['StringNotEquals', ['A', 'Orders'], 'Orders', false],
    ['StringEqualsIgnoreCase', ['ORDERS'], 'orders', true],
    ['StringNotEqualsIgnoreCase', ['ORDERS'], 'orders', false],
    ['StringLike', ['Ord*'], 'Orders', true],
    ['StringLike', ['Ord?rs'], 'Orders', true],
    ['StringNotLike', ['Ord*'], 'Invoices', true],
    ['StringNotLike', ['Ord*'], 'Orders', false],
    ['NumericEquals', ['10'], '10', true],
    ['NumericNotEquals', ['10'], '11', true],
    ['NumericLessThan', ['10'], '9', true],
    ['NumericLessThanEquals', ['10'], '10', true],
    ['NumericGreaterThan', ['10'], '10', false],
    ['NumericGreaterThanEquals', ['10'], '10.0', true],
    ['NumericEquals', ['10'], 'ten', false],
    ['DateLessThan', ['2030-01-01T00:00:00Z'], '2026-06-01T12:00:00Z', true],
    ['DateGreaterThan', ['2030-01-01T00:00:00Z'], '1767225600', false],
    ['DateEquals', ['2026-01-01T00:00:00Z'], '1767225600', true],
    ['Bool', ['true'], 'true', true],
    ['Bool', ['false'], 'true', false],
    ['Bool', ['TRUE'], 'true', true],
    ['BinaryEquals', ['QmluYXJ5'], 'QmluYXJ5', true],
    ['IpAddress', ['127.0.0.0/8'], '127.0.0.1', true],
    ['NotIpAddress', ['10.0.0.0/8'], '127.0.0.1', true],
    [
      'ArnEquals',
      ['arn:aws:events:us-east-1:000000000000:rule/bus/r'],
      'arn:aws:events:us-east-1:000000000000:rule/bus/r',
      true,
    ],
    [
      'ArnLike',
      ['arn:aws:events:*:000000000000:rule/bus/*'],
      'arn:aws:events:us-east-1:000000000000:rule/bus/r',
      true,
    ],
    [
      'ArnNotEquals',
      ['arn:aws:events:*:*:rule/bus/r'],
      'arn:aws:events:us-east-1:000000000000:rule/bus/other',
      true,
    ],
    [
      'ArnNotLike',
      ['arn:aws:events:*:*:rule/bus/*'],
      'arn:aws:events:us-east-1:000000000000:rule/bus/r',
      false,
    ],
  ])('%s %j on %s is %s', (operator, values, requestValue, expected) => {
    // Act
    const result = holds(operator, 'test:key', values, { 'test:key': requestValue });

    // Assert
    expect(result).toBe(expected);
  });

  it('reads condition key names case-insensitively', () => {
    // Act
    const result = holds('StringEquals', 'AWS:SourceAccount', ['000000000000'], {
      'aws:sourceaccount': '000000000000',
    });

    // Assert
    expect(result).toBe(true);
  });

  it('expands a policy variable inside StringEquals values', () => {
    // Act
    const result = holds('StringEquals', 'dynamodb:LeadingKeys', [v('aws:userid')], {
      'dynamodb:LeadingKeys': 'AROA1:session',
      'aws:userid': 'AROA1:session',
    });

    // Assert
    expect(result).toBe(true);
  });
});

describe('evaluateCondition when the key is missing from the request', () => {
  it.each([
    ['StringEquals', false],
    ['StringLike', false],
    ['ArnEquals', false],
    ['Bool', false],
    ['NumericLessThan', false],
    ['StringNotEquals', true],
    ['StringNotLike', true],
    ['ArnNotLike', true],
    ['StringEqualsIfExists', true],
    ['ArnLikeIfExists', true],
    ['BoolIfExists', true],
    ['ForAllValues:StringLike', true],
    ['ForAnyValue:StringLike', false],
    ['ForAnyValue:StringLikeIfExists', true],
  ])('%s is %s', (operator, expected) => {
    // Act
    const result = holds(operator, 'test:absent', ['x*'], {});

    // Assert
    expect(result).toBe(expected);
  });

  it('treats Null true as "the key is absent" and Null false as "the key is present"', () => {
    // Act
    const absentTrue = holds('Null', 'test:key', ['true'], {});
    const absentFalse = holds('Null', 'test:key', ['false'], {});
    const presentTrue = holds('Null', 'test:key', ['true'], { 'test:key': 'v' });
    const presentFalse = holds('Null', 'test:key', ['false'], { 'test:key': 'v' });

    // Assert
    expect([absentTrue, absentFalse, presentTrue, presentFalse]).toEqual([true, false, false, true]);
  });

  it('treats an empty multivalued key as absent for Null', () => {
    // Act
    const result = holds('Null', 'dynamodb:LeadingKeys', ['true'], { 'dynamodb:LeadingKeys': [] });

    // Assert
    expect(result).toBe(true);
  });

  it('does not let IfExists rescue a key that is present with a wrong value', () => {
    // Act
    const result = holds('StringEqualsIfExists', 'test:key', ['a'], { 'test:key': 'b' });

    // Assert
    expect(result).toBe(false);
  });
});

describe('evaluateCondition on multivalued keys', () => {
  const leadingKeys = (values: string[]) => ({ 'dynamodb:LeadingKeys': values });

  it('holds ForAllValues:StringLike when every leading key matches one of the patterns', () => {
    // Act
    const result = holds(
      'ForAllValues:StringLike',
      'dynamodb:LeadingKeys',
      ['ORDER#*', 'CUSTOMER#*'],
      leadingKeys(['ORDER#1', 'CUSTOMER#7']),
    );

    // Assert
    expect(result).toBe(true);
  });

  it('fails ForAllValues:StringLike when one leading key is outside the patterns', () => {
    // Act
    const result = holds(
      'ForAllValues:StringLike',
      'dynamodb:LeadingKeys',
      ['ORDER#*'],
      leadingKeys(['ORDER#1', 'ADMIN#1']),
    );

    // Assert
    expect(result).toBe(false);
  });

  it('holds ForAllValues on an empty set, which is why AWS pairs it with a Null check', () => {
    // Act
    const result = holds('ForAllValues:StringEquals', 'dynamodb:LeadingKeys', ['a'], leadingKeys([]));

    // Assert
    expect(result).toBe(true);
  });

  it('holds ForAnyValue:StringEquals when one value matches', () => {
    // Act
    const result = holds('ForAnyValue:StringEquals', 'dynamodb:Attributes', ['secret'], {
      'dynamodb:Attributes': ['pk', 'secret'],
    });

    // Assert
    expect(result).toBe(true);
  });

  it('holds ForAllValues:StringNotEquals only when no value equals a listed one', () => {
    // Act
    const clean = holds('ForAllValues:StringNotEquals', 'dynamodb:Attributes', ['secret'], {
      'dynamodb:Attributes': ['pk', 'sk'],
    });
    const dirty = holds('ForAllValues:StringNotEquals', 'dynamodb:Attributes', ['secret'], {
      'dynamodb:Attributes': ['pk', 'secret'],
    });

    // Assert
    expect([clean, dirty]).toEqual([true, false]);
  });

  it('reads a multivalued key without a set operator as "any value matches"', () => {
    // Act
    const result = holds('StringEquals', 'dynamodb:LeadingKeys', ['b'], leadingKeys(['a', 'b']));

    // Assert
    expect(result).toBe(true);
  });
});

describe('parseOperator', () => {
  it('splits the set qualifier, the base operator and IfExists', () => {
    // Act
    const parsed = parseOperator('ForAnyValue:StringLikeIfExists');

    // Assert
    expect(parsed).toEqual({ set: 'ForAnyValue', base: 'StringLike', ifExists: true });
  });

  it('rejects an unknown set qualifier', () => {
    // Act
    const parsed = parseOperator('ForSomeValues:StringLike');

    // Assert
    expect(parsed).toBeUndefined();
  });

  it('never matches an operator IAM does not define', () => {
    // Act
    const result = holds('StringLikeIgnoreCase', 'test:key', ['*'], { 'test:key': 'v' });

    // Assert
    expect(result).toBe(false);
  });
});

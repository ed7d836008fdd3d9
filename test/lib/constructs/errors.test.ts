import { Duration, Lazy, Token } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import {
  ConstructPropsError,
  validateDurationInRange,
  validateIntegerInRange,
} from '../../../lib/constructs/errors';
import { messageOf, thrownBy } from '../template-helpers';

describe('ConstructPropsError', () => {
  it('is an Error named ConstructPropsError', () => {
    // Act
    const error = new ConstructPropsError('batchSize must be between 1 and 10 (given 11)');

    // Assert
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('ConstructPropsError');
    expect(String(error)).toBe('ConstructPropsError: batchSize must be between 1 and 10 (given 11)');
  });
});

describe('validateIntegerInRange', () => {
  it.each([1, 5, 10])('accepts %i in 1..10', (value) => {
    // Act
    const act = () => validateIntegerInRange('batchSize', value, 1, 10);

    // Assert
    expect(act).not.toThrow();
  });

  it.each([
    [0, 'batchSize must be between 1 and 10 (given 0)'],
    [11, 'batchSize must be between 1 and 10 (given 11)'],
    [2.5, 'batchSize must be a whole number (given 2.5)'],
    [Number.NaN, 'batchSize must be a whole number (given NaN)'],
  ])('refuses %d naming the prop, the rule and the value', (value, message) => {
    // Act
    const error = thrownBy(() => validateIntegerInRange('batchSize', value, 1, 10));

    // Assert
    expect(error).toBeInstanceOf(ConstructPropsError);
    expect(messageOf(error)).toBe(message);
  });

  it('lets an unresolved token through, since its value is known at deploy time only', () => {
    // Arrange
    const token = Token.asNumber(Lazy.number({ produce: () => 0 }));

    // Act
    const act = () => validateIntegerInRange('batchSize', token, 1, 10);

    // Assert
    expect(act).not.toThrow();
  });
});

describe('validateDurationInRange', () => {
  const min = Duration.minutes(1);
  const max = Duration.hours(1);

  it.each([Duration.minutes(1), Duration.seconds(90), Duration.hours(1)])('accepts %o', (value) => {
    // Act
    const act = () => validateDurationInRange('interval', value, min, max);

    // Assert
    expect(act).not.toThrow();
  });

  it.each([
    [Duration.seconds(59), 'interval must be between 1 minute and 1 hour (given 59 seconds)'],
    [Duration.hours(2), 'interval must be between 1 minute and 1 hour (given 2 hours)'],
    [Duration.millis(90_500), 'interval must be whole seconds (given 90500 milliseconds)'],
  ])('refuses %o naming the prop, the rule and the value', (value, message) => {
    // Act
    const error = thrownBy(() => validateDurationInRange('interval', value, min, max));

    // Assert
    expect(error).toBeInstanceOf(ConstructPropsError);
    expect(messageOf(error)).toBe(message);
  });

  it('lets an unresolved duration through', () => {
    // Arrange
    const value = Duration.seconds(Token.asNumber(Lazy.number({ produce: () => 1 })));

    // Act
    const act = () => validateDurationInRange('interval', value, min, max);

    // Assert
    expect(act).not.toThrow();
  });
});

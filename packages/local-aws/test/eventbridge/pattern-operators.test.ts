/**
 * Tests for the local EventBridge event-pattern engine.
 *
 * The example events, patterns and documented outcomes come from:
 * - Amazon EventBridge User Guide, "Amazon EventBridge event patterns"
 *   https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns.html
 * - "Matching null values and empty strings in Amazon EventBridge event patterns"
 *   https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns-null-values.html
 * - "Arrays in Amazon EventBridge event patterns"
 *   https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns-arrays.html
 * - "Content filtering in Amazon EventBridge event patterns" and its summary table,
 *   "Comparison operators for use in event patterns in Amazon EventBridge"
 *   https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns-content-based-filtering.html
 *   https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html
 * - AWS Lambda Developer Guide, "Lambda event filtering" (comparison operator table),
 *   "Using event filtering with a DynamoDB event source" and "... with an Amazon SQS event source"
 *   https://docs.aws.amazon.com/lambda/latest/dg/invocation-eventfiltering.html
 *   https://docs.aws.amazon.com/lambda/latest/dg/with-ddb-filtering.html
 *   https://docs.aws.amazon.com/lambda/latest/dg/with-sqs-filtering.html
 * - Event Ruler README (https://github.com/aws/event-ruler), the library EventBridge matches
 *   with, for what the user guides leave open: array-consistent matching, `$or`, wildcard escapes.
 * - Amazon SNS Developer Guide, "anything-but" filter policies (same engine), for
 *   `anything-but` over event arrays.
 */
import { describe, expect, it } from 'vitest';
import {
  compileEventPattern,
  EventPatternError,
  matchesEventPattern,
} from '../../src/eventbridge/event-pattern';
import {
  autoScalingEvent,
  ec2TerminatedEvent,
  rulerSampleEvent,
  withDetail,
} from '../support/event-pattern-examples';

// --- Content filtering operators -----------------------------------------------

describe('prefix matching', () => {
  const pattern = { time: [{ prefix: '2017-10-02' }] };

  it('matches a string that starts with the prefix, such as "2017-10-02T18:43:48Z"', () => {
    expect(matchesEventPattern(pattern, { time: '2017-10-02T18:43:48Z' })).toBe(true);
  });

  it('does not match a string that starts otherwise', () => {
    expect(matchesEventPattern(pattern, { time: '2017-10-03T18:43:48Z' })).toBe(false);
  });

  it('matches Auto Scaling events from European regions with "eu-"', () => {
    const euPattern = { source: ['aws.autoscaling'], region: [{ prefix: 'eu-' }] };

    expect(matchesEventPattern(euPattern, { ...autoScalingEvent, region: 'eu-west-1' })).toBe(true);
    expect(matchesEventPattern(euPattern, autoScalingEvent)).toBe(false);
  });

  it('does not apply to numbers', () => {
    expect(matchesEventPattern({ detail: { 'c-count': [{ prefix: '5' }] } }, rulerSampleEvent)).toBe(false);
  });

  it('matches a prefix in any case with equals-ignore-case', () => {
    const ignoreCase = { detail: { service: [{ prefix: { 'equals-ignore-case': 'EventB' } }] } };

    expect(matchesEventPattern(ignoreCase, { detail: { service: 'eventbridge' } })).toBe(true);
    expect(matchesEventPattern(ignoreCase, { detail: { service: 'EVENTBRIDGE' } })).toBe(true);
  });

  it('does not match a different prefix with equals-ignore-case', () => {
    const ignoreCase = { detail: { service: [{ prefix: { 'equals-ignore-case': 'EventB' } }] } };

    expect(matchesEventPattern(ignoreCase, { detail: { service: 'lambda' } })).toBe(false);
  });
});

describe('suffix matching', () => {
  it('matches a FileName ending in .png', () => {
    expect(matchesEventPattern({ FileName: [{ suffix: '.png' }] }, { FileName: 'photo.png' })).toBe(true);
  });

  it('does not match a FileName ending otherwise', () => {
    expect(matchesEventPattern({ FileName: [{ suffix: '.png' }] }, { FileName: 'photo.jpg' })).toBe(false);
  });

  it('does not match a different case without equals-ignore-case', () => {
    expect(matchesEventPattern({ FileName: [{ suffix: '.png' }] }, { FileName: 'PHOTO.PNG' })).toBe(false);
  });

  it('matches a suffix in any case with equals-ignore-case', () => {
    const pattern = { detail: { FileName: [{ suffix: { 'equals-ignore-case': '.png' } }] } };

    expect(matchesEventPattern(pattern, { detail: { FileName: 'PHOTO.PNG' } })).toBe(true);
  });
});

describe('equals-ignore-case matching', () => {
  it('matches "Alice" with "alice"', () => {
    expect(matchesEventPattern({ Name: [{ 'equals-ignore-case': 'alice' }] }, { Name: 'Alice' })).toBe(true);
  });

  it('does not match a longer string that only starts the same', () => {
    expect(matchesEventPattern({ Name: [{ 'equals-ignore-case': 'alice' }] }, { Name: 'Alicia' })).toBe(
      false,
    );
  });
});

describe('anything-but matching', () => {
  it('matches any state besides "initializing"', () => {
    const pattern = { detail: { state: [{ 'anything-but': 'initializing' }] } };

    expect(matchesEventPattern(pattern, withDetail({ state: 'running' }))).toBe(true);
  });

  it('does not match the excluded state "initializing"', () => {
    const pattern = { detail: { state: [{ 'anything-but': 'initializing' }] } };

    expect(matchesEventPattern(pattern, withDetail({ state: 'initializing' }))).toBe(false);
  });

  it('does not match when the field is absent', () => {
    const pattern = { detail: { state: [{ 'anything-but': 'initializing' }] } };

    expect(matchesEventPattern(pattern, withDetail({}))).toBe(false);
  });

  it('excludes a single number', () => {
    const pattern = { detail: { 'x-limit': [{ 'anything-but': 123 }] } };

    expect(matchesEventPattern(pattern, withDetail({ 'x-limit': 123 }))).toBe(false);
    expect(matchesEventPattern(pattern, withDetail({ 'x-limit': 124 }))).toBe(true);
  });

  it('excludes every string of a list such as ["stopped", "overloaded"]', () => {
    const pattern = { detail: { state: [{ 'anything-but': ['stopped', 'overloaded'] }] } };

    expect(matchesEventPattern(pattern, withDetail({ state: 'overloaded' }))).toBe(false);
    expect(matchesEventPattern(pattern, withDetail({ state: 'running' }))).toBe(true);
  });

  it('excludes every number of a list such as [100, 200, 300]', () => {
    const pattern = { detail: { 'x-limit': [{ 'anything-but': [100, 200, 300] }] } };

    expect(matchesEventPattern(pattern, withDetail({ 'x-limit': 200 }))).toBe(false);
    expect(matchesEventPattern(pattern, withDetail({ 'x-limit': 301.8 }))).toBe(true);
  });

  it('excludes AWS events with {"anything-but": {"prefix": "aws."}}', () => {
    const pattern = { source: [{ 'anything-but': { prefix: 'aws.' } }] };

    expect(matchesEventPattern(pattern, { source: 'aws.ec2' })).toBe(false);
    expect(matchesEventPattern(pattern, { source: 'com.example.orders' })).toBe(true);
  });

  it('excludes states that start with "init"', () => {
    const pattern = { detail: { state: [{ 'anything-but': { prefix: 'init' } }] } };

    expect(matchesEventPattern(pattern, withDetail({ state: 'initializing' }))).toBe(false);
    expect(matchesEventPattern(pattern, withDetail({ state: 'running' }))).toBe(true);
  });

  it('excludes FileNames that end with .png', () => {
    const pattern = { FileName: [{ 'anything-but': { suffix: '.png' } }] };

    expect(matchesEventPattern(pattern, { FileName: 'photo.png' })).toBe(false);
    expect(matchesEventPattern(pattern, { FileName: 'notes.txt' })).toBe(true);
  });

  it('excludes "initializing" in any case with equals-ignore-case', () => {
    const pattern = { state: [{ 'anything-but': { 'equals-ignore-case': 'initializing' } }] };

    expect(matchesEventPattern(pattern, { state: 'INITIALIZING' })).toBe(false);
    expect(matchesEventPattern(pattern, { state: 'running' })).toBe(true);
  });

  it('excludes a list of strings in any case with equals-ignore-case', () => {
    const pattern = { state: [{ 'anything-but': { 'equals-ignore-case': ['Stopped', 'OverLoaded'] } }] };

    expect(matchesEventPattern(pattern, { state: 'overloaded' })).toBe(false);
    expect(matchesEventPattern(pattern, { state: 'running' })).toBe(true);
  });

  it('excludes file paths that include /lib/ with a wildcard', () => {
    const pattern = { FilePath: [{ 'anything-but': { wildcard: '*/lib/*' } }] };

    expect(matchesEventPattern(pattern, { FilePath: '/usr/lib/libc.so' })).toBe(false);
    expect(matchesEventPattern(pattern, { FilePath: '/usr/bin/env' })).toBe(true);
  });

  it('matches an event array when at least one element is not excluded', () => {
    const pattern = { customer_interests: [{ 'anything-but': { wildcard: '*ball' } }] };

    expect(matchesEventPattern(pattern, { customer_interests: ['hockey', 'rugby', 'soccer'] })).toBe(true);
  });

  it('does not match an event array whose elements are all excluded', () => {
    const pattern = { customer_interests: [{ 'anything-but': { wildcard: '*ball' } }] };

    expect(matchesEventPattern(pattern, { customer_interests: ['baseball', 'basketball'] })).toBe(false);
  });

  it('lets a number through a string anything-but, since only strings can equal the excluded string', () => {
    const pattern = { detail: { state: [{ 'anything-but': 'initializing' }] } };

    expect(matchesEventPattern(pattern, withDetail({ state: 5 }))).toBe(true);
  });

  it('lets a number through anything-but with a nested operator, since those operators only match strings', () => {
    const pattern = { detail: { state: [{ 'anything-but': { prefix: 'init' } }] } };

    expect(matchesEventPattern(pattern, withDetail({ state: 5 }))).toBe(true);
  });

  it('lets every event except CloudTrail API calls through', () => {
    const pattern = { 'detail-type': [{ 'anything-but': 'AWS API Call via CloudTrail' }] };

    expect(matchesEventPattern(pattern, ec2TerminatedEvent)).toBe(true);
    expect(matchesEventPattern(pattern, { 'detail-type': 'AWS API Call via CloudTrail' })).toBe(false);
  });
});

describe('numeric matching', () => {
  const pattern = {
    detail: {
      'c-count': [{ numeric: ['>', 0, '<=', 5] }],
      'd-count': [{ numeric: ['<', 10] }],
      'x-limit': [{ numeric: ['=', 3.018e2] }],
    },
  };

  it('matches the documented pattern when every numeric field is in range', () => {
    expect(matchesEventPattern(pattern, rulerSampleEvent)).toBe(true);
  });

  it('does not match when a value sits on an exclusive bound', () => {
    const atBound = withDetail({ ...rulerSampleEvent.detail, 'c-count': 0 });

    expect(matchesEventPattern(pattern, atBound)).toBe(false);
  });

  it('matches a value on an inclusive bound', () => {
    const atBound = withDetail({ ...rulerSampleEvent.detail, 'c-count': 5 });

    expect(matchesEventPattern(pattern, atBound)).toBe(true);
  });

  it('does not match when one of the numeric fields is out of range', () => {
    const outOfRange = withDetail({ ...rulerSampleEvent.detail, 'd-count': 10 });

    expect(matchesEventPattern(pattern, outOfRange)).toBe(false);
  });

  it('compares numbers, not strings, so 10 is greater than 9', () => {
    expect(matchesEventPattern({ n: [{ numeric: ['>', 9] }] }, { n: 10 })).toBe(true);
  });

  it('does not match a number held in a string', () => {
    expect(matchesEventPattern({ n: [{ numeric: ['>', 9] }] }, { n: '10' })).toBe(false);
  });

  it('matches "Price is 100" with ["=", 100]', () => {
    expect(matchesEventPattern({ Price: [{ numeric: ['=', 100] }] }, { Price: 100 })).toBe(true);
  });

  it('matches "more than 10 and at most 20" on 20 but not on 10', () => {
    const range = { Price: [{ numeric: ['>', 10, '<=', 20] }] };

    expect(matchesEventPattern(range, { Price: 20 })).toBe(true);
    expect(matchesEventPattern(range, { Price: 10 })).toBe(false);
  });
});

describe('IP address matching', () => {
  const pattern = { detail: { sourceIPAddress: [{ cidr: '10.0.0.0/24' }] } };

  it('matches an IPv4 address inside 10.0.0.0/24', () => {
    expect(matchesEventPattern(pattern, { detail: { sourceIPAddress: '10.0.0.123' } })).toBe(true);
  });

  it('does not match an IPv4 address outside 10.0.0.0/24', () => {
    expect(matchesEventPattern(pattern, { detail: { sourceIPAddress: '10.0.1.1' } })).toBe(false);
  });

  it('does not match a string that is not an IP address', () => {
    expect(matchesEventPattern(pattern, { detail: { sourceIPAddress: 'localhost' } })).toBe(false);
  });

  it('matches an IPv6 address inside an IPv6 block', () => {
    const v6 = { ip: [{ cidr: '2001:db8::/32' }] };

    expect(matchesEventPattern(v6, { ip: '2001:db8:0:1::5' })).toBe(true);
    expect(matchesEventPattern(v6, { ip: '2001:db9::1' })).toBe(false);
  });
});

describe('exists matching', () => {
  const absent = { detail: { 'c-count': [{ exists: false }] } };

  it('matches the documented event that has no detail.c-count', () => {
    const event = {
      'detail-type': ['EC2 Instance State-change Notification'],
      resources: ['arn:aws:ec2:us-east-1:123456789012:instance/i-02ebd4584a2ebd341'],
      detail: { state: ['initializing', 'running'] },
    };

    expect(matchesEventPattern(absent, event)).toBe(true);
  });

  it('matches {"exists": false} when c-count is an object, because it is not a leaf node', () => {
    const event = { detail: { state: ['initializing', 'running'], 'c-count': { c1: 100 } } };

    expect(matchesEventPattern(absent, event)).toBe(true);
  });

  it('does not match {"exists": false} when c-count is present', () => {
    expect(matchesEventPattern(absent, rulerSampleEvent)).toBe(false);
  });

  it('matches {"exists": false} when the parent object is absent too', () => {
    expect(matchesEventPattern(absent, { source: 'aws.ec2' })).toBe(true);
  });

  it('selects events that have a description with {"exists": true}', () => {
    const present = { detail: { description: [{ exists: true }] } };

    expect(matchesEventPattern(present, { detail: { description: 'index me' } })).toBe(true);
    expect(matchesEventPattern(present, { detail: {} })).toBe(false);
  });

  it('counts a null value as present', () => {
    expect(matchesEventPattern({ detail: { responseElements: [{ exists: true }] } }, autoScalingEvent)).toBe(
      true,
    );
  });

  it('does not match {"exists": true} on an object such as a DynamoDB attribute value', () => {
    const record = { dynamodb: { NewImage: { AccountManager: { S: 'Pat Candella' } } } };

    expect(
      matchesEventPattern({ dynamodb: { NewImage: { AccountManager: [{ exists: true }] } } }, record),
    ).toBe(false);
    expect(
      matchesEventPattern({ dynamodb: { NewImage: { AccountManager: { S: [{ exists: true }] } } } }, record),
    ).toBe(true);
  });
});

describe('wildcard matching', () => {
  it('matches any .png file within the folder "dir"', () => {
    const pattern = { FileName: [{ wildcard: 'dir/*.png' }] };

    expect(matchesEventPattern(pattern, { FileName: 'dir/photo.png' })).toBe(true);
    expect(matchesEventPattern(pattern, { FileName: 'other/photo.png' })).toBe(false);
  });

  it('matches the whole value, not a part of it', () => {
    const pattern = { FileName: [{ wildcard: 'dir/*.png' }] };

    expect(matchesEventPattern(pattern, { FileName: 'top/dir/photo.png.bak' })).toBe(false);
  });

  it('lets "*" match an empty run of characters', () => {
    expect(
      matchesEventPattern({ source: [{ wildcard: 'Simple*Service' }] }, { source: 'SimpleService' }),
    ).toBe(true);
  });

  it('matches a literal asterisk escaped as "\\*" and nothing else there', () => {
    const pattern = { name: [{ wildcard: 'a\\*b' }] };

    expect(matchesEventPattern(pattern, { name: 'a*b' })).toBe(true);
    expect(matchesEventPattern(pattern, { name: 'axxb' })).toBe(false);
  });

  it('treats regular-expression characters in the operand literally', () => {
    expect(matchesEventPattern({ name: [{ wildcard: 'v1.0*' }] }, { name: 'v1x0-beta' })).toBe(false);
  });
});

describe('Lambda comparison operator table (invocation-eventfiltering)', () => {
  it.each([
    ['Null: UserID is null', { UserID: [null] }, { UserID: null }, { UserID: 'u-1' }],
    ['Empty: LastName is empty', { LastName: [''] }, { LastName: '' }, { LastName: 'Doe' }],
    ['Equals: Name is "Alice"', { Name: ['Alice'] }, { Name: 'Alice' }, { Name: 'Bob' }],
    [
      'And: Location is "New York" and Day is "Monday"',
      { Location: ['New York'], Day: ['Monday'] },
      { Location: 'New York', Day: 'Monday' },
      { Location: 'New York', Day: 'Tuesday' },
    ],
    [
      'Or: PaymentType is "Credit" or "Debit"',
      { PaymentType: ['Credit', 'Debit'] },
      { PaymentType: 'Debit' },
      { PaymentType: 'Cash' },
    ],
    [
      'Not: Weather is anything but "Raining"',
      { Weather: [{ 'anything-but': ['Raining'] }] },
      { Weather: 'Sunny' },
      { Weather: 'Raining' },
    ],
    ['Exists: ProductName exists', { ProductName: [{ exists: true }] }, { ProductName: 'Widget' }, {}],
    [
      'Does not exist: ProductName does not exist',
      { ProductName: [{ exists: false }] },
      {},
      { ProductName: 'Widget' },
    ],
    [
      'Begins with: Region is in the US',
      { Region: [{ prefix: 'us-' }] },
      { Region: 'us-east-1' },
      { Region: 'eu-west-1' },
    ],
  ])('%s matches the first event and rejects the second', (_name, pattern, matching, rejected) => {
    const matcher = compileEventPattern(pattern);

    expect([matcher(matching), matcher(rejected)]).toEqual([true, false]);
  });
});

describe('operators on values that are not strings (Event Ruler README)', () => {
  it.each([
    ['suffix', { n: [{ suffix: '5' }] }],
    ['equals-ignore-case', { n: [{ 'equals-ignore-case': '15' }] }],
    ['wildcard', { n: [{ wildcard: '1*' }] }],
  ])('does not apply %s to a number', (_name, pattern) => {
    // Act
    const matched = matchesEventPattern(pattern, { n: 15 });

    // Assert
    expect(matched).toBe(false);
  });

  it('does not apply an operator to an object, because comparison operators work on leaf nodes only', () => {
    // Act
    const matched = matchesEventPattern({ detail: [{ prefix: '' }] }, { detail: { state: 'running' } });

    // Assert
    expect(matched).toBe(false);
  });
});

describe('numeric limits (Event Ruler README and ComparableNumber)', () => {
  it('refuses a numeric bound beyond 5e9 and says which', () => {
    // Act
    const compiling = () => compileEventPattern({ n: [{ numeric: ['<', 6e9] }] });

    // Assert
    expect(compiling).toThrow(EventPatternError);
    expect(compiling).toThrow(/bounds must be between -5000000000 and 5000000000.*6000000000 is not/);
  });

  it('does not match an event number beyond 5e9 numerically', () => {
    // Act
    const matched = matchesEventPattern({ n: [{ numeric: ['>', 0] }] }, { n: 6e9 });

    // Assert
    expect(matched).toBe(false);
  });

  it('matches the bounds of the range themselves', () => {
    // Act
    const matches = compileEventPattern({ n: [{ numeric: ['>=', -5e9, '<=', 5e9] }] });

    // Assert
    expect([matches({ n: -5e9 }), matches({ n: 5e9 })]).toEqual([true, true]);
  });

  it('compares to 6 digits after the decimal point, so 1.0000001 is not greater than 1', () => {
    // Act
    const matches = compileEventPattern({ n: [{ numeric: ['>', 1] }] });

    // Assert
    expect([matches({ n: 1.0000001 }), matches({ n: 1.000001 })]).toEqual([false, true]);
  });

  it('matches an exact number that differs only beyond 6 decimal places', () => {
    // Act
    const matched = matchesEventPattern({ n: [1.5] }, { n: 1.5000004 });

    // Assert
    expect(matched).toBe(true);
  });

  it('matches an exact number beyond 5e9 only when it is the same number', () => {
    // Arrange: an account id is such a number; Ruler matches its literal form
    const matches = compileEventPattern({ account: [123456789012] });

    // Act
    const results = [matches({ account: 123456789012 }), matches({ account: 123456789013 })];

    // Assert
    expect(results).toEqual([true, false]);
  });

  it('excludes numbers with anything-but as comparable numbers', () => {
    // Act
    const matches = compileEventPattern({ n: [{ 'anything-but': [100] }] });

    // Assert
    expect([matches({ n: 100.0000001 }), matches({ n: 101 })]).toEqual([false, true]);
  });
});

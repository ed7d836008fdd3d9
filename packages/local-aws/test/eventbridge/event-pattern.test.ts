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
  compileFilterCriteria,
  EventPatternError,
  matchesEventPattern,
  matchesFilterCriteria,
  validateEventPattern,
} from '../../src/eventbridge/event-pattern';

// --- Documented example events -------------------------------------------------

/** eb-event-patterns: "a simple AWS event from Amazon EC2". */
const ec2TerminatedEvent = {
  version: '0',
  id: '6a7e8feb-b491-4cf7-a9f1-bf3703467718',
  'detail-type': 'EC2 Instance State-change Notification',
  source: 'aws.ec2',
  account: '111122223333',
  time: '2017-12-22T18:43:48Z',
  region: 'us-west-1',
  resources: ['arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0'],
  detail: { 'instance-id': 'i-1234567890abcdef0', state: 'terminated' },
};

/** eb-event-patterns and eb-event-patterns-null-values: the Auto Scaling event. */
const autoScalingEvent = {
  version: '0',
  id: '3e3c153a-8339-4e30-8c35-687ebef853fe',
  'detail-type': 'EC2 Instance Launch Successful',
  source: 'aws.autoscaling',
  account: '123456789012',
  time: '2015-11-11T21:31:47Z',
  region: 'us-east-1',
  resources: [],
  detail: { eventVersion: '', responseElements: null },
};

/** eb-event-patterns: the (truncated) Amazon Macie Classic alert. */
const macieAlertEvent = {
  version: '0',
  id: '3e355723-fca9-4de3-9fd7-154c289d6b59',
  'detail-type': 'Macie Alert',
  source: 'aws.macie',
  account: '123456789012',
  time: '2017-04-24T22:28:49Z',
  region: 'us-east-1',
  resources: [
    'arn:aws:macie:us-east-1:123456789012:trigger/trigger_id/alert/alert_id',
    'arn:aws:macie:us-east-1:123456789012:trigger/trigger_id',
  ],
  detail: {
    'notification-type': 'ALERT_CREATED',
    name: 'Scanning bucket policies',
    tags: ['Custom_Alert', 'Insider'],
    'risk-score': 80,
    trigger: { 'alert-type': 'basic', risk: 8 },
  },
};

/** Event Ruler README: the sample EC2 event its content-filtering examples run against. */
const rulerSampleEvent = {
  version: '0',
  id: 'ddddd4-aaaa-7777-4444-345dd43cc333',
  'detail-type': 'EC2 Instance State-change Notification',
  source: 'aws.ec2',
  account: '012345679012',
  time: '2017-10-02T16:24:49Z',
  region: 'us-east-1',
  resources: ['arn:aws:ec2:us-east-1:123456789012:instance/i-000000aaaaaa00000'],
  detail: {
    'c-count': 5,
    'd-count': 3,
    'x-limit': 301.8,
    'source-ip': '10.0.0.33',
    'instance-id': 'i-000000aaaaaa00000',
    state: 'running',
  },
};

/** An event with `detail` replaced, for the operator examples that only look at `detail`. */
function withDetail(detail: Record<string, unknown>): Record<string, unknown> {
  return { ...rulerSampleEvent, detail };
}

// --- Event patterns: fields, values, null, arrays -----------------------------

describe('event patterns (eb-event-patterns)', () => {
  it('matches the documented instance-termination pattern against the documented EC2 event', () => {
    // Arrange
    const pattern = {
      source: ['aws.ec2'],
      'detail-type': ['EC2 Instance State-change Notification'],
      detail: { state: ['terminated'] },
    };

    // Act
    const matched = matchesEventPattern(pattern, ec2TerminatedEvent);

    // Assert
    expect(matched).toBe(true);
  });

  it('does not match the instance-termination pattern when the instance is running', () => {
    const running = { ...ec2TerminatedEvent, detail: { ...ec2TerminatedEvent.detail, state: 'running' } };

    const matched = matchesEventPattern({ source: ['aws.ec2'], detail: { state: ['terminated'] } }, running);

    expect(matched).toBe(false);
  });

  it('matches any one of the values listed for a field, such as aws.ec2 or aws.fargate', () => {
    const fargate = { ...ec2TerminatedEvent, source: 'aws.fargate' };

    expect(matchesEventPattern({ source: ['aws.ec2', 'aws.fargate'] }, fargate)).toBe(true);
  });

  it('does not match when the event lacks a field that the pattern names', () => {
    const pattern = { source: ['aws.ec2'], detail: { 'instance-type': ['t3.micro'] } };

    expect(matchesEventPattern(pattern, ec2TerminatedEvent)).toBe(false);
  });

  it('matches the Auto Scaling example on a null responseElements', () => {
    const pattern = {
      source: ['aws.autoscaling'],
      'detail-type': ['EC2 Instance Launch Successful'],
      detail: { responseElements: [null] },
    };

    expect(matchesEventPattern(pattern, autoScalingEvent)).toBe(true);
  });

  it('matches the Macie example on numbers nested at two levels', () => {
    const pattern = {
      source: ['aws.macie'],
      'detail-type': ['Macie Alert'],
      detail: { 'risk-score': [80], trigger: { risk: [8] } },
    };

    expect(matchesEventPattern(pattern, macieAlertEvent)).toBe(true);
  });

  it('does not match the Macie example when the nested risk differs', () => {
    const pattern = { source: ['aws.macie'], detail: { 'risk-score': [80], trigger: { risk: [9] } } };

    expect(matchesEventPattern(pattern, macieAlertEvent)).toBe(false);
  });

  it('matches strings exactly, without case folding', () => {
    expect(matchesEventPattern({ source: ['AWS.EC2'] }, ec2TerminatedEvent)).toBe(false);
  });

  it('does not match a string literal against the same digits held as a number', () => {
    expect(matchesEventPattern({ detail: { 'risk-score': ['80'] } }, macieAlertEvent)).toBe(false);
  });

  it('matches booleans exactly', () => {
    const event = { detail: { enabled: true } };

    expect(matchesEventPattern({ detail: { enabled: [true] } }, event)).toBe(true);
    expect(matchesEventPattern({ detail: { enabled: [false] } }, event)).toBe(false);
  });

  it('compares exact numbers by value, so 3.0e2 in an event matches 300', () => {
    // JSON parsing loses the literal's spelling, so this engine cannot tell 300 from 3.0e2 (see report).
    const event = JSON.parse('{"detail": {"limit": 3.0e2}}');

    expect(matchesEventPattern({ detail: { limit: [300] } }, event)).toBe(true);
  });
});

describe('null values and empty strings (eb-event-patterns-null-values)', () => {
  it('matches an empty string with [""]', () => {
    expect(matchesEventPattern({ detail: { eventVersion: [''] } }, autoScalingEvent)).toBe(true);
  });

  it('matches a null value with [null]', () => {
    expect(matchesEventPattern({ detail: { responseElements: [null] } }, autoScalingEvent)).toBe(true);
  });

  it('does not match a null value with [""], because null and empty strings are not interchangeable', () => {
    expect(matchesEventPattern({ detail: { responseElements: [''] } }, autoScalingEvent)).toBe(false);
  });

  it('does not match an empty string with [null]', () => {
    expect(matchesEventPattern({ detail: { eventVersion: [null] } }, autoScalingEvent)).toBe(false);
  });

  it('does not treat an absent field as null', () => {
    expect(matchesEventPattern({ detail: { missing: [null] } }, autoScalingEvent)).toBe(false);
  });
});

describe('arrays (eb-event-patterns-arrays and Event Ruler)', () => {
  const pattern = {
    resources: [
      'arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f',
      'arn:aws:ec2:us-east-1:111122223333:instance/i-b188560f',
      'arn:aws:ec2:us-east-1:444455556666:instance/i-b188560f',
    ],
  };

  it('matches when the pattern array and the event array intersect', () => {
    const event = {
      resources: [
        'arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:eb56d16b-bbf0-401d-b893-d5978ed4a025:autoScalingGroupName/ASGTerminate',
        'arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f',
      ],
    };

    expect(matchesEventPattern(pattern, event)).toBe(true);
  });

  it('does not match when the pattern array and the event array share no value', () => {
    const event = { resources: ['arn:aws:ec2:us-east-1:999999999999:instance/i-b188560f'] };

    expect(matchesEventPattern(pattern, event)).toBe(false);
  });

  it('does not match an empty event array', () => {
    expect(matchesEventPattern(pattern, { resources: [] })).toBe(false);
  });

  const employees = {
    employees: [
      { firstName: 'John', lastName: 'Doe' },
      { firstName: 'Anna', lastName: 'Smith' },
      { firstName: 'Peter', lastName: 'Jones' },
    ],
  };

  it('matches a field inside an array of objects', () => {
    expect(matchesEventPattern({ employees: { firstName: ['Anna'] } }, employees)).toBe(true);
  });

  it('does not combine fields from different elements of the same array', () => {
    const pattern = { employees: { firstName: ['Anna'], lastName: ['Jones'] } };

    expect(matchesEventPattern(pattern, employees)).toBe(false);
  });

  it('matches fields from the same element of an array of objects', () => {
    const pattern = { employees: { firstName: ['Anna'], lastName: ['Smith'] } };

    expect(matchesEventPattern(pattern, employees)).toBe(true);
  });

  it('matches inside multi-level arrays as if they were flat', () => {
    const event = { employees: [[{ firstName: 'John' }], [{ firstName: 'Anna' }]] };

    expect(matchesEventPattern({ employees: { firstName: ['Anna'] } }, event)).toBe(true);
  });
});

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

describe('$or matching', () => {
  const locationOrDay = { $or: [{ Location: ['New York'] }, { Day: ['Monday'] }] };

  it('matches when only the second branch matches ("Location is New York, or Day is Monday")', () => {
    expect(matchesEventPattern(locationOrDay, { Location: 'Boston', Day: 'Monday' })).toBe(true);
  });

  it('does not match when no branch matches', () => {
    expect(matchesEventPattern(locationOrDay, { Location: 'Boston', Day: 'Tuesday' })).toBe(false);
  });

  it('combines with sibling fields as AND: source AND (metricName OR namespace)', () => {
    const pattern = {
      source: ['aws.cloudwatch'],
      $or: [{ metricName: ['CPUUtilization', 'ReadLatency'] }, { namespace: ['AWS/EC2', 'AWS/ES'] }],
    };

    expect(matchesEventPattern(pattern, { source: 'aws.cloudwatch', namespace: 'AWS/ES' })).toBe(true);
    expect(matchesEventPattern(pattern, { source: 'aws.ec2', namespace: 'AWS/ES' })).toBe(false);
  });

  it('works inside a nested object', () => {
    const pattern = {
      detail: {
        $or: [
          { 'c-count': [{ numeric: ['>', 0, '<=', 5] }] },
          { 'd-count': [{ numeric: ['<', 10] }] },
          { 'x-limit': [{ numeric: ['=', 3.018e2] }] },
        ],
      },
    };

    expect(matchesEventPattern(pattern, withDetail({ 'x-limit': 301.8 }))).toBe(true);
    expect(matchesEventPattern(pattern, withDetail({ 'x-limit': 1 }))).toBe(false);
  });

  it('nests an $or inside an $or branch', () => {
    const pattern = {
      source: ['aws.cloudwatch'],
      $or: [
        { metricName: ['CPUUtilization'] },
        { metricType: ['MetricType'], $or: [{ metricId: [1234] }, { spaceId: [1000] }] },
      ],
    };

    expect(
      matchesEventPattern(pattern, { source: 'aws.cloudwatch', metricType: 'MetricType', spaceId: 1000 }),
    ).toBe(true);
    expect(
      matchesEventPattern(pattern, { source: 'aws.cloudwatch', metricType: 'MetricType', spaceId: 1 }),
    ).toBe(false);
  });
});

describe('complex example with multiple matching', () => {
  const pattern = {
    time: [{ prefix: '2017-10-02' }],
    detail: {
      state: [{ 'anything-but': 'initializing' }],
      'c-count': [{ numeric: ['>', 0, '<=', 5] }],
      'd-count': [{ numeric: ['<', 10] }],
      'x-limit': [{ 'anything-but': [100, 200, 300] }],
      'source-ip': [{ cidr: '10.0.0.0/8' }],
    },
  };

  it('matches the sample event that satisfies every condition', () => {
    expect(matchesEventPattern(pattern, rulerSampleEvent)).toBe(true);
  });

  it('does not match when a single condition fails', () => {
    const excludedLimit = withDetail({ ...rulerSampleEvent.detail, 'x-limit': 300 });

    expect(matchesEventPattern(pattern, excludedLimit)).toBe(false);
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

// --- Validation ----------------------------------------------------------------

describe('validateEventPattern', () => {
  it('accepts a JSON string and returns the parsed pattern', () => {
    const pattern = validateEventPattern(
      '{"source":["aws.ec2"],"detail":{"state":[{"anything-but":"running"}]}}',
    );

    expect(pattern).toEqual({ source: ['aws.ec2'], detail: { state: [{ 'anything-but': 'running' }] } });
  });

  it('returns an object pattern unchanged', () => {
    const pattern = { source: [{ prefix: 'aws.' }] };

    expect(validateEventPattern(pattern)).toBe(pattern);
  });

  it('names the path and the given value when an operator argument has the wrong type', () => {
    expect(() => validateEventPattern({ detail: { id: [{ prefix: 5 }] } })).toThrow(
      /^Invalid event pattern: "prefix" expects a string, given 5 at path detail\.id$/,
    );
  });

  it('exposes the failing path on the error', () => {
    const attempt = () => validateEventPattern({ detail: { id: [{ prefix: 5 }] } });

    expect(attempt).toThrow(expect.objectContaining({ name: 'EventPatternError', path: 'detail.id' }));
  });

  it.each([
    ['text that is not JSON', '{"source": [', /not valid JSON/],
    [
      'a pattern that is not an object',
      '["aws.ec2"]',
      /the pattern must be a JSON object, given \["aws.ec2"\]/,
    ],
    ['an empty pattern', {}, /must have at least one field, given \{\}/],
    ['an empty nested object', { detail: {} }, /must have at least one field, given \{\} at path detail/],
    [
      'a bare value instead of an array',
      { source: 'aws.ec2' },
      /"source" must be an object or an array of match values, given "aws.ec2" at path source/,
    ],
    ['an empty match array', { source: [] }, /a match array must not be empty, given \[\] at path source/],
    [
      'a nested array as a match value',
      { source: [['aws.ec2']] },
      /a match value must be a string.*given \["aws.ec2"\]/,
    ],
    ['an unknown operator', { source: [{ contains: 'ec2' }] }, /unknown operator "contains"/],
    [
      'an operator object with two keys',
      { source: [{ prefix: 'a', suffix: 'b' }] },
      /exactly one key, given \{"prefix":"a","suffix":"b"\}/,
    ],
    ['a non-boolean exists', { source: [{ exists: 'yes' }] }, /"exists" expects true or false, given "yes"/],
    [
      'a non-string equals-ignore-case',
      { source: [{ 'equals-ignore-case': 1 }] },
      /"equals-ignore-case" expects a string/,
    ],
    [
      'a prefix object without equals-ignore-case',
      { source: [{ prefix: { wildcard: 'a*' } }] },
      /"prefix" expects a string or/,
    ],
    ['numeric that is not an array', { n: [{ numeric: 5 }] }, /"numeric" expects/],
    ['an unknown numeric comparison', { n: [{ numeric: ['!=', 5] }] }, /unknown comparison "!="/],
    ['a numeric bound given as a string', { n: [{ numeric: ['>', '5'] }] }, /expects a number after ">"/],
    ['an upper bound before a lower bound', { n: [{ numeric: ['<', 10, '>', 0] }] }, /"numeric" expects/],
    ['an empty numeric range', { n: [{ numeric: ['>', 10, '<', 5] }] }, /range is empty/],
    ['anything-but with mixed types', { s: [{ 'anything-but': ['a', 1] }] }, /"anything-but" expects/],
    ['anything-but with a boolean', { s: [{ 'anything-but': true }] }, /"anything-but" expects.*given true/],
    [
      'anything-but with an unknown nested operator',
      { s: [{ 'anything-but': { numeric: ['>', 1] } }] },
      /"anything-but" expects/,
    ],
    ['anything-but with an empty prefix', { s: [{ 'anything-but': { prefix: '' } }] }, /must not be empty/],
    ['consecutive wildcards', { s: [{ wildcard: 'a**b' }] }, /consecutive "\*"/],
    ['a backslash escaping an ordinary character', { s: [{ wildcard: 'a\\b' }] }, /allows "\\" only before/],
    [
      'a cidr without a prefix length',
      { ip: [{ cidr: '10.0.0.0' }] },
      /"cidr" expects an IPv4 or IPv6 CIDR block/,
    ],
    ['a cidr prefix length beyond 32 bits', { ip: [{ cidr: '10.0.0.0/33' }] }, /at most 32/],
    [
      '$or with a single branch',
      { $or: [{ a: [1] }] },
      /"\$or" expects an array of at least two pattern objects/,
    ],
    [
      '$or with a non-object branch',
      { $or: [{ a: [1] }, ['b']] },
      /each "\$or" branch must be a pattern object.*\$or\[1\]/,
    ],
    [
      'an operator name as a field inside $or',
      { $or: [{ a: [1] }, { prefix: ['b'] }] },
      /"prefix" is an operator name/,
    ],
  ])('rejects %s', (_name, pattern, message) => {
    expect(() => validateEventPattern(pattern)).toThrow(EventPatternError);
    expect(() => validateEventPattern(pattern)).toThrow(message);
  });

  it('allows an operator name as an ordinary field name outside $or', () => {
    expect(matchesEventPattern({ detail: { prefix: ['abc'] } }, { detail: { prefix: 'abc' } })).toBe(true);
  });

  it('lets compileEventPattern reject a bad pattern before any event is seen', () => {
    expect(() => compileEventPattern({ source: [{ numeric: ['>'] }] })).toThrow(EventPatternError);
  });
});

// --- Lambda FilterCriteria ----------------------------------------------------

/** A DynamoDB stream record for an outbox row, as Lambda delivers it to a function. */
function outboxStreamRecord(
  eventName: 'INSERT' | 'MODIFY' | 'REMOVE',
  type: string,
): Record<string, unknown> {
  const image = {
    pk: { S: 'ORDER#o-1' },
    sk: { S: 'OUTBOX#0001' },
    type: { S: type },
    payload: { S: '{"orderId":"o-1"}' },
  };
  return {
    eventID: '7de3041dd709b024af6f29e4fa13d34c',
    eventName,
    eventVersion: '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: 'us-east-1',
    dynamodb: {
      ApproximateCreationDateTime: 1_700_000_000,
      Keys: { pk: image.pk, sk: image.sk },
      NewImage: image,
      SequenceNumber: '111',
      SizeBytes: 120,
      StreamViewType: 'NEW_IMAGE',
    },
    eventSourceARN: 'arn:aws:dynamodb:us-east-1:123456789012:table/Orders/stream/2024-01-01T00:00:00.000',
  };
}

/** An SQS record as Lambda delivers it, with the given message body. */
function sqsRecord(body: string): Record<string, unknown> {
  return {
    messageId: '059f36b4-87a3-44ab-83d2-661975830a7d',
    receiptHandle: 'AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a...',
    body,
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: '1545082649183',
      SenderId: 'AIDAIENQZJOLO23YVJ4VO',
      ApproximateFirstReceiveTimestamp: '1545082649185',
    },
    messageAttributes: {},
    md5OfBody: 'e4e68fb7bd0e697a0ae8f1bb342846b3',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-west-2:123456789012:my-queue',
    awsRegion: 'us-west-2',
  };
}

/** An EventBridge event delivered to SQS as the message body. */
function eventBridgeBody(detailType: string): string {
  return JSON.stringify({
    version: '0',
    id: 'b6b0a8e2-6f0d-4b0a-9d59-3e7f1e0e5e6c',
    'detail-type': detailType,
    source: 'com.example.orders',
    account: '123456789012',
    time: '2024-01-01T00:00:00Z',
    region: 'us-east-1',
    resources: [],
    detail: { orderId: 'o-1' },
  });
}

describe('matchesFilterCriteria', () => {
  const outboxInserts = [
    {
      Pattern: JSON.stringify({ eventName: ['INSERT'], dynamodb: { NewImage: { type: { S: ['outbox'] } } } }),
    },
  ];

  it('lets every record through when there are no filters', () => {
    expect(matchesFilterCriteria(undefined, outboxStreamRecord('REMOVE', 'order'), 'dynamodb')).toBe(true);
  });

  it('lets every record through when the filter list is empty', () => {
    expect(matchesFilterCriteria([], sqsRecord('anything'), 'sqs')).toBe(true);
  });

  it('matches a DynamoDB INSERT of an outbox row', () => {
    expect(matchesFilterCriteria(outboxInserts, outboxStreamRecord('INSERT', 'outbox'), 'dynamodb')).toBe(
      true,
    );
  });

  it('rejects a DynamoDB MODIFY of an outbox row', () => {
    expect(matchesFilterCriteria(outboxInserts, outboxStreamRecord('MODIFY', 'outbox'), 'dynamodb')).toBe(
      false,
    );
  });

  it('rejects a DynamoDB INSERT of another item type', () => {
    expect(matchesFilterCriteria(outboxInserts, outboxStreamRecord('INSERT', 'order'), 'dynamodb')).toBe(
      false,
    );
  });

  it('passes a record that matches any one of several filters', () => {
    const filters = [...outboxInserts, { Pattern: '{"eventName":["REMOVE"]}' }];

    expect(matchesFilterCriteria(filters, outboxStreamRecord('REMOVE', 'order'), 'dynamodb')).toBe(true);
  });

  it('filters on a DynamoDB key as in the documented CustomerName example', () => {
    const filters = [
      { Pattern: '{ "dynamodb" : { "Keys" : { "CustomerName" : { "S" : [ "AnyCompany Industries" ] } } } }' },
    ];
    const record = {
      eventID: '1',
      eventVersion: '1.0',
      dynamodb: {
        ApproximateCreationDateTime: '1678831218.0',
        Keys: { CustomerName: { S: 'AnyCompany Industries' } },
        NewImage: {
          AccountManager: { S: 'Pat Candella' },
          PaymentTerms: { S: '60 days' },
          CustomerName: { S: 'AnyCompany Industries' },
        },
        SequenceNumber: '111',
        SizeBytes: 26,
        StreamViewType: 'NEW_IMAGE',
      },
    };

    expect(matchesFilterCriteria(filters, record, 'dynamodb')).toBe(true);
  });

  it('matches an SQS record whose JSON body has the wanted detail-type', () => {
    const filters = [{ Pattern: '{"body":{"detail-type":["OrderPlaced"]}}' }];

    expect(matchesFilterCriteria(filters, sqsRecord(eventBridgeBody('OrderPlaced')), 'sqs')).toBe(true);
  });

  it('rejects an SQS record whose JSON body has another detail-type', () => {
    const filters = [{ Pattern: '{"body":{"detail-type":["OrderPlaced"]}}' }];

    expect(matchesFilterCriteria(filters, sqsRecord(eventBridgeBody('OrderCancelled')), 'sqs')).toBe(false);
  });

  it('filters an SQS JSON body on RequestCode "BBBB" as documented', () => {
    const filters = [{ Pattern: '{ "body" : { "RequestCode" : [ "BBBB" ] } }' }];
    const body = (code: string) =>
      `{\n "RecordNumber": 1234,\n "TimeStamp": "yyyy-mm-ddThh:mm:ss",\n "RequestCode": "${code}"\n}`;

    expect(matchesFilterCriteria(filters, sqsRecord(body('BBBB')), 'sqs')).toBe(true);
    expect(matchesFilterCriteria(filters, sqsRecord(body('AAAA')), 'sqs')).toBe(false);
  });

  it('compares numbers inside an SQS JSON body numerically, as in "RecordNumber greater than 9999"', () => {
    const filters = [{ Pattern: '{ "body" : { "RecordNumber" : [ { "numeric": [ ">", 9999 ] } ] } }' }];

    expect(matchesFilterCriteria(filters, sqsRecord('{"RecordNumber": 10000}'), 'sqs')).toBe(true);
    expect(matchesFilterCriteria(filters, sqsRecord('{"RecordNumber": 1234}'), 'sqs')).toBe(false);
  });

  it('compares a plain-string SQS body as a string', () => {
    const filters = [{ Pattern: '{"body":[{"prefix":"ORDER "}]}' }];

    expect(matchesFilterCriteria(filters, sqsRecord('ORDER o-1 placed'), 'sqs')).toBe(true);
  });

  it('drops a plain-string SQS body when the filter treats body as JSON', () => {
    // Without Lambda's format check, {"exists": false} would match a body that has no fields.
    const filters = [{ Pattern: '{"body":{"detail-type":[{"exists":false}]}}' }];

    expect(matchesFilterCriteria(filters, sqsRecord('not json'), 'sqs')).toBe(false);
  });

  it('drops a JSON SQS body when the filter treats body as a plain string', () => {
    // Without Lambda's format check, {"exists": false} would match an object body (no leaf value).
    const filters = [{ Pattern: '{"body":[{"exists":false}]}' }];

    expect(matchesFilterCriteria(filters, sqsRecord('{"a":1}'), 'sqs')).toBe(false);
  });

  it('does not parse the body of a DynamoDB record', () => {
    const filters = [{ Pattern: '{"body":{"a":[1]}}' }];

    expect(matchesFilterCriteria(filters, { body: '{"a":1}' }, 'dynamodb')).toBe(false);
  });

  it('names the filter whose pattern is not well formed', () => {
    const filters = [...outboxInserts, { Pattern: '{"eventName":"INSERT"}' }];

    expect(() => matchesFilterCriteria(filters, outboxStreamRecord('REMOVE', 'order'), 'dynamodb')).toThrow(
      /^FilterCriteria\.Filters\[1\]\.Pattern: Invalid event pattern: "eventName" must be an object or an array/,
    );
  });
});

describe('compileFilterCriteria', () => {
  it('returns a record matcher with the same semantics as matchesFilterCriteria', () => {
    const accept = compileFilterCriteria(
      [{ Pattern: '{"eventName":["INSERT"],"dynamodb":{"NewImage":{"type":{"S":["outbox"]}}}}' }],
      'dynamodb',
    );

    const kept = [
      outboxStreamRecord('INSERT', 'outbox'),
      outboxStreamRecord('MODIFY', 'outbox'),
      outboxStreamRecord('INSERT', 'order'),
    ].map(accept);

    expect(kept).toEqual([true, false, false]);
  });

  it('rejects a bad pattern when compiled, before any record arrives', () => {
    expect(() => compileFilterCriteria([{ Pattern: '{"eventName":[]}' }], 'dynamodb')).toThrow(
      EventPatternError,
    );
  });
});

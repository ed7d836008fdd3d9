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
  validateEventPattern,
} from '../../src/eventbridge/event-pattern';
import {
  autoScalingEvent,
  ec2TerminatedEvent,
  macieAlertEvent,
  rulerSampleEvent,
  withDetail,
} from '../support/event-pattern-examples';

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
    // The User Guide says 300 and 3.0e2 differ, but Event Ruler's JsonRuleCompiler adds a numeric-equality
    // matcher for every number of a pattern, and JSON.parse cannot tell the spellings apart anyway.
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

describe('considerations when creating event patterns (eb-create-pattern)', () => {
  it('ignores every field of the event that the pattern does not name, at any depth', () => {
    // Arrange
    const event = { source: 'orders', extra: { deep: [1, 2] }, detail: { state: 'placed', other: true } };

    // Act
    const matched = matchesEventPattern({ source: ['orders'], detail: { state: ['placed'] } }, event);

    // Assert
    expect(matched).toBe(true);
  });

  it('needs the field at the same nesting as in the pattern, not elsewhere in the event', () => {
    // Arrange
    const event = { state: 'terminated', detail: {} };

    // Act
    const matched = matchesEventPattern({ detail: { state: ['terminated'] } }, event);

    // Assert
    expect(matched).toBe(false);
  });

  it('does not normalise strings, so a decomposed "é" does not match a precomposed one', () => {
    // Arrange
    const precomposed = 'caf\u00e9';
    const decomposed = 'cafe\u0301';

    // Act
    const matched = matchesEventPattern({ name: [precomposed] }, { name: decomposed });

    // Assert
    expect(matched).toBe(false);
  });

  it('does not match the string "true" against the JSON literal true', () => {
    // Act
    const matched = matchesEventPattern({ flag: ['true'] }, { flag: true });

    // Assert
    expect(matched).toBe(false);
  });

  it('uses only the last pattern when a JSON pattern gives the same field twice', () => {
    // Arrange
    const pattern = '{"source": ["first"], "source": ["last"]}';

    // Act
    const matches = compileEventPattern(pattern);

    // Assert
    expect([matches({ source: 'first' }), matches({ source: 'last' })]).toEqual([false, true]);
  });

  it('uses only the last pattern when a dotted key and a nested object name the same field', () => {
    // Arrange
    const pattern = { detail: { state: ['first'] }, 'detail.state': ['last'] };

    // Act
    const matches = compileEventPattern(pattern);

    // Assert
    expect([matches({ detail: { state: 'first' } }), matches({ detail: { state: 'last' } })]).toEqual([
      false,
      true,
    ]);
  });
});

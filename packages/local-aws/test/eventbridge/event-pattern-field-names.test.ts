/**
 * Field names in event patterns and events: names with dots, which Event Ruler joins into
 * paths (EventBridge User Guide, "Considerations when creating event patterns"; Event Ruler
 * README, "Compiled rules and JSON keys with dots"), and "$or" as an ordinary field name
 * (Event Ruler README, "The backward compatibility of using "$or" as field name").
 */
import { describe, expect, it } from 'vitest';
import {
  compileEventPattern,
  EventPatternError,
  matchesEventPattern,
} from '../../src/eventbridge/event-pattern';

describe('field names that contain dots (eb-create-pattern, Event Ruler README)', () => {
  const nestedEvent = { detail: { state: { status: 'running' } } };
  const dottedEvent = { detail: { 'state.status': 'running' } };

  it('matches a dotted key in a pattern against the nested field it joins to', () => {
    // Act
    const matched = matchesEventPattern({ detail: { 'state.status': ['running'] } }, nestedEvent);

    // Assert
    expect(matched).toBe(true);
  });

  it('matches a dotted key in a pattern against the same dotted key in the event', () => {
    // Act
    const matched = matchesEventPattern({ detail: { 'state.status': ['running'] } }, dottedEvent);

    // Assert
    expect(matched).toBe(true);
  });

  it('matches a nested pattern against a dotted key in the event', () => {
    // Act
    const matched = matchesEventPattern({ detail: { state: { status: ['running'] } } }, dottedEvent);

    // Assert
    expect(matched).toBe(true);
  });

  it('matches a top-level dotted path such as "detail.state.status"', () => {
    // Act
    const matched = matchesEventPattern({ 'detail.state.status': ['running'] }, nestedEvent);

    // Assert
    expect(matched).toBe(true);
  });

  it('does not match a dotted key whose value differs', () => {
    // Act
    const matched = matchesEventPattern({ detail: { 'state.status': ['stopped'] } }, dottedEvent);

    // Assert
    expect(matched).toBe(false);
  });

  it('combines a dotted event key with the nested fields beside it', () => {
    // Arrange
    const event = { detail: { state: { code: 16 }, 'state.status': 'running' } };

    // Act
    const matched = matchesEventPattern({ detail: { state: { code: [16], status: ['running'] } } }, event);

    // Assert
    expect(matched).toBe(true);
  });

  it('keeps array-consistent matching for dotted keys inside array elements', () => {
    // Arrange
    const event = {
      items: [
        { 'sku.id': 'a', qty: 1 },
        { 'sku.id': 'b', qty: 2 },
      ],
    };

    // Act
    const matches = compileEventPattern({ items: { 'sku.id': ['a'], qty: [2] } });
    const consistent = compileEventPattern({ items: { 'sku.id': ['b'], qty: [2] } });

    // Assert
    expect([matches(event), consistent(event)]).toEqual([false, true]);
  });

  it('treats exists: false on a dotted key as the nested field being absent', () => {
    // Act
    const matches = compileEventPattern({ 'detail.missing': [{ exists: false }] });

    // Assert
    expect([
      matches({ detail: {} }),
      matches({ detail: { missing: 1 } }),
      matches({ 'detail.missing': 1 }),
    ]).toEqual([true, false, false]);
  });
});

describe('$or as an ordinary field name (Event Ruler backward compatibility)', () => {
  it('matches "$or" whose value is an object as a nested field named "$or"', () => {
    // Arrange
    const pattern = { source: ['aws.cloudwatch'], $or: { metricType: ['MetricType'] } };

    // Act
    const matches = compileEventPattern(pattern);

    // Assert
    expect(matches({ source: 'aws.cloudwatch', $or: { metricType: 'MetricType' } })).toBe(true);
    expect(matches({ source: 'aws.cloudwatch', metricType: 'MetricType' })).toBe(false);
  });

  it('matches "$or" whose value is an array of literals as a field named "$or"', () => {
    // Act
    const matches = compileEventPattern({ $or: ['a', 'b'] });

    // Assert
    expect([matches({ $or: 'b' }), matches({ $or: 'c' })]).toEqual([true, false]);
  });

  it('reads "$or" with operator branches as a field named "$or" matched by those operators', () => {
    // Arrange: not an Or, because "prefix" and "suffix" are reserved inside $or branches
    const pattern = { $or: [{ prefix: 'abc' }, { suffix: 'xyz' }] };

    // Act
    const matches = compileEventPattern(pattern);

    // Assert
    expect([matches({ $or: 'abc-1' }), matches({ $or: '1-xyz' }), matches({ abc: 1 })]).toEqual([
      true,
      true,
      false,
    ]);
  });

  it('refuses a pattern that mixes "$or" as the Or primitive with "$or" as a field name', () => {
    // Arrange: Event Ruler reads the whole rule one way or the other, and supports no mix
    const pattern = { detail: { $or: [{ a: [1] }, { b: [2] }] }, $or: { c: [3] } };

    // Act
    const compiling = () => compileEventPattern(pattern);

    // Assert
    expect(compiling).toThrow(EventPatternError);
    expect(compiling).toThrow(/"\$or" expects an array of at least two pattern objects, given \{"c":\[3\]\}/);
  });

  it('keeps the Or primitive when every "$or" of the pattern is a valid one', () => {
    // Act
    const matches = compileEventPattern({ $or: [{ a: [1] }, { b: [2] }] });

    // Assert
    expect([matches({ b: 2 }), matches({ $or: { a: 1 } })]).toEqual([true, false]);
  });

  it('explains both readings when "$or" is valid neither as the Or primitive nor as a field', () => {
    // Act
    const compiling = () => compileEventPattern({ $or: [{ a: [1] }] });

    // Assert
    expect(compiling).toThrow(
      /"\$or" expects an array of at least two pattern objects.*read as an ordinary field name instead, "\$or" is not valid either: unknown operator "a"/,
    );
  });
});

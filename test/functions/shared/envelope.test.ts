import { describe, expect, it } from 'vitest';
import {
  aggregateKey,
  buildEnvelope,
  parseEnvelope,
  parseEnvelopeJson,
} from '../../../functions/shared/envelope';
import { ValidationError } from '../../../functions/shared/errors';

const ctx = {
  source: 'com.example.orders',
  aggregateType: 'Order',
  aggregateId: 'o-1',
  sequence: 3,
  time: new Date('2026-11-23T10:00:00.123Z'),
};

describe('buildEnvelope', () => {
  it('fills CloudEvents core attributes and the outbox extensions', () => {
    // Act
    const envelope = buildEnvelope(
      { type: 'OrderPlaced', data: { total: 1 } },
      { ...ctx, correlationId: 'req-1' },
    );

    // Assert
    expect(envelope).toMatchObject({
      specversion: '1.0',
      source: 'com.example.orders',
      type: 'OrderPlaced',
      subject: 'o-1',
      time: '2026-11-23T10:00:00.123Z',
      datacontenttype: 'application/json',
      schemaversion: 1,
      aggregatetype: 'Order',
      aggregateid: 'o-1',
      sequence: 3,
      correlationid: 'req-1',
      causationid: 'req-1',
      data: { total: 1 },
    });
    expect(envelope.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('makes ids that sort in creation order', () => {
    const ids = Array.from({ length: 50 }, () => buildEnvelope({ type: 'X', data: {} }, ctx).id);
    expect([...ids].sort()).toEqual(ids);
  });

  it('keeps a valid traceparent and rejects a malformed one', () => {
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    expect(buildEnvelope({ type: 'X', data: {} }, { ...ctx, traceparent }).traceparent).toBe(traceparent);
    expect(() => buildEnvelope({ type: 'X', data: {} }, { ...ctx, traceparent: 'abc' })).toThrow(
      /traceparent must be a W3C traceparent.*given "abc"/,
    );
  });

  it.each([
    [{ type: '', data: {} }, ctx, /event.type must match/],
    [{ type: 'X', data: undefined }, ctx, /event.data is required/],
    [
      { type: 'X', data: {}, schemaVersion: 0 },
      ctx,
      /event.schemaVersion must be a positive integer \(given 0\)/,
    ],
    [{ type: 'X', data: {} }, { ...ctx, sequence: 0 }, /sequence must be a positive integer \(given 0\)/],
    [
      { type: 'X', data: {} },
      { ...ctx, aggregateId: 'has space' },
      /aggregateId must match.*given "has space"/,
    ],
    [{ type: 'X', data: {} }, { ...ctx, aggregateType: 'A'.repeat(29) }, /aggregateType must match/],
  ])('rejects bad input with a ValidationError that says what was given (%#)', (event, context, message) => {
    expect(() => buildEnvelope(event, context)).toThrow(ValidationError);
    expect(() => buildEnvelope(event, context)).toThrow(message);
  });
});

describe('aggregateKey', () => {
  it('joins type and id and always fits a 128-character FIFO MessageGroupId', () => {
    expect(aggregateKey('Order', 'o-1')).toBe('Order#o-1');
    expect(aggregateKey('A'.repeat(28), 'b'.repeat(99))).toHaveLength(128);
  });
});

describe('parseEnvelope', () => {
  const valid = buildEnvelope({ type: 'OrderPlaced', data: { a: 1 } }, ctx);

  it('accepts what buildEnvelope produces, through JSON', () => {
    expect(parseEnvelopeJson(JSON.stringify(valid))).toEqual(valid);
  });

  it.each([
    ['sequence', -1, /envelope.sequence must be a positive integer \(given -1\)/],
    ['id', '', /envelope.id must be a non-empty string/],
    ['time', 'yesterday', /envelope.time must be an ISO-8601 timestamp/],
    ['specversion', '0.3', /envelope.specversion must be '1.0'/],
  ])('names the wrong field %s', (field, value, message) => {
    expect(() => parseEnvelope({ ...valid, [field]: value })).toThrow(message);
  });

  it('rejects text that is not JSON', () => {
    expect(() => parseEnvelopeJson('{nope')).toThrow(/envelope is not valid JSON/);
  });
});

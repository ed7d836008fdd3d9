import type { SQSRecord } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { TRANSPORT_ATTRIBUTES } from '../../../contract/transport';
import { decodeMessage } from '../../../functions/consumer-kit';
import { PermanentFailure } from '../../../functions/shared/errors';
import { eventFixture, sqsRecordOf } from '../../contract/fixtures';

const placed = eventFixture('OrderPlaced');

function bridged(detail: unknown, overrides: Record<string, unknown> = {}): SQSRecord {
  return {
    ...sqsRecordOf(placed),
    body: JSON.stringify({
      version: '0',
      id: 'b1e0',
      'detail-type': placed.type,
      source: placed.source,
      account: '123456789012',
      time: '2026-11-23T16:20:00Z',
      region: 'eu-west-1',
      resources: [],
      detail,
      ...overrides,
    }),
  };
}

describe('decoding by transport', () => {
  it('reads an ordered queue message body as the envelope', () => {
    // Act
    const message = decodeMessage(sqsRecordOf(placed), 'ordered');

    // Assert
    expect(message).toEqual({ kind: 'event', envelope: placed, startsAggregate: false });
  });

  it('reads an unordered queue message as an EventBridge event whose detail is the envelope', () => {
    // Act
    const message = decodeMessage(bridged(placed), 'unordered');

    // Assert
    expect(message).toMatchObject({ kind: 'event', envelope: { id: placed.id } });
  });

  it('never unwraps an EventBridge-shaped body on an ordered queue (an outbox item smuggling another event)', () => {
    // Arrange: what an envelope with extra detail-type/detail fields would look like on the FIFO queue
    const smuggled = {
      ...sqsRecordOf(placed),
      body: JSON.stringify({
        ...placed,
        'detail-type': 'OrderPlaced',
        detail: { ...placed, aggregateid: 'victim' },
      }),
    };

    // Act / Assert: the envelope is closed, so the extra fields make it malformed
    expect(() => decodeMessage(smuggled, 'ordered')).toThrow(PermanentFailure);
    expect(() => decodeMessage(smuggled, 'ordered')).toThrow(/envelope.detail-type is not an envelope field/);
  });

  it("refuses an EventBridge event whose detail-type or source is not the envelope's", () => {
    expect(() => decodeMessage(bridged(placed, { 'detail-type': 'OrderCancelled' }), 'unordered')).toThrow(
      /detail-type\/source \(OrderCancelled\/com.example.orders\) are not the envelope's type\/source \(OrderPlaced/,
    );
  });

  it('refuses a plain envelope on an unordered queue', () => {
    expect(() => decodeMessage(sqsRecordOf(placed), 'unordered')).toThrow(/not an EventBridge event/);
  });

  it('reads a void marker only when the transport attribute says so', () => {
    // Arrange
    const marker = { aggregatetype: 'Order', aggregateid: 'o-1', sequence: 3, reason: 'MalformedOutboxItem' };
    const record = {
      ...sqsRecordOf(placed),
      body: JSON.stringify(marker),
      messageAttributes: { [TRANSPORT_ATTRIBUTES.kind]: { stringValue: 'void', dataType: 'String' } },
    } as SQSRecord;

    // Act / Assert
    expect(decodeMessage(record, 'ordered')).toEqual({ kind: 'void', marker });
    expect(() => decodeMessage({ ...record, messageAttributes: {} }, 'ordered')).toThrow(PermanentFailure);
  });

  it('says which body is not JSON', () => {
    expect(() => decodeMessage({ ...sqsRecordOf(placed), body: '{' }, 'ordered')).toThrow(
      /message body is not JSON/,
    );
  });
});

import { describe, expect, it } from 'vitest';
import { envelopeFromBody } from '../../../functions/consumers/kit';
import { PermanentFailure } from '../../../functions/shared/errors';
import { firstSqsRecord, loadEvent } from '../../events/load';

describe('envelopeFromBody', () => {
  it('reads the envelope from a FIFO message published by the relay', () => {
    const record = firstSqsRecord(loadEvent('sqs/fifo-envelope'));
    const envelope = envelopeFromBody(record.body);
    expect(envelope).toMatchObject({ type: 'OrderPlaced', aggregateid: 'o-1001', sequence: 1 });
    expect(`${envelope.aggregatetype}#${envelope.aggregateid}`).toBe(record.attributes.MessageGroupId);
  });

  it('unwraps the envelope from the detail of an EventBridge event delivered by a rule', () => {
    const record = firstSqsRecord(loadEvent('sqs/eventbridge-envelope'));
    expect(envelopeFromBody(record.body)).toMatchObject({
      id: '0193a6a8-3c4e-7d3a-9b1e-5f2c8e4d7a10',
      type: 'OrderPlaced',
    });
  });

  it('fails permanently, naming the problem, when the body is not JSON', () => {
    expect(() => envelopeFromBody('not json')).toThrow(PermanentFailure);
    expect(() => envelopeFromBody('not json')).toThrow(/MalformedEvent: message body is not JSON/);
  });

  it('fails permanently, naming the field, when the body is JSON but not an envelope', () => {
    expect(() => envelopeFromBody(JSON.stringify({ specversion: '1.0', id: 'x' }))).toThrow(
      /MalformedEvent: envelope.source must be a non-empty string/,
    );
  });
});

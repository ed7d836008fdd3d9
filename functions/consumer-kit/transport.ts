import type { SQSRecord } from 'aws-lambda';
import { TRANSPORT_ATTRIBUTES, VOID_MESSAGE_KIND } from '../../contract/transport';
import { type EventEnvelope, parseEnvelope } from '../shared/envelope';
import { PermanentFailure } from '../shared/errors';
import type { ConsumerKind } from './definition';

/** What one SQS message carries, decoded by the transport its queue is fed from. */
export type TransportMessage =
  | { readonly kind: 'event'; readonly envelope: EventEnvelope; readonly startsAggregate: boolean }
  | { readonly kind: 'void'; readonly marker: VoidMarker };

/**
 * The relay's stand-in for an event it had to step over (malformed, or refused for good by a
 * target): it keeps the aggregate's sequence whole for ordered consumers. The event itself is in
 * the relay failure queue with the reason.
 */
export interface VoidMarker {
  readonly aggregatetype: string;
  readonly aggregateid: string;
  readonly sequence: number;
  /** The event id, when the item was readable enough to have one. */
  readonly id?: string;
  readonly reason: string;
}

/**
 * Decodes an SQS message by the transport of the consumer's queue, which the stack knows and
 * gives the kit; never by guessing from the body's shape:
 * - `ordered`: a FIFO queue fed by the relay; the body is the envelope (or a void marker,
 *   flagged by a message attribute only the relay sets);
 * - `unordered`: a queue fed by an EventBridge rule; the body is the EventBridge event and the
 *   envelope is its `detail`, whose `type` and `source` must be the event's `detail-type` and
 *   `source`.
 *
 * @throws PermanentFailure('MalformedEvent') for what does not fit, naming the field
 */
export function decodeMessage(record: SQSRecord, kind: ConsumerKind): TransportMessage {
  const body = parseJson(record.body);
  if (kind === 'ordered') {
    if (attribute(record, TRANSPORT_ATTRIBUTES.kind) === VOID_MESSAGE_KIND)
      return { kind: 'void', marker: voidMarker(body) };
    return {
      kind: 'event',
      envelope: envelopeOf(body),
      startsAggregate: attribute(record, TRANSPORT_ATTRIBUTES.startsAggregate) === 'true',
    };
  }
  if (!isObject(body) || !('detail' in body)) {
    throw malformed('the message body is not an EventBridge event (no detail)');
  }
  const envelope = envelopeOf(body.detail);
  if (body['detail-type'] !== envelope.type || body.source !== envelope.source) {
    throw malformed(
      `the EventBridge event's detail-type/source (${String(body['detail-type'])}/${String(body.source)}) are not the envelope's type/source (${envelope.type}/${envelope.source})`,
    );
  }
  return { kind: 'event', envelope, startsAggregate: false };
}

function parseJson(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch (error) {
    throw malformed(`message body is not JSON (${(error as Error).message})`);
  }
}

function envelopeOf(value: unknown): EventEnvelope {
  try {
    return parseEnvelope(value);
  } catch (error) {
    throw new PermanentFailure('MalformedEvent', (error as Error).message, { cause: error });
  }
}

function voidMarker(value: unknown): VoidMarker {
  if (!isObject(value)) throw malformed('a void marker must be a JSON object');
  const { aggregatetype, aggregateid, sequence, id, reason } = value;
  if (
    typeof aggregatetype !== 'string' ||
    typeof aggregateid !== 'string' ||
    aggregatetype === '' ||
    aggregateid === ''
  ) {
    throw malformed('a void marker needs aggregatetype and aggregateid');
  }
  if (!Number.isSafeInteger(sequence) || (sequence as number) < 1) {
    throw malformed(`a void marker needs a positive integer sequence (given ${String(sequence)})`);
  }
  return {
    aggregatetype,
    aggregateid,
    sequence: sequence as number,
    ...(typeof id === 'string' ? { id } : {}),
    reason: typeof reason === 'string' ? reason : 'unknown',
  };
}

function attribute(record: SQSRecord, name: string): string | undefined {
  return record.messageAttributes?.[name]?.stringValue;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function malformed(message: string): PermanentFailure {
  return new PermanentFailure('MalformedEvent', message);
}

import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { ENTITY_TYPES, formatAggregateKey, KEYS, outboxSk, parseOutboxSk } from '../../contract/keys';
import { type EventEnvelope, parseEnvelopeJson } from './envelope';
import { ValidationError } from './errors';
import { utf8Bytes } from './limits';

/**
 * Items of the app table that carry events, as the writer writes them and the relay, the sweeper
 * and the tools read them back. Key formats are in contract/keys.ts.
 *
 * An aggregate's state item (`sk = STATE`) carries, besides the state, `version` (its last
 * sequence) and `committedFrom` (the first sequence its last transaction committed): the relay
 * publishes `committedFrom..version` when the state item's stream record arrives. DynamoDB orders
 * a stream per item, so successive transactions of one aggregate reach the relay in commit order
 * whatever the order of their outbox items' records.
 */
export const STATE_ATTRIBUTES = {
  version: 'version',
  committedFrom: 'committedFrom',
} as const;

/** The outbox item for an envelope, as DynamoDB attribute values. */
export function toOutboxItem(
  pk: string,
  envelope: EventEnvelope,
  expiresAtEpochSeconds: number,
): Record<string, AttributeValue> {
  return {
    pk: { S: pk },
    sk: { S: outboxSk(envelope.sequence) },
    entityType: { S: ENTITY_TYPES.outbox },
    eventId: { S: envelope.id },
    eventType: { S: envelope.type },
    sequence: { N: String(envelope.sequence) },
    occurredAt: { S: envelope.time },
    // Stored as the exact JSON that is published, so what the relay sends is
    // byte-for-byte what the transaction committed (no number or map re-encoding).
    envelope: { S: JSON.stringify(envelope) },
    expiresAt: { N: String(expiresAtEpochSeconds) },
  };
}

/** An outbox item read back from a stream image or a query, validated. */
export interface StoredOutboxEvent {
  readonly pk: string;
  readonly sequence: number;
  readonly envelope: EventEnvelope;
  /** The envelope JSON exactly as committed. */
  readonly json: string;
}

/**
 * Reads an outbox item (plain, unmarshalled attributes) back into an envelope,
 * checking that the item's key attributes agree with the envelope inside it.
 */
export function fromOutboxItem(item: Record<string, unknown>): StoredOutboxEvent {
  const { pk, sk, entityType, sequence, envelope } = item;
  if (entityType !== ENTITY_TYPES.outbox)
    throw new ValidationError('outboxItem.entityType', `must be '${ENTITY_TYPES.outbox}'`, entityType);
  if (typeof pk !== 'string' || pk.length === 0)
    throw new ValidationError('outboxItem.pk', 'must be a non-empty string', pk);
  if (typeof envelope !== 'string')
    throw new ValidationError('outboxItem.envelope', 'must be a JSON string', envelope);
  const parsed = parseEnvelopeJson(envelope);
  const seq = Number(sequence);
  if (!Number.isSafeInteger(seq) || seq !== parsed.sequence) {
    throw new ValidationError(
      'outboxItem.sequence',
      `must equal the envelope's sequence ${parsed.sequence}`,
      sequence,
    );
  }
  if (sk !== outboxSk(seq)) throw new ValidationError('outboxItem.sk', `must be ${outboxSk(seq)}`, sk);
  const expected = formatAggregateKey(parsed.aggregatetype, parsed.aggregateid);
  if (pk !== expected) {
    throw new ValidationError('outboxItem.pk', `must be the envelope's aggregate key ${expected}`, pk);
  }
  return { pk, sequence: seq, envelope: parsed, json: envelope };
}

/** What a state item's stream record tells the relay: which sequences its transaction committed. */
export interface CommittedRange {
  readonly aggregateKey: string;
  readonly from: number;
  readonly to: number;
}

/**
 * The range of sequences the transaction that wrote this state item committed, read from the
 * item (plain attributes).
 *
 * @throws ValidationError when the item is not a state item with a valid `version` and `committedFrom`
 */
export function committedRange(item: Record<string, unknown>): CommittedRange {
  const { pk, sk, entityType } = item;
  if (entityType !== ENTITY_TYPES.aggregate || sk !== KEYS.stateSk) {
    throw new ValidationError(
      'stateItem',
      `must be an ${ENTITY_TYPES.aggregate} item with sk ${KEYS.stateSk}`,
      sk,
    );
  }
  if (typeof pk !== 'string' || pk.length === 0)
    throw new ValidationError('stateItem.pk', 'must be a non-empty string', pk);
  const to = Number(item[STATE_ATTRIBUTES.version]);
  const from = Number(item[STATE_ATTRIBUTES.committedFrom]);
  if (!Number.isSafeInteger(to) || to < 1) {
    throw new ValidationError(
      'stateItem.version',
      'must be a positive integer',
      item[STATE_ATTRIBUTES.version],
    );
  }
  if (!Number.isSafeInteger(from) || from < 1 || from > to) {
    throw new ValidationError(
      'stateItem.committedFrom',
      `must be a positive integer no greater than version ${to}`,
      item[STATE_ATTRIBUTES.committedFrom],
    );
  }
  return { aggregateKey: pk, from, to };
}

export { outboxSk, parseOutboxSk };

/**
 * Size of an item as DynamoDB counts it: attribute names plus values (strings
 * and binaries by length, numbers by significant digits, containers with their
 * small overheads). Errs a few bytes high, never low, so a check against 400 KB
 * does not pass an item DynamoDB would refuse.
 */
export function dynamoItemSize(item: Record<string, AttributeValue>): number {
  let total = 0;
  for (const [name, value] of Object.entries(item)) total += utf8Bytes(name) + attributeValueSize(value);
  return total;
}

function attributeValueSize(value: AttributeValue): number {
  if (value.S !== undefined) return utf8Bytes(value.S);
  if (value.N !== undefined) return numberSize(value.N);
  if (value.B !== undefined) return value.B.byteLength;
  if (value.BOOL !== undefined || value.NULL !== undefined) return 1;
  if (value.SS !== undefined) return value.SS.reduce((sum, s) => sum + utf8Bytes(s), 0);
  if (value.NS !== undefined) return value.NS.reduce((sum, n) => sum + numberSize(n), 0);
  if (value.BS !== undefined) return value.BS.reduce((sum, b) => sum + b.byteLength, 0);
  if (value.L !== undefined) return 3 + value.L.reduce((sum, v) => sum + 1 + attributeValueSize(v), 0);
  if (value.M !== undefined) {
    return (
      3 + Object.entries(value.M).reduce((sum, [k, v]) => sum + 1 + utf8Bytes(k) + attributeValueSize(v), 0)
    );
  }
  return 0;
}

function numberSize(n: string): number {
  const digits = n.replace(/^[-+]/, '').replace(/e.*$/i, '').replace('.', '').replace(/^0+/, '');
  return Math.ceil(Math.max(digits.length, 1) / 2) + 1;
}

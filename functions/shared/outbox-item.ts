import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { type EventEnvelope, parseEnvelopeJson } from './envelope';
import { ValidationError } from './errors';
import { utf8Bytes } from './limits';

/**
 * Item layout of the single table. Every item of an aggregate shares its
 * partition key `<AggregateType>#<id>`, so the state, the outbox items and the
 * relay cursor of one aggregate live in one partition and one transaction
 * touches one partition.
 *
 * | item           | pk                 | sk                     |
 * | -------------- | ------------------ | ---------------------- |
 * | aggregate      | `Order#o-1`        | `STATE`                |
 * | outbox event   | `Order#o-1`        | `OUTBOX#000000000007`  |
 * | relay cursor   | `Order#o-1`        | `RELAY#CURSOR`         |
 * | read model     | `VIEW#<consumer>#Order#o-1` | `VIEW`        |
 */
export const KEYS = {
  stateSk: 'STATE',
  cursorSk: 'RELAY#CURSOR',
  outboxSkPrefix: 'OUTBOX#',
} as const;

/**
 * The sparse "pending" index: outbox items not yet confirmed published. Spread over
 * a few shard keys so that a busy table does not put every pending item in one
 * index partition; the sweeper queries each shard oldest first.
 */
export const PENDING = {
  indexName: 'PendingIndex',
  shardAttribute: 'pendingShard',
  sinceAttribute: 'pendingSince',
  shards: 8,
} as const;

/** The pending-index shard of an aggregate (stable, so one aggregate's events share a shard). */
export function pendingShard(pk: string): string {
  let hash = 0;
  for (let i = 0; i < pk.length; i++) hash = (Math.imul(hash, 31) + pk.charCodeAt(i)) >>> 0;
  return `PENDING#${hash % PENDING.shards}`;
}

/** Marks outbox items; the relay's FilterCriteria match on it. */
export const OUTBOX_ENTITY_TYPE = 'OUTBOX';
export const AGGREGATE_ENTITY_TYPE = 'AGGREGATE';

/** Sort key of the outbox item with this sequence; zero-padded so that sort order is numeric order. */
export function outboxSk(sequence: number): string {
  return `${KEYS.outboxSkPrefix}${String(sequence).padStart(12, '0')}`;
}

/** The outbox item for an envelope, as DynamoDB attribute values. */
export function toOutboxItem(
  pk: string,
  envelope: EventEnvelope,
  expiresAtEpochSeconds: number,
): Record<string, AttributeValue> {
  return {
    pk: { S: pk },
    sk: { S: outboxSk(envelope.sequence) },
    entityType: { S: OUTBOX_ENTITY_TYPE },
    eventId: { S: envelope.id },
    eventType: { S: envelope.type },
    sequence: { N: String(envelope.sequence) },
    occurredAt: { S: envelope.time },
    // Stored as the exact JSON that is published, so what the relay sends is
    // byte-for-byte what the transaction committed (no number or map re-encoding).
    envelope: { S: JSON.stringify(envelope) },
    expiresAt: { N: String(expiresAtEpochSeconds) },
    // Sparse index of unpublished events: the relay removes both attributes once the event
    // is on every target, so the sweeper finds what the stream failed to deliver without a scan.
    [PENDING.shardAttribute]: { S: pendingShard(pk) },
    [PENDING.sinceAttribute]: { S: envelope.time },
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
  if (entityType !== OUTBOX_ENTITY_TYPE)
    throw new ValidationError('outboxItem.entityType', `must be '${OUTBOX_ENTITY_TYPE}'`, entityType);
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
  if (pk !== `${parsed.aggregatetype}#${parsed.aggregateid}`) {
    throw new ValidationError(
      'outboxItem.pk',
      `must be the envelope's aggregate key ${parsed.aggregatetype}#${parsed.aggregateid}`,
      pk,
    );
  }
  return { pk, sequence: seq, envelope: parsed, json: envelope };
}

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

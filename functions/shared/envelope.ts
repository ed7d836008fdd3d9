import { v7 as uuidv7 } from 'uuid';
import { formatAggregateKey } from '../../contract/keys';
import { ValidationError } from './errors';

/**
 * The event envelope: a CloudEvents 1.0 event in JSON format.
 *
 * Core attributes keep their CloudEvents names (`id`, `source`, `type`,
 * `subject`, `time`, `datacontenttype`, `data`). Our additions are CloudEvents
 * extension attributes and so, as the spec requires, lowercase alphanumerics:
 * `traceparent` is the CloudEvents distributed-tracing extension verbatim, and
 * `sequence` follows the sequence extension's meaning (order within a source's
 * aggregate) but is a number, because consumers compare it arithmetically.
 */
export interface EventEnvelope<TData = unknown> {
  readonly specversion: '1.0';
  /** Time-ordered unique id (UUIDv7); also the FIFO deduplication id and the idempotency key. */
  readonly id: string;
  /** Producing service, e.g. `com.example.orders`. */
  readonly source: string;
  /** Event type, e.g. `OrderPlaced`. */
  readonly type: string;
  /** The aggregate id, so that CloudEvents tooling can filter on it. */
  readonly subject: string;
  /** When the change was committed by the writer (ISO-8601, millisecond precision, UTC). */
  readonly time: string;
  readonly datacontenttype: 'application/json';
  /** Version of the `data` schema of this `type`. */
  readonly schemaversion: number;
  readonly aggregatetype: string;
  readonly aggregateid: string;
  /** Gapless per-aggregate sequence, starting at 1. */
  readonly sequence: number;
  /** Id shared by every event caused, directly or not, by one request. */
  readonly correlationid: string;
  /** Id of the message (command or event) that caused this one. */
  readonly causationid: string;
  /** W3C trace context of the request that committed the event, when there was one. */
  readonly traceparent?: string;
  readonly data: TData;
}

/** What a command handler supplies for one event; the writer fills in the rest. */
export interface NewEvent<TData = unknown> {
  readonly type: string;
  /** @default 1 */
  readonly schemaVersion?: number;
  readonly data: TData;
}

/** Everything `buildEnvelope` needs besides the event itself. */
export interface EnvelopeContext {
  readonly source: string;
  readonly aggregateType: string;
  readonly aggregateId: string;
  readonly sequence: number;
  readonly time: Date;
  readonly correlationId?: string;
  readonly causationId?: string;
  readonly traceparent?: string;
  /** @default a new UUIDv7 */
  readonly id?: string;
}

const NAME_PATTERN = /^[A-Za-z][A-Za-z0-9._-]{0,63}$/;
// aggregateType (<= 28) + '#' + aggregateId (<= 99) fits a 128-character FIFO MessageGroupId.
const AGGREGATE_TYPE_PATTERN = /^[A-Za-z][A-Za-z0-9_-]{0,27}$/;
export const AGGREGATE_ID_PATTERN = /^[A-Za-z0-9._:@-]{1,99}$/;
// https://www.w3.org/TR/trace-context/#traceparent-header-field-values
const TRACEPARENT_PATTERN = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;

/** New time-ordered event id (UUIDv7: sorts by creation time, unique without coordination). */
export function newEventId(): string {
  return uuidv7();
}

/**
 * The aggregate's partition key, shared by its state item, its outbox items and
 * its relay cursor, and used as the FIFO `MessageGroupId`.
 */
export function aggregateKey(aggregateType: string, aggregateId: string): string {
  assertName('aggregateType', aggregateType, AGGREGATE_TYPE_PATTERN);
  assertAggregateId(aggregateId);
  return formatAggregateKey(aggregateType, aggregateId);
}

/** Builds a validated envelope for one new event. */
export function buildEnvelope<TData>(event: NewEvent<TData>, ctx: EnvelopeContext): EventEnvelope<TData> {
  assertName('event.type', event.type);
  const schemaVersion = event.schemaVersion ?? 1;
  assertPositiveInt('event.schemaVersion', schemaVersion);
  if (event.data === undefined) throw new ValidationError('event.data', 'is required', event.data);
  assertName('source', ctx.source, /^[A-Za-z0-9][A-Za-z0-9._/:-]{0,199}$/);
  assertName('aggregateType', ctx.aggregateType, AGGREGATE_TYPE_PATTERN);
  assertAggregateId(ctx.aggregateId);
  assertPositiveInt('sequence', ctx.sequence);
  if (!(ctx.time instanceof Date) || Number.isNaN(ctx.time.getTime())) {
    throw new ValidationError('time', 'must be a valid Date', ctx.time);
  }
  if (ctx.traceparent !== undefined && !TRACEPARENT_PATTERN.test(ctx.traceparent)) {
    throw new ValidationError(
      'traceparent',
      'must be a W3C traceparent (00-<32 hex>-<16 hex>-<2 hex>)',
      ctx.traceparent,
    );
  }
  const id = ctx.id ?? newEventId();
  const correlationid = ctx.correlationId ?? id;
  const causationid = ctx.causationId ?? correlationid;
  assertOptionalId('correlationId', correlationid);
  assertOptionalId('causationId', causationid);
  return {
    specversion: '1.0',
    id,
    source: ctx.source,
    type: event.type,
    subject: ctx.aggregateId,
    time: ctx.time.toISOString(),
    datacontenttype: 'application/json',
    schemaversion: schemaVersion,
    aggregatetype: ctx.aggregateType,
    aggregateid: ctx.aggregateId,
    sequence: ctx.sequence,
    correlationid,
    causationid,
    ...(ctx.traceparent ? { traceparent: ctx.traceparent } : {}),
    data: event.data,
  };
}

/**
 * Every top-level field an envelope may have. The envelope is closed: anything else is refused,
 * so that no field can ride along that a consumer or a transport might read as something else
 * (an outbox item carrying `detail-type` and `detail` is not an EventBridge event).
 */
export const ENVELOPE_FIELDS: ReadonlyArray<keyof EventEnvelope> = [
  'specversion',
  'id',
  'source',
  'type',
  'subject',
  'time',
  'datacontenttype',
  'schemaversion',
  'aggregatetype',
  'aggregateid',
  'sequence',
  'correlationid',
  'causationid',
  'traceparent',
  'data',
];

/**
 * Checks that an unknown value is an envelope; throws a ValidationError naming
 * the first field that is wrong. Use on everything that arrives from outside.
 */
export function parseEnvelope(value: unknown): EventEnvelope {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ValidationError('envelope', 'must be a JSON object', value);
  }
  const v = value as Record<string, unknown>;
  const unknown = Object.keys(v).find((field) => !(ENVELOPE_FIELDS as ReadonlyArray<string>).includes(field));
  if (unknown !== undefined) {
    throw new ValidationError(
      `envelope.${unknown}`,
      `is not an envelope field (the envelope is closed: ${ENVELOPE_FIELDS.join(', ')})`,
      v[unknown],
    );
  }
  if (v.datacontenttype !== 'application/json') {
    throw new ValidationError('envelope.datacontenttype', "must be 'application/json'", v.datacontenttype);
  }
  if (v.specversion !== '1.0')
    throw new ValidationError('envelope.specversion', "must be '1.0'", v.specversion);
  for (const field of [
    'id',
    'source',
    'type',
    'subject',
    'time',
    'aggregatetype',
    'aggregateid',
    'correlationid',
    'causationid',
  ] as const) {
    const fieldValue = v[field];
    if (typeof fieldValue !== 'string' || fieldValue.length === 0) {
      throw new ValidationError(`envelope.${field}`, 'must be a non-empty string', fieldValue);
    }
  }
  if (Number.isNaN(Date.parse(v.time as string))) {
    throw new ValidationError('envelope.time', 'must be an ISO-8601 timestamp', v.time);
  }
  if (!Number.isInteger(v.sequence) || (v.sequence as number) < 1) {
    throw new ValidationError('envelope.sequence', 'must be a positive integer', v.sequence);
  }
  if (!Number.isInteger(v.schemaversion) || (v.schemaversion as number) < 1) {
    throw new ValidationError('envelope.schemaversion', 'must be a positive integer', v.schemaversion);
  }
  if (
    v.traceparent !== undefined &&
    (typeof v.traceparent !== 'string' || !TRACEPARENT_PATTERN.test(v.traceparent))
  ) {
    throw new ValidationError('envelope.traceparent', 'must be a W3C traceparent', v.traceparent);
  }
  if (!('data' in v) || v.data === undefined)
    throw new ValidationError('envelope.data', 'is required', v.data);
  return value as EventEnvelope;
}

/** Parses a JSON string into an envelope (see `parseEnvelope`). */
export function parseEnvelopeJson(json: string): EventEnvelope {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (error) {
    throw new ValidationError('envelope', `is not valid JSON (${(error as Error).message})`, json);
  }
  return parseEnvelope(value);
}

function assertName(field: string, value: unknown, pattern = NAME_PATTERN): asserts value is string {
  if (typeof value !== 'string' || !pattern.test(value)) {
    throw new ValidationError(field, `must match ${pattern}`, value);
  }
}

function assertAggregateId(value: unknown): asserts value is string {
  // The id ends up in a MessageGroupId (128 chars, alphanumerics and punctuation) and a key.
  assertName('aggregateId', value, AGGREGATE_ID_PATTERN);
}

function assertOptionalId(field: string, value: unknown): void {
  if (typeof value !== 'string' || value.length === 0 || value.length > 128) {
    throw new ValidationError(field, 'must be a string of 1 to 128 characters', value);
  }
}

function assertPositiveInt(field: string, value: unknown): asserts value is number {
  if (!Number.isSafeInteger(value) || (value as number) < 1) {
    throw new ValidationError(field, 'must be a positive integer', value);
  }
}

import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { ENTITY_TYPES, parseAggregateKey, parseOutboxSk, RELAY_ITEMS } from '../../contract/keys';
import { ValidationError } from '../shared/errors';
import { LIMITS, sqsRefusedCharacter } from '../shared/limits';
import { committedRange, fromOutboxItem, type StoredOutboxEvent } from '../shared/outbox-item';
import { eventBridgeEntrySize } from '../shared/outbox-writer';
import type { RelayFailureMessage, RelayFailureReason, VoidedSequence } from './ports';

/**
 * One sequence of an aggregate's chain: an event for every target, an item no target can carry
 * (`poison`: failure queue, a void marker on FIFO queues), or an event EventBridge takes but SQS
 * cannot (`fifo-poison`: bus, failure queue, a void marker on FIFO queues).
 */
export type Link =
  | { readonly kind: 'event'; readonly sequence: number; readonly event: StoredOutboxEvent }
  | {
      readonly kind: 'poison';
      readonly sequence: number;
      readonly message: RelayFailureMessage;
      readonly void: VoidedSequence;
    }
  | {
      readonly kind: 'fifo-poison';
      readonly sequence: number;
      readonly event: StoredOutboxEvent;
      readonly message: RelayFailureMessage;
      readonly void: VoidedSequence;
    };

/** A transaction of an aggregate as its state item's stream record announced it. */
export interface Announcement {
  readonly from: number;
  readonly to: number;
  /** The stream record that carried it: reported as failed when its events are not all published. */
  readonly streamSequenceNumber: string;
}

/** What one stream batch holds, sorted by kind. */
export interface BatchPlan {
  /** Per aggregate, the transactions its state records announced, in commit order. */
  readonly announcements: Map<string, Announcement[]>;
  /** Outbox items the batch carries, by aggregate key and sequence. */
  readonly links: Map<string, Map<number, Link>>;
  /** Sweeper probes, newest last. */
  readonly probes: Array<{
    readonly seq: number;
    readonly writtenAt: string;
    readonly streamSequenceNumber: string;
  }>;
  /** Records that are not readable enough to place: to the failure queue on their own. */
  readonly unreadable: Array<{
    readonly streamSequenceNumber: string;
    readonly message: RelayFailureMessage;
  }>;
}

/**
 * Sorts a stream batch (pure). The relay publishes what state records announce: DynamoDB orders
 * a stream per item, so one aggregate's state records arrive in commit order across batches and
 * shards, whatever the order of its outbox items' records. Outbox records only carry payloads;
 * one whose state record is in another batch is read again from the table when that record comes
 * (or was, when it came first).
 *
 * @throws ValidationError when a record has no SequenceNumber (Lambda always sets it)
 */
export function planBatch(records: ReadonlyArray<DynamoDBRecord>): BatchPlan {
  if (!Array.isArray(records))
    throw new ValidationError('records', 'must be an array of DynamoDB stream records', records);
  const plan: BatchPlan = { announcements: new Map(), links: new Map(), probes: [], unreadable: [] };
  for (const record of records) {
    const streamSequenceNumber = record.dynamodb?.SequenceNumber;
    if (!streamSequenceNumber) {
      throw new ValidationError(
        'record.dynamodb.SequenceNumber',
        'is required on every stream record',
        streamSequenceNumber,
      );
    }
    placeRecord(plan, record, streamSequenceNumber);
  }
  for (const list of plan.announcements.values()) list.sort((a, b) => a.from - b.from);
  return plan;
}

function placeRecord(plan: BatchPlan, record: DynamoDBRecord, streamSequenceNumber: string): void {
  const base = { eventSourceARN: record.eventSourceARN, streamSequenceNumber };
  const keys = record.dynamodb?.Keys as Record<string, AttributeValue> | undefined;
  const pk = keys?.pk?.S;
  let item: Record<string, unknown>;
  try {
    const image = record.dynamodb?.NewImage as Record<string, AttributeValue> | undefined;
    if (!image)
      throw new ValidationError('NewImage', 'is missing (is the stream view NEW_IMAGE?)', undefined);
    item = unmarshall(image);
  } catch (error) {
    plan.unreadable.push({
      streamSequenceNumber,
      message: { reason: 'MalformedOutboxItem', error: (error as Error).message, aggregateKey: pk, ...base },
    });
    return;
  }
  switch (item.entityType) {
    case ENTITY_TYPES.aggregate:
      placeAnnouncement(plan, item, streamSequenceNumber, base);
      return;
    case ENTITY_TYPES.outbox: {
      const link = decodeOutboxItem(item, pk, base);
      if (pk === undefined) return;
      const links = plan.links.get(pk) ?? new Map<number, Link>();
      if (!links.has(link.sequence)) links.set(link.sequence, link);
      plan.links.set(pk, links);
      return;
    }
    case ENTITY_TYPES.relay:
      if (
        item.pk === RELAY_ITEMS.probePk &&
        Number.isSafeInteger(item.seq) &&
        typeof item.writtenAt === 'string'
      ) {
        plan.probes.push({ seq: item.seq as number, writtenAt: item.writtenAt, streamSequenceNumber });
      }
      return;
    default:
      // The stream filter passes only the kinds above; anything else is not the relay's.
      return;
  }
}

function placeAnnouncement(
  plan: BatchPlan,
  item: Record<string, unknown>,
  streamSequenceNumber: string,
  base: Partial<RelayFailureMessage>,
): void {
  try {
    const { aggregateKey, from, to } = committedRange(item);
    const list = plan.announcements.get(aggregateKey) ?? [];
    // A duplicated record announces the same transaction twice: once is enough.
    if (!list.some((known) => known.from === from && known.to === to))
      list.push({ from, to, streamSequenceNumber });
    plan.announcements.set(aggregateKey, list);
  } catch (error) {
    plan.unreadable.push({
      streamSequenceNumber,
      message: {
        reason: 'MalformedStateItem',
        error: (error as Error).message,
        aggregateKey: typeof item.pk === 'string' ? item.pk : undefined,
        item: { pk: item.pk, sk: item.sk, version: item.version, committedFrom: item.committedFrom },
        ...base,
      },
    });
  }
}

/**
 * Decodes an outbox item (plain attributes) into a link of its aggregate's chain: an event, or
 * poison carrying the reason (malformed, oversize for EventBridge, characters SQS refuses).
 */
export function decodeOutboxItem(
  item: Record<string, unknown>,
  expectedKey: string | undefined,
  base: Partial<RelayFailureMessage> = {},
): Link {
  const sequence = parseOutboxSk(typeof item.sk === 'string' ? item.sk : undefined) ?? 0;
  const aggregateKey = expectedKey ?? (typeof item.pk === 'string' ? item.pk : '');
  const poison = (reason: RelayFailureReason, error: string, eventId?: string): Link => ({
    kind: 'poison',
    sequence,
    message: { ...base, reason, error, aggregateKey, sequence: sequence || undefined, eventId, item },
    void: voided(aggregateKey, sequence, reason, eventId),
  });
  let event: StoredOutboxEvent;
  try {
    event = fromOutboxItem(item);
    if (expectedKey !== undefined && event.pk !== expectedKey) {
      throw new ValidationError('outboxItem.pk', `must equal the record key ${expectedKey}`, event.pk);
    }
  } catch (error) {
    return poison('MalformedOutboxItem', (error as Error).message);
  }
  const entryBytes = eventBridgeEntrySize(event.envelope, event.json);
  if (entryBytes > LIMITS.eventBridgeEntryBytes) {
    return poison(
      'OversizeEvent',
      `EventBridge entry would be ${entryBytes} bytes, over ${LIMITS.eventBridgeEntryBytes}`,
      event.envelope.id,
    );
  }
  const refused = sqsRefusedCharacter(event.json);
  if (refused) {
    const reason = 'UnsendableCharacters';
    return {
      kind: 'fifo-poison',
      sequence,
      event,
      message: {
        ...base,
        reason,
        error: `the event holds ${refused}, which SQS cannot carry: published to the bus, void on FIFO queues`,
        aggregateKey: event.pk,
        sequence,
        eventId: event.envelope.id,
        item,
      },
      void: voided(event.pk, sequence, reason, event.envelope.id),
    };
  }
  return { kind: 'event', sequence: event.sequence, event };
}

/** The void marker for a sequence of an aggregate key. */
export function voided(
  aggregateKey: string,
  sequence: number,
  reason: string,
  eventId?: string,
): VoidedSequence {
  const parts = parseAggregateKey(aggregateKey);
  return {
    aggregateKey,
    aggregateType: parts?.aggregateType ?? aggregateKey,
    aggregateId: parts?.aggregateId ?? aggregateKey,
    sequence,
    ...(eventId ? { eventId } : {}),
    reason,
  };
}

/**
 * Key formats of the two tables, and their parsers. The writer, the relay, the sweeper, the
 * consumer kit, the IAM scoping of the constructs (`dynamodb:LeadingKeys`) and the operator CLI
 * all build keys here.
 *
 * App table (`pk`, `sk`):
 *
 * | item               | pk                                  | sk                    |
 * | ------------------ | ----------------------------------- | --------------------- |
 * | aggregate state    | `Order#o-1`                         | `STATE`               |
 * | outbox event       | `Order#o-1`                         | `OUTBOX#000000000007` |
 * | relay bookkeeping  | `RELAY#PROBE`, `RELAY#HEARTBEAT`, … | `RELAY`               |
 * | command record     | `COMMAND#<idempotency key>`         | `COMMAND`             |
 * | consumer's item    | `VIEW#<consumer>#<key>`             | `VIEW`                |
 *
 * Consumer-kit table (`id`): every item of a consumer starts with `<consumer>#`: Powertools
 * idempotency records (`<consumer>#<hash>`), effect markers, checkpoints and parked events.
 */

/** `entityType` of each kind of item in the app table (the relay's stream filter matches on it). */
export const ENTITY_TYPES = {
  aggregate: 'AGGREGATE',
  outbox: 'OUTBOX',
  view: 'VIEW',
  relay: 'RELAY',
  command: 'COMMAND',
} as const;

/** Sort keys and prefixes of the app table. */
export const KEYS = {
  stateSk: 'STATE',
  outboxSkPrefix: 'OUTBOX#',
  viewPkPrefix: 'VIEW#',
  viewSk: 'VIEW',
  relayPkPrefix: 'RELAY#',
  relaySk: 'RELAY',
  commandPkPrefix: 'COMMAND#',
  commandSk: 'COMMAND',
} as const;

/** Items the relay and the sweeper own in the app table. */
export const RELAY_ITEMS = {
  /** Written by the sweeper on every run; its stream record tells the relay is reading the stream. */
  probePk: `${KEYS.relayPkPrefix}PROBE`,
  /** Written by the relay when it sees a probe: the newest probe seen. */
  heartbeatPk: `${KEYS.relayPkPrefix}HEARTBEAT`,
  /** Written by the sweeper: a window of time whose stream records may have expired unread. */
  lostWindowPk: `${KEYS.relayPkPrefix}LOST-WINDOW`,
} as const;

/** Digits of the zero-padded sequence in an outbox sort key, so that string order is numeric order. */
const SEQUENCE_DIGITS = 12;

/** An aggregate's partition key, `<type>#<id>`; also the FIFO MessageGroupId. Validation is the envelope's. */
export function formatAggregateKey(aggregateType: string, aggregateId: string): string {
  return `${aggregateType}#${aggregateId}`;
}

/** The type and id of an aggregate key, or undefined if it is not `<type>#<id>`. */
export function parseAggregateKey(key: string): { aggregateType: string; aggregateId: string } | undefined {
  const hash = key.indexOf('#');
  if (hash <= 0 || hash === key.length - 1) return undefined;
  return { aggregateType: key.slice(0, hash), aggregateId: key.slice(hash + 1) };
}

/** Sort key of the outbox item with this sequence. */
export function outboxSk(sequence: number): string {
  return `${KEYS.outboxSkPrefix}${String(sequence).padStart(SEQUENCE_DIGITS, '0')}`;
}

/** The sequence of an outbox sort key, or undefined if it is not one. */
export function parseOutboxSk(sk: string | undefined): number | undefined {
  if (sk === undefined || !sk.startsWith(KEYS.outboxSkPrefix)) return undefined;
  const digits = sk.slice(KEYS.outboxSkPrefix.length);
  if (!/^\d+$/.test(digits)) return undefined;
  const sequence = Number(digits);
  return Number.isSafeInteger(sequence) && sequence > 0 ? sequence : undefined;
}

/** Partition key of the record of a command that carried this idempotency key (sort key {@link KEYS.commandSk}). */
export function commandPk(idempotencyKey: string): string {
  return `${KEYS.commandPkPrefix}${idempotencyKey}`;
}

/** Prefix of every app-table partition key a consumer owns (its read model). */
export function consumerItemPrefix(consumer: string): string {
  return `${KEYS.viewPkPrefix}${consumer}#`;
}

/** Partition key of a consumer's own item in the app table (sort key {@link KEYS.viewSk}). */
export function consumerItemPk(consumer: string, key: string): string {
  return `${consumerItemPrefix(consumer)}${key}`;
}

/** Prefix of every consumer-kit table id a consumer owns. */
export function consumerRecordPrefix(consumer: string): string {
  return `${consumer}#`;
}

/** Id of the effect marker that makes an unordered consumer's writes for one event happen once. */
export function effectMarkerId(consumer: string, eventId: string): string {
  return `${consumerRecordPrefix(consumer)}effect#${eventId}`;
}

/** Id of an ordered consumer's checkpoint for one aggregate: the last sequence it applied. */
export function checkpointId(consumer: string, aggregateKey: string): string {
  return `${consumerRecordPrefix(consumer)}checkpoint#${aggregateKey}`;
}

/** Id of an event an ordered consumer parked until its predecessor is applied. */
export function parkedEventId(consumer: string, aggregateKey: string, sequence: number): string {
  return `${consumerRecordPrefix(consumer)}parked#${aggregateKey}#${String(sequence).padStart(SEQUENCE_DIGITS, '0')}`;
}

/** The aggregate key of a checkpoint id of this consumer, or undefined. */
export function parseCheckpointId(consumer: string, id: string): string | undefined {
  const prefix = `${consumerRecordPrefix(consumer)}checkpoint#`;
  return id.startsWith(prefix) ? id.slice(prefix.length) : undefined;
}

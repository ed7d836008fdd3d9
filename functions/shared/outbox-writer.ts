import {
  type DynamoDBClient,
  GetItemCommand,
  type TransactionCanceledException,
  type TransactWriteItem,
  TransactWriteItemsCommand,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { commandPk, ENTITY_TYPES, KEYS } from '../../contract/keys';
import type { AnyEventDefinition, EventCatalog } from '../events/event-catalog';
import { aggregateKey, buildEnvelope, type EventEnvelope, type NewEvent } from './envelope';
import {
  ConcurrencyConflictError,
  IdempotencyKeyReuseError,
  isAwsError,
  LimitExceededError,
  OutboxError,
  TransactionConflictError,
  ValidationError,
} from './errors';
import { findSqsRefusedCharacter, LIMITS, utf8Bytes } from './limits';
import { dynamoItemSize, STATE_ATTRIBUTES, toOutboxItem } from './outbox-item';
import { isTransactionConflict } from './transaction-conflicts';

/** Options of an {@link OutboxWriter}. */
export interface OutboxWriterOptions {
  readonly client: DynamoDBClient;
  readonly tableName: string;
  /** CloudEvents `source` stamped on every event. */
  readonly source: string;
  /** Seconds an outbox item lives before TTL deletes it. @default 7 days */
  readonly retentionSeconds?: number;
  /** Clock, for tests. @default () => new Date() */
  readonly now?: () => Date;
  /** Event id generator, for tests. @default UUIDv7 */
  readonly newId?: () => string;
  /**
   * Event catalog every event is validated against before the transaction is sent: the type
   * must be in it, `schemaVersion` must be the type's latest (omitted means the latest) and
   * `data` must match that version's schema; what is published is the schema's output (fields
   * the schema does not declare are dropped). Failures throw `EventSchemaError` (a
   * `ValidationError`) naming the event, the version and the field, and nothing is written.
   * @default - no catalog: events are written as given, `schemaVersion` defaults to 1 (for
   * tools, tests and services that do not share this project's catalog)
   */
  readonly catalog?: EventCatalog<AnyEventDefinition>;
}

/** One command's writes: the aggregate's new state and the events describing the change. */
export interface CommitRequest<TState extends Record<string, unknown> = Record<string, unknown>> {
  readonly aggregateType: string;
  readonly aggregateId: string;
  /** Version the command read; 0 creates the aggregate. The commit fails if the stored version differs. */
  readonly expectedVersion: number;
  /** The aggregate's state after the command. */
  readonly state: TState;
  /** At least one event; they get sequences expectedVersion+1, +2, … in this order. */
  readonly events: ReadonlyArray<NewEvent>;
  readonly correlationId?: string;
  readonly causationId?: string;
  readonly traceparent?: string;
  /** Further business writes that must commit or fail with the events (e.g. a uniqueness claim). */
  readonly additionalItems?: ReadonlyArray<TransactWriteItem>;
  /**
   * Makes the commit idempotent across retries of the command: a record of the command is
   * written in the same transaction, and a later commit with the same key writes nothing and
   * returns the first commit's result (`replayed: true`).
   * @default - none: a retried command commits again
   */
  readonly idempotency?: CommandIdempotency;
}

/** The idempotency key of a command and what identifies the request it came with. */
export interface CommandIdempotency {
  /** The caller's key (e.g. the `Idempotency-Key` header): 1 to 200 visible ASCII characters. */
  readonly key: string;
  /** A digest of the request; the same key with another request is refused (IdempotencyKeyReuseError). */
  readonly fingerprint: string;
  /** How long the command record is kept. @default 24 hours */
  readonly ttlSeconds?: number;
}

/** What was committed. */
export interface CommitResult {
  readonly aggregateType: string;
  readonly aggregateId: string;
  readonly version: number;
  readonly eventIds: ReadonlyArray<string>;
  /** The envelopes written; empty for a replayed command (its events were written the first time). */
  readonly events: ReadonlyArray<EventEnvelope>;
  /** True when an earlier commit with the same idempotency key answered, and nothing was written now. */
  readonly replayed: boolean;
}

/** A loaded aggregate: its state and the version to pass as `expectedVersion`. */
export interface LoadedAggregate<TState> {
  readonly version: number;
  readonly state: TState;
}

const DEFAULT_RETENTION_SECONDS = 7 * 24 * 3600;
const DEFAULT_COMMAND_TTL_SECONDS = 24 * 3600;
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,200}$/;

/**
 * Writes an aggregate's state and its outbox events in one DynamoDB transaction.
 *
 * The state item carries the aggregate's version; the transaction puts it only
 * if the stored version is the expected one, and puts each outbox item only if
 * its sequence is new. Version N+k is written with events N+1..N+k, so the
 * per-aggregate sequence is gapless; a cancelled transaction writes nothing,
 * and so publishes nothing. With a `catalog`, every event is validated against
 * its schema first.
 *
 * @example
 * const writer = new OutboxWriter({ client, tableName, source: 'com.example.orders', catalog });
 * const current = await writer.load('Order', id);
 * await writer.commit({
 *   aggregateType: 'Order', aggregateId: id, expectedVersion: current?.version ?? 0,
 *   state: { status: 'CONFIRMED' }, events: [{ type: 'OrderConfirmed', data: { total: 42 } }],
 * });
 */
export class OutboxWriter {
  private readonly client: DynamoDBClient;
  private readonly tableName: string;
  private readonly source: string;
  private readonly retentionSeconds: number;
  private readonly now: () => Date;
  private readonly newId: (() => string) | undefined;
  private readonly catalog: EventCatalog<AnyEventDefinition> | undefined;

  constructor(options: OutboxWriterOptions) {
    if (!options || typeof options !== 'object')
      throw new ValidationError('options', 'must be an object', options);
    if (!options.client) throw new ValidationError('options.client', 'is required', options.client);
    if (typeof options.tableName !== 'string' || options.tableName.length < 3) {
      throw new ValidationError(
        'options.tableName',
        'must be a table name of at least 3 characters',
        options.tableName,
      );
    }
    const retention = options.retentionSeconds ?? DEFAULT_RETENTION_SECONDS;
    if (!Number.isInteger(retention) || retention < 3600) {
      throw new ValidationError(
        'options.retentionSeconds',
        'must be a whole number of seconds, at least 3600',
        retention,
      );
    }
    if (typeof options.source !== 'string' || options.source.length === 0) {
      throw new ValidationError('options.source', 'must be a non-empty string', options.source);
    }
    this.client = options.client;
    this.tableName = options.tableName;
    this.source = options.source;
    this.retentionSeconds = retention;
    this.now = options.now ?? (() => new Date());
    this.newId = options.newId;
    this.catalog = options.catalog;
  }

  /** Reads an aggregate's state and version (strongly consistent); undefined if it does not exist. */
  async load<TState = Record<string, unknown>>(
    aggregateType: string,
    aggregateId: string,
  ): Promise<LoadedAggregate<TState> | undefined> {
    const pk = aggregateKey(aggregateType, aggregateId);
    const { Item } = await this.client.send(
      new GetItemCommand({
        TableName: this.tableName,
        Key: { pk: { S: pk }, sk: { S: KEYS.stateSk } },
        ConsistentRead: true,
      }),
    );
    if (!Item) return undefined;
    const plain = unmarshall(Item);
    return { version: Number(plain.version), state: plain.state as TState };
  }

  /**
   * Builds and validates the transaction (limits included) without sending it.
   * Exposed so that a service can add the items to a larger transaction of its own.
   */
  prepare(request: CommitRequest): { items: TransactWriteItem[]; result: CommitResult } {
    validateRequest(request);
    const pk = aggregateKey(request.aggregateType, request.aggregateId);
    const time = this.now();
    const expiresAt = Math.floor(time.getTime() / 1000) + this.retentionSeconds;
    const version = request.expectedVersion + request.events.length;

    // Every event is checked against the catalog before any envelope is built.
    const events = request.events.map((event, index) => this.checkEvent(event, index));
    const envelopes = events.map((event, index) => this.envelopeOf(request, event, index, time));
    const items: TransactWriteItem[] = [
      this.statePut(request, pk, version, time),
      ...envelopes.map(
        (envelope): TransactWriteItem => ({
          Put: {
            TableName: this.tableName,
            Item: toOutboxItem(pk, envelope, expiresAt),
            ConditionExpression: 'attribute_not_exists(pk)',
          },
        }),
      ),
      ...(request.idempotency ? [this.commandRecord(request, pk, version, envelopes, time)] : []),
      ...(request.additionalItems ?? []),
    ];
    checkTransactionLimits(items);
    return {
      items,
      result: {
        aggregateType: request.aggregateType,
        aggregateId: request.aggregateId,
        version,
        eventIds: envelopes.map((envelope) => envelope.id),
        events: envelopes,
        replayed: false,
      },
    };
  }

  /** The envelope of the request's `index`th event, refused if a target of the relay could not carry it. */
  private envelopeOf(request: CommitRequest, event: NewEvent, index: number, time: Date): EventEnvelope {
    const envelope = buildEnvelope(event, {
      source: this.source,
      aggregateType: request.aggregateType,
      aggregateId: request.aggregateId,
      sequence: request.expectedVersion + index + 1,
      time,
      correlationId: request.correlationId,
      causationId: request.causationId,
      traceparent: request.traceparent,
      id: this.newId?.(),
    });
    checkCarriable(envelope, index);
    return envelope;
  }

  /**
   * The put of the aggregate's state item at its new version, on the condition that the stored
   * version is the expected one (or, creating the aggregate, that there is none).
   */
  private statePut(request: CommitRequest, pk: string, version: number, time: Date): TransactWriteItem {
    const stateItem = marshall(
      {
        pk,
        sk: KEYS.stateSk,
        entityType: ENTITY_TYPES.aggregate,
        aggregateType: request.aggregateType,
        aggregateId: request.aggregateId,
        [STATE_ATTRIBUTES.version]: version,
        // The relay publishes committedFrom..version when this item's stream record arrives.
        [STATE_ATTRIBUTES.committedFrom]: request.expectedVersion + 1,
        updatedAt: time.toISOString(),
        state: request.state,
      },
      { removeUndefinedValues: true },
    );
    return {
      Put: {
        TableName: this.tableName,
        Item: stateItem,
        ...(request.expectedVersion === 0
          ? { ConditionExpression: 'attribute_not_exists(pk)' }
          : {
              ConditionExpression: '#version = :expected',
              ExpressionAttributeNames: { '#version': 'version' },
              ExpressionAttributeValues: { ':expected': { N: String(request.expectedVersion) } },
            }),
        // Lets a conflict report the version actually stored, without a second read.
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      },
    };
  }

  /** The record of an idempotent command, written only if its key is new. */
  private commandRecord(
    request: CommitRequest,
    pk: string,
    version: number,
    envelopes: ReadonlyArray<EventEnvelope>,
    time: Date,
  ): TransactWriteItem {
    const {
      key,
      fingerprint,
      ttlSeconds = DEFAULT_COMMAND_TTL_SECONDS,
    } = request.idempotency as CommandIdempotency;
    return {
      Put: {
        TableName: this.tableName,
        Item: marshall({
          pk: commandPk(key),
          sk: KEYS.commandSk,
          entityType: ENTITY_TYPES.command,
          fingerprint,
          aggregateKey: pk,
          aggregateType: request.aggregateType,
          aggregateId: request.aggregateId,
          version,
          eventIds: envelopes.map((envelope) => envelope.id),
          committedAt: time.toISOString(),
          expiresAt: Math.floor(time.getTime() / 1000) + ttlSeconds,
        }),
        ConditionExpression: 'attribute_not_exists(pk)',
      },
    };
  }

  /** Validates one event against the catalog, if there is one; returns what to publish. */
  private checkEvent(event: NewEvent, index: number): NewEvent {
    if (!this.catalog) return event;
    if (!event || typeof event !== 'object')
      throw new ValidationError(`events[${index}]`, 'must be an object', event);
    const checked = this.catalog.encode(event.type, event.schemaVersion, event.data, {
      field: `events[${index}]`,
    });
    return { type: event.type, schemaVersion: checked.version, data: checked.data };
  }

  /**
   * Commits state and events atomically.
   *
   * @throws ValidationError / LimitExceededError before anything is sent (`EventSchemaError`, a
   *   ValidationError, for an event that does not fit the catalog)
   * @throws ConcurrencyConflictError when the stored version is not `expectedVersion`
   * @throws TransactionConflictError when another transaction raced this one (retry)
   */
  async commit(request: CommitRequest): Promise<CommitResult> {
    const { items, result } = this.prepare(request);
    const pk = aggregateKey(request.aggregateType, request.aggregateId);
    try {
      await this.client.send(
        new TransactWriteItemsCommand({
          TransactItems: items,
          // Makes the SDK's own retries of this call idempotent for 10 minutes: a retried
          // commit that had in fact succeeded returns success instead of a version conflict.
          ClientRequestToken: result.events[0]?.id,
        }),
      );
    } catch (error) {
      const commandIndex = request.idempotency ? 1 + request.events.length : undefined;
      if (commandIndex !== undefined && cancelledAt(error, commandIndex)) {
        return this.replay(request.idempotency as CommandIdempotency);
      }
      throw translateCancellation(error, pk, request.expectedVersion, 1 + request.events.length);
    }
    return result;
  }

  /**
   * The result of the command that first used this idempotency key (a retry: nothing is written).
   *
   * @throws IdempotencyKeyReuseError when that command was another request
   */
  async replay(idempotency: CommandIdempotency): Promise<CommitResult> {
    const { Item } = await this.client.send(
      new GetItemCommand({
        TableName: this.tableName,
        Key: { pk: { S: commandPk(idempotency.key) }, sk: { S: KEYS.commandSk } },
        ConsistentRead: true,
      }),
    );
    if (!Item) {
      // Expired between the cancelled write and this read: nothing to replay, and nothing written.
      throw new OutboxError(
        'IdempotencyRecordExpired',
        `the record of idempotency key ${idempotency.key} expired; send the command again with a new key`,
      );
    }
    const record = unmarshall(Item);
    if (record.fingerprint !== idempotency.fingerprint) throw new IdempotencyKeyReuseError(idempotency.key);
    return {
      aggregateType: String(record.aggregateType),
      aggregateId: String(record.aggregateId),
      version: Number(record.version),
      eventIds: (record.eventIds as string[]) ?? [],
      events: [],
      replayed: true,
    };
  }
}

/**
 * Size of a PutEvents entry as EventBridge counts it: Time (14 bytes when set),
 * Source, DetailType and Detail as UTF-8 (Resources are not used).
 */
export function eventBridgeEntrySize(envelope: EventEnvelope, detailJson = JSON.stringify(envelope)): number {
  return 14 + utf8Bytes(envelope.source) + utf8Bytes(envelope.type) + utf8Bytes(detailJson);
}

/**
 * Refuses an envelope that the relay could not deliver: characters an SQS message body cannot
 * carry (the relay sends it to every ordered consumer's FIFO queue) or a PutEvents entry over
 * EventBridge's limit (the relay publishes it as the Detail).
 */
function checkCarriable(envelope: EventEnvelope, index: number): void {
  const refused = findSqsRefusedCharacter(envelope, `events[${index}]`);
  if (refused) {
    throw new ValidationError(
      refused.path,
      `contains ${refused.character}, which SQS message bodies cannot carry (SQS accepts #x9, #xA, #xD, #x20-#xD7FF, #xE000-#xFFFD, #x10000-#x10FFFF); nothing was written`,
      refused.character,
    );
  }
  const entryBytes = eventBridgeEntrySize(envelope);
  if (entryBytes > LIMITS.eventBridgeEntryBytes) {
    throw new LimitExceededError(
      'EventBridge entry size (bytes)',
      LIMITS.eventBridgeEntryBytes,
      entryBytes,
      `event ${index} (${envelope.type})`,
    );
  }
}

function validateRequest(request: CommitRequest): void {
  if (!request || typeof request !== 'object')
    throw new ValidationError('request', 'must be an object', request);
  if (request.idempotency !== undefined) {
    const { key, fingerprint, ttlSeconds } = request.idempotency;
    if (typeof key !== 'string' || !IDEMPOTENCY_KEY.test(key)) {
      throw new ValidationError('idempotency.key', 'must be 1 to 200 visible ASCII characters', key);
    }
    if (typeof fingerprint !== 'string' || fingerprint.length === 0 || fingerprint.length > 200) {
      throw new ValidationError(
        'idempotency.fingerprint',
        'must be a string of 1 to 200 characters',
        fingerprint,
      );
    }
    if (
      ttlSeconds !== undefined &&
      (!Number.isInteger(ttlSeconds) || ttlSeconds < 60 || ttlSeconds > 30 * 86_400)
    ) {
      throw new ValidationError(
        'idempotency.ttlSeconds',
        'must be a whole number from 60 to 2592000',
        ttlSeconds,
      );
    }
  }
  if (!Number.isSafeInteger(request.expectedVersion) || request.expectedVersion < 0) {
    throw new ValidationError(
      'expectedVersion',
      'must be a whole number >= 0 (0 creates the aggregate)',
      request.expectedVersion,
    );
  }
  if (!request.state || typeof request.state !== 'object' || Array.isArray(request.state)) {
    throw new ValidationError('state', 'must be an object', request.state);
  }
  if (!Array.isArray(request.events) || request.events.length === 0) {
    throw new ValidationError('events', 'must be a non-empty array', request.events);
  }
  if (request.additionalItems !== undefined && !Array.isArray(request.additionalItems)) {
    throw new ValidationError(
      'additionalItems',
      'must be an array of TransactWriteItem',
      request.additionalItems,
    );
  }
}

function checkTransactionLimits(items: TransactWriteItem[]): void {
  if (items.length > LIMITS.transactItems) {
    throw new LimitExceededError(
      'TransactWriteItems actions',
      LIMITS.transactItems,
      items.length,
      'one state item plus one per event plus additional items',
    );
  }
  let total = 0;
  items.forEach((item, index) => {
    const attributes =
      item.Put?.Item ?? item.Update?.Key ?? item.Delete?.Key ?? item.ConditionCheck?.Key ?? {};
    const size = dynamoItemSize(attributes);
    if (size > LIMITS.itemBytes) {
      throw new LimitExceededError(
        'DynamoDB item size (bytes)',
        LIMITS.itemBytes,
        size,
        `transaction item ${index}`,
      );
    }
    total += size;
  });
  if (total > LIMITS.transactBytes) {
    throw new LimitExceededError('TransactWriteItems total size (bytes)', LIMITS.transactBytes, total);
  }
}

/** Whether a cancelled transaction failed the condition of action `index`. */
function cancelledAt(error: unknown, index: number): boolean {
  if (!isAwsError(error, 'TransactionCanceledException')) return false;
  return (
    (error as TransactionCanceledException).CancellationReasons?.[index]?.Code === 'ConditionalCheckFailed'
  );
}

function translateCancellation(
  error: unknown,
  pk: string,
  expectedVersion: number,
  ownItems: number,
): unknown {
  const reasons = isAwsError(error, 'TransactionCanceledException')
    ? ((error as TransactionCanceledException).CancellationReasons ?? [])
    : [];
  const stateReason = reasons[0];
  if (stateReason?.Code === 'ConditionalCheckFailed') {
    const old = stateReason.Item ? unmarshall(stateReason.Item) : undefined;
    return new ConcurrencyConflictError(pk, expectedVersion, old ? Number(old.version) : undefined);
  }
  const failed = reasons.findIndex((reason) => reason.Code === 'ConditionalCheckFailed');
  if (failed >= ownItems) {
    return new OutboxError(
      'ConditionFailed',
      `additionalItems[${failed - ownItems}] condition failed on ${pk}; nothing was written`,
      { cause: error },
    );
  }
  if (failed > 0) {
    // The state matched but an outbox sequence already existed: the table was written around the writer.
    return new ConcurrencyConflictError(pk, expectedVersion, undefined);
  }
  return isTransactionConflict(error) ? new TransactionConflictError(pk, { cause: error }) : error;
}

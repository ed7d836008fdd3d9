/**
 * In-memory fakes of the relay's ports ({@link RelayPorts}) with fault injection,
 * and a helper that turns outbox items into DynamoDB stream records shaped as
 * Lambda delivers them. They let the relay core be tested without any engine:
 * the fakes enforce the service limits the relay must respect (entries and
 * bytes per call) and FIFO deduplication, and record every call.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { seededRandom } from 'local-aws';
import { ENTITY_TYPES, KEYS, RELAY_ITEMS } from '../../contract/keys';
import type {
  EntryFailure,
  EventBusPublisher,
  FailureSink,
  FifoMessage,
  HeartbeatStore,
  OutboxReader,
  QueuePublisher,
  RelayFailureMessage,
  RelayMetric,
  RelayPorts,
  RelayTelemetry,
} from '../../functions/relay/ports';
import { buildEnvelope, type EventEnvelope } from '../../functions/shared/envelope';
import { LIMITS, utf8Bytes } from '../../functions/shared/limits';
import {
  dynamoItemSize,
  outboxSk,
  STATE_ATTRIBUTES,
  type StoredOutboxEvent,
  toOutboxItem,
} from '../../functions/shared/outbox-item';
import { eventBridgeEntrySize } from '../../functions/shared/outbox-writer';

export const TEST_SOURCE = 'com.example.orders';
export const TEST_STREAM_ARN =
  'arn:aws:dynamodb:eu-west-1:123456789012:table/OutboxPipeline-OutboxTable/stream/2026-11-23T16:00:00.000';
export const TEST_REGION = 'eu-west-1';

/** Deterministic pseudo-random numbers in [0, 1), so that injected faults replay with a seed. */
export { seededRandom };

/** What an outbox event of a test is made of; everything but the aggregate id and sequence has a default. */
export interface TestEventSpec {
  readonly aggregateId: string;
  readonly sequence: number;
  /** @default 'Order' */
  readonly aggregateType?: string;
  /** @default 'OrderUpdated' */
  readonly type?: string;
  /** @default `{ note: 'event <sequence>' }` */
  readonly data?: unknown;
  /** Pads `data` with a string of this many bytes, to make large events. @default no padding */
  readonly payloadBytes?: number;
}

/** The deterministic event id of an aggregate's sequence, so that tests can name events without looking them up. */
export function testEventId(aggregateKey: string, sequence: number): string {
  return `evt-${aggregateKey.replace('#', '-')}-${String(sequence).padStart(6, '0')}`;
}

/** A valid envelope for a test event, with a deterministic id and time. */
export function testEnvelope(spec: TestEventSpec): EventEnvelope {
  const aggregateType = spec.aggregateType ?? 'Order';
  const data = spec.data ?? { note: `event ${spec.sequence}` };
  return buildEnvelope(
    {
      type: spec.type ?? 'OrderUpdated',
      data:
        spec.payloadBytes === undefined
          ? data
          : { ...(data as object), padding: 'x'.repeat(spec.payloadBytes) },
    },
    {
      source: TEST_SOURCE,
      aggregateType,
      aggregateId: spec.aggregateId,
      sequence: spec.sequence,
      time: new Date(Date.UTC(2026, 10, 23, 16, 20, 0, spec.sequence)),
      id: testEventId(`${aggregateType}#${spec.aggregateId}`, spec.sequence),
    },
  );
}

/** The outbox item of a test event, as DynamoDB attribute values (what the writer commits). */
export function testOutboxItem(spec: TestEventSpec): Record<string, AttributeValue> {
  const envelope = testEnvelope(spec);
  return toOutboxItem(`${envelope.aggregatetype}#${envelope.aggregateid}`, envelope, 1_795_968_000);
}

/**
 * An outbox item with the right keys whose envelope is not JSON: what a writer
 * that went around the OutboxWriter could leave. The relay must quarantine it.
 */
export function malformedOutboxItem(aggregateId: string, sequence: number): Record<string, AttributeValue> {
  return { ...testOutboxItem({ aggregateId, sequence }), envelope: { S: '{"specversion":"1.0",' } };
}

/**
 * The state item a transaction committing sequences `from..to` of an aggregate leaves: it
 * announces that range to the relay (`committedFrom`, `version`).
 */
export function testStateItem(
  aggregateId: string,
  from: number,
  to: number,
  aggregateType = 'Order',
): Record<string, AttributeValue> {
  return marshall({
    pk: `${aggregateType}#${aggregateId}`,
    sk: KEYS.stateSk,
    entityType: ENTITY_TYPES.aggregate,
    aggregateType,
    aggregateId,
    [STATE_ATTRIBUTES.version]: to,
    [STATE_ATTRIBUTES.committedFrom]: from,
    state: { note: `after ${to}` },
  });
}

/** What one transaction writes: its outbox items, then the state item (stream order varies). */
export function testTransaction(
  aggregateId: string,
  from: number,
  to: number,
  spec: Omit<TestEventSpec, 'aggregateId' | 'sequence'> = {},
): {
  readonly state: Record<string, AttributeValue>;
  readonly outbox: Array<Record<string, AttributeValue>>;
} {
  return {
    state: testStateItem(aggregateId, from, to, spec.aggregateType),
    outbox: testOutboxItems(aggregateId, from, to, spec),
  };
}

/** The sweeper's probe item, as its stream record carries it. */
export function testProbeItem(seq: number, writtenAt: string): Record<string, AttributeValue> {
  return marshall({
    pk: RELAY_ITEMS.probePk,
    sk: KEYS.relaySk,
    entityType: ENTITY_TYPES.relay,
    seq,
    writtenAt,
  });
}

/** Outbox items of sequences `from..to` of one aggregate. */
export function testOutboxItems(
  aggregateId: string,
  from: number,
  to: number,
  spec: Omit<TestEventSpec, 'aggregateId' | 'sequence'> = {},
): Array<Record<string, AttributeValue>> {
  const items: Array<Record<string, AttributeValue>> = [];
  for (let sequence = from; sequence <= to; sequence++)
    items.push(testOutboxItem({ ...spec, aggregateId, sequence }));
  return items;
}

/**
 * Turns outbox items into stream records as Lambda delivers them (eventName
 * INSERT, Keys, NewImage, StreamViewType NEW_IMAGE), with SequenceNumbers that
 * increase across every record this stream makes.
 */
export class FakeOutboxStream {
  private next: bigint;

  constructor(
    private readonly streamArn = TEST_STREAM_ARN,
    firstSequenceNumber = 4_421_584_500_000_000_017_450_439_091n,
  ) {
    this.next = firstSequenceNumber;
  }

  /** One INSERT record of this item. Items may be malformed on purpose: only `pk` and `sk` are read as keys. */
  record(item: Record<string, AttributeValue>): DynamoDBRecord {
    const sequenceNumber = (this.next++).toString();
    const keys: Record<string, AttributeValue> = {};
    if (item.pk) keys.pk = item.pk;
    if (item.sk) keys.sk = item.sk;
    return {
      eventID: sequenceNumber.slice(-32).padStart(32, '0'),
      eventName: 'INSERT',
      eventVersion: '1.1',
      eventSource: 'aws:dynamodb',
      awsRegion: TEST_REGION,
      dynamodb: {
        ApproximateCreationDateTime: 1_795_450_800,
        Keys: keys as NonNullable<DynamoDBRecord['dynamodb']>['Keys'],
        NewImage: item as NonNullable<DynamoDBRecord['dynamodb']>['NewImage'],
        SequenceNumber: sequenceNumber,
        SizeBytes: dynamoItemSize(item),
        StreamViewType: 'NEW_IMAGE',
      },
      eventSourceARN: this.streamArn,
    };
  }

  /** Records of these items, in this order. */
  records(items: ReadonlyArray<Record<string, AttributeValue>>): DynamoDBRecord[] {
    return items.map((item) => this.record(item));
  }
}

/** The stream SequenceNumber of a record, checked. */
export function streamSequenceNumber(record: DynamoDBRecord | undefined): string {
  const sequenceNumber = record?.dynamodb?.SequenceNumber;
  if (sequenceNumber === undefined) throw new Error('stream record has no SequenceNumber');
  return sequenceNumber;
}

/** Faults a fake target injects into its calls. Every option may be combined with the others. */
export interface EntryFaultOptions {
  /** Entries with these event ids fail on every attempt (until removed from `failEventIds`). */
  readonly failEventIds?: Iterable<string>;
  /** Every event id fails its first N attempts, then succeeds. @default 0 */
  readonly failFirstAttempts?: number;
  /** These event ids fail their first N attempts (N given per id), then succeed. */
  readonly failFirstAttemptsById?: Readonly<Record<string, number>>;
  /** Probability that an entry fails, drawn from a generator seeded with `seed`. @default 0 */
  readonly failureRate?: number;
  /** The first N calls throw as if throttled, before any entry is taken. @default 0 */
  readonly throwFirstCalls?: number;
  /** Probability that a call throws as if throttled (seeded). @default 0 */
  readonly throwRate?: number;
  /** Entries with these event ids are refused for good (the service blames the entry, e.g. SQS SenderFault). */
  readonly rejectEventIds?: Iterable<string>;
  /** @default 1 */
  readonly seed?: number;
  /** Error code of a failed entry. @default 'InternalFailure' */
  readonly errorCode?: string;
}

/** Decides, call by call and entry by entry, what fails. */
export class FaultInjector {
  /** Event ids that fail on every attempt; tests may add and remove ids between invocations. */
  readonly failEventIds: Set<string>;
  private readonly attemptsById = new Map<string, number>();
  private readonly random: () => number;
  private calls = 0;

  constructor(private readonly options: EntryFaultOptions = {}) {
    this.failEventIds = new Set(options.failEventIds ?? []);
    this.random = seededRandom(options.seed ?? 1);
  }

  /** Attempts so far of an event id on this target. */
  attempts(eventId: string): number {
    return this.attemptsById.get(eventId) ?? 0;
  }

  /** Decides the outcome of one call: an error to throw, or the indexes of the entries that fail. */
  decide(eventIds: ReadonlyArray<string>): {
    readonly thrown?: Error;
    readonly failedIndexes: ReadonlySet<number>;
    readonly rejectedIndexes: ReadonlySet<number>;
  } {
    this.calls++;
    for (const id of eventIds) this.attemptsById.set(id, this.attempts(id) + 1);
    const throwRate = this.options.throwRate ?? 0;
    if (this.calls <= (this.options.throwFirstCalls ?? 0) || (throwRate > 0 && this.random() < throwRate)) {
      return { thrown: throttled(), failedIndexes: new Set(), rejectedIndexes: new Set() };
    }
    const rejected = new Set(this.options.rejectEventIds ?? []);
    const rejectedIndexes = new Set<number>();
    eventIds.forEach((id, index) => {
      if (rejected.has(id)) rejectedIndexes.add(index);
    });
    const failedIndexes = new Set<number>();
    const failureRate = this.options.failureRate ?? 0;
    eventIds.forEach((id, index) => {
      const fails =
        this.failEventIds.has(id) ||
        this.attempts(id) <= (this.options.failFirstAttempts ?? 0) ||
        this.attempts(id) <= (this.options.failFirstAttemptsById?.[id] ?? 0) ||
        (failureRate > 0 && this.random() < failureRate);
      if (fails && !rejectedIndexes.has(index)) failedIndexes.add(index);
    });
    return { failedIndexes, rejectedIndexes };
  }

  get errorCode(): string {
    return this.options.errorCode ?? 'InternalFailure';
  }
}

function throttled(): Error {
  return Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
}

function serviceError(name: string, message: string): Error {
  return Object.assign(new Error(message), { name });
}

/** One call a fake target received. */
export interface RecordedCall {
  readonly events: ReadonlyArray<StoredOutboxEvent>;
  /** Size of the request as the service counts it. */
  readonly bytes: number;
  /** Event ids of the entries the service refused (empty if the call threw). */
  readonly failedIds: ReadonlyArray<string>;
  /** Name of the error the call threw, if it did. */
  readonly thrown?: string;
}

/**
 * EventBridge PutEvents. Like the service, a call over 10 entries or 256 KB
 * throws a ValidationException; entries are refused as the faults decide.
 */
export class FakeEventBus implements EventBusPublisher {
  readonly calls: RecordedCall[] = [];
  /** Entries the bus accepted, in the order it accepted them (an event may appear twice: the bus does not dedupe). */
  readonly published: StoredOutboxEvent[] = [];
  readonly faults: FaultInjector;

  constructor(faults: EntryFaultOptions = {}) {
    this.faults = new FaultInjector(faults);
  }

  async putEvents(events: ReadonlyArray<StoredOutboxEvent>): Promise<EntryFailure[]> {
    const batch = [...events];
    const bytes = batch.reduce((sum, event) => sum + eventBridgeEntrySize(event.envelope, event.json), 0);
    if (batch.length > LIMITS.putEventsEntries || bytes > LIMITS.eventBridgeEntryBytes) {
      this.calls.push({ events: batch, bytes, failedIds: [], thrown: 'ValidationException' });
      throw serviceError(
        'ValidationException',
        `PutEvents request of ${batch.length} entries and ${bytes} bytes`,
      );
    }
    const { thrown, failedIndexes, rejectedIndexes } = this.faults.decide(
      batch.map((event) => event.envelope.id),
    );
    if (thrown) {
      this.calls.push({ events: batch, bytes, failedIds: [], thrown: thrown.name });
      throw thrown;
    }
    const failures: EntryFailure[] = [];
    batch.forEach((event, index) => {
      if (rejectedIndexes.has(index))
        failures.push({ index, code: 'MalformedDetail', message: 'injected rejection', permanent: true });
      else if (failedIndexes.has(index))
        failures.push({ index, code: this.faults.errorCode, message: 'injected failure', permanent: false });
      else this.published.push(event);
    });
    this.calls.push({
      events: batch,
      bytes,
      failedIds: failures.map((f) => batch[f.index]?.envelope.id ?? '?'),
    });
    return failures;
  }

  /** Ids of the events the bus accepted at least once. */
  publishedIds(): Set<string> {
    return new Set(this.published.map((event) => event.envelope.id));
  }
}

/** Faults of the fake queues: one set for every queue, or per queue URL. */
export interface FakeFifoQueuesOptions {
  /** @default no faults */
  readonly faults?: EntryFaultOptions;
  /** Overrides `faults` for these queue URLs. */
  readonly faultsByQueue?: Readonly<Record<string, EntryFaultOptions>>;
}

/** A message a fake FIFO queue holds: an event, or a void marker for a sequence. */
export interface DeliveredMessage {
  readonly kind: 'event' | 'void';
  readonly pk: string;
  readonly sequence: number;
  /** The event id (events), or the marker's deduplication id (voids). */
  readonly id: string;
  readonly event?: StoredOutboxEvent;
  readonly reason?: string;
}

/** The deduplication id and payload size of a FIFO message, as the SQS adapter sends it. */
function describeMessage(message: FifoMessage): DeliveredMessage & { readonly bytes: number } {
  if (message.kind === 'event') {
    const { event } = message;
    return {
      kind: 'event',
      pk: event.pk,
      sequence: event.sequence,
      id: event.envelope.id,
      event,
      bytes: utf8Bytes(event.json),
    };
  }
  const { aggregateKey, sequence, eventId, reason } = message.void;
  return {
    kind: 'void',
    pk: aggregateKey,
    sequence,
    id: `void-${eventId ?? `${aggregateKey}-${sequence}`}`,
    reason,
    bytes: 200,
  };
}

/**
 * SQS FIFO queues behind SendMessageBatch. Like SQS, a call over 10 entries or
 * 256 KiB throws; an accepted message whose MessageDeduplicationId (the event
 * id) the queue has already seen is acknowledged but not enqueued again (the
 * deduplication window is taken as longer than any test).
 */
export class FakeFifoQueues implements QueuePublisher {
  private readonly queues = new Map<
    string,
    { calls: RecordedCall[]; delivered: DeliveredMessage[]; seen: Set<string> }
  >();
  private readonly injectors = new Map<string, FaultInjector>();

  constructor(private readonly options: FakeFifoQueuesOptions = {}) {}

  async sendBatch(queueUrl: string, messages: ReadonlyArray<FifoMessage>): Promise<EntryFailure[]> {
    const queue = this.queue(queueUrl);
    const batch = messages.map(describeMessage);
    const events = messages.flatMap((message) => (message.kind === 'event' ? [message.event] : []));
    const bytes = batch.reduce((sum, message) => sum + message.bytes, 0);
    if (batch.length > LIMITS.sqsBatchEntries) {
      queue.calls.push({ events, bytes, failedIds: [], thrown: 'TooManyEntriesInBatchRequest' });
      throw serviceError('TooManyEntriesInBatchRequest', `${batch.length} entries`);
    }
    if (bytes > LIMITS.sqsBatchBytes) {
      queue.calls.push({ events, bytes, failedIds: [], thrown: 'BatchRequestTooLong' });
      throw serviceError('BatchRequestTooLong', `${bytes} bytes`);
    }
    const faults = this.faults(queueUrl);
    const { thrown, failedIndexes, rejectedIndexes } = faults.decide(batch.map((message) => message.id));
    if (thrown) {
      queue.calls.push({ events, bytes, failedIds: [], thrown: thrown.name });
      throw thrown;
    }
    const failures: EntryFailure[] = [];
    batch.forEach((message, index) => {
      if (rejectedIndexes.has(index)) {
        failures.push({
          index,
          code: 'InvalidMessageContents',
          message: 'injected rejection',
          permanent: true,
        });
        return;
      }
      if (failedIndexes.has(index)) {
        failures.push({ index, code: faults.errorCode, message: 'injected failure', permanent: false });
        return;
      }
      if (queue.seen.has(message.id)) return;
      queue.seen.add(message.id);
      const { bytes: _bytes, ...delivered } = message;
      queue.delivered.push(delivered);
    });
    queue.calls.push({ events, bytes, failedIds: failures.map((f) => batch[f.index]?.id ?? '?') });
    return failures;
  }

  /** The fault injector of one queue, to change its faults between invocations. */
  faults(queueUrl: string): FaultInjector {
    let injector = this.injectors.get(queueUrl);
    if (!injector) {
      injector = new FaultInjector(this.options.faultsByQueue?.[queueUrl] ?? this.options.faults);
      this.injectors.set(queueUrl, injector);
    }
    return injector;
  }

  /** SendMessageBatch calls to a queue, in order. */
  callsTo(queueUrl: string): ReadonlyArray<RecordedCall> {
    return this.queue(queueUrl).calls;
  }

  /** Messages a consumer of the queue would receive, in queue order (after deduplication). */
  delivered(queueUrl: string): ReadonlyArray<DeliveredMessage> {
    return this.queue(queueUrl).delivered;
  }

  /** Events (no void markers) a consumer of the queue would receive, in queue order. */
  deliveredEvents(queueUrl: string): ReadonlyArray<StoredOutboxEvent> {
    return this.delivered(queueUrl).flatMap((message) => (message.event ? [message.event] : []));
  }

  /** Sequences of one message group as a consumer would receive them (void markers included). */
  deliveredSequences(queueUrl: string, aggregateKey: string): number[] {
    return this.delivered(queueUrl)
      .filter((message) => message.pk === aggregateKey)
      .map((message) => message.sequence);
  }

  private queue(queueUrl: string) {
    let queue = this.queues.get(queueUrl);
    if (!queue) {
      queue = { calls: [], delivered: [], seen: new Set() };
      this.queues.set(queueUrl, queue);
    }
    return queue;
  }
}

/**
 * The outbox table, as far as the relay reads it: items keyed by `pk`/`sk`,
 * range reads by sort key as a DynamoDB Query with `sk BETWEEN` does.
 */
export class InMemoryOutboxTable implements OutboxReader {
  private readonly items = new Map<string, Map<string, Record<string, unknown>>>();
  /** Every `readRange` call, in order. */
  readonly reads: Array<{ readonly aggregateKey: string; readonly from: number; readonly to: number }> = [];
  /** Return true to make this read throw, as a throttled Query would. @default never */
  readFails: (aggregateKey: string) => boolean = () => false;

  /** Commits items (attribute values, as the writer puts them). Returns them, to feed a stream. */
  put(...items: Array<Record<string, AttributeValue>>): Array<Record<string, AttributeValue>> {
    for (const item of items) this.putPlain(unmarshall(item));
    return items;
  }

  /** Commits an item as plain attributes: use it for items a writer would never produce. */
  putPlain(item: Record<string, unknown>): void {
    const pk = String(item.pk);
    let partition = this.items.get(pk);
    if (!partition) {
      partition = new Map();
      this.items.set(pk, partition);
    }
    partition.set(String(item.sk), item);
  }

  /** Every committed item, as plain attributes, partition by partition in sort-key order (as a Scan reads them). */
  all(): Array<Record<string, unknown>> {
    return [...this.items.values()].flatMap((partition) =>
      [...partition.entries()]
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([, item]) => structuredClone(item)),
    );
  }

  /** Whether an event with this id is committed. */
  hasEvent(eventId: string): boolean {
    for (const partition of this.items.values()) {
      for (const item of partition.values()) if (item.eventId === eventId) return true;
    }
    return false;
  }

  async readRange(
    aggregateKey: string,
    fromSequence: number,
    toSequence: number,
  ): Promise<Array<Record<string, unknown>>> {
    this.reads.push({ aggregateKey, from: fromSequence, to: toSequence });
    if (this.readFails(aggregateKey))
      throw serviceError('ProvisionedThroughputExceededException', 'Query throttled');
    const from = outboxSk(fromSequence);
    const to = outboxSk(toSequence);
    return [...(this.items.get(aggregateKey)?.entries() ?? [])]
      .filter(([sk]) => sk >= from && sk <= to)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, item]) => structuredClone(item));
  }
}

/** The relay failure queue; set `failing` (or `fails`, per message) to make it refuse messages. */
export class FakeFailureSink implements FailureSink {
  readonly messages: RelayFailureMessage[] = [];
  failing = false;
  /** Return true to make this send throw. @default refuses every message while `failing` is set */
  fails: (message: RelayFailureMessage) => boolean = () => this.failing;
  attempts = 0;

  async send(message: RelayFailureMessage): Promise<void> {
    this.attempts++;
    if (this.fails(message)) throw serviceError('KMS.ThrottlingException', 'failure queue unavailable');
    this.messages.push(structuredClone(message));
  }
}

/** Telemetry that keeps what it is told, to assert on. */
export class RecordingTelemetry implements RelayTelemetry {
  readonly counts = new Map<RelayMetric, number>();
  readonly lags: number[] = [];
  readonly warnings: Array<{ readonly message: string; readonly attributes?: Record<string, unknown> }> = [];
  readonly errors: Array<{ readonly message: string; readonly attributes?: Record<string, unknown> }> = [];

  count(metric: RelayMetric, value: number): void {
    this.counts.set(metric, (this.counts.get(metric) ?? 0) + value);
  }

  publishLag(milliseconds: number): void {
    this.lags.push(milliseconds);
  }

  warn(message: string, attributes?: Record<string, unknown>): void {
    this.warnings.push({ message, attributes });
  }

  error(message: string, attributes?: Record<string, unknown>): void {
    this.errors.push({ message, attributes });
  }
}

/** The relay's heartbeat: the newest probe it recorded; set `failing` to refuse the write. */
export class RecordingHeartbeat implements HeartbeatStore {
  seen: { seq: number; writtenAt: string } | undefined;
  failing = false;

  async probeSeen(seq: number, writtenAt: string): Promise<void> {
    if (this.failing) throw serviceError('ProvisionedThroughputExceededException', 'heartbeat throttled');
    if (!this.seen || seq > this.seen.seq) this.seen = { seq, writtenAt };
  }
}

/** Faults of a {@link FakeRelayPorts}. */
export interface FakeRelayPortsOptions {
  /** @default no faults */
  readonly bus?: EntryFaultOptions;
  /** @default no faults */
  readonly queues?: FakeFifoQueuesOptions;
  /** Seed of the relay's own `random` (backoff jitter). @default 7 */
  readonly seed?: number;
}

/**
 * Every port of the relay, in memory. `sleep` returns at once and records the
 * delay asked for, so that backoff costs no time in tests.
 *
 * @example
 * const ports = new FakeRelayPorts({ bus: { failFirstAttempts: 1 } });
 * const relay = new Relay(ports, { queueUrls: [QUEUE] });
 * const stream = new FakeOutboxStream();
 * const { state, outbox } = testTransaction('o-1', 1, 3);
 * await relay.handle(stream.records(ports.outbox.put(...outbox, state)));
 */
export class FakeRelayPorts implements RelayPorts {
  readonly outbox = new InMemoryOutboxTable();
  readonly heartbeat = new RecordingHeartbeat();
  readonly eventBus: FakeEventBus;
  readonly queues: FakeFifoQueues;
  readonly failures = new FakeFailureSink();
  readonly telemetry = new RecordingTelemetry();
  readonly sleeps: number[] = [];
  readonly random: () => number;

  constructor(options: FakeRelayPortsOptions = {}) {
    this.eventBus = new FakeEventBus(options.bus);
    this.queues = new FakeFifoQueues(options.queues);
    this.random = seededRandom(options.seed ?? 7);
  }

  readonly sleep = async (milliseconds: number): Promise<void> => {
    this.sleeps.push(milliseconds);
  };

  readonly now = (): number => Date.UTC(2026, 10, 23, 16, 20, 1);
}

import type { StoredOutboxEvent } from '../shared/outbox-item';

/** One entry of a batch call that the service refused. `index` is the entry's position in the call. */
export interface EntryFailure {
  readonly index: number;
  readonly code: string;
  readonly message: string;
}

/** Per-aggregate publish cursors: the highest sequence published to every target. */
export interface CursorStore {
  /** Cursors of these aggregate keys; an aggregate never published has cursor 0. */
  get(aggregateKeys: ReadonlyArray<string>): Promise<Map<string, number>>;
  /**
   * Moves a cursor from `from` to `to`. Must not move it backwards: if another
   * relay instance already moved it to `to` or beyond, this is a no-op.
   */
  advance(aggregateKey: string, from: number, to: number): Promise<void>;
}

/** Reads committed outbox items straight from the table, to fill gaps the stream left. */
export interface OutboxReader {
  /** Outbox items of one aggregate with `fromSequence <= sequence <= toSequence`, unmarshalled, in order. */
  readRange(
    aggregateKey: string,
    fromSequence: number,
    toSequence: number,
  ): Promise<Array<Record<string, unknown>>>;
}

/**
 * The outbox items' pending marks (the sparse index the sweeper reads). Cleared once
 * an event is confirmed on every target; a mark left behind only costs the sweeper
 * a cursor check, so failures here never fail the batch.
 */
export interface PendingMarks {
  clear(aggregateKey: string, sequences: ReadonlyArray<number>): Promise<void>;
}

/** PutEvents to the bus; returns the entries that failed. Throws if the whole call failed. */
export interface EventBusPublisher {
  putEvents(events: ReadonlyArray<StoredOutboxEvent>): Promise<EntryFailure[]>;
}

/** SendMessageBatch to one FIFO queue; returns the entries that failed. Throws if the whole call failed. */
export interface QueuePublisher {
  sendBatch(queueUrl: string, events: ReadonlyArray<StoredOutboxEvent>): Promise<EntryFailure[]>;
}

/** A stream record the relay could not turn into an event, with the reason. */
export interface RelayFailureMessage {
  readonly reason: 'MalformedOutboxItem' | 'OversizeEvent';
  readonly error: string;
  readonly aggregateKey?: string;
  readonly sequence?: number;
  readonly eventSourceARN?: string;
  readonly streamSequenceNumber?: string;
  /** The item as committed, so that an operator can repair and re-publish it. */
  readonly item?: unknown;
}

/** Where unprocessable records go (an SQS queue in the stack). Throws if it could not take the message. */
export interface FailureSink {
  send(message: RelayFailureMessage): Promise<void>;
}

/** Names of the relay's metrics (Powertools metrics in Lambda). */
export type RelayMetric =
  | 'EventsPublished'
  | 'EntriesRetried'
  | 'PublishFailures'
  | 'MalformedOutboxItems'
  | 'DuplicateRecordsSkipped'
  | 'GapEventsReadFromTable'
  | 'RecordsReportedFailed'
  | 'PendingMarksNotCleared';

/** Metrics and logs, kept behind an interface so the core has no Powertools dependency. */
export interface RelayTelemetry {
  count(metric: RelayMetric, value: number): void;
  /** Milliseconds from the event's commit (`time`) to its confirmed publication. */
  publishLag(milliseconds: number): void;
  warn(message: string, attributes?: Record<string, unknown>): void;
  error(message: string, attributes?: Record<string, unknown>): void;
}

/** Everything the relay core talks to. */
export interface RelayPorts {
  readonly cursors: CursorStore;
  readonly outbox: OutboxReader;
  readonly pending: PendingMarks;
  readonly eventBus: EventBusPublisher;
  readonly queues: QueuePublisher;
  readonly failures: FailureSink;
  readonly telemetry: RelayTelemetry;
  /** @default setTimeout-based sleep */
  readonly sleep?: (milliseconds: number) => Promise<void>;
  /** @default Date.now */
  readonly now?: () => number;
  /** @default Math.random */
  readonly random?: () => number;
}

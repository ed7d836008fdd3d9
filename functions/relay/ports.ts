import type { RELAY_METRICS } from '../../contract/metrics';
import type { StoredOutboxEvent } from '../shared/outbox-item';

/** One entry of a batch call that the service refused. `index` is the entry's position in the call. */
export interface EntryFailure {
  readonly index: number;
  readonly code: string;
  readonly message: string;
  /**
   * The service says the entry itself is at fault and retrying it cannot succeed (SQS
   * `SenderFault`, EventBridge's non-retryable entry errors on the entry's content).
   */
  readonly permanent: boolean;
}

/** Reads committed outbox items straight from the table, when the batch does not carry them. */
export interface OutboxReader {
  /** Outbox items of one aggregate with `fromSequence <= sequence <= toSequence`, unmarshalled, in order. */
  readRange(
    aggregateKey: string,
    fromSequence: number,
    toSequence: number,
  ): Promise<Array<Record<string, unknown>>>;
}

/** PutEvents to the bus; returns the entries that failed. Throws if the whole call failed. */
export interface EventBusPublisher {
  putEvents(events: ReadonlyArray<StoredOutboxEvent>): Promise<EntryFailure[]>;
}

/** What the relay sends to an ordered consumer's FIFO queue: an event, or a void marker in its place. */
export type FifoMessage =
  | {
      readonly kind: 'event';
      readonly event: StoredOutboxEvent;
      /** Set by `backfill` on the oldest event it could still read of an aggregate whose history expired. */
      readonly startsAggregate?: boolean;
    }
  | { readonly kind: 'void'; readonly void: VoidedSequence };

/** A sequence of an aggregate whose event no target can carry; the marker keeps the sequence whole. */
export interface VoidedSequence {
  readonly aggregateKey: string;
  readonly aggregateType: string;
  readonly aggregateId: string;
  readonly sequence: number;
  readonly eventId?: string;
  readonly reason: string;
}

/** SendMessageBatch to one FIFO queue; returns the entries that failed. Throws if the whole call failed. */
export interface QueuePublisher {
  sendBatch(queueUrl: string, messages: ReadonlyArray<FifoMessage>): Promise<EntryFailure[]>;
}

/** Why the relay could not publish an outbox item. */
export type RelayFailureReason =
  | 'MalformedOutboxItem'
  | 'MalformedStateItem'
  | 'OversizeEvent'
  | 'UnsendableCharacters'
  | 'RejectedByTarget'
  | 'MissingOutboxItem'
  | 'RecoveryGivenUp';

/** What the relay could not publish, with the reason; a message of the relay failure queue. */
export interface RelayFailureMessage {
  readonly reason: RelayFailureReason;
  readonly error: string;
  readonly aggregateKey?: string;
  readonly sequence?: number;
  readonly eventId?: string;
  /** The target that refused it, for RejectedByTarget. */
  readonly target?: string;
  readonly eventSourceARN?: string;
  readonly streamSequenceNumber?: string;
  /** The item as committed, so that an operator can repair and re-publish it. */
  readonly item?: unknown;
}

/** Where unpublishable items go (an SQS queue in the stack). Throws if it could not take the message. */
export interface FailureSink {
  send(message: RelayFailureMessage): Promise<void>;
}

/** The relay's heartbeat: the newest probe of the sweeper it has read from the stream. */
export interface HeartbeatStore {
  /** Records that probe `seq`, written at `writtenAt`, was read; never moves backwards. */
  probeSeen(seq: number, writtenAt: string): Promise<void>;
}

/** Names of the relay's metrics. */
export type RelayMetric = Exclude<keyof typeof RELAY_METRICS, 'publishLag'>;

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
  readonly outbox: OutboxReader;
  readonly eventBus: EventBusPublisher;
  readonly queues: QueuePublisher;
  readonly failures: FailureSink;
  readonly heartbeat: HeartbeatStore;
  readonly telemetry: RelayTelemetry;
  /** @default setTimeout-based sleep */
  readonly sleep?: (milliseconds: number) => Promise<void>;
  /** @default Date.now */
  readonly now?: () => number;
  /** @default Math.random */
  readonly random?: () => number;
}

/**
 * Metric names: what the handlers emit (Powertools Metrics, EMF) and what the alarms and the
 * dashboard watch. Every metric is in {@link METRICS_NAMESPACE} with the Powertools `service`
 * dimension, which is one of {@link SERVICES} or a consumer's name.
 */
export const METRICS_NAMESPACE = 'OutboxPipeline';

/**
 * Powertools service names. Relay metrics carry `outbox-relay` whichever function runs the relay
 * core (the relay, or the sweeper re-publishing), so one set of alarms sees every publish path.
 */
export const SERVICES = {
  relay: 'outbox-relay',
  sweeper: 'outbox-sweeper',
  ordersApi: 'orders-api',
} as const;

/** Emitted by the relay core. */
export const RELAY_METRICS = {
  eventsPublished: 'EventsPublished',
  entriesRetried: 'EntriesRetried',
  publishFailures: 'PublishFailures',
  /** Outbox items no target can carry (malformed, oversize, refused for good): failure queue, stepped over. */
  poisonEvents: 'PoisonEvents',
  /** Transactions whose outbox items were read from the table because the batch did not carry them. */
  transactionsReadFromTable: 'TransactionsReadFromTable',
  recordsReportedFailed: 'RecordsReportedFailed',
  /** Milliseconds from commit to the event being on every target. */
  publishLag: 'PublishLag',
} as const;

/** Emitted by the sweeper. */
export const SWEEPER_METRICS = {
  /** Seconds since the newest probe the relay has seen was written (0 when it saw the latest). */
  relayProbeLag: 'RelayProbeLagSeconds',
  /** Age in seconds of the oldest stream batch (or lost window) not yet re-published; 0 when none. */
  oldestUnrecovered: 'OldestUnrecoveredAgeSeconds',
  recordsRecovered: 'RecordsRecovered',
  /** Records the sweeper could not re-publish this run (kept for the next). */
  recoveryFailures: 'RecoveryFailures',
  /** Records given up after every attempt, sent to the relay failure queue. */
  recoveryGivenUp: 'RecoveryGivenUp',
  /** Windows of time whose stream records expired unread (relay stopped for longer than the stream keeps them). */
  lostWindows: 'LostStreamWindows',
} as const;

/** Emitted by the consumer kit, with the consumer's name as `service`. */
export const CONSUMER_METRICS = {
  processed: 'EventsProcessed',
  skipped: 'EventsSkipped',
  duplicates: 'DuplicatesSuppressed',
  deadLettered: 'EventsDeadLettered',
  failed: 'EventsFailed',
  /** Ordered consumers: an event that arrived before its predecessor was applied, kept until it is. */
  parked: 'EventsParked',
  resumed: 'ParkedEventsResumed',
  /** Ordered consumers: a sequence the relay declared void (its event could not be published). */
  voided: 'EventsVoided',
  endToEndLatency: 'EndToEndLatency',
} as const;

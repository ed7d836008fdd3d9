/**
 * Names of the environment variables the stack gives each function: the constructs set them
 * (lib/), the handlers read them (functions/), the local runtime resolves them from the template.
 */
export const ENV = {
  /** Single-table name: aggregates, outbox items, relay bookkeeping, consumers' read models. */
  tableName: 'TABLE_NAME',
  /** Custom EventBridge bus the relay publishes to. */
  eventBusName: 'EVENT_BUS_NAME',
  /** JSON array of FIFO queue URLs, one per ordered consumer; the relay publishes every event to each. */
  orderedQueueUrls: 'ORDERED_QUEUE_URLS',
  /** SQS queue for what the relay cannot publish (malformed items, events a target refuses for good, recovery given up). */
  relayFailureQueueUrl: 'RELAY_FAILURE_QUEUE_URL',
  /** S3 bucket where the stream mapping puts the batches it discarded, records included; the sweeper re-publishes them. */
  failureBucketName: 'FAILURE_BUCKET_NAME',
  /** CloudEvents `source` stamped on every event by the producer. */
  eventSource: 'EVENT_SOURCE',
  /** Days an outbox item lives before DynamoDB TTL deletes it. */
  outboxRetentionDays: 'OUTBOX_RETENTION_DAYS',
  /** Table of the consumer kit: Powertools idempotency records, effect markers, checkpoints and parked events. */
  idempotencyTableName: 'IDEMPOTENCY_TABLE_NAME',
  /** Seconds consumers remember an event they applied (idempotency records, effect markers). */
  consumerMemorySeconds: 'CONSUMER_MEMORY_SECONDS',
  /** The consumer's own DLQ; the consumer kit sends permanently failing messages there with a reason. */
  deadLetterQueueUrl: 'DEAD_LETTER_QUEUE_URL',
  /** Name of a consumer: metrics dimension, key prefix of everything it owns. */
  consumerName: 'CONSUMER_NAME',
  /** `ordered` (FIFO queue fed by the relay, bodies are envelopes) or `unordered` (EventBridge rule → queue). */
  consumerKind: 'CONSUMER_KIND',
  /** Where an ordered consumer starts an aggregate it has never seen: `earliest` or `first-seen`. */
  consumerStartPosition: 'CONSUMER_START_POSITION',
  /** Seconds between the sweeper's runs (its probe cadence). */
  sweepIntervalSeconds: 'SWEEP_INTERVAL_SECONDS',
} as const;

/** One of the environment variable names. */
export type EnvName = (typeof ENV)[keyof typeof ENV];

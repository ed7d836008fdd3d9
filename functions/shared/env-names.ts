/**
 * Names of the environment variables the stack gives each function.
 *
 * The stack (lib/) and the handlers (functions/) both import these, so a rename
 * is one edit and the local runtime can resolve the same names from the template.
 */
export const ENV = {
  /** Single-table name: aggregates, outbox items, relay cursors, read models. */
  tableName: 'TABLE_NAME',
  /** Custom EventBridge bus the relay publishes to. */
  eventBusName: 'EVENT_BUS_NAME',
  /** JSON array of FIFO queue URLs, one per ordered consumer; the relay publishes every event to each. */
  orderedQueueUrls: 'ORDERED_QUEUE_URLS',
  /** SQS queue that receives stream records the relay cannot process (and the stream mapping's on-failure records). */
  relayFailureQueueUrl: 'RELAY_FAILURE_QUEUE_URL',
  /** CloudEvents `source` stamped on every event by the producer. */
  eventSource: 'EVENT_SOURCE',
  /** Days an outbox item lives before DynamoDB TTL deletes it. */
  outboxRetentionDays: 'OUTBOX_RETENTION_DAYS',
  /** Powertools idempotency table of a consumer. */
  idempotencyTableName: 'IDEMPOTENCY_TABLE_NAME',
  /** Seconds an idempotency record is kept; at least the outbox retention. */
  idempotencyTtlSeconds: 'IDEMPOTENCY_TTL_SECONDS',
  /** Seconds an outbox event may stay unpublished before the sweeper re-publishes it. */
  sweepAfterSeconds: 'SWEEP_AFTER_SECONDS',
  /** The consumer's own DLQ; the consumer kit sends permanently failing messages there with a reason. */
  deadLetterQueueUrl: 'DEAD_LETTER_QUEUE_URL',
  /** Name of a consumer, used for metrics dimensions and read-model keys. */
  consumerName: 'CONSUMER_NAME',
} as const;

/**
 * How long things are kept, and the one rule that ties every replay source to how long consumers
 * remember what they applied.
 *
 * An event can reach a consumer again from: the outbox table (`replay`, `backfill`, the sweeper),
 * the EventBridge archive (`archive-replay`), a dead-letter queue (`redrive`), the relay's failure
 * bucket (the sweeper). Unordered consumers recognise an event they already applied by their
 * idempotency record and effect marker, which expire after `consumerMemory`; ordered consumers by
 * their checkpoint, which never expires. So no source may keep an event longer than consumers
 * remember it: a 20-day-old event replayed from a 30-day archive would be applied again.
 */
export const RETENTION_DEFAULTS = {
  /** Outbox items (DynamoDB TTL). */
  outboxRetentionDays: 7,
  /** Idempotency records and effect markers of consumers. */
  consumerMemoryDays: 14,
  /** The EventBridge archive. */
  archiveRetentionDays: 14,
  /** Dead-letter and failure queues: the SQS maximum, to leave time to act. */
  deadLetterRetentionDays: 14,
  /** The relay's failure bucket (discarded stream batches). */
  failureBucketRetentionDays: 14,
} as const;

/** How far back each replay source reaches, in days. */
export interface ReplayReach {
  readonly outboxRetentionDays: number;
  readonly archiveRetentionDays: number;
  readonly deadLetterRetentionDays: number;
  readonly failureBucketRetentionDays: number;
}

/**
 * Every replay source that reaches further back than consumers remember, as a sentence saying
 * what to change; empty when the rule holds.
 *
 * @example
 * replayReachProblems({ ...RETENTION_DEFAULTS, archiveRetentionDays: 30 }, 14);
 * // ['archiveRetention (30 days) is longer than consumerMemory (14 days): …']
 */
export function replayReachProblems(reach: ReplayReach, consumerMemoryDays: number): string[] {
  const sources: Array<[keyof ReplayReach, string, string]> = [
    ['outboxRetentionDays', 'outboxRetention', 'a replay or backfill from the outbox table'],
    ['archiveRetentionDays', 'archiveRetention', 'an archive replay'],
    ['deadLetterRetentionDays', 'dead-letter queue retention', 'a redrive'],
    ['failureBucketRetentionDays', 'failure bucket retention', "the sweeper's recovery"],
  ];
  return sources
    .filter(([key]) => reach[key] > consumerMemoryDays)
    .map(
      ([key, name, source]) =>
        `${name} (${reach[key]} days) is longer than consumerMemory (${consumerMemoryDays} days): ${source} of an event older than ${consumerMemoryDays} days would apply it again in unordered consumers; raise consumerMemory or shorten ${name}`,
    );
}

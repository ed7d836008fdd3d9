import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBBatchResponse, DynamoDBRecord } from 'aws-lambda';
import type { CursorStore, OutboxReader, PendingMarks, RelayTelemetry } from '../relay/ports';
import { ValidationError } from '../shared/errors';
import { KEYS, PENDING } from '../shared/outbox-item';

/** Emitted on every sweep, 0 included: the oldest-unpublished alarm treats missing data as breaching. */
export const OLDEST_UNPUBLISHED_METRIC = 'OldestUnpublishedAgeSeconds';

/** An entry of the sparse pending index (keys only). */
export interface PendingEntry {
  readonly pk: string;
  readonly sk: string;
  readonly pendingSince: string;
}

/** Reads the pending index, one shard at a time, oldest first. */
export interface PendingIndexReader {
  /** Entries of a shard with pendingSince before `before` (all when undefined), oldest first, at most `limit`. */
  oldest(shard: string, limit: number, before?: string): Promise<PendingEntry[]>;
}

/** What a sweep found and did. */
export interface SweepResult {
  /** Age of the oldest unpublished event (0 when none). */
  readonly oldestPendingAgeSeconds: number;
  /** Pending entries older than the threshold. */
  readonly overdue: number;
  /** Marks of events the cursor shows as published (the relay failed to clear them). */
  readonly staleMarksCleared: number;
  /** Events handed to the relay core for publication. */
  readonly republished: number;
  /** Records the relay could not publish this time (left for the next sweep). */
  readonly failed: number;
}

/** Options of a {@link Sweeper}. */
export interface SweeperOptions {
  /** Events pending longer than this are re-published. */
  readonly olderThanSeconds: number;
  /** Most overdue entries handled per sweep. @default 1000 */
  readonly maxEntries?: number;
  /** Records per relay call. @default 100 */
  readonly batchSize?: number;
  /** @default Date.now */
  readonly now?: () => number;
}

/** Everything the sweeper talks to; `relay` is the same core the stream drives. */
export interface SweeperPorts {
  readonly index: PendingIndexReader;
  readonly cursors: CursorStore;
  readonly outbox: OutboxReader;
  readonly pending: PendingMarks;
  readonly relay: { handle(records: ReadonlyArray<DynamoDBRecord>): Promise<DynamoDBBatchResponse> };
  readonly telemetry: Pick<RelayTelemetry, 'warn'>;
}

/**
 * Recovers events the stream did not deliver: the relay was broken, the records
 * aged out of the stream's 24 hours, or the mapping gave up and sent them to its
 * on-failure destination (which only carries batch metadata).
 *
 * It reads the sparse pending index (not a scan), checks each overdue event
 * against its aggregate's publish cursor, clears marks of events already
 * published, and feeds the rest, read from the table, through the relay core as
 * if the stream had delivered them: same ordering, same cursor, same idempotent
 * ids, so a sweep that races the relay publishes nothing twice in effect.
 */
export class Sweeper {
  private readonly maxEntries: number;
  private readonly batchSize: number;
  private readonly now: () => number;

  constructor(
    private readonly ports: SweeperPorts,
    private readonly options: SweeperOptions,
  ) {
    if (!Number.isInteger(options.olderThanSeconds) || options.olderThanSeconds < 1) {
      throw new ValidationError(
        'options.olderThanSeconds',
        'must be a positive whole number of seconds',
        options.olderThanSeconds,
      );
    }
    this.maxEntries = options.maxEntries ?? 1000;
    if (!Number.isInteger(this.maxEntries) || this.maxEntries < 1)
      throw new ValidationError('options.maxEntries', 'must be a positive integer', this.maxEntries);
    this.batchSize = options.batchSize ?? 100;
    if (!Number.isInteger(this.batchSize) || this.batchSize < 1)
      throw new ValidationError('options.batchSize', 'must be a positive integer', this.batchSize);
    this.now = options.now ?? Date.now;
  }

  /** One sweep over every shard of the pending index. */
  async sweep(): Promise<SweepResult> {
    const now = this.now();
    const cutoff = new Date(now - this.options.olderThanSeconds * 1000).toISOString();
    const shards = Array.from({ length: PENDING.shards }, (_, i) => `PENDING#${i}`);
    const [oldest, overdueByShard] = await Promise.all([
      Promise.all(shards.map((shard) => this.ports.index.oldest(shard, 1))),
      Promise.all(shards.map((shard) => this.ports.index.oldest(shard, this.maxEntries, cutoff))),
    ]);
    const oldestSince = oldest
      .flat()
      .map((e) => Date.parse(e.pendingSince))
      .filter((t) => !Number.isNaN(t));
    const oldestPendingAgeSeconds =
      oldestSince.length > 0 ? Math.max(0, Math.round((now - Math.min(...oldestSince)) / 1000)) : 0;
    const overdue = overdueByShard
      .flat()
      .sort((a, b) => a.pendingSince.localeCompare(b.pendingSince))
      .slice(0, this.maxEntries);

    const byAggregate = new Map<string, number[]>();
    for (const entry of overdue) {
      const sequence = Number(entry.sk.slice(KEYS.outboxSkPrefix.length));
      if (!entry.sk.startsWith(KEYS.outboxSkPrefix) || !Number.isSafeInteger(sequence)) continue;
      byAggregate.set(entry.pk, [...(byAggregate.get(entry.pk) ?? []), sequence]);
    }
    const cursors = await this.ports.cursors.get([...byAggregate.keys()]);

    let staleMarksCleared = 0;
    const records: DynamoDBRecord[] = [];
    for (const [pk, sequences] of byAggregate) {
      const cursor = cursors.get(pk) ?? 0;
      const published = sequences.filter((s) => s <= cursor);
      if (published.length > 0) {
        await this.ports.pending.clear(pk, published);
        staleMarksCleared += published.length;
      }
      const highest = Math.max(...sequences);
      if (highest <= cursor) continue;
      // The whole range from the cursor, so the relay can publish in order without a gap.
      for (const item of await this.ports.outbox.readRange(pk, cursor + 1, highest))
        records.push(syntheticRecord(item));
    }

    let failed = 0;
    for (let i = 0; i < records.length; i += this.batchSize) {
      const response = await this.ports.relay.handle(records.slice(i, i + this.batchSize));
      failed += response.batchItemFailures.length;
    }
    if (failed > 0)
      this.ports.telemetry.warn('sweeper could not publish every overdue event; the next sweep retries', {
        failed,
      });
    return {
      oldestPendingAgeSeconds,
      overdue: overdue.length,
      staleMarksCleared,
      republished: records.length - failed,
      failed,
    };
  }
}

/** An outbox item read from the table, dressed as the stream record the relay expects. */
export function syntheticRecord(item: Record<string, unknown>): DynamoDBRecord {
  const image = marshall(item, { removeUndefinedValues: true }) as Record<string, AttributeValue>;
  return {
    eventID: `sweep-${String(item.pk)}-${String(item.sk)}`,
    eventName: 'INSERT',
    eventSource: 'aws:dynamodb',
    eventVersion: '1.1',
    dynamodb: {
      Keys: { pk: { S: String(item.pk) }, sk: { S: String(item.sk) } },
      NewImage: image as never,
      // Only used as the item identifier in the relay's response.
      SequenceNumber: `sweep:${String(item.pk)}:${String(item.sk)}`,
      StreamViewType: 'NEW_IMAGE',
    },
  };
}

import type { DynamoDBRecord } from 'aws-lambda';
import { ENTITY_TYPES } from '../../contract/keys';
import type {
  FailedBatch,
  FailedBatchStore,
  Heartbeat,
  LostWindow,
  OutboxScanner,
  RelayBookkeeping,
} from '../../functions/sweeper/ports';
import type { InMemoryOutboxTable, RecordingHeartbeat } from './fake-relay-ports';

/**
 * The relay bookkeeping items in memory. The heartbeat is the relay's own
 * {@link RecordingHeartbeat}, so a test makes the relay "alive" by handing it probe records.
 */
export class InMemoryBookkeeping implements RelayBookkeeping {
  probes: Array<{ seq: number; writtenAt: string }> = [];
  window: LostWindow | undefined;
  private firstWrittenAt: string | undefined;

  constructor(private readonly heartbeat: RecordingHeartbeat) {}

  async writeProbe(now: Date): Promise<{ seq: number; firstWrittenAt: string }> {
    const probe = { seq: this.probes.length + 1, writtenAt: now.toISOString() };
    this.probes.push(probe);
    this.firstWrittenAt ??= probe.writtenAt;
    return { seq: probe.seq, firstWrittenAt: this.firstWrittenAt };
  }

  async readHeartbeat(): Promise<Heartbeat | undefined> {
    const seen = this.heartbeat.seen;
    return seen ? { seenSeq: seen.seq, seenWrittenAt: seen.writtenAt } : undefined;
  }

  async readLostWindow(): Promise<LostWindow | undefined> {
    return this.window ? { ...this.window } : undefined;
  }

  async saveLostWindow(window: LostWindow): Promise<void> {
    this.window = { ...window };
  }

  async deleteLostWindow(): Promise<void> {
    this.window = undefined;
  }
}

/** The failure bucket in memory: what the stream mapping discarded, and what the sweeper keeps. */
export class InMemoryFailedBatches implements FailedBatchStore {
  readonly batches = new Map<string, FailedBatch>();
  private next = 0;

  /** Stores a batch as the stream mapping's on-failure destination would. */
  discard(records: DynamoDBRecord[], firstFailedAt: string): string {
    const key = `aws/lambda/${firstFailedAt}/${this.next++}`;
    this.batches.set(key, { key, records: structuredClone(records), firstFailedAt, attempts: 0 });
    return key;
  }

  async list(limit: number) {
    return [...this.batches.values()]
      .sort((a, b) => a.firstFailedAt.localeCompare(b.firstFailedAt))
      .slice(0, limit)
      .map(({ key, firstFailedAt }) => ({ key, firstFailedAt }));
  }

  async read(key: string): Promise<FailedBatch> {
    const batch = this.batches.get(key);
    if (!batch) throw new Error(`no failed batch ${key}`);
    return structuredClone(batch);
  }

  async keep(batch: Omit<FailedBatch, 'key'>): Promise<void> {
    const key = `sweeper/retry/${batch.firstFailedAt}/${this.next++}`;
    this.batches.set(key, { ...structuredClone(batch), key });
  }

  async delete(key: string): Promise<void> {
    this.batches.delete(key);
  }

  /** Every record still kept, in every batch. */
  records(): DynamoDBRecord[] {
    return [...this.batches.values()].flatMap((batch) => batch.records);
  }
}

/** A table scan over the in-memory outbox, by commit time, a page of `limit` items at a time. */
export class InMemoryScanner implements OutboxScanner {
  readonly pages: Array<{ readonly from: string; readonly to: string; readonly cursor?: string }> = [];

  constructor(private readonly table: InMemoryOutboxTable) {}

  async scan(from: string, to: string, cursor: string | undefined, limit: number) {
    this.pages.push({ from, to, ...(cursor ? { cursor } : {}) });
    const all = this.table.all();
    const start = cursor ? Number(cursor) : 0;
    const page = all.slice(start, start + limit);
    const items = page.filter(
      (item) =>
        item.entityType === ENTITY_TYPES.outbox &&
        String(item.occurredAt) >= from &&
        String(item.occurredAt) < to,
    );
    const nextStart = start + page.length;
    return { items, ...(nextStart < all.length ? { cursor: String(nextStart) } : {}) };
  }
}

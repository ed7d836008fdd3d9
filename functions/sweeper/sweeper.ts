import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { ENTITY_TYPES, KEYS, parseOutboxSk } from '../../contract/keys';
import { ValidationError } from '../shared/errors';
import { STATE_ATTRIBUTES } from '../shared/outbox-item';
import type { FailedBatch, LostWindow, SweeperPorts } from './ports';

/** What a sweep found and did. */
export interface SweepResult {
  /** Seconds since the newest probe the relay has read was written (how far behind the relay is). */
  readonly relayProbeLagSeconds: number;
  /** Age of the oldest discarded batch or lost window not yet re-published (0 when none). */
  readonly oldestUnrecoveredAgeSeconds: number;
  /** Stream records handed to the relay core that it published. */
  readonly recordsRecovered: number;
  /** Records the relay core could not publish this time (kept for the next sweep). */
  readonly recoveryFailures: number;
  /** Records given up after every attempt (sent to the relay failure queue). */
  readonly recoveryGivenUp: number;
  /** 1 when this sweep found the relay stopped long enough for stream records to expire. */
  readonly lostWindowsOpened: number;
}

/** Options of a {@link Sweeper}. */
export interface SweeperOptions {
  /** How often the sweeper runs; the relay is healthy when it has read a probe this recent. */
  readonly intervalSeconds: number;
  /** Sweeps a discarded batch is retried before it is given up. @default 12 */
  readonly maxAttempts?: number;
  /** Most stream records re-published per sweep. @default 5000 */
  readonly recordBudget?: number;
  /** Records per relay call. @default 100 */
  readonly batchSize?: number;
  /** @default Date.now */
  readonly now?: () => number;
  /** Milliseconds left before the function must return. @default unlimited */
  readonly remainingMs?: () => number;
}

/** DynamoDB Streams keeps a record 24 hours. */
const STREAM_RETENTION_MS = 24 * 3600_000;
/** Open a lost window this long before records could expire, to be safe from clock drift and late sweeps. */
const EXPIRY_MARGIN_MS = 3600_000;
/** How far before the last probe the relay read a lost window starts: commits in flight around it. */
const WINDOW_LEAD_MS = 15 * 60_000;
/** Stop starting work with this little time left. */
const TIME_RESERVE_MS = 10_000;

/**
 * Recovers what the stream did not deliver to the relay, with no per-event bookkeeping:
 *
 * 1. It writes a probe on every run; the relay records the newest probe it reads (the
 *    heartbeat). The age of that probe is the relay's lag, whatever the traffic: an idle outbox
 *    still has probes.
 * 2. Batches the stream mapping discarded (retries exhausted or record age exceeded) are in the
 *    failure bucket with their records (the S3 on-failure destination carries them): it feeds
 *    them through the relay core, oldest first; what still fails is kept and retried next run,
 *    and given up to the relay failure queue after `maxAttempts`. A stuck aggregate fails only
 *    its own records, so it never holds back another's recovery.
 * 3. When the relay has read no probe for nearly the stream's 24 hours (its mapping disabled, say),
 *    records are about to expire unread: it opens a lost window at the last probe read; once the
 *    relay reads probes again it closes the window and re-publishes every outbox event committed
 *    in it, page by page of a table scan, through the relay core.
 *
 * Re-publishing is safe: FIFO deduplication and the consumers' idempotency and checkpoints absorb
 * what had in fact been published.
 */
export class Sweeper {
  private readonly maxAttempts: number;
  private readonly recordBudget: number;
  private readonly batchSize: number;
  private readonly now: () => number;
  private readonly remainingMs: () => number;

  constructor(
    private readonly ports: SweeperPorts,
    private readonly options: SweeperOptions,
  ) {
    positiveInt('options.intervalSeconds', options.intervalSeconds);
    this.maxAttempts = positiveInt('options.maxAttempts', options.maxAttempts ?? 12);
    this.recordBudget = positiveInt('options.recordBudget', options.recordBudget ?? 5000);
    this.batchSize = positiveInt('options.batchSize', options.batchSize ?? 100);
    this.now = options.now ?? Date.now;
    this.remainingMs = options.remainingMs ?? (() => Number.POSITIVE_INFINITY);
  }

  /** One sweep: probe, lost windows, discarded batches. */
  async sweep(): Promise<SweepResult> {
    const now = this.now();
    const counts = { recovered: 0, failures: 0, givenUp: 0, opened: 0, budget: this.recordBudget };
    const { firstWrittenAt } = await this.ports.bookkeeping.writeProbe(new Date(now));
    const heartbeat = await this.ports.bookkeeping.readHeartbeat();
    const lastSeen = Date.parse(heartbeat?.seenWrittenAt ?? firstWrittenAt);
    const lagMs = Math.max(0, now - lastSeen);
    const window = await this.trackLostWindow(lagMs, lastSeen, now, counts);
    if (window?.to) await this.recoverWindow(window, counts);
    const oldestBatch = await this.recoverFailedBatches(counts);
    const oldest = Math.min(oldestBatch ?? now, window ? Date.parse(window.from) : now);
    return {
      relayProbeLagSeconds: Math.round(lagMs / 1000),
      oldestUnrecoveredAgeSeconds: Math.max(0, Math.round((now - oldest) / 1000)),
      recordsRecovered: counts.recovered,
      recoveryFailures: counts.failures,
      recoveryGivenUp: counts.givenUp,
      lostWindowsOpened: counts.opened,
    };
  }

  /** Opens a window when records are about to expire unread, closes it when the relay reads again. */
  private async trackLostWindow(
    lagMs: number,
    lastSeen: number,
    now: number,
    counts: { opened: number },
  ): Promise<LostWindow | undefined> {
    const window = await this.ports.bookkeeping.readLostWindow();
    if (!window && lagMs > STREAM_RETENTION_MS - EXPIRY_MARGIN_MS) {
      const opened: LostWindow = {
        from: new Date(lastSeen - WINDOW_LEAD_MS).toISOString(),
        openedAt: new Date(now).toISOString(),
      };
      await this.ports.bookkeeping.saveLostWindow(opened);
      counts.opened++;
      this.ports.telemetry.error(
        'the relay has read no stream record for nearly 24 hours; a lost window is open',
        {
          from: opened.from,
          lagSeconds: Math.round(lagMs / 1000),
        },
      );
      return opened;
    }
    if (window && !window.to && lagMs <= 2 * this.options.intervalSeconds * 1000) {
      const closed = { ...window, to: new Date(now).toISOString() };
      await this.ports.bookkeeping.saveLostWindow(closed);
      return closed;
    }
    return window;
  }

  /** Re-publishes the outbox events committed in a closed window, a page at a time within budget. */
  private async recoverWindow(
    window: LostWindow,
    counts: { budget: number; recovered: number; failures: number },
  ) {
    let cursor = window.cursor;
    do {
      if (counts.budget <= 0 || this.remainingMs() < TIME_RESERVE_MS) {
        await this.ports.bookkeeping.saveLostWindow({ ...window, ...(cursor ? { cursor } : {}) });
        return;
      }
      const page = await this.ports.scanner.scan(
        window.from,
        window.to ?? window.from,
        cursor,
        this.batchSize,
      );
      const records = windowRecords(page.items);
      const failed = await this.publish(records, counts);
      if (failed.length > 0) {
        await this.ports.failedBatches.keep({ records: failed, firstFailedAt: window.from, attempts: 1 });
      }
      cursor = page.cursor;
    } while (cursor);
    await this.ports.bookkeeping.deleteLostWindow();
  }

  /** Re-publishes discarded batches, oldest first; returns when the oldest still kept first failed. */
  private async recoverFailedBatches(counts: {
    budget: number;
    recovered: number;
    failures: number;
    givenUp: number;
  }): Promise<number | undefined> {
    let oldest: number | undefined;
    for (const { key, firstFailedAt } of await this.ports.failedBatches.list(1000)) {
      if (counts.budget <= 0 || this.remainingMs() < TIME_RESERVE_MS) {
        oldest = Math.min(oldest ?? Number.POSITIVE_INFINITY, Date.parse(firstFailedAt));
        continue;
      }
      const batch = await this.ports.failedBatches.read(key);
      const failed = await this.publish(batch.records, counts);
      if (failed.length > 0 && batch.attempts + 1 >= this.maxAttempts) {
        await this.giveUp(batch, failed);
        counts.givenUp += failed.length;
      } else if (failed.length > 0) {
        await this.ports.failedBatches.keep({
          records: failed,
          firstFailedAt: batch.firstFailedAt,
          attempts: batch.attempts + 1,
        });
        oldest = Math.min(oldest ?? Number.POSITIVE_INFINITY, Date.parse(batch.firstFailedAt));
      }
      await this.ports.failedBatches.delete(key);
    }
    return oldest;
  }

  /** Feeds records through the relay core in batches; returns the ones it could not publish. */
  private async publish(
    records: ReadonlyArray<DynamoDBRecord>,
    counts: { budget: number; recovered: number; failures: number },
  ): Promise<DynamoDBRecord[]> {
    const failed = await relayRecords(this.ports.relay, records, this.batchSize);
    counts.budget -= records.length;
    counts.recovered += records.length - failed.length;
    counts.failures += failed.length;
    if (failed.length > 0) {
      this.ports.telemetry.warn(
        'the relay core could not publish some recovered records; the next sweep retries',
        {
          failed: failed.length,
        },
      );
    }
    return failed;
  }

  private async giveUp(batch: FailedBatch, failed: ReadonlyArray<DynamoDBRecord>): Promise<void> {
    this.ports.telemetry.error(
      'recovery given up after every attempt; records sent to the relay failure queue',
      {
        records: failed.length,
        firstFailedAt: batch.firstFailedAt,
      },
    );
    for (const record of failed) {
      const keys = record.dynamodb?.Keys as Record<string, AttributeValue> | undefined;
      await this.ports.failures.send({
        reason: 'RecoveryGivenUp',
        error: `the relay could not publish this record in ${this.maxAttempts} sweeps since ${batch.firstFailedAt}`,
        aggregateKey: keys?.pk?.S,
        streamSequenceNumber: record.dynamodb?.SequenceNumber,
        item: record.dynamodb?.NewImage,
      });
    }
  }
}

/**
 * Feeds stream records through the relay core, `batchSize` a call, in order; returns the records
 * it reported as failed.
 */
export async function relayRecords(
  relay: SweeperPorts['relay'],
  records: ReadonlyArray<DynamoDBRecord>,
  batchSize: number,
): Promise<DynamoDBRecord[]> {
  const failed: DynamoDBRecord[] = [];
  for (let i = 0; i < records.length; i += batchSize) {
    const batch = records.slice(i, i + batchSize);
    const response = await relay.handle(batch);
    const ids = new Set(response.batchItemFailures.map((failure) => failure.itemIdentifier));
    for (const record of batch) if (ids.has(record.dynamodb?.SequenceNumber ?? '')) failed.push(record);
  }
  return failed;
}

/**
 * Scanned outbox items dressed as the stream records the relay reads: per aggregate, one state
 * record announcing the range of sequences the page holds, and the outbox records carrying them.
 */
export function windowRecords(items: ReadonlyArray<Record<string, unknown>>): DynamoDBRecord[] {
  const byAggregate = new Map<string, Array<Record<string, unknown>>>();
  for (const item of items) {
    if (item.entityType !== ENTITY_TYPES.outbox || typeof item.pk !== 'string') continue;
    byAggregate.set(item.pk, [...(byAggregate.get(item.pk) ?? []), item]);
  }
  const records: DynamoDBRecord[] = [];
  for (const [pk, outbox] of byAggregate) {
    const sequences = outbox
      .map((item) => parseOutboxSk(String(item.sk)))
      .filter((s): s is number => s !== undefined);
    if (sequences.length === 0) continue;
    const announcement = {
      pk,
      sk: KEYS.stateSk,
      entityType: ENTITY_TYPES.aggregate,
      [STATE_ATTRIBUTES.committedFrom]: Math.min(...sequences),
      [STATE_ATTRIBUTES.version]: Math.max(...sequences),
    };
    records.push(syntheticRecord(announcement), ...outbox.map(syntheticRecord));
  }
  return records;
}

/** An item read from the table, dressed as the stream record the relay expects. */
export function syntheticRecord(item: Record<string, unknown>): DynamoDBRecord {
  const image = marshall(item, { removeUndefinedValues: true }) as Record<string, AttributeValue>;
  const id = `sweep:${String(item.pk)}:${String(item.sk)}:${String(item[STATE_ATTRIBUTES.committedFrom] ?? '')}`;
  return {
    eventID: id,
    eventName: 'INSERT',
    eventSource: 'aws:dynamodb',
    eventVersion: '1.1',
    dynamodb: {
      Keys: { pk: { S: String(item.pk) }, sk: { S: String(item.sk) } },
      NewImage: image as never,
      // Only used as the item identifier in the relay's response.
      SequenceNumber: id,
      StreamViewType: 'NEW_IMAGE',
    },
  };
}

function positiveInt(field: string, value: number): number {
  if (!Number.isInteger(value) || value < 1)
    throw new ValidationError(field, 'must be a positive integer', value);
  return value;
}

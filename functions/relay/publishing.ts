import { LIMITS, utf8Bytes } from '../shared/limits';
import type { StoredOutboxEvent } from '../shared/outbox-item';
import { eventBridgeEntrySize } from '../shared/outbox-writer';
import { backoffDelay, callBatch, chunkBySizeAndCount, nextFifoBatch } from './batching';
import type { EntryFailure, FifoMessage, RelayPorts } from './ports';

/** Retry settings of the publishers. */
export interface PublishSettings {
  readonly maxAttempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  readonly concurrency: number;
}

/**
 * Called when a target refuses an entry for good (the entry is at fault): sinks the event to the
 * failure queue and returns true, or returns false when it could not (then the entry counts as
 * failing, to be retried).
 */
export type RejectionSink = (
  event: StoredOutboxEvent,
  target: string,
  failure: EntryFailure,
) => Promise<boolean>;

/** Per aggregate key, the lowest sequence a target did not take (after every retry). */
export type FirstFailures = Map<string, number>;

const SQS_ENTRY_OVERHEAD = 200; // group id, dedup id and attribute names, counted generously

/** Publishes chains to the bus and to FIFO queues, retrying only the entries that failed. */
export class Publisher {
  constructor(
    private readonly ports: RelayPorts,
    private readonly settings: PublishSettings,
    private readonly sleep: (ms: number) => Promise<void>,
    private readonly random: () => number,
  ) {}

  /** PutEvents in calls of 10 entries / 256 KB. An entry EventBridge refuses for good is sunk and stepped over. */
  async toBus(events: ReadonlyArray<StoredOutboxEvent>, onRejected: RejectionSink): Promise<FirstFailures> {
    const firstFailed: FirstFailures = new Map();
    let pending = [...events];
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt > 0) await this.sleep(this.delay(attempt));
      const batches = chunkBySizeAndCount(pending, (e) => eventBridgeEntrySize(e.envelope, e.json), {
        maxEntries: LIMITS.putEventsEntries,
        maxBytes: LIMITS.eventBridgeEntryBytes,
      });
      const retry: StoredOutboxEvent[] = [];
      const errors = new Set<string>();
      await mapWithConcurrency(batches, this.settings.concurrency, async (batch) => {
        for (const failure of await callBatch(() => this.ports.eventBus.putEvents(batch), batch.length)) {
          const event = batch[failure.index];
          if (!event) continue;
          if (failure.permanent && (await onRejected(event, 'eventbridge', failure))) continue;
          retry.push(event);
          // AWS's error codes and messages name actions and resources, never the entry's payload.
          errors.add(`${failure.code}: ${failure.message}`.slice(0, 300));
        }
      });
      if (retry.length === 0) break;
      if (attempt + 1 >= this.settings.maxAttempts) {
        for (const event of retry) lowest(firstFailed, event.pk, event.sequence);
        this.ports.telemetry.count('publishFailures', retry.length);
        this.ports.telemetry.warn('PutEvents entries still failing after retries; records will be retried', {
          failedEntries: retry.length,
          errors: [...errors].slice(0, 5),
        });
        break;
      }
      this.ports.telemetry.count('entriesRetried', retry.length);
      pending = retry;
    }
    return firstFailed;
  }

  /**
   * SendMessageBatch to one FIFO queue, per-aggregate order kept: at most one message per group
   * per call, and a group's next message goes only after its previous one is confirmed. An event
   * the queue refuses for good is sunk and replaced by a void marker, so the group moves on.
   */
  async toFifoQueue(
    queueUrl: string,
    chains: ReadonlyMap<string, ReadonlyArray<FifoMessage>>,
    onRejected: RejectionSink,
  ): Promise<FirstFailures> {
    const run = new FifoRun(queueUrl, chains, this.ports, this.settings, onRejected, (attempt) =>
      this.sleep(this.delay(attempt)),
    );
    await run.complete(this.settings.concurrency);
    if (run.firstFailed.size > 0) {
      this.ports.telemetry.warn(
        'SendMessageBatch entries still failing after retries; records will be retried',
        {
          queueUrl,
          aggregates: run.firstFailed.size,
          errors: [...run.lastErrors].slice(0, 5),
        },
      );
    }
    return run.firstFailed;
  }

  private delay(attempt: number): number {
    return backoffDelay(attempt, this.settings.baseDelayMs, this.settings.maxDelayMs, this.random);
  }
}

interface FifoGroup {
  readonly key: string;
  pending: FifoMessage[];
  attempts: number;
}

/** One publication to one FIFO queue: groups in flight, retries, first failures. */
class FifoRun {
  readonly firstFailed: FirstFailures = new Map();
  readonly lastErrors = new Set<string>();
  private readonly groups: FifoGroup[];
  private readonly inFlight = new Set<number>();
  private readonly running = new Set<Promise<void>>();
  private start = 0;
  private readonly limits = { maxEntries: LIMITS.sqsBatchEntries, maxBytes: LIMITS.sqsBatchBytes };

  constructor(
    private readonly queueUrl: string,
    chains: ReadonlyMap<string, ReadonlyArray<FifoMessage>>,
    private readonly ports: RelayPorts,
    private readonly settings: PublishSettings,
    private readonly onRejected: RejectionSink,
    private readonly backoff: (attempt: number) => Promise<void>,
  ) {
    this.groups = [...chains]
      .filter(([, list]) => list.length > 0)
      .map(([key, list]) => ({ key, pending: [...list], attempts: 0 }));
  }

  async complete(concurrency: number): Promise<void> {
    for (;;) {
      while (this.running.size < concurrency && this.launch()) {
        // keep launching while there are groups not in flight
      }
      if (this.running.size === 0) return;
      await Promise.race(this.running);
    }
  }

  private launch(): boolean {
    const available = this.groups.map((group, index) => ({
      key: group.key,
      pending: this.inFlight.has(index) ? [] : group.pending,
    }));
    const batch = nextFifoBatch(available, sizeOf, this.limits, this.start);
    if (batch.length === 0) return false;
    // A partial batch while others are in flight would only hold the groups that happen to be
    // free now; waiting for a call to return frees its groups and fills the next call instead.
    if (batch.length < this.limits.maxEntries && this.running.size > 0) return false;
    this.start = ((batch.at(-1)?.groupIndex ?? 0) + 1) % this.groups.length;
    for (const { groupIndex } of batch) this.inFlight.add(groupIndex);
    const call = this.call(batch);
    this.running.add(call);
    void call.finally(() => this.running.delete(call));
    return true;
  }

  private async call(batch: Array<{ groupIndex: number; item: FifoMessage }>): Promise<void> {
    const messages = batch.map((entry) => entry.item);
    const failures: EntryFailure[] = await callBatch(
      () => this.ports.queues.sendBatch(this.queueUrl, messages),
      messages.length,
    );
    const byIndex = new Map(failures.map((failure) => [failure.index, failure]));
    let maxAttempt = 0;
    for (const [index, { groupIndex, item }] of batch.entries()) {
      const group = this.groups[groupIndex];
      const failure = byIndex.get(index);
      if (!group) continue;
      if (!failure) {
        group.pending.shift();
        group.attempts = 0;
        continue;
      }
      this.lastErrors.add(`${failure.code}: ${failure.message}`.slice(0, 300));
      if (
        failure.permanent &&
        item.kind === 'event' &&
        (await this.onRejected(item.event, this.queueUrl, failure))
      ) {
        // Replaced in place, so the group's order holds and ordered consumers can step over it.
        group.pending[0] = { kind: 'void', void: voidOf(item.event, `RejectedByTarget: ${failure.code}`) };
        continue;
      }
      group.attempts++;
      maxAttempt = Math.max(maxAttempt, group.attempts);
      if (group.attempts >= this.settings.maxAttempts) {
        const head = group.pending[0];
        if (head) lowest(this.firstFailed, group.key, sequenceOf(head));
        this.ports.telemetry.count('publishFailures', 1);
        group.pending = [];
      } else {
        this.ports.telemetry.count('entriesRetried', 1);
      }
    }
    if (maxAttempt > 0) await this.backoff(maxAttempt);
    for (const { groupIndex } of batch) this.inFlight.delete(groupIndex);
  }
}

/** Bytes of a FIFO entry for packing: the body plus a capped margin, so one entry alone always fits. */
function sizeOf(message: FifoMessage): number {
  const body = message.kind === 'event' ? utf8Bytes(message.event.json) : 200;
  return Math.min(body + SQS_ENTRY_OVERHEAD, LIMITS.sqsBatchBytes);
}

function sequenceOf(message: FifoMessage): number {
  return message.kind === 'event' ? message.event.sequence : message.void.sequence;
}

function voidOf(event: StoredOutboxEvent, reason: string) {
  return {
    aggregateKey: event.pk,
    aggregateType: event.envelope.aggregatetype,
    aggregateId: event.envelope.aggregateid,
    sequence: event.sequence,
    eventId: event.envelope.id,
    reason,
  };
}

function lowest(map: FirstFailures, key: string, sequence: number): void {
  map.set(key, Math.min(map.get(key) ?? Number.POSITIVE_INFINITY, sequence));
}

/** Runs `fn` over `items` with at most `limit` in flight. */
export async function mapWithConcurrency<T>(
  items: ReadonlyArray<T>,
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++];
      if (item !== undefined) await fn(item);
    }
  });
  await Promise.all(workers);
}

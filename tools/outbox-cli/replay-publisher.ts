import { backoffDelay, callBatch, chunkBySizeAndCount, nextFifoBatch } from '../../functions/relay/batching';
import type { EventBusPublisher, QueuePublisher } from '../../functions/relay/ports';
import { LIMITS, utf8Bytes } from '../../functions/shared/limits';
import type { StoredOutboxEvent } from '../../functions/shared/outbox-item';
import { eventBridgeEntrySize } from '../../functions/shared/outbox-writer';

/** One aggregate's events, in sequence order. */
export interface AggregateEvents {
  readonly key: string;
  readonly events: ReadonlyArray<StoredOutboxEvent>;
}

/** Where a replay sends events. */
export interface ReplayDestinations {
  /** The event bus, through the relay's PutEvents adapter; absent when the bus is left out. */
  readonly bus?: { readonly label: string; readonly publisher: EventBusPublisher };
  /** Ordered FIFO queues, through the relay's SendMessageBatch adapter. */
  readonly queues: ReadonlyArray<{ readonly label: string; readonly url: string }>;
  readonly queuePublisher: QueuePublisher;
}

/** An event a destination did not take, and why. */
export interface ReplayFailure {
  readonly event: StoredOutboxEvent;
  readonly error: string;
}

/** What one destination took. */
export interface DestinationResult {
  readonly label: string;
  readonly sent: number;
  readonly failed: ReadonlyArray<ReplayFailure>;
  /** FIFO only: later events of an aggregate whose earlier event failed, not sent to keep order. */
  readonly heldBack: number;
}

/** Tuning of {@link replayEvents}. */
export interface ReplayTuning {
  /** Attempts per entry before giving up on it. @default 4 */
  readonly maxAttempts?: number;
  /** @default setTimeout-based sleep */
  readonly sleep?: (ms: number) => Promise<void>;
}

// As the relay: the SQS size is a packing margin for group id, deduplication id and attribute names.
const SQS_ENTRY_OVERHEAD = 200;

/**
 * Sends events again, as the relay would: the same envelope JSON, the same event ids (so FIFO
 * deduplication ids) and message groups, in per-aggregate order on every FIFO queue (one message
 * per group per SendMessageBatch, the next only after the previous is confirmed, and nothing
 * after an event that keeps failing). Failed entries are retried with backoff.
 *
 * Returns what each destination took, and the events every destination confirmed.
 */
export async function replayEvents(
  aggregates: ReadonlyArray<AggregateEvents>,
  destinations: ReplayDestinations,
  tuning: ReplayTuning = {},
): Promise<{ results: DestinationResult[]; confirmedEverywhere: StoredOutboxEvent[] }> {
  const maxAttempts = tuning.maxAttempts ?? 4;
  const sleep = tuning.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const results: DestinationResult[] = [];
  if (destinations.bus) {
    results.push(
      await publishToBus(destinations.bus.label, destinations.bus.publisher, aggregates, maxAttempts, sleep),
    );
  }
  for (const queue of destinations.queues) {
    results.push(
      await publishToFifoQueue(
        queue.label,
        queue.url,
        destinations.queuePublisher,
        aggregates,
        maxAttempts,
        sleep,
      ),
    );
  }
  const notEverywhere = new Set<StoredOutboxEvent>();
  for (const result of results) {
    for (const failure of result.failed) notEverywhere.add(failure.event);
  }
  // A FIFO destination holds back an aggregate's events after its first failure.
  const heldBackFrom = new Map<string, number>();
  for (const result of results) {
    for (const { event } of result.failed) {
      heldBackFrom.set(
        event.pk,
        Math.min(heldBackFrom.get(event.pk) ?? Number.POSITIVE_INFINITY, event.sequence),
      );
    }
  }
  const confirmedEverywhere = aggregates
    .flatMap((aggregate) => aggregate.events)
    .filter(
      (event) =>
        !notEverywhere.has(event) &&
        event.sequence < (heldBackFrom.get(event.pk) ?? Number.POSITIVE_INFINITY),
    );
  return { results, confirmedEverywhere };
}

async function publishToBus(
  label: string,
  publisher: EventBusPublisher,
  aggregates: ReadonlyArray<AggregateEvents>,
  maxAttempts: number,
  sleep: (ms: number) => Promise<void>,
): Promise<DestinationResult> {
  let pending = aggregates.flatMap((aggregate) => aggregate.events);
  const total = pending.length;
  const failed: ReplayFailure[] = [];
  for (let attempt = 0; pending.length > 0; attempt++) {
    if (attempt > 0) await sleep(backoffDelay(attempt, 50, 2000));
    const batches = chunkBySizeAndCount(pending, (e) => eventBridgeEntrySize(e.envelope, e.json), {
      maxEntries: LIMITS.putEventsEntries,
      maxBytes: LIMITS.eventBridgeEntryBytes,
    });
    const retry: Array<{ event: StoredOutboxEvent; error: string }> = [];
    for (const batch of batches) {
      for (const failure of await callBatch(() => publisher.putEvents(batch), batch.length)) {
        const event = batch[failure.index];
        if (event) retry.push({ event, error: `${failure.code}: ${failure.message}` });
      }
    }
    if (attempt + 1 >= maxAttempts) {
      failed.push(...retry);
      break;
    }
    pending = retry.map((entry) => entry.event);
  }
  return { label, sent: total - failed.length, failed, heldBack: 0 };
}

async function publishToFifoQueue(
  label: string,
  url: string,
  publisher: QueuePublisher,
  aggregates: ReadonlyArray<AggregateEvents>,
  maxAttempts: number,
  sleep: (ms: number) => Promise<void>,
): Promise<DestinationResult> {
  const groups = aggregates
    .filter((aggregate) => aggregate.events.length > 0)
    .map((aggregate) => ({ key: aggregate.key, pending: [...aggregate.events], attempts: 0 }));
  const sizeOf = (e: StoredOutboxEvent) =>
    Math.min(utf8Bytes(e.json) + SQS_ENTRY_OVERHEAD, LIMITS.sqsBatchBytes);
  const limits = { maxEntries: LIMITS.sqsBatchEntries, maxBytes: LIMITS.sqsBatchBytes };
  const failed: ReplayFailure[] = [];
  let sent = 0;
  let heldBack = 0;
  let start = 0;
  for (;;) {
    const batch = nextFifoBatch(groups, sizeOf, limits, start);
    if (batch.length === 0) break;
    start = ((batch.at(-1)?.groupIndex ?? 0) + 1) % groups.length;
    const failures = await callBatch(
      () =>
        publisher.sendBatch(
          url,
          batch.map((entry) => entry.item),
        ),
      batch.length,
    );
    const failedByIndex = new Map(failures.map((failure) => [failure.index, failure]));
    let retrying = 0;
    batch.forEach(({ groupIndex, item }, index) => {
      const group = groups[groupIndex];
      if (group === undefined) return;
      const failure = failedByIndex.get(index);
      if (failure === undefined) {
        group.pending.shift();
        group.attempts = 0;
        sent++;
        return;
      }
      group.attempts++;
      if (group.attempts < maxAttempts) {
        retrying = Math.max(retrying, group.attempts);
        return;
      }
      failed.push({ event: item, error: `${failure.code}: ${failure.message}` });
      heldBack += group.pending.length - 1;
      group.pending = [];
    });
    if (retrying > 0) await sleep(backoffDelay(retrying, 50, 2000));
  }
  return { label, sent, failed, heldBack };
}

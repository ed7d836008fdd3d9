import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBBatchResponse, DynamoDBRecord } from 'aws-lambda';
import { ValidationError } from '../shared/errors';
import { LIMITS, utf8Bytes } from '../shared/limits';
import { fromOutboxItem, KEYS, type StoredOutboxEvent } from '../shared/outbox-item';
import { eventBridgeEntrySize } from '../shared/outbox-writer';
import { backoffDelay, callBatch, chunkBySizeAndCount, nextFifoBatch } from './batching';
import type { RelayFailureMessage, RelayPorts } from './ports';

/** Tuning of a {@link Relay}. */
export interface RelayOptions {
  /** FIFO queues to publish to, one per ordered consumer. May be empty. */
  readonly queueUrls: ReadonlyArray<string>;
  /** Attempts per entry within one invocation before the record is left to the stream's retry. @default 4 */
  readonly maxAttempts?: number;
  /** @default 50 */
  readonly baseDelayMs?: number;
  /** @default 2000 */
  readonly maxDelayMs?: number;
  /** Batch calls in flight at once per target. @default 4 */
  readonly concurrency?: number;
}

/** A link of an aggregate's publish chain: the next sequence to publish, or a poisoned one to step over. */
type Link =
  | { readonly kind: 'event'; readonly sequence: number; readonly event: StoredOutboxEvent }
  | { readonly kind: 'poison'; readonly sequence: number; readonly message: RelayFailureMessage };

interface AggregateWork {
  readonly key: string;
  cursor: number;
  readonly fromStream: Map<number, Link>;
  readonly records: Array<{ readonly sequence: number; readonly streamSequenceNumber: string }>;
}

const SQS_ENTRY_OVERHEAD = 200; // group id, dedup id and attribute names, counted generously

/**
 * The relay's core: turns a batch of outbox stream records into published
 * events, in per-aggregate order, and says which records must be retried.
 *
 * Ordering does not rest on stream order. For each aggregate it reads the
 * publish cursor (highest sequence already on every target), drops records at
 * or below it (duplicates), reads from the table any sequence between the
 * cursor and the batch's highest that the stream has not delivered yet
 * (reordered or in a later batch), and publishes the contiguous chain
 * cursor+1, cursor+2, …; the cursor then moves to the end of what every target
 * confirmed. Records above the new cursor are reported as batch item failures,
 * so the stream redelivers them; the cursor makes the redelivery harmless.
 *
 * The stream is a doorbell; the table is the source of truth.
 */
export class Relay {
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly concurrency: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly now: () => number;
  private readonly random: () => number;

  constructor(
    private readonly ports: RelayPorts,
    private readonly options: RelayOptions,
  ) {
    if (
      !Array.isArray(options.queueUrls) ||
      !options.queueUrls.every((url) => typeof url === 'string' && url.length > 0)
    ) {
      throw new ValidationError('options.queueUrls', 'must be an array of queue URLs', options.queueUrls);
    }
    this.maxAttempts = positiveInt('options.maxAttempts', options.maxAttempts ?? 4);
    this.baseDelayMs = positiveInt('options.baseDelayMs', options.baseDelayMs ?? 50);
    this.maxDelayMs = positiveInt('options.maxDelayMs', options.maxDelayMs ?? 2000);
    this.concurrency = positiveInt('options.concurrency', options.concurrency ?? 4);
    this.sleep = ports.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.now = ports.now ?? Date.now;
    this.random = ports.random ?? Math.random;
  }

  /** Processes one stream batch; the result is the Lambda partial batch response. */
  async handle(records: ReadonlyArray<DynamoDBRecord>): Promise<DynamoDBBatchResponse> {
    if (!Array.isArray(records))
      throw new ValidationError('records', 'must be an array of DynamoDB stream records', records);
    const failed = new Set<string>();
    const aggregates = new Map<string, AggregateWork>();

    for (const record of records) {
      const streamSequenceNumber = record.dynamodb?.SequenceNumber;
      if (!streamSequenceNumber) {
        // Without a sequence number the record cannot be checkpointed or reported; Lambda always sets it.
        throw new ValidationError(
          'record.dynamodb.SequenceNumber',
          'is required on every stream record',
          streamSequenceNumber,
        );
      }
      const link = decodeRecord(record);
      const key = link.kind === 'event' ? link.event.pk : link.message.aggregateKey;
      if (key === undefined || link.sequence < 1) {
        // Not even the keys are readable: nothing to order it with. Quarantine it on its own.
        if (!(await this.sinkPoison((link as Extract<Link, { kind: 'poison' }>).message)))
          failed.add(streamSequenceNumber);
        continue;
      }
      let work = aggregates.get(key);
      if (!work) {
        work = { key, cursor: 0, fromStream: new Map(), records: [] };
        aggregates.set(key, work);
      }
      if (!work.fromStream.has(link.sequence)) work.fromStream.set(link.sequence, link);
      work.records.push({ sequence: link.sequence, streamSequenceNumber });
    }
    if (aggregates.size === 0) return report(failed, this.ports);

    const cursors = await this.ports.cursors.get([...aggregates.keys()]);
    for (const work of aggregates.values()) work.cursor = cursors.get(work.key) ?? 0;

    const chains = new Map<string, Link[]>();
    await Promise.all(
      [...aggregates.values()].map(async (work) => {
        chains.set(work.key, await this.buildChain(work));
      }),
    );

    // Step over sunk poison; a poison that could not be sunk ends its chain.
    const publishable = new Map<string, StoredOutboxEvent[]>();
    const chainEnd = new Map<string, number>();
    for (const [key, chain] of chains) {
      const events: StoredOutboxEvent[] = [];
      let end = aggregates.get(key)?.cursor ?? 0;
      for (const link of chain) {
        if (link.kind === 'poison' && !(await this.sinkPoison(link.message))) break;
        if (link.kind === 'event') events.push(link.event);
        end = link.sequence;
      }
      publishable.set(key, events);
      chainEnd.set(key, end);
    }

    const [busFailures, ...queueFailures] = await Promise.all([
      this.publishToBus([...publishable.values()].flat()),
      ...this.options.queueUrls.map((url) => this.publishToFifoQueue(url, publishable)),
    ]);

    let published = 0;
    const toClear: Array<{ key: string; sequences: number[] }> = [];
    await Promise.all(
      [...aggregates.values()].map(async (work) => {
        const firstFailed = Math.min(
          busFailures?.get(work.key) ?? Number.POSITIVE_INFINITY,
          ...queueFailures.map((failures) => failures.get(work.key) ?? Number.POSITIVE_INFINITY),
        );
        const confirmedThrough = Math.min(chainEnd.get(work.key) ?? work.cursor, firstFailed - 1);
        let newCursor = work.cursor;
        if (confirmedThrough > work.cursor) {
          try {
            await this.ports.cursors.advance(work.key, work.cursor, confirmedThrough);
            newCursor = confirmedThrough;
            const cleared = (chains.get(work.key) ?? []).filter((link) => link.sequence <= confirmedThrough);
            if (cleared.length > 0)
              toClear.push({ key: work.key, sequences: cleared.map((link) => link.sequence) });
            for (const event of publishable.get(work.key) ?? []) {
              if (event.sequence > confirmedThrough) break;
              published++;
              this.ports.telemetry.publishLag(this.now() - Date.parse(event.envelope.time));
            }
          } catch (error) {
            // Published but not recorded: the records are retried and republished; targets dedupe.
            this.ports.telemetry.error('cursor update failed; records will be retried', {
              aggregateKey: work.key,
              from: work.cursor,
              to: confirmedThrough,
              error: (error as Error).message,
            });
          }
        }
        let duplicates = 0;
        for (const record of work.records) {
          if (record.sequence <= work.cursor) duplicates++;
          if (record.sequence > newCursor) failed.add(record.streamSequenceNumber);
        }
        if (duplicates > 0) this.ports.telemetry.count('DuplicateRecordsSkipped', duplicates);
      }),
    );
    this.ports.telemetry.count('EventsPublished', published);
    await this.clearPendingMarks(toClear);
    return report(failed, this.ports);
  }

  /** Clears the pending marks of what was published; a failure is logged and left to the sweeper. */
  private async clearPendingMarks(
    toClear: ReadonlyArray<{ key: string; sequences: number[] }>,
  ): Promise<void> {
    let notCleared = 0;
    await mapWithConcurrency([...toClear], this.concurrency * 4, async ({ key, sequences }) => {
      try {
        await this.ports.pending.clear(key, sequences);
      } catch (error) {
        notCleared += sequences.length;
        this.ports.telemetry.warn('pending marks not cleared; the sweeper will clear them', {
          aggregateKey: key,
          error: (error as Error).message,
        });
      }
    });
    this.ports.telemetry.count('PendingMarksNotCleared', notCleared);
  }

  /** Chain of links cursor+1.. up to the batch's highest sequence, filling stream gaps from the table. */
  private async buildChain(work: AggregateWork): Promise<Link[]> {
    const highest = Math.max(...work.fromStream.keys());
    if (highest <= work.cursor) return [];
    const links = new Map(work.fromStream);
    let missing = false;
    for (let sequence = work.cursor + 1; sequence <= highest && !missing; sequence++)
      missing = !links.has(sequence);
    if (missing) {
      const items = await this.ports.outbox.readRange(work.key, work.cursor + 1, highest);
      let filled = 0;
      for (const item of items) {
        const link = decodeItem(item, work.key);
        if (!links.has(link.sequence)) {
          links.set(link.sequence, link);
          filled++;
        }
      }
      this.ports.telemetry.count('GapEventsReadFromTable', filled);
    }
    const chain: Link[] = [];
    for (let sequence = work.cursor + 1; sequence <= highest; sequence++) {
      const link = links.get(sequence);
      if (!link) {
        // Committed outbox items are visible to a consistent read before their stream record exists,
        // so a hole here means the item is gone (TTL) or was written around the writer.
        this.ports.telemetry.warn('outbox sequence missing from stream and table; later events wait', {
          aggregateKey: work.key,
          sequence,
        });
        break;
      }
      chain.push(link);
    }
    return chain;
  }

  private async sinkPoison(message: RelayFailureMessage): Promise<boolean> {
    this.ports.telemetry.count('MalformedOutboxItems', 1);
    this.ports.telemetry.error('outbox item cannot be published; sent to the relay failure queue', {
      reason: message.reason,
      error: message.error,
      aggregateKey: message.aggregateKey,
      sequence: message.sequence,
    });
    try {
      await this.ports.failures.send(message);
      return true;
    } catch (error) {
      this.ports.telemetry.error('relay failure queue refused the message; the record will be retried', {
        error: (error as Error).message,
      });
      return false;
    }
  }

  /** PutEvents in batches of 10 / 256 KB, retrying only failed entries. Returns the lowest failed sequence per aggregate. */
  private async publishToBus(events: StoredOutboxEvent[]): Promise<Map<string, number>> {
    const firstFailed = new Map<string, number>();
    let pending = events;
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt > 0)
        await this.sleep(backoffDelay(attempt, this.baseDelayMs, this.maxDelayMs, this.random));
      const batches = chunkBySizeAndCount(pending, (e) => eventBridgeEntrySize(e.envelope, e.json), {
        maxEntries: LIMITS.putEventsEntries,
        maxBytes: LIMITS.eventBridgeEntryBytes,
      });
      const retry: StoredOutboxEvent[] = [];
      await mapWithConcurrency(batches, this.concurrency, async (batch) => {
        for (const failure of await callBatch(() => this.ports.eventBus.putEvents(batch), batch.length)) {
          const event = batch[failure.index];
          if (event) retry.push(event);
        }
      });
      if (retry.length === 0) break;
      if (attempt + 1 >= this.maxAttempts) {
        for (const event of retry) {
          firstFailed.set(
            event.pk,
            Math.min(firstFailed.get(event.pk) ?? Number.POSITIVE_INFINITY, event.sequence),
          );
        }
        this.ports.telemetry.count('PublishFailures', retry.length);
        this.ports.telemetry.warn('PutEvents entries still failing after retries; records will be retried', {
          failedEntries: retry.length,
        });
        break;
      }
      this.ports.telemetry.count('EntriesRetried', retry.length);
      pending = retry;
    }
    return firstFailed;
  }

  /**
   * SendMessageBatch to one FIFO queue, per-aggregate order kept: at most one
   * message per group per call, and a group's next message is sent only after
   * its previous one is confirmed. Returns the first sequence that could not be
   * sent, per aggregate.
   */
  private async publishToFifoQueue(
    queueUrl: string,
    events: Map<string, StoredOutboxEvent[]>,
  ): Promise<Map<string, number>> {
    const groups = [...events]
      .filter(([, list]) => list.length > 0)
      .map(([key, list]) => ({ key, pending: [...list], attempts: 0 }));
    const firstFailed = new Map<string, number>();
    const lastErrors = new Set<string>();
    const inFlight = new Set<number>();
    // The overhead is a packing margin only: capped, so that an event EventBridge accepts (its body is then
    // under the SQS limit) still fits a batch on its own instead of never being picked, and so never sent.
    const sizeOf = (e: StoredOutboxEvent) =>
      Math.min(utf8Bytes(e.json) + SQS_ENTRY_OVERHEAD, LIMITS.sqsBatchBytes);
    const limits = { maxEntries: LIMITS.sqsBatchEntries, maxBytes: LIMITS.sqsBatchBytes };
    let start = 0;
    const running = new Set<Promise<void>>();

    const launch = (): boolean => {
      const available = groups.map((group, index) => ({
        key: group.key,
        pending: inFlight.has(index) ? [] : group.pending,
      }));
      const batch = nextFifoBatch(available, sizeOf, limits, start);
      if (batch.length === 0) return false;
      // A partial batch while others are in flight would only hold the groups that happen to be
      // free now; waiting for a call to return frees its groups and fills the next call instead.
      if (batch.length < limits.maxEntries && running.size > 0) return false;
      start = ((batch.at(-1)?.groupIndex ?? 0) + 1) % groups.length;
      for (const { groupIndex } of batch) inFlight.add(groupIndex);
      const call = (async () => {
        const failures = await callBatch(
          () =>
            this.ports.queues.sendBatch(
              queueUrl,
              batch.map((entry) => entry.item),
            ),
          batch.length,
        );
        const failedIndexes = new Set(failures.map((f) => f.index));
        for (const failure of failures) lastErrors.add(`${failure.code}: ${failure.message}`.slice(0, 200));
        let maxAttempt = 0;
        batch.forEach(({ groupIndex }, index) => {
          const group = groups[groupIndex];
          if (!group) return;
          if (!failedIndexes.has(index)) {
            group.pending.shift();
            group.attempts = 0;
            return;
          }
          group.attempts++;
          maxAttempt = Math.max(maxAttempt, group.attempts);
          if (group.attempts >= this.maxAttempts) {
            const head = group.pending[0];
            if (head) firstFailed.set(group.key, head.sequence);
            this.ports.telemetry.count('PublishFailures', 1);
            group.pending = [];
          } else {
            this.ports.telemetry.count('EntriesRetried', 1);
          }
        });
        if (maxAttempt > 0)
          await this.sleep(backoffDelay(maxAttempt, this.baseDelayMs, this.maxDelayMs, this.random));
        for (const { groupIndex } of batch) inFlight.delete(groupIndex);
      })();
      running.add(call);
      void call.finally(() => running.delete(call));
      return true;
    };

    for (;;) {
      while (running.size < this.concurrency && launch()) {
        // keep launching while there are groups not in flight
      }
      if (running.size === 0) break;
      await Promise.race(running);
    }
    if (firstFailed.size > 0) {
      this.ports.telemetry.warn(
        'SendMessageBatch entries still failing after retries; records will be retried',
        {
          queueUrl,
          aggregates: firstFailed.size,
          errors: [...lastErrors].slice(0, 5),
        },
      );
    }
    return firstFailed;
  }
}

function report(failed: Set<string>, ports: RelayPorts): DynamoDBBatchResponse {
  if (failed.size > 0) ports.telemetry.count('RecordsReportedFailed', failed.size);
  return { batchItemFailures: [...failed].map((itemIdentifier) => ({ itemIdentifier })) };
}

/** Decodes a stream record's NewImage; anything unreadable becomes a poison link carrying the reason. */
export function decodeRecord(record: DynamoDBRecord): Link {
  const image = record.dynamodb?.NewImage as Record<string, AttributeValue> | undefined;
  const keys = record.dynamodb?.Keys as Record<string, AttributeValue> | undefined;
  const aggregateKey = keys?.pk?.S;
  const sequence = sequenceFromSk(keys?.sk?.S);
  const base = {
    aggregateKey,
    sequence,
    eventSourceARN: record.eventSourceARN,
    streamSequenceNumber: record.dynamodb?.SequenceNumber,
  };
  if (!image) {
    return {
      kind: 'poison',
      sequence: sequence ?? 0,
      message: {
        reason: 'MalformedOutboxItem',
        error: 'stream record has no NewImage (is the stream view NEW_IMAGE?)',
        ...base,
      },
    };
  }
  let plain: Record<string, unknown>;
  try {
    plain = unmarshall(image);
  } catch (error) {
    return {
      kind: 'poison',
      sequence: sequence ?? 0,
      message: {
        reason: 'MalformedOutboxItem',
        error: `NewImage cannot be unmarshalled: ${(error as Error).message}`,
        ...base,
      },
    };
  }
  return decodeItem(plain, aggregateKey, base);
}

function decodeItem(
  item: Record<string, unknown>,
  expectedKey: string | undefined,
  base?: Partial<RelayFailureMessage>,
): Link {
  const sequence = sequenceFromSk(typeof item.sk === 'string' ? item.sk : undefined) ?? 0;
  try {
    const event = fromOutboxItem(item);
    if (expectedKey !== undefined && event.pk !== expectedKey) {
      throw new ValidationError('outboxItem.pk', `must equal the record key ${expectedKey}`, event.pk);
    }
    const entryBytes = eventBridgeEntrySize(event.envelope, event.json);
    if (entryBytes > LIMITS.eventBridgeEntryBytes) {
      return {
        kind: 'poison',
        sequence: event.sequence,
        message: {
          ...base,
          reason: 'OversizeEvent',
          error: `EventBridge entry would be ${entryBytes} bytes, over ${LIMITS.eventBridgeEntryBytes}`,
          aggregateKey: event.pk,
          sequence: event.sequence,
          item,
        },
      };
    }
    return { kind: 'event', sequence: event.sequence, event };
  } catch (error) {
    return {
      kind: 'poison',
      sequence,
      message: {
        ...base,
        reason: 'MalformedOutboxItem',
        error: (error as Error).message,
        aggregateKey: expectedKey ?? (typeof item.pk === 'string' ? item.pk : undefined),
        sequence: sequence || undefined,
        item,
      },
    };
  }
}

function sequenceFromSk(sk: string | undefined): number | undefined {
  if (!sk?.startsWith(KEYS.outboxSkPrefix)) return undefined;
  const value = Number(sk.slice(KEYS.outboxSkPrefix.length));
  return Number.isSafeInteger(value) && value > 0 ? value : undefined;
}

async function mapWithConcurrency<T>(
  items: T[],
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

function positiveInt(field: string, value: number): number {
  if (!Number.isInteger(value) || value < 1)
    throw new ValidationError(field, 'must be a positive integer', value);
  return value;
}

import type { DynamoDBBatchResponse, DynamoDBRecord } from 'aws-lambda';
import { ValidationError } from '../shared/errors';
import type { StoredOutboxEvent } from '../shared/outbox-item';
import type { EntryFailure, FifoMessage, RelayFailureMessage, RelayPorts } from './ports';
import { type FirstFailures, mapWithConcurrency, Publisher } from './publishing';
import { type Announcement, type BatchPlan, decodeOutboxItem, type Link, planBatch, voided } from './records';

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

/** An aggregate's chain for this batch: what to publish, in sequence order, and who announced it. */
interface Chain {
  readonly key: string;
  readonly announcements: ReadonlyArray<Announcement>;
  /** Links in sequence order; cut short where a poison item could not be sunk. */
  links: Link[];
}

/**
 * The relay's core: turns a batch of stream records into published events, in per-aggregate
 * order, and says which records must be retried. It makes no DynamoDB write per event.
 *
 * What to publish comes from the aggregates' state records: each announces the sequences its
 * transaction committed, and DynamoDB delivers one item's stream records in order, so an
 * aggregate's transactions reach the relay in commit order. The payloads come from the batch's
 * outbox records, or, for a transaction whose outbox records are in another batch, from one
 * consistent Query of the table. A state record is acknowledged only when every event it
 * announced is on the bus and on every FIFO queue; otherwise it is reported as a batch item
 * failure and Lambda retries from it. A retry publishes again what had gone out: FIFO
 * deduplication and the consumers' idempotency and checkpoints absorb it.
 *
 * What no target can carry is poison: it goes to the relay failure queue with its reason and is
 * stepped over, with a void marker in its place on FIFO queues so that ordered consumers move on.
 */
export class Relay {
  private readonly publisher: Publisher;
  private readonly now: () => number;
  private readonly concurrency: number;

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
    this.concurrency = positiveInt('options.concurrency', options.concurrency ?? 4);
    this.publisher = new Publisher(
      ports,
      {
        maxAttempts: positiveInt('options.maxAttempts', options.maxAttempts ?? 4),
        baseDelayMs: positiveInt('options.baseDelayMs', options.baseDelayMs ?? 50),
        maxDelayMs: positiveInt('options.maxDelayMs', options.maxDelayMs ?? 2000),
        concurrency: this.concurrency,
      },
      ports.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
      ports.random ?? Math.random,
    );
    this.now = ports.now ?? Date.now;
  }

  /** Processes one stream batch; the result is the Lambda partial batch response. */
  async handle(records: ReadonlyArray<DynamoDBRecord>): Promise<DynamoDBBatchResponse> {
    const plan = planBatch(records);
    const failed = new Set<string>();
    await this.sinkUnreadable(plan, failed);
    const chains = await this.buildChains(plan);
    await this.sinkPoison(chains);
    const failures = await this.publish(chains);
    this.settle(chains, failures, failed);
    await this.recordProbe(plan, failed);
    if (failed.size > 0) this.ports.telemetry.count('recordsReportedFailed', failed.size);
    return { batchItemFailures: [...failed].map((itemIdentifier) => ({ itemIdentifier })) };
  }

  /** Records that cannot even be placed go to the failure queue alone; retried if it refuses them. */
  private async sinkUnreadable(plan: BatchPlan, failed: Set<string>): Promise<void> {
    for (const { streamSequenceNumber, message } of plan.unreadable) {
      if (!(await this.sink(message))) failed.add(streamSequenceNumber);
    }
  }

  /** Each announcing aggregate's chain, reading from the table what the batch does not carry. */
  private async buildChains(plan: BatchPlan): Promise<Chain[]> {
    const chains: Chain[] = [];
    await mapWithConcurrency([...plan.announcements], this.concurrency * 4, async ([key, announcements]) => {
      const carried = plan.links.get(key) ?? new Map<number, Link>();
      const wanted = announcements.flatMap(({ from, to }) =>
        Array.from({ length: to - from + 1 }, (_, offset) => from + offset),
      );
      const missing = wanted.filter((sequence) => !carried.has(sequence));
      const read = missing.length > 0 ? await this.readMissing(key, missing) : new Map<number, Link>();
      const links = wanted.map(
        (sequence) =>
          carried.get(sequence) ??
          read.get(sequence) ?? {
            kind: 'poison' as const,
            sequence,
            message: {
              reason: 'MissingOutboxItem' as const,
              error: `the state item announced sequence ${sequence} but the table has no such outbox item`,
              aggregateKey: key,
              sequence,
            },
            void: voided(key, sequence, 'MissingOutboxItem'),
          },
      );
      chains.push({ key, announcements, links });
    });
    return chains;
  }

  private async readMissing(key: string, missing: number[]): Promise<Map<number, Link>> {
    this.ports.telemetry.count('transactionsReadFromTable', 1);
    const items = await this.ports.outbox.readRange(key, Math.min(...missing), Math.max(...missing));
    const links = new Map<number, Link>();
    for (const item of items) {
      const link = decodeOutboxItem(item, key);
      if (link.sequence > 0) links.set(link.sequence, link);
    }
    return links;
  }

  /** Sinks each chain's poison to the failure queue; a chain ends before poison the queue refused. */
  private async sinkPoison(chains: ReadonlyArray<Chain>): Promise<void> {
    await mapWithConcurrency(chains, this.concurrency, async (chain) => {
      for (const [index, link] of chain.links.entries()) {
        if (link.kind === 'event' || (await this.sink(link.message))) continue;
        chain.links = chain.links.slice(0, index);
        return;
      }
    });
  }

  /** Publishes every chain to the bus and to each FIFO queue at once; first failures per target. */
  private async publish(chains: ReadonlyArray<Chain>): Promise<FirstFailures[]> {
    const busEvents: StoredOutboxEvent[] = [];
    const fifo = new Map<string, FifoMessage[]>();
    for (const chain of chains) {
      const messages: FifoMessage[] = [];
      for (const link of chain.links) {
        if (link.kind !== 'poison') busEvents.push(link.event);
        messages.push(
          link.kind === 'event' ? { kind: 'event', event: link.event } : { kind: 'void', void: link.void },
        );
      }
      fifo.set(chain.key, messages);
    }
    const rejected = new Set<string>();
    const onRejected = async (event: StoredOutboxEvent, target: string, failure: EntryFailure) => {
      // One failure-queue message per event, even when several targets refuse it.
      if (rejected.has(event.envelope.id)) return true;
      const sunk = await this.sink({
        reason: 'RejectedByTarget',
        error: `${failure.code}: ${failure.message}`.slice(0, 1000),
        target,
        aggregateKey: event.pk,
        sequence: event.sequence,
        eventId: event.envelope.id,
        item: { envelope: event.json },
      });
      if (sunk) rejected.add(event.envelope.id);
      return sunk;
    };
    return Promise.all([
      this.publisher.toBus(busEvents, onRejected),
      ...this.options.queueUrls.map((url) => this.publisher.toFifoQueue(url, fifo, onRejected)),
    ]);
  }

  /**
   * Acknowledges the state records whose every event reached every target, and reports the
   * others; counts and times what was published.
   */
  private settle(
    chains: ReadonlyArray<Chain>,
    failures: ReadonlyArray<FirstFailures>,
    failed: Set<string>,
  ): void {
    let published = 0;
    for (const chain of chains) {
      const firstFailed = Math.min(...failures.map((f) => f.get(chain.key) ?? Number.POSITIVE_INFINITY));
      const end = chain.links.at(-1)?.sequence ?? 0;
      // Links cut short (poison the failure queue refused) count as not published.
      const lastWanted = chain.announcements.at(-1)?.to ?? 0;
      const confirmedThrough = Math.min(firstFailed - 1, end < lastWanted ? end : Number.POSITIVE_INFINITY);
      for (const announcement of chain.announcements) {
        if (announcement.to > confirmedThrough) failed.add(announcement.streamSequenceNumber);
      }
      for (const link of chain.links) {
        if (link.sequence > confirmedThrough || link.kind === 'poison') continue;
        published++;
        this.ports.telemetry.publishLag(this.now() - Date.parse(link.event.envelope.time));
      }
    }
    this.ports.telemetry.count('eventsPublished', published);
  }

  /** Tells the heartbeat the newest probe of the batch was read; retried if that write fails. */
  private async recordProbe(plan: BatchPlan, failed: Set<string>): Promise<void> {
    const newest = plan.probes.reduce<(typeof plan.probes)[number] | undefined>(
      (best, probe) => (best === undefined || probe.seq > best.seq ? probe : best),
      undefined,
    );
    if (!newest) return;
    try {
      await this.ports.heartbeat.probeSeen(newest.seq, newest.writtenAt);
    } catch (error) {
      this.ports.telemetry.warn('heartbeat not recorded; the probe record will be retried', {
        error: (error as Error).message,
      });
      failed.add(newest.streamSequenceNumber);
    }
  }

  private async sink(message: RelayFailureMessage): Promise<boolean> {
    this.ports.telemetry.count('poisonEvents', 1);
    this.ports.telemetry.error('outbox item cannot be published; sent to the relay failure queue', {
      reason: message.reason,
      error: message.error,
      aggregateKey: message.aggregateKey,
      sequence: message.sequence,
      target: message.target,
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
}

function positiveInt(field: string, value: number): number {
  if (!Number.isInteger(value) || value < 1)
    throw new ValidationError(field, 'must be a positive integer', value);
  return value;
}

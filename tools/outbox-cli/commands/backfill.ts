import { randomUUID } from 'node:crypto';
import { SendMessageBatchCommand, type SendMessageBatchRequestEntry } from '@aws-sdk/client-sqs';
import type { ConsumerDeclaration } from '../../../contract/consumers';
import { STACK_OUTPUTS } from '../../../contract/stack-outputs';
import type { FifoMessage } from '../../../functions/relay/ports';
import { decodeOutboxItem } from '../../../functions/relay/records';
import { freshDeduplicationId } from '../../../functions/shared/deduplication';
import type { StoredOutboxEvent } from '../../../functions/shared/outbox-item';
import {
  parseAggregateKeyOption,
  parseCommandArgs,
  TARGET_HELP,
  TARGET_OPTION_SPECS,
  targetOptions,
} from '../arguments';
import { CliFailure, type CliIo, EXIT, UsageError } from '../cli-io';
import { cliRelay } from '../cli-relay';
import type { Command } from '../command';
import { resetConsumer } from '../consumer-reset';
import { plural } from '../format';
import { MAX_SEQUENCE, readAggregate, scanAggregateKeys } from '../outbox-reader';
import { consumerQueue, requireOutput } from '../stack-outputs';
import type { Target } from '../target';

/** Options of `backfill`. */
export interface BackfillOptions {
  readonly consumer: string;
  /** One aggregate; all aggregates with a state item when absent. */
  readonly aggregate?: string;
  /** Let an ordered consumer start an aggregate at its oldest retained event when earlier ones expired. */
  readonly startAtOldest: boolean;
  /** Delete everything the consumer owns first (a rebuild). */
  readonly reset: boolean;
  readonly yes: boolean;
  readonly dryRun: boolean;
  /** @default setTimeout-based sleep (retry backoff) */
  readonly sleep?: (ms: number) => Promise<void>;
}

const HELP = `Usage: npm run outbox -- backfill --consumer <name> [--aggregate <Type#id>] [options] <target>

Sends the history kept in the outbox table to ONE consumer's queue, and to nobody else: an
ordered consumer that joined a running system (startPosition 'earliest' parks every aggregate's
new events until its history arrives), or a consumer whose read model must be rebuilt.

Ordered consumers get each aggregate's events in sequence order on their FIFO queue (the relay's
transport: void markers for what no target can carry); the kit skips what its checkpoint passed
and applies the rest in order, releasing parked events. Unordered consumers get the events as
EventBridge would deliver them, filtered by their rule; their idempotency skips what they applied.

Outbox items live for the outbox retention (7 days by default). An aggregate whose first events
have expired cannot be backfilled from sequence 1: it is listed and skipped, unless
--start-at-oldest lets the consumer start it at its oldest retained event (events before it are
then never applied by that consumer).

Options:
  --consumer <name>       a consumer of the registry (contract/consumers.ts)
  --aggregate <Type#id>   only this aggregate (default: every aggregate, found by a table scan)
  --start-at-oldest       start aggregates whose history expired at their oldest retained event
  --reset                 first delete everything the consumer owns (read model, checkpoints,
                          idempotency records): a rebuild. Needs --yes.
  --dry-run               say what would be sent; send nothing
  --yes                   go ahead with --reset
  -h, --help              show this help

${TARGET_HELP}

Exit code: 0 when every event was sent, 1 when some were not (or aggregates were skipped), 2 on a
wrong command line.

Examples:
  npm run outbox -- backfill --local --consumer order-audit
  npm run outbox -- backfill --local --consumer order-projection --reset --yes`;

/** `backfill`: send the outbox's history to one consumer. */
export const backfillCommand: Command<BackfillOptions> = {
  name: 'backfill',
  summary: "send the outbox's history to one consumer only (a consumer that joined late, or a rebuild)",
  help: HELP,
  parse(argv) {
    const values = parseCommandArgs('backfill', argv, {
      ...TARGET_OPTION_SPECS,
      consumer: { type: 'string' },
      aggregate: { type: 'string' },
      'start-at-oldest': { type: 'boolean', default: false },
      reset: { type: 'boolean', default: false },
      yes: { type: 'boolean', default: false },
      'dry-run': { type: 'boolean', default: false },
    });
    if (values.consumer === undefined) throw new UsageError('backfill needs --consumer <name>');
    if (values.aggregate !== undefined) parseAggregateKeyOption(values.aggregate);
    if (values.reset && values.aggregate !== undefined) {
      throw new UsageError('--reset rebuilds the whole consumer; it does not go with --aggregate');
    }
    return {
      target: targetOptions(values),
      options: {
        consumer: values.consumer,
        aggregate: values.aggregate,
        startAtOldest: values['start-at-oldest'] === true,
        reset: values.reset === true,
        yes: values.yes === true,
        dryRun: values['dry-run'] === true,
      },
    };
  },
  async run(target, options, io) {
    const { consumer, queue } = consumerQueue(target.outputs, options.consumer, target.description);
    const tableName = requireOutput(target.outputs, STACK_OUTPUTS.tableName, target.description);
    io.out(`Target: ${target.description}`);
    if (options.reset) await reset(target, options, tableName, io);
    const keys = options.aggregate
      ? [options.aggregate]
      : await scanAggregateKeys(target.dynamodb, tableName);
    io.out(
      `Backfill ${consumer.name} (${consumer.kind}) from ${plural(keys.length, 'aggregate')} → ${queue.key}`,
    );
    const histories = await readHistories(target, tableName, keys);
    const skipped =
      consumer.kind === 'ordered' && !options.startAtOldest
        ? histories.filter((h) => h.expiredBefore > 1)
        : [];
    for (const history of skipped) {
      io.err(
        `skipped ${history.key}: its events before #${history.expiredBefore} expired (rerun with --start-at-oldest to start it there)`,
      );
    }
    const sendable = histories.filter((history) => !skipped.includes(history));
    const events = sendable.reduce((n, history) => n + history.items.length, 0);
    if (options.dryRun) {
      io.out(`Dry run: would send ${plural(events, 'event')} of ${plural(sendable.length, 'aggregate')}.`);
      return skipped.length > 0 ? EXIT.failure : EXIT.ok;
    }
    const failed =
      consumer.kind === 'ordered'
        ? await sendOrdered(target, queue.url, sendable, options, io)
        : await sendUnordered(target, queue.url, consumer, sendable, io);
    io.out(
      `Sent ${plural(events - failed, 'event')}${failed > 0 ? `; ${failed} not sent (errors above)` : ''}.`,
    );
    if (failed > 0 || skipped.length > 0) {
      io.out('Next: fix what is reported above and run the same backfill again; it is safe to repeat.');
      return EXIT.failure;
    }
    io.out(`Done: ${consumer.name} has been sent every retained event.`);
    return EXIT.ok;
  },
};

interface History {
  readonly key: string;
  readonly items: ReadonlyArray<Record<string, unknown>>;
  /** The first sequence the table still has (1 when nothing expired). */
  readonly expiredBefore: number;
}

async function readHistories(
  target: Target,
  tableName: string,
  keys: ReadonlyArray<string>,
): Promise<History[]> {
  const histories: History[] = [];
  for (const key of keys) {
    const items = await readAggregate(target.dynamodb, tableName, key, 1, MAX_SEQUENCE);
    if (items.length === 0) continue;
    const first = Number(items[0]?.sequence ?? 1);
    histories.push({ key, items, expiredBefore: Number.isSafeInteger(first) ? first : 1 });
  }
  return histories;
}

async function reset(target: Target, options: BackfillOptions, tableName: string, io: CliIo): Promise<void> {
  if (!options.yes) {
    throw new CliFailure(
      `--reset deletes everything ${options.consumer} owns (its read model, checkpoints and idempotency records) before the backfill`,
      'rerun with --yes to go ahead',
    );
  }
  const kitTableName = requireOutput(target.outputs, STACK_OUTPUTS.idempotencyTableName, target.description);
  const deleted = await resetConsumer(target.dynamodb, { tableName, kitTableName }, options.consumer);
  io.out(
    `Reset ${options.consumer}: deleted ${plural(deleted.kitRecords, 'kit record')} and ${plural(deleted.items, 'item')}.`,
  );
}

/** The relay's FIFO transport, one consumer's queue only; returns how many events were not sent. */
async function sendOrdered(
  target: Target,
  queueUrl: string,
  histories: ReadonlyArray<History>,
  options: BackfillOptions,
  io: CliIo,
): Promise<number> {
  const { publisher, ports } = cliRelay(target, { bus: false, queueUrls: [queueUrl] }, io, {
    sleep: options.sleep,
  });
  // After a reset the consumer needs again what it already received, but the FIFO queue silently
  // drops a deduplication id it saw in the last 5 minutes (the relay's: the event id): each message
  // of a rebuild gets a new one, as a redrive does. The kit's checkpoints absorb any duplicate.
  if (options.reset) freshDeduplicationIds(target, queueUrl);
  const chains = new Map<string, FifoMessage[]>();
  for (const history of histories) {
    chains.set(
      history.key,
      history.items.map((item, index): FifoMessage => {
        const link = decodeOutboxItem(item, history.key);
        if (link.kind !== 'event') return { kind: 'void', void: link.void };
        return {
          kind: 'event',
          event: link.event,
          startsAggregate: index === 0 && history.expiredBefore > 1,
        };
      }),
    );
  }
  const onRejected = async (
    event: StoredOutboxEvent,
    target: string,
    failure: { code: string; message: string },
  ) => {
    await ports.failures.send({
      reason: 'RejectedByTarget',
      error: `${failure.code}: ${failure.message}`,
      target,
      aggregateKey: event.pk,
      sequence: event.sequence,
      eventId: event.envelope.id,
    });
    return true;
  };
  const firstFailed = await publisher.toFifoQueue(queueUrl, chains, onRejected);
  let notSent = 0;
  for (const [key, sequence] of firstFailed) {
    const history = histories.find((h) => h.key === key);
    notSent += (history?.items ?? []).filter((item) => Number(item.sequence) >= sequence).length;
  }
  return notSent;
}

const FRESH_DEDUPLICATION_MIDDLEWARE = 'backfill-fresh-deduplication-ids';

/** Gives every SendMessageBatch entry to `queueUrl` a deduplication id of its own (from the event id). */
function freshDeduplicationIds(target: Target, queueUrl: string): void {
  target.sqs.middlewareStack.add(
    (next) => async (args) => {
      const input = args.input as {
        QueueUrl?: string;
        Entries?: ReadonlyArray<SendMessageBatchRequestEntry>;
      };
      if (input.QueueUrl !== queueUrl || input.Entries === undefined) return next(args);
      const Entries = input.Entries.map((entry) => ({
        ...entry,
        MessageDeduplicationId: freshDeduplicationId(
          entry.MessageDeduplicationId ?? entry.Id ?? '',
          'backfill',
        ),
      }));
      return next({ ...args, input: { ...input, Entries } as typeof args.input });
    },
    { step: 'initialize', name: FRESH_DEDUPLICATION_MIDDLEWARE, override: true },
  );
}

/** EventBridge's delivery to one unordered consumer's queue, filtered by its rule; returns how many were not sent. */
async function sendUnordered(
  target: Target,
  queueUrl: string,
  consumer: ConsumerDeclaration,
  histories: ReadonlyArray<History>,
  io: CliIo,
): Promise<number> {
  const [, account = '000000000000'] = /\/(\d{12})\//.exec(queueUrl) ?? [];
  const region = (await target.sqs.config.region()) ?? 'us-east-1';
  const events = histories
    .flatMap((history) => history.items)
    .flatMap((item) => {
      const link = decodeOutboxItem(item, undefined);
      return link.kind === 'poison' ? [] : [link.event];
    })
    .filter((event) => forwards(consumer, event.envelope.type));
  let notSent = 0;
  for (let i = 0; i < events.length; i += 10) {
    const batch = events.slice(i, i + 10);
    const response = await target.sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: batch.map((event, index) => ({
          Id: String(index),
          MessageBody: JSON.stringify({
            version: '0',
            id: randomUUID(),
            'detail-type': event.envelope.type,
            source: event.envelope.source,
            account,
            time: event.envelope.time.replace(/\.\d{3}Z$/, 'Z'),
            region,
            resources: [],
            detail: event.envelope,
          }),
        })),
      }),
    );
    for (const failure of response.Failed ?? []) {
      notSent++;
      io.err(
        `not sent: ${batch[Number(failure.Id)]?.pk} #${batch[Number(failure.Id)]?.sequence}: ${failure.Code}: ${failure.Message}`,
      );
    }
  }
  return notSent;
}

/** Whether the consumer's EventBridge rule forwards this event type. */
function forwards(consumer: ConsumerDeclaration, type: string): boolean {
  if (consumer.kind !== 'unordered') return true;
  if (consumer.eventTypes) return consumer.eventTypes.includes(type);
  if (consumer.detailTypePrefix !== undefined) return type.startsWith(consumer.detailTypePrefix);
  return true;
}

import {
  DynamoDbPendingMarks,
  EventBridgeBusPublisher,
  SqsFifoPublisher,
} from '../../../functions/relay/aws-adapters';
import type { StoredOutboxEvent } from '../../../functions/shared/outbox-item';
import { STACK_OUTPUTS } from '../../../lib/stack-outputs';
import {
  parseChoice,
  parseCommandArgs,
  parseInstant,
  parseInteger,
  TARGET_HELP,
  TARGET_OPTION_SPECS,
  targetOptions,
} from '../arguments';
import { CliFailure, EXIT, UsageError } from '../cli-io';
import type { Command } from '../command';
import { columns, plural } from '../format';
import { MAX_SEQUENCE, type ReadOutboxItem, readAggregate, scanTimeRange } from '../outbox-reader';
import { type AggregateEvents, type ReplayDestinations, replayEvents } from '../replay-publisher';
import { orderedQueues, queueLabel, requireOutput } from '../stack-outputs';
import type { Target } from '../target';

/** Above this many events, a time-range replay needs `--yes`. */
export const REPLAY_CONFIRM_ABOVE = 100;

/** FIFO queues drop a message whose deduplication id they saw this recently. */
const FIFO_DEDUPLICATION_WINDOW_MS = 5 * 60_000;

/** Which events `replay` reads. */
export type ReplaySelection =
  | { readonly kind: 'aggregate'; readonly aggregateKey: string; readonly from: number; readonly to: number }
  | { readonly kind: 'time-range'; readonly since: Date; readonly until: Date };

/** Options of `replay`. */
export interface ReplayOptions {
  readonly selection: ReplaySelection;
  /** Where to send: the bus, the ordered FIFO queues, or both. */
  readonly destinations: 'all' | 'bus' | 'queues';
  readonly dryRun: boolean;
  readonly yes: boolean;
  /** @default setTimeout-based sleep (retry backoff) */
  readonly sleep?: (ms: number) => Promise<void>;
  /** @default Date.now */
  readonly now?: () => number;
}

const HELP = `Usage:
  npm run outbox -- replay --aggregate <Type#id> [--from-sequence <n>] [--to-sequence <n>] [options] <target>
  npm run outbox -- replay --since <time> --until <time> [--yes] [options] <target>

Re-publishes committed outbox events from the table to the event bus and to every ordered
consumer's FIFO queue, as the relay does: the same event JSON and event ids, the aggregate as
FIFO message group, and each aggregate's events in sequence order. Safe to repeat: FIFO queues
drop an event id they saw in the last 5 minutes, and consumers skip an event they have already
processed (their idempotency records live as long as outbox items, 7 days by default), so a
replay reaches only consumers that missed the event or lost its effect.

  --aggregate <Type#id>    one aggregate, e.g. Order#o-1 (a consistent Query on its partition)
  --from-sequence <n>      first sequence to replay (default 1)
  --to-sequence <n>        last sequence to replay (default: the latest)
  --since <time>           events whose time is at or after this (ISO-8601 with zone, e.g. 2024-05-01T12:00:00Z)
  --until <time>           ... and before this. There is no index on event time: this form SCANS THE
                           WHOLE TABLE (every item is read and paid for). Above ${REPLAY_CONFIRM_ABOVE} events it needs --yes.
  --send-to <all|bus|queues>
                           send to the bus and the ordered queues (default all), the bus only, or the
                           ordered FIFO queues only (found in the outputs: <Consumer>QueueUrl ending in .fifo)
  --dry-run                list the events and destinations; send nothing
  --yes                    go ahead with a time-range replay of more than ${REPLAY_CONFIRM_ABOVE} events
  -h, --help               show this help

After a replay to every destination, the outbox items' pending marks are cleared (as the relay
does), so the sweeper and \`status\` stop counting them.

${TARGET_HELP}

Exit code: 0 when every event was confirmed by every destination, 1 otherwise (or when an outbox
item could not be read as an event), 2 on a wrong command line.

Examples:
  npm run outbox -- replay --local --aggregate Order#o-1 --dry-run
  npm run outbox -- replay --local --aggregate Order#o-1 --from-sequence 3
  npm run outbox -- replay --stack OutboxPipeline --outputs outputs.json \\
      --since 2024-05-01T12:00:00Z --until 2024-05-01T13:00:00Z --send-to queues --yes`;

/** `replay`: re-publish outbox events of an aggregate or a time range. */
export const replayCommand: Command<ReplayOptions> = {
  name: 'replay',
  summary: 're-publish outbox events (one aggregate, or a time range) to the bus and the ordered queues',
  help: HELP,
  parse(argv) {
    const values = parseCommandArgs('replay', argv, {
      ...TARGET_OPTION_SPECS,
      aggregate: { type: 'string' },
      'from-sequence': { type: 'string' },
      'to-sequence': { type: 'string' },
      since: { type: 'string' },
      until: { type: 'string' },
      'send-to': { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
      yes: { type: 'boolean', default: false },
    });
    const byAggregate = values.aggregate !== undefined;
    const byTime = values.since !== undefined || values.until !== undefined;
    if (byAggregate === byTime) {
      throw new UsageError('replay needs either --aggregate <Type#id> or --since <time> --until <time>');
    }
    let selection: ReplaySelection;
    if (byAggregate) {
      const aggregateKey = values.aggregate ?? '';
      if (!/^[A-Za-z][A-Za-z0-9_-]*#\S+$/.test(aggregateKey)) {
        throw new UsageError(
          `--aggregate must be <AggregateType>#<id>, e.g. Order#o-1 (given '${aggregateKey}')`,
        );
      }
      const from = parseInteger(values['from-sequence'], '--from-sequence', 1, MAX_SEQUENCE) ?? 1;
      const to = parseInteger(values['to-sequence'], '--to-sequence', 1, MAX_SEQUENCE) ?? MAX_SEQUENCE;
      if (from > to) {
        throw new UsageError(`--from-sequence must not be above --to-sequence (given ${from} and ${to})`);
      }
      selection = { kind: 'aggregate', aggregateKey, from, to };
    } else {
      if (values['from-sequence'] !== undefined || values['to-sequence'] !== undefined) {
        throw new UsageError(
          '--from-sequence and --to-sequence go with --aggregate, not with --since/--until',
        );
      }
      const since = parseInstant(values.since, '--since');
      const until = parseInstant(values.until, '--until');
      if (since.getTime() >= until.getTime()) {
        throw new UsageError(
          `--since must be before --until (given ${since.toISOString()} and ${until.toISOString()})`,
        );
      }
      selection = { kind: 'time-range', since, until };
    }
    return {
      target: targetOptions(values),
      options: {
        selection,
        destinations: parseChoice(values['send-to'], '--send-to', ['all', 'bus', 'queues'] as const) ?? 'all',
        dryRun: values['dry-run'] === true,
        yes: values.yes === true,
      },
    };
  },
  async run(target, options, io) {
    const tableName = requireOutput(target.outputs, STACK_OUTPUTS.tableName, target.description);
    const { items, scanned } = await readSelection(target, tableName, options.selection);
    const malformed = items.filter((item) => item.event === undefined);
    const aggregates = groupByAggregate(items);
    const events = aggregates.flatMap((aggregate) => aggregate.events);
    const destinations = chooseDestinations(target, options.destinations);

    io.out(`Target: ${target.description}`);
    io.out(
      options.selection.kind === 'aggregate'
        ? `Read ${plural(events.length, 'event')} of ${options.selection.aggregateKey} (sequences ${options.selection.from}..${options.selection.to === MAX_SEQUENCE ? 'latest' : options.selection.to}).`
        : `Scanned ${plural(scanned, 'item')} of ${tableName}: ${plural(events.length, 'event')} of ${plural(aggregates.length, 'aggregate')} between ${options.selection.since.toISOString()} and ${options.selection.until.toISOString()}.`,
    );
    for (const item of malformed) {
      io.err(
        `cannot replay ${item.pk} ${item.sk}: ${item.error} (left out; the relay quarantines such items in its failure queue)`,
      );
    }
    if (events.length === 0) {
      io.out('Nothing to replay.');
      return malformed.length > 0 ? EXIT.failure : EXIT.ok;
    }
    io.out(`Destinations: ${describeDestinations(destinations)}.`);

    if (options.dryRun) {
      for (const line of columns(
        events.map((event) => [
          event.pk,
          `#${event.sequence}`,
          event.envelope.type,
          event.envelope.id,
          event.envelope.time,
        ]),
      ))
        io.out(line);
      io.out(`Dry run: nothing was sent (${plural(events.length, 'event')} would be).`);
      return malformed.length > 0 ? EXIT.failure : EXIT.ok;
    }
    if (options.selection.kind === 'time-range' && events.length > REPLAY_CONFIRM_ABOVE && !options.yes) {
      throw new CliFailure(
        `${events.length} events match, more than ${REPLAY_CONFIRM_ABOVE}; replaying them re-sends each to ${describeDestinations(destinations)}`,
        'list them with --dry-run, narrow the range, or rerun with --yes to go ahead',
      );
    }
    const now = (options.now ?? Date.now)();
    if (
      destinations.queues.length > 0 &&
      events.some((event) => now - Date.parse(event.envelope.time) < FIFO_DEDUPLICATION_WINDOW_MS)
    ) {
      io.err(
        'note: some events were committed less than 5 minutes ago; a FIFO queue that already received them drops them again as duplicates (deduplication id = event id)',
      );
    }

    const { results, confirmedEverywhere } = await replayEvents(aggregates, destinations, {
      sleep: options.sleep,
    });
    for (const line of columns(
      results.map((result) => [
        result.label,
        `${result.sent} sent`,
        result.failed.length > 0 ? `${result.failed.length} failed` : '',
        result.heldBack > 0 ? `${result.heldBack} held back to keep order` : '',
      ]),
    ))
      io.out(line.trimEnd());
    for (const result of results) {
      for (const failure of result.failed) {
        io.err(`${result.label}: ${failure.event.pk} #${failure.event.sequence} failed: ${failure.error}`);
      }
    }

    if (options.destinations === 'all') {
      const cleared = await clearPendingMarks(target, tableName, items, confirmedEverywhere);
      if (cleared > 0) io.out(`Cleared the pending mark of ${plural(cleared, 'event')}.`);
    }
    const failures = results.reduce((sum, result) => sum + result.failed.length + result.heldBack, 0);
    if (failures > 0) {
      io.out(`Incomplete: ${plural(failures, 'event delivery', 'event deliveries')} did not happen.`);
      io.out(
        'Next: check the errors above (throttling, permissions, a deleted queue), then run the same replay again; it is safe to repeat.',
      );
      return EXIT.failure;
    }
    if (malformed.length > 0) {
      io.out(
        `Done, except ${plural(malformed.length, 'outbox item')} that could not be read as events (see above).`,
      );
      return EXIT.failure;
    }
    io.out(`Done: every destination confirmed all ${plural(events.length, 'event')}.`);
    return EXIT.ok;
  },
};

async function readSelection(
  target: Target,
  tableName: string,
  selection: ReplaySelection,
): Promise<{ items: ReadOutboxItem[]; scanned: number }> {
  if (selection.kind === 'aggregate') {
    const items = await readAggregate(
      target.dynamodb,
      tableName,
      selection.aggregateKey,
      selection.from,
      selection.to,
    );
    return { items, scanned: items.length };
  }
  return scanTimeRange(target.dynamodb, tableName, selection.since, selection.until);
}

/** Events grouped by aggregate, each group in sequence order, groups by first event time. */
export function groupByAggregate(items: ReadonlyArray<ReadOutboxItem>): AggregateEvents[] {
  const byKey = new Map<string, StoredOutboxEvent[]>();
  for (const { event } of items) {
    if (event === undefined) continue;
    byKey.set(event.pk, [...(byKey.get(event.pk) ?? []), event]);
  }
  return [...byKey]
    .map(([key, events]) => ({ key, events: events.sort((a, b) => a.sequence - b.sequence) }))
    .sort((a, b) => (a.events[0]?.envelope.time ?? '').localeCompare(b.events[0]?.envelope.time ?? ''));
}

function chooseDestinations(target: Target, which: ReplayOptions['destinations']): ReplayDestinations {
  const queues = which === 'bus' ? [] : orderedQueues(target.outputs);
  if (which === 'queues' && queues.length === 0) {
    throw new CliFailure(
      'the stack outputs name no ordered FIFO queue (<Consumer>QueueUrl ending in .fifo)',
      'replay to the bus with --send-to bus, or check the outputs',
    );
  }
  const busName =
    which === 'queues'
      ? undefined
      : requireOutput(target.outputs, STACK_OUTPUTS.eventBusName, target.description);
  return {
    bus:
      busName === undefined
        ? undefined
        : {
            label: `event bus ${busName}`,
            publisher: new EventBridgeBusPublisher(target.eventbridge, busName),
          },
    queues: queues.map((queue) => ({ label: queueLabel(queue), url: queue.url })),
    queuePublisher: new SqsFifoPublisher(target.sqs),
  };
}

function describeDestinations(destinations: ReplayDestinations): string {
  const parts = [
    ...(destinations.bus ? [`the ${destinations.bus.label}`] : []),
    ...(destinations.queues.length > 0
      ? [
          `${plural(destinations.queues.length, 'ordered queue')} (${destinations.queues.map((q) => q.label).join(', ')})`,
        ]
      : []),
  ];
  return parts.join(' and ');
}

async function clearPendingMarks(
  target: Target,
  tableName: string,
  items: ReadonlyArray<ReadOutboxItem>,
  confirmed: ReadonlyArray<StoredOutboxEvent>,
): Promise<number> {
  const stillPending = new Set(items.filter((item) => item.pending).map((item) => item.event));
  const byAggregate = new Map<string, number[]>();
  for (const event of confirmed) {
    if (!stillPending.has(event)) continue;
    byAggregate.set(event.pk, [...(byAggregate.get(event.pk) ?? []), event.sequence]);
  }
  const marks = new DynamoDbPendingMarks(target.dynamodb, tableName);
  let cleared = 0;
  for (const [aggregateKey, sequences] of byAggregate) {
    await marks.clear(aggregateKey, sequences);
    cleared += sequences.length;
  }
  return cleared;
}

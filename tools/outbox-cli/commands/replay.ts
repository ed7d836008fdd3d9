import { STACK_OUTPUTS } from '../../../contract/stack-outputs';
import { fromOutboxItem } from '../../../functions/shared/outbox-item';
import {
  parseAggregateKeyOption,
  parseChoice,
  parseCommandArgs,
  parseInteger,
  parseTimeRange,
  TARGET_HELP,
  TARGET_OPTION_SPECS,
  targetOptions,
} from '../arguments';
import { CliFailure, EXIT, UsageError } from '../cli-io';
import { cliRelay, publishItems } from '../cli-relay';
import type { Command } from '../command';
import { columns, plural } from '../format';
import { MAX_SEQUENCE, readAggregate, scanTimeRange } from '../outbox-reader';
import { orderedQueues, requireOutput } from '../stack-outputs';
import type { Target } from '../target';

/** Above this many events, a time-range replay needs `--yes`. */
export const REPLAY_CONFIRM_ABOVE = 100;

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
}

const HELP = `Usage:
  npm run outbox -- replay --aggregate <Type#id> [--from-sequence <n>] [--to-sequence <n>] [options] <target>
  npm run outbox -- replay --since <time> --until <time> [--yes] [options] <target>

Re-publishes committed outbox events from the table to the event bus and to every ordered
consumer's FIFO queue through the relay core itself: the same event JSON and ids, the aggregate
as FIFO message group, each aggregate's events in sequence order, void markers for what no target
can carry (those go to the relay failure queue). Safe to repeat: FIFO queues drop an event id
they saw in the last 5 minutes, unordered consumers skip an event they remember (consumerMemory,
14 days by default, at least the outbox retention), ordered consumers skip anything their
checkpoint has passed. A replay reaches only consumers that missed the event.

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

To rebuild one consumer from the table without sending to anyone else, use \`backfill\`.

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
      const aggregateKey = parseAggregateKeyOption(values.aggregate ?? '');
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
      selection = { kind: 'time-range', ...parseTimeRange(values.since, values.until) };
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
    const items = await readSelection(target, tableName, options.selection);
    const events = items.flatMap((item) => {
      try {
        return [fromOutboxItem(item)];
      } catch (error) {
        io.err(
          `note: ${String(item.pk)} ${String(item.sk)} is not a valid event (${(error as Error).message}); the relay core sends it to the failure queue`,
        );
        return [];
      }
    });
    const queueUrls =
      options.destinations === 'bus' ? [] : orderedQueues(target.outputs).map((queue) => queue.url);
    if (options.destinations === 'queues' && queueUrls.length === 0) {
      throw new CliFailure(
        'the stack has no ordered consumer queue in its outputs',
        'replay to the bus with --send-to bus',
      );
    }
    const destinations = describe(options.destinations, queueUrls.length);
    io.out(`Target: ${target.description}`);
    io.out(
      `Read ${plural(items.length, 'outbox item')} (${describeSelection(options.selection)}); destinations: ${destinations}.`,
    );
    if (items.length === 0) {
      io.out('Nothing to replay.');
      return EXIT.ok;
    }
    if (options.dryRun) {
      for (const line of columns(
        events.map((e) => [e.pk, `#${e.sequence}`, e.envelope.type, e.envelope.id, e.envelope.time]),
      )) {
        io.out(line);
      }
      io.out(`Dry run: nothing was sent (${plural(items.length, 'item')} would be).`);
      return EXIT.ok;
    }
    if (options.selection.kind === 'time-range' && items.length > REPLAY_CONFIRM_ABOVE && !options.yes) {
      throw new CliFailure(
        `${items.length} events match, more than ${REPLAY_CONFIRM_ABOVE}; replaying them re-sends each to ${destinations}`,
        'list them with --dry-run, narrow the range, or rerun with --yes to go ahead',
      );
    }
    const { relay, report } = cliRelay(target, { bus: options.destinations !== 'queues', queueUrls }, io, {
      sleep: options.sleep,
    });
    const failed = await publishItems(relay, items);
    const published = report.counts.eventsPublished ?? 0;
    const poison = report.counts.poisonEvents ?? 0;
    io.out(
      `Published ${plural(published, 'event')} to ${destinations}${poison > 0 ? `; ${plural(poison, 'item')} sent to the relay failure queue` : ''}.`,
    );
    if (failed.length > 0) {
      io.out(
        `Incomplete: ${plural(failed.length, 'aggregate')} could not be published everywhere (errors above).`,
      );
      io.out(
        'Next: check the errors (throttling, permissions, a deleted queue), then run the same replay again; it is safe to repeat.',
      );
      return EXIT.failure;
    }
    if (poison > 0) {
      io.out(
        'Done, except the items in the relay failure queue (see docs/operations.md, "Relay poison events").',
      );
      return EXIT.failure;
    }
    io.out(`Done: every destination confirmed all ${plural(published, 'event')}.`);
    return EXIT.ok;
  },
};

async function readSelection(target: Target, tableName: string, selection: ReplaySelection) {
  if (selection.kind === 'aggregate') {
    return readAggregate(target.dynamodb, tableName, selection.aggregateKey, selection.from, selection.to);
  }
  return scanTimeRange(target.dynamodb, tableName, selection.since, selection.until);
}

function describeSelection(selection: ReplaySelection): string {
  return selection.kind === 'aggregate'
    ? `${selection.aggregateKey}, sequences ${selection.from}..${selection.to === MAX_SEQUENCE ? 'latest' : selection.to}`
    : `committed in [${selection.since.toISOString()}, ${selection.until.toISOString()}), by a table scan`;
}

function describe(which: ReplayOptions['destinations'], queues: number): string {
  const queuesPart = `${plural(queues, 'ordered queue')}`;
  if (which === 'bus') return 'the event bus';
  if (which === 'queues') return queuesPart;
  return `the event bus and ${queuesPart}`;
}

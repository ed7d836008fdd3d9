import { STACK_OUTPUTS } from '../../../lib/stack-outputs';
import {
  parseCommandArgs,
  parseInteger,
  TARGET_HELP,
  TARGET_OPTION_SPECS,
  targetOptions,
} from '../arguments';
import { type CliIo, EXIT } from '../cli-io';
import type { Command } from '../command';
import { columns, formatDuration, plural } from '../format';
import { countPendingBefore, oldestPending, type PendingEntry } from '../pending-index';
import { type QueueDepth, queueDepth } from '../queue-depth';
import { deadLetterQueues, redriveSource, requireOutput, type StackOutputs } from '../stack-outputs';

/** Options of `status`. */
export interface StatusOptions {
  /** Pending items older than this many minutes count as overdue. */
  readonly olderThanMinutes: number;
  /** Print one JSON object instead of text. */
  readonly json: boolean;
  /** @default Date.now */
  readonly now?: () => number;
}

/** What `status --json` prints. */
export interface StatusReport {
  readonly target: string;
  readonly oldestUnpublished: (PendingEntry & { readonly ageSeconds: number }) | null;
  readonly overdue: { readonly olderThanMinutes: number; readonly count: number };
  readonly queues: ReadonlyArray<{ readonly key: string; readonly url: string } & QueueDepth>;
  readonly healthy: boolean;
}

const HELP = `Usage: npm run outbox -- status [options] (--local | --stack <name> --outputs <file>)

Shows how far the outbox is behind and what is waiting in the dead-letter queues:
  - outbox lag: the oldest outbox item not yet published (the PendingIndex, one query per shard)
  - how many outbox items have been pending for longer than --older-than minutes
  - the depth (visible + in flight) of every dead-letter and failure queue of the stack

Options:
  --older-than <minutes>  count pending items older than this (default 5, as the sweeper)
  --json                  print one JSON object instead of text
  -h, --help              show this help

${TARGET_HELP}

Exit code: 0 when nothing is overdue and every dead-letter queue is empty, 1 when something
needs attention (or status could not be read), 2 on a wrong command line.

Example:
  npm run outbox -- status --local
  npm run outbox -- status --stack OutboxPipeline --outputs outputs.json --region eu-west-1 --older-than 15`;

/** `status`: outbox lag, overdue pending items, dead-letter queue depths. */
export const statusCommand: Command<StatusOptions> = {
  name: 'status',
  summary: 'outbox lag, overdue unpublished events and dead-letter queue depths',
  help: HELP,
  parse(argv) {
    const values = parseCommandArgs('status', argv, {
      ...TARGET_OPTION_SPECS,
      'older-than': { type: 'string' },
      json: { type: 'boolean', default: false },
    });
    return {
      target: targetOptions(values),
      options: {
        olderThanMinutes: parseInteger(values['older-than'], '--older-than', 1, 7 * 24 * 60) ?? 5,
        json: values.json === true,
      },
    };
  },
  async run(target, options, io) {
    const now = (options.now ?? Date.now)();
    const tableName = requireOutput(target.outputs, STACK_OUTPUTS.tableName, target.description);
    const cutoff = new Date(now - options.olderThanMinutes * 60_000).toISOString();
    const [oldest, overdue, queues] = await Promise.all([
      oldestPending(target.dynamodb, tableName),
      countPendingBefore(target.dynamodb, tableName, cutoff),
      Promise.all(
        deadLetterQueues(target.outputs).map(async ({ key, url }) => ({
          key: key ?? url,
          url,
          ...(await queueDepth(target.sqs, url)),
        })),
      ),
    ]);
    const report: StatusReport = {
      target: target.description,
      oldestUnpublished:
        oldest === undefined
          ? null
          : {
              ...oldest,
              ageSeconds: Math.max(0, Math.round((now - Date.parse(oldest.pendingSince)) / 1000)),
            },
      overdue: { olderThanMinutes: options.olderThanMinutes, count: overdue },
      queues,
      healthy: overdue === 0 && queues.every((queue) => queue.visible + queue.inFlight === 0),
    };
    if (options.json) io.out(JSON.stringify(report, null, 2));
    else printReport(report, target.outputs, io);
    return report.healthy ? EXIT.ok : EXIT.failure;
  },
};

function printReport(report: StatusReport, outputs: StackOutputs, io: CliIo): void {
  const oldest = report.oldestUnpublished;
  io.out(`Target: ${report.target}`);
  io.out('');
  io.out('Outbox');
  const outbox = columns([
    [
      'oldest unpublished',
      oldest === null
        ? 'none: every committed event is published'
        : `${oldest.pk} ${oldest.sk}, pending since ${oldest.pendingSince} (${formatDuration(oldest.ageSeconds * 1000)} ago)`,
    ],
    [`pending > ${report.overdue.olderThanMinutes} min`, plural(report.overdue.count, 'event')],
  ]);
  for (const line of outbox) io.out(line);
  io.out('');
  io.out('Dead-letter and failure queues');
  if (report.queues.length === 0) io.out('  none in the stack outputs');
  else
    for (const line of columns(
      report.queues.map((queue) => [queue.key, `${queue.visible} visible`, `${queue.inFlight} in flight`]),
    ))
      io.out(line);
  io.out('');
  if (report.healthy) {
    io.out('OK: nothing overdue, every dead-letter queue is empty.');
    return;
  }
  io.out('Needs attention:');
  if (report.overdue.count > 0) {
    io.out(
      `  - ${plural(report.overdue.count, 'outbox event')} unpublished for more than ${report.overdue.olderThanMinutes} min: the sweeper re-publishes them every few minutes; if the count does not fall, see "Oldest unpublished outbox item" in docs/operations.md`,
    );
  }
  for (const queue of report.queues.filter((q) => q.visible + q.inFlight > 0)) {
    const action =
      redriveSource(outputs, queue.key).kind === 'queue'
        ? `then \`npm run outbox -- redrive --queue ${queue.key} ...\``
        : 'then re-publish the affected events with `npm run outbox -- replay ...`';
    io.out(
      `  - ${queue.key} holds ${plural(queue.visible + queue.inFlight, 'message')}: read them, fix the cause, ${action} (see "Dead-letter queue not empty" in docs/operations.md)`,
    );
  }
}

import { registeredConsumers } from '../../../contract/consumers';
import { consumerRecordPrefix } from '../../../contract/keys';
import { STACK_OUTPUTS } from '../../../contract/stack-outputs';
import { DynamoDbRelayBookkeeping, S3FailedBatchStore } from '../../../functions/sweeper/aws-adapters';
import type { LostWindow } from '../../../functions/sweeper/ports';
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
import { type QueueDepth, queueDepth } from '../queue-depth';
import { deadLetterQueues, requireOutput } from '../stack-outputs';
import { scanPages } from '../table-scan';
import type { Target } from '../target';

/** Options of `status`. */
export interface StatusOptions {
  /** The relay counts as behind when the newest probe it read is older than this. */
  readonly maxLagMinutes: number;
  /** Also count the events each ordered consumer has parked (scans the kit table). */
  readonly parked: boolean;
  /** Print one JSON object instead of text. */
  readonly json: boolean;
  /** @default Date.now */
  readonly now?: () => number;
}

/** What `status --json` prints. */
export interface StatusReport {
  readonly target: string;
  /** How long ago the newest probe the relay has read was written; null before the first probe. */
  readonly relayLagSeconds: number | null;
  readonly lostWindow: LostWindow | null;
  /** Stream batches the mapping discarded and the sweeper has not re-published yet. */
  readonly unrecoveredBatches: { readonly count: number; readonly oldest: string | null };
  readonly queues: ReadonlyArray<{ readonly key: string; readonly url: string } & QueueDepth>;
  /** Events parked per ordered consumer (with --parked). */
  readonly parked: Readonly<Record<string, number>> | null;
  readonly healthy: boolean;
}

const HELP = `Usage: npm run outbox -- status [options] (--local | --stack <name> --outputs <file>)

Shows whether the pipeline is keeping up and what waits for a person:
  - relay lag: how old the newest sweeper probe the relay has read is (the sweeper writes one
    every run; an idle outbox is not a stopped relay)
  - a lost window, if the relay was stopped long enough for stream records to expire
  - stream batches the relay's mapping discarded that the sweeper has not re-published yet
  - the depth (visible + in flight) of every dead-letter and failure queue
  - with --parked: the events each ordered consumer holds back for a missing predecessor

Options:
  --max-lag <minutes>     relay lag that counts as behind (default 15: three sweeper runs)
  --parked                count parked events (scans the consumer-kit table)
  --json                  print one JSON object instead of text
  -h, --help              show this help

${TARGET_HELP}

Exit code: 0 when nothing needs attention, 1 when something does (or status could not be read),
2 on a wrong command line.

Example:
  npm run outbox -- status --local --parked
  npm run outbox -- status --stack OutboxPipeline --outputs outputs.json --region eu-west-1`;

/** `status`: relay lag, unrecovered batches, dead-letter queue depths, parked events. */
export const statusCommand: Command<StatusOptions> = {
  name: 'status',
  summary: 'relay lag, unrecovered stream batches, dead-letter queue depths and parked events',
  help: HELP,
  parse(argv) {
    const values = parseCommandArgs('status', argv, {
      ...TARGET_OPTION_SPECS,
      'max-lag': { type: 'string' },
      parked: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    });
    return {
      target: targetOptions(values),
      options: {
        maxLagMinutes: parseInteger(values['max-lag'], '--max-lag', 1, 7 * 24 * 60) ?? 15,
        parked: values.parked === true,
        json: values.json === true,
      },
    };
  },
  async run(target, options, io) {
    const report = await readStatus(target, options);
    if (options.json) io.out(JSON.stringify(report, null, 2));
    else printReport(report, options, io);
    return report.healthy ? EXIT.ok : EXIT.failure;
  },
};

async function readStatus(target: Target, options: StatusOptions): Promise<StatusReport> {
  const now = (options.now ?? Date.now)();
  const tableName = requireOutput(target.outputs, STACK_OUTPUTS.tableName, target.description);
  const bucket = requireOutput(target.outputs, STACK_OUTPUTS.failureBucketName, target.description);
  const bookkeeping = new DynamoDbRelayBookkeeping(target.dynamodb, tableName);
  const [heartbeat, lostWindow, batches, queues, parked] = await Promise.all([
    bookkeeping.readHeartbeat(),
    bookkeeping.readLostWindow(),
    new S3FailedBatchStore(target.s3, bucket).list(1000),
    Promise.all(
      deadLetterQueues(target.outputs).map(async ({ key, url }) => ({
        key,
        url,
        ...(await queueDepth(target.sqs, url)),
      })),
    ),
    options.parked ? countParked(target) : Promise.resolve(null),
  ]);
  const relayLagSeconds = heartbeat
    ? Math.max(0, Math.round((now - Date.parse(heartbeat.seenWrittenAt)) / 1000))
    : null;
  const healthy =
    (relayLagSeconds === null || relayLagSeconds <= options.maxLagMinutes * 60) &&
    lostWindow === undefined &&
    batches.length === 0 &&
    queues.every((queue) => queue.visible + queue.inFlight === 0) &&
    Object.values(parked ?? {}).every((count) => count === 0);
  return {
    target: target.description,
    relayLagSeconds,
    lostWindow: lostWindow ?? null,
    unrecoveredBatches: { count: batches.length, oldest: batches[0]?.firstFailedAt ?? null },
    queues,
    parked,
    healthy,
  };
}

/** Parked events per ordered consumer: a filtered scan of the kit table. */
async function countParked(target: Target): Promise<Record<string, number>> {
  const kitTable = requireOutput(target.outputs, STACK_OUTPUTS.idempotencyTableName, target.description);
  const counts: Record<string, number> = {};
  for (const consumer of registeredConsumers().filter((c) => c.kind === 'ordered')) {
    let count = 0;
    for await (const page of scanPages(target.dynamodb, {
      TableName: kitTable,
      FilterExpression: 'begins_with(id, :prefix)',
      ExpressionAttributeValues: { ':prefix': { S: `${consumerRecordPrefix(consumer.name)}parked#` } },
      Select: 'COUNT',
    })) {
      count += page.Count ?? 0;
    }
    counts[consumer.name] = count;
  }
  return counts;
}

function printReport(report: StatusReport, options: StatusOptions, io: CliIo): void {
  io.out(`Target: ${report.target}`);
  io.out('');
  io.out('Relay');
  const lag = report.relayLagSeconds;
  for (const line of columns([
    [
      'lag',
      lag === null
        ? 'no probe read yet (the sweeper writes the first one on its first run)'
        : formatDuration(lag * 1000),
    ],
    [
      'lost window',
      report.lostWindow
        ? `from ${report.lostWindow.from}${report.lostWindow.to ? ` to ${report.lostWindow.to}` : ' (still open)'}`
        : 'none',
    ],
    [
      'discarded batches',
      report.unrecoveredBatches.count === 0
        ? 'none waiting'
        : `${plural(report.unrecoveredBatches.count, 'batch', 'batches')} waiting, oldest failed ${report.unrecoveredBatches.oldest}`,
    ],
  ]))
    io.out(line);
  io.out('');
  io.out('Dead-letter and failure queues');
  for (const line of columns(
    report.queues.map((q) => [q.key, `${q.visible} visible`, `${q.inFlight} in flight`]),
  ))
    io.out(line);
  if (report.parked) {
    io.out('');
    io.out('Parked events (ordered consumers)');
    for (const line of columns(
      Object.entries(report.parked).map(([name, count]) => [name, plural(count, 'event')]),
    ))
      io.out(line);
  }
  io.out('');
  if (report.healthy) {
    io.out('OK: the relay keeps up, nothing waits for recovery, every dead-letter queue is empty.');
    return;
  }
  io.out('Needs attention (each item has a runbook section in docs/operations.md):');
  if (lag !== null && lag > options.maxLagMinutes * 60)
    io.out('  - the relay is behind or stopped: "Relay lag"');
  if (report.lostWindow) io.out('  - stream records may have expired unread: "Lost window"');
  if (report.unrecoveredBatches.count > 0)
    io.out('  - discarded stream batches wait for the sweeper: "Unrecovered stream batches"');
  for (const queue of report.queues.filter((q) => q.visible + q.inFlight > 0)) {
    io.out(
      queue.key === STACK_OUTPUTS.relayFailureQueueUrl
        ? `  - ${queue.key} holds ${plural(queue.visible + queue.inFlight, 'message')}: "Relay poison events"`
        : `  - ${queue.key} holds ${plural(queue.visible + queue.inFlight, 'message')}: "Dead-letter queue not empty", then \`npm run outbox -- redrive --queue ${queue.key} ...\``,
    );
  }
  for (const [name, count] of Object.entries(report.parked ?? {}).filter(([, n]) => n > 0)) {
    io.out(`  - ${name} has ${plural(count, 'parked event')}: "Events parked"`);
  }
}

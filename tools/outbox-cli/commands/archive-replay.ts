import {
  DescribeArchiveCommand,
  DescribeReplayCommand,
  StartReplayCommand,
} from '@aws-sdk/client-eventbridge';
import { STACK_OUTPUTS } from '../../../contract/stack-outputs';
import {
  parseCommandArgs,
  parsePollSeconds,
  parseTimeRange,
  TARGET_HELP,
  TARGET_OPTION_SPECS,
  targetOptions,
} from '../arguments';
import { CliFailure, defaultSleep, EXIT, UsageError } from '../cli-io';
import type { Command } from '../command';

/** Options of `archive-replay`. */
export interface ArchiveReplayOptions {
  readonly since: Date;
  readonly until: Date;
  /** Archive name. @default the EventArchiveName output */
  readonly archive?: string;
  /** Replay name. @default outbox-cli-<since>-<now> */
  readonly name?: string;
  /** Seconds between DescribeReplay polls. */
  readonly pollSeconds: number;
  /** @default setTimeout-based sleep */
  readonly sleep?: (ms: number) => Promise<void>;
  /** @default Date.now */
  readonly now?: () => number;
}

/** EventBridge may still be writing events of the last minutes to the archive. */
const ARCHIVE_DELAY_MS = 10 * 60_000;
const REPLAY_NAME_PATTERN = /^[.\-_A-Za-z0-9]{1,64}$/;

const HELP = `Usage: npm run outbox -- archive-replay --since <time> --until <time> [options] <target>

Replays events from the stack's EventBridge archive (output EventArchiveName, 30 days of the
pipeline's events) to the event bus, with EventBridge StartReplay, and follows it with
DescribeReplay until it completes. Every rule of the bus receives the events again, marked with
a top-level "replay-name" field; event consumers skip those they already processed.

Ordered consumers read FIFO queues that the relay fills, not bus rules: an archive replay does
not reach them. Use \`replay\`, which reads the outbox table, for those.

  --since <time>         replay events whose time is at or after this (ISO-8601 with zone)
  --until <time>         ... and before this. AWS advises leaving 10 minutes before replaying recent events.
  --archive <name>       archive to replay from (default: the EventArchiveName output)
  --name <replay-name>   name of the replay (default: outbox-cli-<since>-<now>); names are unique per account
  --poll-seconds <n>     seconds between progress polls (default 5)
  -h, --help             show this help

${TARGET_HELP}

With --local, the local EventBridge emulator runs the replay (StartReplay, DescribeReplay).

Exit code: 0 when the replay completed, 1 when it failed or was cancelled, 2 on a wrong command line.

Example:
  npm run outbox -- archive-replay --stack OutboxPipeline --outputs outputs.json \\
      --since 2024-05-01T12:00:00Z --until 2024-05-01T13:00:00Z`;

/** `archive-replay`: EventBridge StartReplay from the stack's archive to its bus. */
export const archiveReplayCommand: Command<ArchiveReplayOptions> = {
  name: 'archive-replay',
  summary: "replay events from the stack's EventBridge archive to the bus (event consumers only)",
  help: HELP,
  parse(argv) {
    const values = parseCommandArgs('archive-replay', argv, {
      ...TARGET_OPTION_SPECS,
      since: { type: 'string' },
      until: { type: 'string' },
      archive: { type: 'string' },
      name: { type: 'string' },
      'poll-seconds': { type: 'string' },
    });
    const { since, until } = parseTimeRange(values.since, values.until);
    if (values.name !== undefined && !REPLAY_NAME_PATTERN.test(values.name)) {
      throw new UsageError(
        `--name must be 1 to 64 letters, digits, '.', '-' or '_' (given '${values.name}')`,
      );
    }
    return {
      target: targetOptions(values),
      options: {
        since,
        until,
        archive: values.archive,
        name: values.name,
        pollSeconds: parsePollSeconds(values['poll-seconds']),
      },
    };
  },
  async run(target, options, io) {
    const now = (options.now ?? Date.now)();
    const sleep = options.sleep ?? defaultSleep;
    const archiveName = options.archive ?? target.outputs[STACK_OUTPUTS.eventArchiveName];
    if (archiveName === undefined || archiveName === '') {
      throw new CliFailure(
        `the stack outputs (${target.description}) have no ${STACK_OUTPUTS.eventArchiveName}`,
        target.local
          ? 'the local runtime must create the stack archive on the EventBridge emulator (createArchive) and resolve its output; until then pass --archive <name> of an archive you created'
          : 'pass --archive <name>',
      );
    }
    const archive = await target.eventbridge
      .send(new DescribeArchiveCommand({ ArchiveName: archiveName }))
      .catch((error) => {
        if ((error as Error).name === 'ResourceNotFoundException') {
          throw new CliFailure(
            `archive ${archiveName} does not exist`,
            'check --archive, or the EventArchiveName output',
          );
        }
        throw error;
      });
    if (archive.ArchiveArn === undefined || archive.EventSourceArn === undefined) {
      throw new CliFailure(`DescribeArchive ${archiveName} returned no ArchiveArn or EventSourceArn`);
    }
    const name = options.name ?? defaultReplayName(options.since, now);
    io.out(`Target: ${target.description}`);
    io.out(
      `Replay ${name}: events of ${options.since.toISOString()} to ${options.until.toISOString()} from archive ${archiveName} to ${archive.EventSourceArn}`,
    );
    if (now - options.until.getTime() < ARCHIVE_DELAY_MS && !target.local) {
      io.err(
        'note: events of the last 10 minutes may not be in the archive yet; replay them later to be sure',
      );
    }
    await target.eventbridge
      .send(
        new StartReplayCommand({
          ReplayName: name,
          Description: 'Started by npm run outbox -- archive-replay',
          EventSourceArn: archive.ArchiveArn,
          EventStartTime: options.since,
          EventEndTime: options.until,
          // A replay goes back to the bus the archive records.
          Destination: { Arn: archive.EventSourceArn },
        }),
      )
      .catch((error) => {
        if ((error as Error).name === 'ResourceAlreadyExistsException') {
          throw new UsageError(`a replay named ${name} already exists: choose another --name`);
        }
        throw error;
      });
    let last = '';
    for (;;) {
      const replay = await target.eventbridge.send(new DescribeReplayCommand({ ReplayName: name }));
      const progress = `${replay.State}${replay.EventLastReplayedTime ? `, replayed up to ${replay.EventLastReplayedTime.toISOString()}` : ''}`;
      if (progress !== last) io.out(`  ${progress}`);
      last = progress;
      if (replay.State === 'COMPLETED') {
        io.out(`Done: replay ${name} completed.`);
        return EXIT.ok;
      }
      if (replay.State === 'FAILED' || replay.State === 'CANCELLED') {
        throw new CliFailure(
          `replay ${name} ${replay.State === 'FAILED' ? 'failed' : 'was cancelled'}${replay.StateReason ? `: ${replay.StateReason}` : ''}`,
          'fix the cause and start a new replay with another --name (events already replayed were delivered)',
        );
      }
      await sleep(options.pollSeconds * 1000);
    }
  },
};

/** `outbox-cli-20240501T120000Z-1714567890123`: unique per run, within the 64-character limit. */
export function defaultReplayName(since: Date, now: number): string {
  const compact = since.toISOString().replace(/[-:]/g, '').replace(/\.\d+/, '');
  return `outbox-cli-${compact}-${now}`;
}

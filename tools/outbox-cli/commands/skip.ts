import { parseAggregateKey } from '../../../contract/keys';
import { SqsFifoPublisher } from '../../../functions/relay/aws-adapters';
import {
  parseCommandArgs,
  parseInteger,
  TARGET_HELP,
  TARGET_OPTION_SPECS,
  targetOptions,
} from '../arguments';
import { CliFailure, EXIT, UsageError } from '../cli-io';
import type { Command } from '../command';
import { MAX_SEQUENCE } from '../outbox-reader';
import { consumerQueue } from '../stack-outputs';

/** Options of `skip`. */
export interface SkipOptions {
  readonly consumer: string;
  readonly aggregate: string;
  readonly sequence: number;
  readonly reason: string;
}

const HELP = `Usage: npm run outbox -- skip --consumer <name> --aggregate <Type#id> --sequence <n> --reason <text> <target>

Lets an ordered consumer step over one event of one aggregate that will never reach it, so the
events parked behind it are applied. It sends a void marker for that sequence to the consumer's
FIFO queue, the way the relay does for an event no target can carry; the consumer moves its
checkpoint past it without applying it (metric EventsVoided) and releases what was parked.

Use it only when the event is gone for good (e.g. an outbox item written around the writer, or an
event you decided the consumer must not apply). To deliver an event instead, redrive it or replay
it. The consumer never applies the skipped event afterwards: its checkpoint has passed it.

Options:
  --consumer <name>       an ordered consumer of the registry (contract/consumers.ts)
  --aggregate <Type#id>   the aggregate, e.g. Order#o-1
  --sequence <n>          the sequence to step over (the one after the consumer's checkpoint)
  --reason <text>         why, recorded on the marker and in the consumer's log
  -h, --help              show this help

${TARGET_HELP}

Example:
  npm run outbox -- skip --local --consumer order-projection --aggregate Order#o-7 --sequence 3 --reason "malformed item, see ticket 42"`;

/** `skip`: step an ordered consumer over one event of an aggregate. */
export const skipCommand: Command<SkipOptions> = {
  name: 'skip',
  summary: 'let an ordered consumer step over one event that will never reach it',
  help: HELP,
  parse(argv) {
    const values = parseCommandArgs('skip', argv, {
      ...TARGET_OPTION_SPECS,
      consumer: { type: 'string' },
      aggregate: { type: 'string' },
      sequence: { type: 'string' },
      reason: { type: 'string' },
    });
    if (values.consumer === undefined) throw new UsageError('skip needs --consumer <name>');
    if (values.aggregate === undefined || !parseAggregateKey(values.aggregate)) {
      throw new UsageError(
        `skip needs --aggregate <Type#id>, e.g. Order#o-1 (given '${values.aggregate ?? ''}')`,
      );
    }
    const sequence = parseInteger(values.sequence, '--sequence', 1, MAX_SEQUENCE);
    if (sequence === undefined) throw new UsageError('skip needs --sequence <n>');
    if (values.reason === undefined || values.reason.trim() === '')
      throw new UsageError('skip needs --reason <text>');
    return {
      target: targetOptions(values),
      options: {
        consumer: values.consumer,
        aggregate: values.aggregate,
        sequence,
        reason: values.reason.trim(),
      },
    };
  },
  async run(target, options, io) {
    const { consumer, queue } = consumerQueue(target.outputs, options.consumer, target.description);
    if (consumer.kind !== 'ordered') {
      throw new CliFailure(
        `${consumer.name} is an unordered consumer: it has no sequence to step over`,
        'skip is for ordered consumers',
      );
    }
    const parts = parseAggregateKey(options.aggregate);
    if (!parts) throw new UsageError(`--aggregate must be <Type#id> (given '${options.aggregate}')`);
    const failures = await new SqsFifoPublisher(target.sqs).sendBatch(queue.url, [
      {
        kind: 'void',
        void: {
          aggregateKey: options.aggregate,
          ...parts,
          sequence: options.sequence,
          reason: `OperatorSkip: ${options.reason}`.slice(0, 500),
        },
      },
    ]);
    const [failure] = failures;
    if (failure)
      throw new CliFailure(
        `the queue refused the marker: ${failure.code}: ${failure.message}`,
        'check the queue and your permissions, then run skip again',
      );
    io.out(`Target: ${target.description}`);
    io.out(
      `Sent a void marker for ${options.aggregate} #${options.sequence} to ${queue.key}: ${consumer.name} steps over it and applies what was parked behind it.`,
    );
    return EXIT.ok;
  },
};

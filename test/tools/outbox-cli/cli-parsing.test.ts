/**
 * `npm run outbox` without a pipeline: help, command-line errors (typed `UsageError`s, exit 2,
 * saying what was wrong, what was given and what to run next), target resolution errors, and the
 * helpers that read stack outputs through the consumer registry.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ConsumerDeclaration } from '../../../contract/consumers';
import { consumerOutputKey, STACK_OUTPUTS } from '../../../contract/stack-outputs';
import { type CliIo, EXIT, UsageError } from '../../../tools/outbox-cli/cli-io';
import type { Command } from '../../../tools/outbox-cli/command';
import { archiveReplayCommand, defaultReplayName } from '../../../tools/outbox-cli/commands/archive-replay';
import { backfillCommand } from '../../../tools/outbox-cli/commands/backfill';
import { redriveCommand, unsupportedReason } from '../../../tools/outbox-cli/commands/redrive';
import { replayCommand } from '../../../tools/outbox-cli/commands/replay';
import { skipCommand } from '../../../tools/outbox-cli/commands/skip';
import { statusCommand } from '../../../tools/outbox-cli/commands/status';
import { HELP, runCli } from '../../../tools/outbox-cli/run';
import {
  consumerQueue,
  deadLetterQueues,
  MissingOutputError,
  orderedQueues,
  queueLabel,
  resolveQueue,
} from '../../../tools/outbox-cli/stack-outputs';
import { stackOutputsFromFile } from '../../../tools/outbox-cli/target';

// biome-ignore lint/suspicious/noExplicitAny: each command carries its own options type.
const COMMANDS: ReadonlyArray<Command<any>> = [
  statusCommand,
  replayCommand,
  backfillCommand,
  redriveCommand,
  skipCommand,
  archiveReplayCommand,
];
const NAMES = COMMANDS.map((command) => command.name);

/** Runs the CLI with a target resolver that fails the test if reached: parsing must stop first. */
async function run(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { out: (line) => out.push(line), err: (line) => err.push(line) };
  let resolved = false;
  const code = await runCli(argv, io, {
    resolveTarget: async () => {
      resolved = true;
      throw new Error('the target must not be resolved');
    },
  });
  return { code, out: out.join('\n'), err: err.join('\n'), resolved };
}

/** Runs the CLI with its real target resolution (deployed stacks only: nothing local is read). */
async function runResolving(...argv: string[]) {
  const lines: string[] = [];
  const io: CliIo = { out: (line) => lines.push(line), err: (line) => lines.push(line) };
  const code = await runCli(argv, io);
  return { code, text: lines.join('\n') };
}

const scratch = mkdtempSync(join(tmpdir(), 'outbox-cli-parsing-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('help', () => {
  it('lists every command in the top-level help and exits 0', async () => {
    // Act
    const result = await run('--help');

    // Assert
    expect(result.code).toBe(EXIT.ok);
    expect(result.out).toBe(HELP);
    expect(NAMES).toEqual(['status', 'replay', 'backfill', 'redrive', 'skip', 'archive-replay']);
    for (const command of COMMANDS)
      expect(result.out).toContain(`  ${command.name.padEnd(16)} ${command.summary}`);
  });

  it.each(NAMES.flatMap((name) => [[name, '--help'] as const, [name, '-h'] as const]))(
    'prints the help of %s with %s and exits 0 without resolving a target',
    async (name, flag) => {
      // Act
      const result = await run(name, flag);

      // Assert
      expect(result.code).toBe(EXIT.ok);
      expect(result.out).toBe(COMMANDS.find((command) => command.name === name)?.help);
      expect(result.out).toContain(`npm run outbox -- ${name}`);
      expect(result.out).toContain('--local');
      expect(result.out).toContain('--stack <name>');
      expect(result.out).toMatch(/Examples?:/);
      expect(result.resolved).toBe(false);
    },
  );

  it('prints the help on stderr and exits 2 without a command', async () => {
    // Act
    const result = await run();

    // Assert
    expect(result.code).toBe(EXIT.usage);
    expect(result.err).toBe(HELP);
  });

  it('names the known commands and the help when given an unknown one', async () => {
    // Act
    const result = await run('purge', '--local');

    // Assert
    expect(result.code).toBe(EXIT.usage);
    expect(result.err).toContain(
      "error: unknown command 'purge' (commands: status, replay, backfill, redrive, skip, archive-replay)",
    );
    expect(result.err).toContain('Run `npm run outbox -- --help` for usage.');
  });
});

/** [argv, what the error says]: every message names the option and, where there is one, the value given. */
const USAGE_ERRORS: ReadonlyArray<readonly [ReadonlyArray<string>, string]> = [
  [['status'], 'choose a target: --local, or --stack <name> --outputs <file>'],
  [
    ['status', '--local', '--stack', 'S'],
    'choose one target: --local, or --stack <name> with --outputs <file>',
  ],
  [['status', '--local', '--region', 'eu-west-1'], '--region and --endpoint-url apply to --stack'],
  [
    ['status', '--stack', 'S', '--outputs', 'o.json', '--endpoint-url', 'not a url'],
    "--endpoint-url must be a URL such as http://localhost:4566 (given 'not a url')",
  ],
  [['status', '--local', '--max-lag', '0'], "--max-lag must be a whole number from 1 to 10080 (given '0')"],
  [
    ['status', '--local', '--max-lag', '1.5'],
    "--max-lag must be a whole number from 1 to 10080 (given '1.5')",
  ],
  [['status', '--local', '--verbose'], "status: Unknown option '--verbose'"],
  [['status', '--local', 'now'], "status: Unexpected argument 'now'"],
  [['status', '--stack'], "status: Option '--stack <value>' argument missing"],
  [['replay', '--local'], 'replay needs either --aggregate <Type#id> or --since <time> --until <time>'],
  [
    ['replay', '--local', '--aggregate', 'o-1'],
    "--aggregate must be <AggregateType>#<id>, e.g. Order#o-1 (given 'o-1')",
  ],
  [
    ['replay', '--local', '--aggregate', 'Order#o-1', '--since', '2024-05-01T00:00:00Z'],
    'replay needs either --aggregate',
  ],
  [
    ['replay', '--local', '--aggregate', 'Order#o-1', '--from-sequence', '5', '--to-sequence', '2'],
    '--from-sequence must not be above --to-sequence (given 5 and 2)',
  ],
  [
    ['replay', '--local', '--aggregate', 'Order#o-1', '--from-sequence', '0'],
    "--from-sequence must be a whole number from 1 to 999999999999 (given '0')",
  ],
  [
    [
      'replay',
      '--local',
      '--since',
      '2024-05-01T00:00:00Z',
      '--until',
      '2024-05-02T00:00:00Z',
      '--from-sequence',
      '2',
    ],
    '--from-sequence and --to-sequence go with --aggregate, not with --since/--until',
  ],
  [
    ['replay', '--local', '--since', '2024-05-01T12:00:00', '--until', '2024-05-02T00:00:00Z'],
    "--since must be an ISO-8601 time with a zone, e.g. 2024-05-01T12:00:00Z (given '2024-05-01T12:00:00')",
  ],
  [['replay', '--local', '--since', '2024-05-01T00:00:00Z'], '--until is required'],
  [
    ['replay', '--local', '--since', '2024-05-02T00:00:00Z', '--until', '2024-05-01T00:00:00Z'],
    '--since must be before --until (given 2024-05-02T00:00:00.000Z and 2024-05-01T00:00:00.000Z)',
  ],
  [
    ['replay', '--local', '--aggregate', 'Order#o-1', '--send-to', 'everywhere'],
    "--send-to must be one of all, bus, queues (given 'everywhere')",
  ],
  [['backfill', '--local'], 'backfill needs --consumer <name>'],
  [
    ['backfill', '--local', '--consumer', 'order-projection', '--aggregate', 'o-1'],
    "--aggregate must be <AggregateType>#<id>, e.g. Order#o-1 (given 'o-1')",
  ],
  [
    ['backfill', '--local', '--consumer', 'order-projection', '--aggregate', 'Order#o-1', '--reset', '--yes'],
    '--reset rebuilds the whole consumer; it does not go with --aggregate',
  ],
  [
    ['backfill', '--local', '--consumer', 'order-projection', '--force'],
    "backfill: Unknown option '--force'",
  ],
  [['skip', '--local'], 'skip needs --consumer <name>'],
  [
    ['skip', '--local', '--consumer', 'order-projection'],
    "skip needs --aggregate <Type#id>, e.g. Order#o-1 (given '')",
  ],
  [
    ['skip', '--local', '--consumer', 'order-projection', '--aggregate', 'o-1'],
    "skip needs --aggregate <Type#id>, e.g. Order#o-1 (given 'o-1')",
  ],
  [
    ['skip', '--local', '--consumer', 'order-projection', '--aggregate', 'Order#o-1'],
    'skip needs --sequence <n>',
  ],
  [
    ['skip', '--local', '--consumer', 'order-projection', '--aggregate', 'Order#o-1', '--sequence', 'two'],
    "--sequence must be a whole number from 1 to 999999999999 (given 'two')",
  ],
  [
    ['skip', '--local', '--consumer', 'order-projection', '--aggregate', 'Order#o-1', '--sequence', '2'],
    'skip needs --reason <text>',
  ],
  [
    [
      'skip',
      '--local',
      '--consumer',
      'order-projection',
      '--aggregate',
      'Order#o-1',
      '--sequence',
      '2',
      '--reason',
      ' ',
    ],
    'skip needs --reason <text>',
  ],
  [['redrive', '--local'], 'redrive needs --queue <output key or URL>'],
  [
    ['redrive', '--local', '--queue', 'X', '--method', 'teleport'],
    "--method must be one of auto, move-task, copy (given 'teleport')",
  ],
  [
    ['redrive', '--local', '--queue', 'X', '--method', 'move-task', '--max-messages', '1'],
    '--max-messages needs --method copy: a move task moves every message',
  ],
  [
    ['redrive', '--local', '--queue', 'X', '--max-messages', '0'],
    "--max-messages must be a whole number from 1 to 1000000 (given '0')",
  ],
  [
    ['redrive', '--local', '--queue', 'X', '--poll-seconds', '301'],
    "--poll-seconds must be a whole number from 1 to 300 (given '301')",
  ],
  [['archive-replay', '--local', '--since', '2024-05-01T00:00:00Z'], '--until is required'],
  [
    ['archive-replay', '--local', '--since', '2024-05-01', '--until', '2024-05-01'],
    '--since must be before --until (given 2024-05-01T00:00:00.000Z and 2024-05-01T00:00:00.000Z)',
  ],
  [
    [
      'archive-replay',
      '--local',
      '--since',
      '2024-05-01T00:00:00Z',
      '--until',
      '2024-05-02T00:00:00Z',
      '--name',
      'has space',
    ],
    "--name must be 1 to 64 letters, digits, '.', '-' or '_' (given 'has space')",
  ],
];

describe('command-line errors', () => {
  it.each(USAGE_ERRORS)('%j exits 2, says what is wrong and points at the help', async (argv, message) => {
    // Act
    const result = await run(...argv);

    // Assert
    expect(result.code).toBe(EXIT.usage);
    expect(result.err).toContain(`error: ${message}`);
    expect(result.err).toContain(`Run \`npm run outbox -- ${argv[0]} --help\` for usage.`);
    expect(result.out).toBe('');
    expect(result.resolved).toBe(false);
  });

  it.each(USAGE_ERRORS)('%j is a UsageError from the command parser', (argv, message) => {
    // Arrange
    const command = COMMANDS.find((candidate) => candidate.name === argv[0]);

    // Act
    const parse = () => command?.parse(argv.slice(1));

    // Assert
    expect(command).toBeDefined();
    expect(parse).toThrow(UsageError);
    expect(parse).toThrow(message);
  });
});

describe('deployed-stack targets', () => {
  it('explains how to get an outputs file when --stack comes without --outputs, exit 2', async () => {
    // Act
    const result = await runResolving('status', '--stack', 'OutboxPipeline');

    // Assert
    expect(result.code).toBe(EXIT.usage);
    expect(result.text).toContain('--stack OutboxPipeline needs --outputs <file>');
    expect(result.text).toContain('npx cdk deploy --outputs-file outputs.json');
  });

  it('names the outputs file it cannot read and how to write one, exit 1', async () => {
    // Arrange
    const missing = join(scratch, 'missing.json');

    // Act
    const result = await runResolving('status', '--stack', 'OutboxPipeline', '--outputs', missing);

    // Assert
    expect(result.code).toBe(EXIT.failure);
    expect(result.text).toContain(`error: cannot read ${missing}`);
    expect(result.text).toContain('Next: write it with `npx cdk deploy --outputs-file <file>`.');
  });

  it('asks for --stack when the outputs file holds several stacks, exit 2', async () => {
    // Arrange
    const file = join(scratch, 'two-stacks.json');
    writeFileSync(file, JSON.stringify({ OutboxPipeline: { TableName: 'T' }, Other: { X: 'Y' } }));

    // Act
    const result = await runResolving('status', '--outputs', file);

    // Assert
    expect(result.code).toBe(EXIT.usage);
    expect(result.text).toContain(`${file} holds 2 stacks (OutboxPipeline, Other): choose one with --stack`);
  });

  it('reads one stack from a cdk outputs file, or says what is wrong with it', () => {
    // Arrange
    const text = JSON.stringify({ OutboxPipeline: { TableName: 'T' }, Other: { X: 'Y' } });

    // Act
    const found = stackOutputsFromFile(text, 'outputs.json', 'OutboxPipeline');

    // Assert
    expect(found).toEqual({ stack: 'OutboxPipeline', outputs: { TableName: 'T' } });
    expect(() => stackOutputsFromFile(text, 'outputs.json', 'Nope')).toThrow(
      'outputs.json has no outputs for stack Nope (it has: OutboxPipeline, Other)',
    );
    expect(() => stackOutputsFromFile('[1]', 'outputs.json')).toThrow(/is not a cdk outputs file/);
    expect(() => stackOutputsFromFile('{', 'outputs.json')).toThrow(/outputs.json is not JSON/);
  });
});

const url = (name: string) => `http://sqs.us-east-1.localhost:4566/000000000000/${name}`;
/** The registry's consumers plus an ordered one that only this test knows. */
const CONSUMERS: ReadonlyArray<ConsumerDeclaration> = [
  { name: 'order-projection', kind: 'ordered', startPosition: 'earliest' },
  { name: 'order-activity', kind: 'unordered', detailTypePrefix: 'Order' },
  { name: 'order-audit', kind: 'ordered', startPosition: 'first-seen' },
];
const OUTPUTS: Record<string, string> = {
  [STACK_OUTPUTS.tableName]: 'Table',
  [STACK_OUTPUTS.relayFailureQueueUrl]: url('RelayFailure'),
  [consumerOutputKey('order-projection', 'queueUrl')]: url('Projection.fifo'),
  [consumerOutputKey('order-projection', 'deadLetterQueueUrl')]: url('ProjectionDlq.fifo'),
  [consumerOutputKey('order-activity', 'queueUrl')]: url('Activity'),
  [consumerOutputKey('order-activity', 'deadLetterQueueUrl')]: url('ActivityDlq'),
  [consumerOutputKey('order-activity', 'targetDeadLetterQueueUrl')]: url('ActivityTargetDlq'),
  [consumerOutputKey('order-audit', 'queueUrl')]: url('Audit.fifo'),
  [consumerOutputKey('order-audit', 'deadLetterQueueUrl')]: url('AuditDlq.fifo'),
};

describe('stack outputs through the consumer registry', () => {
  it('finds every dead-letter and failure queue, with the queue a redrive sends it back to', () => {
    // Act
    const queues = deadLetterQueues(OUTPUTS, CONSUMERS);

    // Assert
    expect(queues.map((queue) => [queue.key, queue.source?.key])).toEqual([
      ['RelayFailureQueueUrl', undefined],
      ['OrderProjectionDeadLetterQueueUrl', 'OrderProjectionQueueUrl'],
      ['OrderActivityDeadLetterQueueUrl', 'OrderActivityQueueUrl'],
      ['OrderActivityTargetDeadLetterQueueUrl', 'OrderActivityQueueUrl'],
      ['OrderAuditDeadLetterQueueUrl', 'OrderAuditQueueUrl'],
    ]);
  });

  it("finds the ordered consumers' FIFO queues by the registry, not by the URL", () => {
    // Act
    const queues = orderedQueues(OUTPUTS, CONSUMERS);

    // Assert
    expect(queues.map((queue) => [queue.key, queue.consumer.name])).toEqual([
      ['OrderProjectionQueueUrl', 'order-projection'],
      ['OrderAuditQueueUrl', 'order-audit'],
    ]);
  });

  it('gives a consumer and its queue, refuses an unregistered one as a usage error, and names a missing output', () => {
    // Act
    const found = consumerQueue(OUTPUTS, 'order-audit', 'test outputs', CONSUMERS);
    const unregistered = () => consumerQueue(OUTPUTS, 'order-emails', 'test outputs', CONSUMERS);
    const noQueue = () => consumerQueue({}, 'order-audit', 'test outputs', CONSUMERS);

    // Assert
    expect(found).toMatchObject({
      consumer: { name: 'order-audit' },
      queue: { key: 'OrderAuditQueueUrl', url: url('Audit.fifo') },
    });
    expect(unregistered).toThrow(UsageError);
    expect(unregistered).toThrow(
      'order-emails is not a registered consumer (contract/consumers.ts has order-projection, order-activity, order-audit)',
    );
    expect(noQueue).toThrow(MissingOutputError);
    expect(noQueue).toThrow('the stack outputs (test outputs) have no OrderAuditQueueUrl');
  });

  it('resolves a queue given as an output key or a URL, and labels it by its key when known', () => {
    // Act
    const byKey = resolveQueue(OUTPUTS, 'OrderActivityDeadLetterQueueUrl');
    const byUrl = resolveQueue(OUTPUTS, url('ActivityDlq'));
    const foreign = resolveQueue(OUTPUTS, url('Elsewhere'));

    // Assert
    expect(byKey).toEqual({ key: 'OrderActivityDeadLetterQueueUrl', url: url('ActivityDlq') });
    expect(byUrl).toEqual(byKey);
    expect(foreign).toEqual({ key: undefined, url: url('Elsewhere') });
    expect(queueLabel(foreign ?? { url: '' })).toBe(url('Elsewhere'));
    expect(resolveQueue(OUTPUTS, 'NoSuchKey')).toBeUndefined();
  });
});

describe('helpers', () => {
  it.each([
    [Object.assign(new Error('Unknown action: StartMessageMoveTask'), { name: 'InvalidAction' }), true],
    [Object.assign(new Error('x'), { name: 'AWS.SimpleQueueService.InvalidAction' }), true],
    [
      Object.assign(new Error('Source queue must be configured as a Dead Letter Queue.'), {
        name: 'InvalidParameterValue',
      }),
      true,
    ],
    [Object.assign(new Error('User is not authorized'), { name: 'AccessDenied' }), false],
  ])('decides whether StartMessageMoveTask is unavailable: %s', (error, unsupported) => {
    // Act
    const reason = unsupportedReason(error);

    // Assert
    expect(reason !== undefined).toBe(unsupported);
  });

  it('names a replay after its start and the moment it ran, within the 64-character limit', () => {
    // Act
    const name = defaultReplayName(new Date('2024-05-01T12:00:00.500Z'), 1_714_567_890_123);

    // Assert
    expect(name).toBe('outbox-cli-20240501T120000Z-1714567890123');
    expect(name).toMatch(/^[.\-_A-Za-z0-9]{1,64}$/);
  });
});

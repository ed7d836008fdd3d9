import { describe, expect, it } from 'vitest';
import { pendingShard } from '../../../functions/shared/outbox-item';
import { STACK_OUTPUTS } from '../../../lib/stack-outputs';
import { type CliIo, EXIT } from '../../../tools/outbox-cli/cli-io';
import { defaultReplayName } from '../../../tools/outbox-cli/commands/archive-replay';
import { unsupportedReason } from '../../../tools/outbox-cli/commands/redrive';
import { pendingShardKeys } from '../../../tools/outbox-cli/pending-index';
import { HELP, runCli } from '../../../tools/outbox-cli/run';
import { deadLetterQueues, orderedQueues, redriveSource } from '../../../tools/outbox-cli/stack-outputs';
import { stackOutputsFromFile } from '../../../tools/outbox-cli/target';

/** Runs the CLI with a target resolver that fails the test if reached: parsing must stop first. */
async function run(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { out: (line) => out.push(line), err: (line) => err.push(line) };
  const code = await runCli(argv, io, {
    resolveTarget: async () => {
      throw new Error('the target must not be resolved');
    },
  });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

const OUTPUTS: Record<string, string> = {
  [STACK_OUTPUTS.tableName]: 'Table',
  [STACK_OUTPUTS.relayFailureQueueUrl]: 'http://sqs/000000000000/RelayFailure',
  [STACK_OUTPUTS.orderProjectionQueueUrl]: 'http://sqs/000000000000/Projection.fifo',
  [STACK_OUTPUTS.orderProjectionDeadLetterQueueUrl]: 'http://sqs/000000000000/ProjectionDlq.fifo',
  [STACK_OUTPUTS.orderActivityQueueUrl]: 'http://sqs/000000000000/Activity',
  [STACK_OUTPUTS.orderActivityDeadLetterQueueUrl]: 'http://sqs/000000000000/ActivityDlq',
  [STACK_OUTPUTS.orderActivityTargetDeadLetterQueueUrl]: 'http://sqs/000000000000/ActivityTargetDlq',
  OrderAuditQueueUrl: 'http://sqs/000000000000/Audit.fifo',
  OrderAuditDeadLetterQueueUrl: 'http://sqs/000000000000/AuditDlq.fifo',
};

describe('npm run outbox --help', () => {
  it('prints the commands and exits 0', async () => {
    // Act
    const result = await run('--help');

    // Assert
    expect(result.code).toBe(EXIT.ok);
    expect(result.out).toBe(HELP);
    for (const command of ['status', 'replay', 'redrive', 'archive-replay'])
      expect(result.out).toContain(`  ${command} `);
  });

  it.each(['status', 'replay', 'redrive', 'archive-replay'])(
    'prints the help of %s and exits 0',
    async (command) => {
      // Act
      const result = await run(command, '--help');

      // Assert
      expect(result.code).toBe(EXIT.ok);
      expect(result.out).toContain(`npm run outbox -- ${command}`);
      expect(result.out).toContain('--local');
      expect(result.out).toContain('Exit code');
    },
  );

  it('prints the help on stderr and exits 2 without a command', async () => {
    // Act
    const result = await run();

    // Assert
    expect(result.code).toBe(EXIT.usage);
    expect(result.err).toBe(HELP);
  });

  it('names the known commands when given an unknown one', async () => {
    // Act
    const result = await run('purge');

    // Assert
    expect(result.code).toBe(EXIT.usage);
    expect(result.err).toContain(
      "unknown command 'purge' (commands: status, replay, redrive, archive-replay)",
    );
  });
});

describe('command line errors exit 2 and say what is wrong', () => {
  it.each([
    [['status'], 'choose a target: --local, or --stack <name> --outputs <file>'],
    [['status', '--local', '--stack', 'S'], 'choose one target'],
    [['status', '--local', '--region', 'eu-west-1'], '--region and --endpoint-url apply to --stack'],
    [
      ['status', '--stack', 'S', '--outputs', 'o.json', '--endpoint-url', 'not a url'],
      '--endpoint-url must be a URL',
    ],
    [['status', '--local', '--older-than', '0'], '--older-than must be a whole number from 1 to 10080'],
    [['status', '--local', '--verbose'], "status: Unknown option '--verbose'"],
    [['replay', '--local'], 'replay needs either --aggregate <Type#id> or --since <time> --until <time>'],
    [['replay', '--local', '--aggregate', 'o-1'], '--aggregate must be <AggregateType>#<id>'],
    [
      ['replay', '--local', '--aggregate', 'Order#o-1', '--since', '2024-05-01T00:00:00Z'],
      'replay needs either --aggregate',
    ],
    [
      ['replay', '--local', '--aggregate', 'Order#o-1', '--from-sequence', '5', '--to-sequence', '2'],
      '--from-sequence must not be above --to-sequence (given 5 and 2)',
    ],
    [
      ['replay', '--local', '--since', '2024-05-01T12:00:00', '--until', '2024-05-02T00:00:00Z'],
      'must be an ISO-8601 time with a zone',
    ],
    [
      ['replay', '--local', '--since', '2024-05-02T00:00:00Z', '--until', '2024-05-01T00:00:00Z'],
      '--since must be before --until',
    ],
    [
      ['replay', '--local', '--aggregate', 'Order#o-1', '--send-to', 'everywhere'],
      '--send-to must be one of all, bus, queues',
    ],
    [['redrive', '--local'], 'redrive needs --queue <output key or URL>'],
    [
      ['redrive', '--local', '--queue', 'X', '--method', 'move-task', '--max-messages', '1'],
      '--max-messages needs --method copy',
    ],
    [['archive-replay', '--local', '--since', '2024-05-01T00:00:00Z'], '--until is required'],
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
      '--name must be 1 to 64 letters',
    ],
  ])('%j', async (argv, message) => {
    // Act
    const result = await run(...argv);

    // Assert
    expect(result.code).toBe(EXIT.usage);
    expect(result.err).toContain(message);
    expect(result.err).toContain(`npm run outbox -- ${argv[0]} --help`);
  });
});

describe('--stack without --outputs', () => {
  it('explains how to get an outputs file, since the CloudFormation client is not installed', async () => {
    // Arrange
    const io = { out: () => {}, err: (line: string) => lines.push(line) };
    const lines: string[] = [];

    // Act
    const code = await runCli(['status', '--stack', 'OutboxPipeline'], io);

    // Assert
    expect(code).toBe(EXIT.usage);
    expect(lines.join('\n')).toContain('cdk deploy --outputs-file outputs.json');
  });
});

describe('stack outputs', () => {
  it('finds every dead-letter and failure queue by its output name', () => {
    // Act
    const keys = deadLetterQueues(OUTPUTS).map((queue) => queue.key);

    // Assert
    expect(keys).toEqual([
      'OrderActivityDeadLetterQueueUrl',
      'OrderActivityTargetDeadLetterQueueUrl',
      'OrderAuditDeadLetterQueueUrl',
      'OrderProjectionDeadLetterQueueUrl',
      'RelayFailureQueueUrl',
    ]);
  });

  it('finds the ordered consumer queues: consumer queues ending in .fifo', () => {
    // Act
    const keys = orderedQueues(OUTPUTS).map((queue) => queue.key);

    // Assert
    expect(keys).toEqual(['OrderAuditQueueUrl', 'OrderProjectionQueueUrl']);
  });

  it.each([
    ['OrderProjectionDeadLetterQueueUrl', 'OrderProjectionQueueUrl'],
    ['OrderActivityDeadLetterQueueUrl', 'OrderActivityQueueUrl'],
    ['OrderActivityTargetDeadLetterQueueUrl', 'OrderActivityQueueUrl'],
  ])('sends %s back to %s', (deadLetterKey, sourceKey) => {
    // Act
    const source = redriveSource(OUTPUTS, deadLetterKey);

    // Assert
    expect(source).toEqual({ kind: 'queue', queue: { key: sourceKey, url: OUTPUTS[sourceKey] } });
  });

  it('has no source queue for the relay failure queue', () => {
    // Act
    const source = redriveSource(OUTPUTS, 'RelayFailureQueueUrl');

    // Assert
    expect(source).toMatchObject({ kind: 'none', reason: expect.stringContaining('`replay`') });
  });

  it('reads one stack from a cdk outputs file', () => {
    // Arrange
    const text = JSON.stringify({ OutboxPipeline: { TableName: 'T' }, Other: { X: 'Y' } });

    // Act
    const found = stackOutputsFromFile(text, 'outputs.json', 'OutboxPipeline');

    // Assert
    expect(found).toEqual({ stack: 'OutboxPipeline', outputs: { TableName: 'T' } });
    expect(() => stackOutputsFromFile(text, 'outputs.json')).toThrow(
      /holds 2 stacks \(OutboxPipeline, Other\): choose one with --stack/,
    );
    expect(() => stackOutputsFromFile(text, 'outputs.json', 'Nope')).toThrow(/has no outputs for stack Nope/);
    expect(() => stackOutputsFromFile('[1]', 'outputs.json')).toThrow(/is not a cdk outputs file/);
  });
});

describe('helpers', () => {
  it('queries every shard the writer can put an outbox item in', () => {
    // Arrange
    const aggregates = Array.from({ length: 200 }, (_, i) => `Order#o-${i}`);

    // Act
    const used = new Set(aggregates.map(pendingShard));

    // Assert
    expect(pendingShardKeys()).toHaveLength(8);
    for (const shard of used) expect(pendingShardKeys()).toContain(shard);
  });

  it.each([
    [Object.assign(new Error('Unknown action: StartMessageMoveTask'), { name: 'InvalidAction' }), true],
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

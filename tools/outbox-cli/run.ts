import { CliFailure, type CliIo, EXIT, UsageError } from './cli-io';
import type { Command } from './command';
import { archiveReplayCommand } from './commands/archive-replay';
import { backfillCommand } from './commands/backfill';
import { redriveCommand } from './commands/redrive';
import { replayCommand } from './commands/replay';
import { skipCommand } from './commands/skip';
import { statusCommand } from './commands/status';
import { MissingOutputError } from './stack-outputs';
import { resolveTarget, type Target } from './target';

// biome-ignore lint/suspicious/noExplicitAny: each command carries its own options type.
const COMMANDS: ReadonlyArray<Command<any>> = [
  statusCommand,
  replayCommand,
  backfillCommand,
  redriveCommand,
  skipCommand,
  archiveReplayCommand,
];

/** The top-level `--help`. */
export const HELP = `Usage: npm run outbox -- <command> [options] (--local | --stack <name> --outputs <file>)

Operator tool of the outbox pipeline: see how far behind it is, re-publish events, backfill or
rebuild one consumer, move dead-letter messages back, step an ordered consumer over an event that
will never come, replay the EventBridge archive. What each alarm means and which
command helps: docs/operations.md.

Commands:
${COMMANDS.map((command) => `  ${command.name.padEnd(16)} ${command.summary}`).join('\n')}

Target:
  --local                 the pipeline started with \`npm start -- --keep\`
  --stack <name> --outputs <file>
                          a deployed stack, its outputs from \`cdk deploy --outputs-file <file>\`
                          (plus --region <region>, --endpoint-url <url>)

Run \`npm run outbox -- <command> --help\` for a command's options and examples.
Exit codes: 0 ok, 1 failure (or, for status, something needs attention), 2 wrong command line.`;

/** What {@link runCli} may be given instead of the real target resolution (tests). */
export interface CliDependencies {
  readonly resolveTarget?: typeof resolveTarget;
  /** Overrides merged into the parsed options (tests: fast polling, fixed clocks). */
  readonly optionOverrides?: Record<string, unknown>;
}

/**
 * Runs `npm run outbox -- <argv>`; returns the exit code. Never throws: every error is printed
 * with what to do next.
 */
export async function runCli(
  argv: ReadonlyArray<string>,
  io: CliIo,
  deps: CliDependencies = {},
): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    io.err(HELP);
    return EXIT.usage;
  }
  if (name === '--help' || name === '-h' || name === 'help') {
    io.out(HELP);
    return EXIT.ok;
  }
  const command = COMMANDS.find((candidate) => candidate.name === name);
  if (command === undefined) {
    io.err(`error: unknown command '${name}' (commands: ${COMMANDS.map((c) => c.name).join(', ')})`);
    io.err('Run `npm run outbox -- --help` for usage.');
    return EXIT.usage;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.out(command.help);
    return EXIT.ok;
  }
  let target: Target | undefined;
  try {
    const { target: targetOptions, options } = command.parse(rest);
    target = await (deps.resolveTarget ?? resolveTarget)(targetOptions);
    return await command.run(target, { ...options, ...deps.optionOverrides }, io);
  } catch (error) {
    return report(error, command.name, io);
  } finally {
    target?.close();
  }
}

function report(error: unknown, command: string, io: CliIo): number {
  if (error instanceof UsageError) {
    io.err(`error: ${error.message}`);
    io.err(`Run \`npm run outbox -- ${command} --help\` for usage.`);
    return EXIT.usage;
  }
  if (error instanceof CliFailure) {
    io.err(`error: ${error.message}`);
    if (error.next !== undefined) io.err(`Next: ${error.next}.`);
    return EXIT.failure;
  }
  if (error instanceof MissingOutputError) {
    io.err(`error: ${error.message}`);
    io.err(
      'Next: check that the outputs belong to this pipeline (npm start -- --keep, or cdk deploy --outputs-file).',
    );
    return EXIT.failure;
  }
  const name = (error as Error)?.name ?? 'Error';
  const message = (error as Error)?.message ?? String(error);
  io.err(`error: ${name}: ${message}`);
  io.err(`Next: ${hintFor(name, message)}`);
  return EXIT.failure;
}

function hintFor(name: string, message: string): string {
  if (/Region is missing/i.test(message)) return 'pass --region <region> or set AWS_REGION.';
  if (/credential/i.test(message) || /CredentialsProviderError|ExpiredToken|UnrecognizedClient/.test(name)) {
    return 'check your AWS credentials (AWS_PROFILE, `aws sso login`).';
  }
  if (/AccessDenied|NotAuthorized|Forbidden/i.test(name)) {
    return 'your credentials lack a permission named above; docs/operations.md lists what each command needs.';
  }
  if (/ECONNREFUSED|ENOTFOUND|fetch failed|socket hang up/i.test(message)) {
    return 'the endpoint did not answer: is the pipeline (or --endpoint-url) up? For --local, restart `npm start -- --keep`.';
  }
  if (/ResourceNotFound|NonExistentQueue|QueueDoesNotExist/.test(name)) {
    return 'a resource named in the outputs does not exist: are the outputs from the current deployment?';
  }
  return 'see the message above; the command is safe to run again.';
}

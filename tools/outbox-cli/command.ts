import type { TargetOptions } from './arguments';
import type { CliIo } from './cli-io';
import type { Target } from './target';

/** A parsed command line: which pipeline, and the command's own options. */
export interface Invocation<O> {
  readonly target: TargetOptions;
  readonly options: O;
}

/** A subcommand of `npm run outbox`. */
export interface Command<O> {
  readonly name: string;
  /** One line for the top-level help. */
  readonly summary: string;
  /** The command's `--help` text. */
  readonly help: string;
  /** @throws UsageError on a wrong command line */
  parse(argv: ReadonlyArray<string>): Invocation<O>;
  /** Runs the command; returns the exit code. @throws CliFailure with what to do next */
  run(target: Target, options: O, io: CliIo): Promise<number>;
}

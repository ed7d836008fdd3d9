/** Exit codes of `npm run outbox`. */
export const EXIT = {
  /** The command did what was asked (for `status`: nothing needs attention). */
  ok: 0,
  /** The command failed, or (for `status`) something needs attention. */
  failure: 1,
  /** The command line was wrong: unknown command or option, bad value, missing target. */
  usage: 2,
} as const;

/** Where a command writes: results to `out`, diagnostics and errors to `err`. */
export interface CliIo {
  out(line: string): void;
  err(line: string): void;
}

/** The process's stdout and stderr. */
export const processIo: CliIo = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
};

/** Waits `ms` milliseconds: the commands' `sleep` unless their options give one (tests do). */
export function defaultSleep(ms: number): Promise<void> {
  return new Promise<void>((resolve) => setTimeout(resolve, ms));
}

/** A wrong command line; exits 2 and points at the command's `--help`. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** A failure the operator can act on: what went wrong, and what to do next. Exits 1. */
export class CliFailure extends Error {
  override readonly name = 'CliFailure';

  constructor(
    message: string,
    /** What to do about it, e.g. the command to run. */
    readonly next?: string,
  ) {
    super(message);
  }
}

import { type ParseArgsConfig, parseArgs } from 'node:util';
import { UsageError } from './cli-io';

/** Options every command takes to choose the pipeline it works on. */
export interface TargetOptions {
  /** Use the local pipeline recorded by `npm start -- --keep`. */
  readonly local: boolean;
  /** Deployed stack name. */
  readonly stack?: string;
  /** File written by `cdk deploy --outputs-file`. */
  readonly outputsFile?: string;
  readonly region?: string;
  /** One endpoint for every AWS client (e.g. LocalStack). */
  readonly endpointUrl?: string;
}

/** The `parseArgs` declarations of {@link TargetOptions}. */
export const TARGET_OPTION_SPECS = {
  local: { type: 'boolean', default: false },
  stack: { type: 'string' },
  outputs: { type: 'string' },
  region: { type: 'string' },
  'endpoint-url': { type: 'string' },
} as const;

/** Help text of the target options, shared by every command's `--help`. */
export const TARGET_HELP = `Target (one of):
  --local                 the pipeline started with \`npm start -- --keep\` (reads .local/pipeline.json)
  --stack <name>          a deployed stack; needs --outputs
  --outputs <file>        stack outputs written by \`cdk deploy --outputs-file <file>\`
  --region <region>       AWS region of the stack (default: the SDK's usual resolution, e.g. AWS_REGION)
  --endpoint-url <url>    send every AWS call to this endpoint (e.g. LocalStack)`;

/**
 * Parses a command's arguments with node:util `parseArgs` (strict, no positionals), turning its
 * errors into {@link UsageError}s.
 */
export function parseCommandArgs<const O extends NonNullable<ParseArgsConfig['options']>>(
  command: string,
  argv: ReadonlyArray<string>,
  options: O,
) {
  try {
    return parseArgs({ args: [...argv], options, strict: true, allowPositionals: false }).values;
  } catch (error) {
    throw new UsageError(`${command}: ${(error as Error).message}`);
  }
}

/** The {@link TargetOptions} out of parsed values, checked for consistency. */
export function targetOptions(values: {
  local?: boolean;
  stack?: string;
  outputs?: string;
  region?: string;
  'endpoint-url'?: string;
}): TargetOptions {
  const local = values.local === true;
  if (local && (values.stack !== undefined || values.outputs !== undefined)) {
    throw new UsageError('choose one target: --local, or --stack <name> with --outputs <file>');
  }
  if (local && (values.region !== undefined || values['endpoint-url'] !== undefined)) {
    throw new UsageError(
      '--region and --endpoint-url apply to --stack; --local uses the region and endpoints in .local/pipeline.json',
    );
  }
  if (!local && values.stack === undefined && values.outputs === undefined) {
    throw new UsageError('choose a target: --local, or --stack <name> --outputs <file>');
  }
  if (values['endpoint-url'] !== undefined) parseUrl(values['endpoint-url'], '--endpoint-url');
  return {
    local,
    stack: values.stack,
    outputsFile: values.outputs,
    region: values.region,
    endpointUrl: values['endpoint-url'],
  };
}

const INSTANT_PATTERN = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2}))?$/;

/**
 * An ISO-8601 instant with an explicit zone (`2024-05-01T12:00:00Z`, `...+02:00`) or a date
 * (`2024-05-01`, midnight UTC); a local time without zone would mean different instants on
 * different machines.
 */
export function parseInstant(value: string | undefined, option: string): Date {
  if (value === undefined) throw new UsageError(`${option} is required`);
  const date = new Date(value);
  if (!INSTANT_PATTERN.test(value) || Number.isNaN(date.getTime())) {
    throw new UsageError(
      `${option} must be an ISO-8601 time with a zone, e.g. 2024-05-01T12:00:00Z (given '${value}')`,
    );
  }
  return date;
}

/** `--since` and `--until`: two instants (see {@link parseInstant}), the first before the second. */
export function parseTimeRange(
  since: string | undefined,
  until: string | undefined,
): { since: Date; until: Date } {
  const from = parseInstant(since, '--since');
  const to = parseInstant(until, '--until');
  if (from.getTime() >= to.getTime()) {
    throw new UsageError(
      `--since must be before --until (given ${from.toISOString()} and ${to.toISOString()})`,
    );
  }
  return { since: from, until: to };
}

const AGGREGATE_KEY_PATTERN = /^[A-Za-z][A-Za-z0-9_-]*#\S+$/;

/** `--aggregate`: an aggregate key `<AggregateType>#<id>`, e.g. `Order#o-1`. */
export function parseAggregateKeyOption(value: string): string {
  if (!AGGREGATE_KEY_PATTERN.test(value)) {
    throw new UsageError(`--aggregate must be <AggregateType>#<id>, e.g. Order#o-1 (given '${value}')`);
  }
  return value;
}

/** `--poll-seconds`: seconds between the progress polls of a long-running AWS task, 1..300, 5 by default. */
export function parsePollSeconds(value: string | undefined): number {
  return parseInteger(value, '--poll-seconds', 1, 300) ?? 5;
}

/** A whole number in `[min, max]`. */
export function parseInteger(
  value: string | undefined,
  option: string,
  min: number,
  max: number,
): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new UsageError(`${option} must be a whole number from ${min} to ${max} (given '${value}')`);
  }
  return n;
}

/** One of `choices`. */
export function parseChoice<const T extends string>(
  value: string | undefined,
  option: string,
  choices: ReadonlyArray<T>,
): T | undefined {
  if (value === undefined) return undefined;
  if (!(choices as ReadonlyArray<string>).includes(value)) {
    throw new UsageError(`${option} must be one of ${choices.join(', ')} (given '${value}')`);
  }
  return value as T;
}

function parseUrl(value: string, option: string): URL {
  try {
    return new URL(value);
  } catch {
    throw new UsageError(`${option} must be a URL such as http://localhost:4566 (given '${value}')`);
  }
}

import { readFile } from 'node:fs/promises';
import { relative } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { TargetOptions } from './arguments';
import { CliFailure, UsageError } from './cli-io';
import type { StackOutputs } from './stack-outputs';

/** The pipeline a command works on: its outputs and clients for its services. */
export interface Target {
  /** One line saying which pipeline this is and where its outputs came from. */
  readonly description: string;
  readonly outputs: StackOutputs;
  readonly dynamodb: DynamoDBClient;
  readonly sqs: SQSClient;
  readonly eventbridge: EventBridgeClient;
  readonly s3: S3Client;
  /** True for the local pipeline (emulators instead of AWS). */
  readonly local: boolean;
  /** Closes the clients. */
  close(): void;
}

/** What `npm start -- --keep` writes to .local/pipeline.json (local/cli/start.ts). */
interface LocalState {
  readonly pid: number;
  readonly region: string;
  readonly endpoints: {
    readonly dynamodb: string;
    readonly sqs: string;
    readonly eventbridge: string;
    readonly s3?: string;
  };
  readonly outputs: StackOutputs;
}

const START_LOCAL = 'start the local pipeline with `npm start -- --keep` first';

/**
 * Resolves `--local` or `--stack` to outputs and clients.
 *
 * Deployed stacks: the outputs come from the file `cdk deploy --outputs-file` wrote, because
 * @aws-sdk/client-cloudformation (for DescribeStacks) is not a dependency of this project.
 */
export async function resolveTarget(options: TargetOptions): Promise<Target> {
  if (options.local) return localTarget();
  return deployedTarget(options);
}

async function localTarget(): Promise<Target> {
  // Loaded here, not at the top: the local runtime module pulls in the engines.
  const [{ LOCAL_STATE_FILE }, { LOCAL_CREDENTIALS }] = await Promise.all([
    import('../../local/pipeline'),
    import('local-aws'),
  ]);
  const shown = relative(process.cwd(), LOCAL_STATE_FILE) || LOCAL_STATE_FILE;
  let text: string;
  try {
    text = await readFile(LOCAL_STATE_FILE, 'utf8');
  } catch {
    throw new CliFailure(`no local pipeline is running (${shown} does not exist)`, START_LOCAL);
  }
  const state = parseLocalState(text, shown);
  if (!isRunning(state.pid)) {
    throw new CliFailure(
      `the local pipeline recorded in ${shown} (pid ${state.pid}) is not running`,
      START_LOCAL,
    );
  }
  const config = { region: state.region, credentials: LOCAL_CREDENTIALS };
  return withClients(`local pipeline (pid ${state.pid}, ${shown})`, state.outputs, true, {
    dynamodb: new DynamoDBClient({ ...config, endpoint: state.endpoints.dynamodb }),
    sqs: new SQSClient({ ...config, endpoint: state.endpoints.sqs }),
    eventbridge: new EventBridgeClient({ ...config, endpoint: state.endpoints.eventbridge }),
    s3: new S3Client({
      ...config,
      forcePathStyle: true,
      ...(state.endpoints.s3 ? { endpoint: state.endpoints.s3 } : {}),
    }),
  });
}

async function deployedTarget(options: TargetOptions): Promise<Target> {
  if (options.outputsFile === undefined) {
    throw new UsageError(
      `--stack ${options.stack ?? ''} needs --outputs <file>: deploy with \`npx cdk deploy --outputs-file outputs.json\` and pass --outputs outputs.json (looking outputs up with DescribeStacks would need @aws-sdk/client-cloudformation, which this project does not install)`,
    );
  }
  let text: string;
  try {
    text = await readFile(options.outputsFile, 'utf8');
  } catch (error) {
    throw new CliFailure(
      `cannot read ${options.outputsFile}: ${(error as Error).message}`,
      'write it with `npx cdk deploy --outputs-file <file>`',
    );
  }
  const { stack, outputs } = stackOutputsFromFile(text, options.outputsFile, options.stack);
  const config = {
    ...(options.region === undefined ? {} : { region: options.region }),
    ...(options.endpointUrl === undefined ? {} : { endpoint: options.endpointUrl }),
  };
  const where = [options.region ?? 'default region', options.endpointUrl].filter(Boolean).join(', ');
  return withClients(`stack ${stack} (outputs from ${options.outputsFile}; ${where})`, outputs, false, {
    dynamodb: new DynamoDBClient(config),
    sqs: new SQSClient(config),
    eventbridge: new EventBridgeClient(config),
    s3: new S3Client(config),
  });
}

/**
 * The outputs of one stack from a `cdk deploy --outputs-file` file (`{ <stack>: { <key>: <value> } }`).
 * Without a stack name, the file must hold exactly one stack.
 */
export function stackOutputsFromFile(
  text: string,
  file: string,
  stackName?: string,
): { stack: string; outputs: StackOutputs } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new CliFailure(`${file} is not JSON: ${(error as Error).message}`);
  }
  if (!isStringRecordOfRecords(parsed)) {
    throw new CliFailure(
      `${file} is not a cdk outputs file: expected { "<StackName>": { "<OutputKey>": "<value>" } }`,
    );
  }
  const stacks = Object.keys(parsed);
  const stack = stackName ?? (stacks.length === 1 ? stacks[0] : undefined);
  if (stack === undefined) {
    throw new UsageError(
      `${file} holds ${stacks.length} stacks (${stacks.join(', ')}): choose one with --stack`,
    );
  }
  const outputs = parsed[stack];
  if (outputs === undefined) {
    throw new CliFailure(
      `${file} has no outputs for stack ${stack} (it has: ${stacks.join(', ') || 'none'})`,
      'check the stack name, or write the file again with `npx cdk deploy --outputs-file <file>`',
    );
  }
  return { stack, outputs };
}

function parseLocalState(text: string, file: string): LocalState {
  let state: Partial<LocalState>;
  try {
    state = JSON.parse(text) as Partial<LocalState>;
  } catch {
    throw new CliFailure(`${file} is not valid JSON`, START_LOCAL);
  }
  if (
    typeof state.pid !== 'number' ||
    typeof state.region !== 'string' ||
    typeof state.endpoints?.dynamodb !== 'string' ||
    typeof state.endpoints.sqs !== 'string' ||
    typeof state.endpoints.eventbridge !== 'string' ||
    typeof state.outputs !== 'object' ||
    state.outputs === null
  ) {
    throw new CliFailure(`${file} lacks pid, region, endpoints or outputs`, START_LOCAL);
  }
  return state as LocalState;
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A {@link Target} over given clients; tests build targets on their own engines with it. */
export function withClients(
  description: string,
  outputs: StackOutputs,
  local: boolean,
  clients: { dynamodb: DynamoDBClient; sqs: SQSClient; eventbridge: EventBridgeClient; s3: S3Client },
): Target {
  return {
    description,
    outputs,
    local,
    ...clients,
    close: () => {
      clients.dynamodb.destroy();
      clients.sqs.destroy();
      clients.eventbridge.destroy();
      clients.s3.destroy();
    },
  };
}

function isStringRecordOfRecords(value: unknown): value is Record<string, Record<string, string>> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  return Object.values(value).every(
    (inner) =>
      typeof inner === 'object' &&
      inner !== null &&
      !Array.isArray(inner) &&
      Object.values(inner).every((v) => typeof v === 'string'),
  );
}

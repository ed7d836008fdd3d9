import { existsSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { AwsCredentialIdentity } from '@smithy/types';
import { LOCAL_CREDENTIALS } from 'local-aws';
import { type ConsumerDeclaration, registeredConsumers } from '../../contract/consumers';
import { PROJECT_ROOT } from '../../contract/project';
import { consumerOutputKey, STACK_OUTPUTS } from '../../contract/stack-outputs';
import { LOCAL_OUTPUTS_FILE, LOCAL_STACK_NAME, LOCAL_STATE_FILE } from '../../local/pipeline';
import { OrderApiClient } from '../../tools/order-api/client';
import {
  type DeadLetterQueue,
  deadLetterQueues,
  type StackOutputs,
} from '../../tools/outbox-cli/stack-outputs';
import { isProcessAlive, type LocalEndpoints, LocalStateError, readLocalPipelineState } from './local-state';
import { chooseTarget, E2E_ENV, E2eConfigurationError, type LocalPipelineLookup } from './targets';

export { E2E_ENV, E2eConfigurationError } from './targets';

/**
 * Where the end-to-end suite finds the stack, and whether it may run at all. Three targets:
 * the local pipeline of `npm start -- --keep`, LocalStack, and a real AWS account.
 *
 * The only source of stack outputs is a file in the format `cdk deploy --outputs-file` writes
 * (the local runtime writes one too): `@aws-sdk/client-cloudformation` is not a dependency of
 * this project, so there is no `DescribeStacks` fallback. Which outputs the suite needs comes
 * from the consumer registry (contract/consumers.ts) and the key names (contract/stack-outputs.ts).
 */

/** Relative to the project root; the path `npm run local:deploy` writes. */
export const DEFAULT_OUTPUTS_FILE = '.local/localstack-outputs.json';
export const DEFAULT_STACK_NAME = LOCAL_STACK_NAME;
export const LOCALSTACK_ENDPOINT = 'http://localhost.localstack.cloud:4566';
export const DEFAULT_WAIT_SECONDS = 90;
/** Kept below the e2e config's hook timeout (300 s), which also covers the commands themselves. */
export const MAX_WAIT_SECONDS = 240;

/** One registered consumer's resources, from its outputs. */
export interface ConsumerResources {
  readonly consumer: ConsumerDeclaration;
  readonly queueUrl: string;
  readonly deadLetterQueueUrl: string;
  readonly functionName: string;
  /** The EventBridge target's dead-letter queue (unordered consumers only). */
  readonly targetDeadLetterQueueUrl?: string;
}

/** The resources the suite drives and inspects. */
export interface StackResources {
  readonly tableName: string;
  readonly orderApiUrl: string;
  readonly relayFailureQueueUrl: string;
  /** Every registered consumer, in registry order. */
  readonly consumers: ReadonlyArray<ConsumerResources>;
  /** The relay failure queue and every dead-letter queue of every registered consumer. */
  readonly failureQueues: ReadonlyArray<DeadLetterQueue>;
}

/** The local pipeline, LocalStack (an endpoint override) or a real AWS account (default endpoints). */
export type DeploymentTarget =
  | {
      readonly kind: 'local';
      readonly stateFile: string;
      readonly pid: number;
      readonly endpoints: LocalEndpoints;
    }
  | { readonly kind: 'localstack'; readonly endpoint: string }
  | { readonly kind: 'aws' };

/** A deployed (or locally running) stack the suite can run against. */
export interface DeployedStack {
  readonly stackName: string;
  /** Absolute path of the outputs file the values came from. */
  readonly outputsFile: string;
  readonly resources: StackResources;
  readonly target: DeploymentTarget;
  /** From the local state file, else from the Function URL. */
  readonly region: string;
  /** Bound on waiting for the consumers. */
  readonly waitMs: number;
  /** Which setting chose the target, e.g. `OUTBOX_E2E_LOCAL=1`. */
  readonly chosenBy: string;
}

/** Either a stack to run against, or why there is none (the suite is then skipped). */
export type Deployment =
  | { readonly configured: true; readonly stack: DeployedStack }
  | { readonly configured: false; readonly reason: string };

/** The outputs file is unreadable, is not `cdk deploy --outputs-file` JSON, or lacks an output. */
export class StackOutputsError extends E2eConfigurationError {
  constructor(
    readonly file: string,
    problem: string,
  ) {
    super(`stack outputs file ${file}: ${problem}`);
  }
}

/** Where {@link resolveDeployment} looks; tests point it at a scratch folder. */
export interface ResolveOptions {
  /** Folder the default files are relative to. @default the project root */
  readonly projectRoot?: string;
  /** @default a signal-0 probe */
  readonly isProcessAlive?: (pid: number) => boolean;
}

/**
 * Decides whether the suite runs, and against what (see {@link chooseTarget} and skipMessage):
 * `OUTBOX_E2E_LOCAL=1` (the local pipeline), `AWS_ENDPOINT_URL` (LocalStack), `OUTBOX_E2E_AWS=1`
 * (real AWS), or, with none of them set, the local pipeline when its state file names a live
 * process. Explicit intent that cannot be met throws instead of skipping.
 *
 * @throws E2eConfigurationError for contradictory or invalid settings, or a local pipeline that is not running
 * @throws StackOutputsError for an outputs file that cannot be used
 */
export function resolveDeployment(
  env: NodeJS.ProcessEnv = process.env,
  options: ResolveOptions = {},
): Deployment {
  const root = options.projectRoot ?? PROJECT_ROOT;
  const files = {
    localstackOutputs: join(root, DEFAULT_OUTPUTS_FILE),
    localState: join(root, relative(PROJECT_ROOT, LOCAL_STATE_FILE)),
    localOutputs: join(root, relative(PROJECT_ROOT, LOCAL_OUTPUTS_FILE)),
  };
  const alive = options.isProcessAlive ?? isProcessAlive;
  const explicitFile = nonEmpty(env[E2E_ENV.outputsFile]);
  // A path given by the user is relative to where they run the command; the defaults are the project's.
  const explicitPath = explicitFile === undefined ? undefined : resolve(explicitFile);
  const stackName = nonEmpty(env[E2E_ENV.stackName]) ?? DEFAULT_STACK_NAME;

  const choice = chooseTarget(env, files.localState, () => localPipeline(files.localState, alive));
  if (choice.kind === 'none') {
    const found = existsSync(files.localstackOutputs)
      ? `; found ${files.localstackOutputs}: set ${E2E_ENV.endpoint} to run against that LocalStack deployment`
      : '';
    return { configured: false, reason: `${choice.reason}${found}` };
  }
  const waitMs = readWaitSeconds(env) * 1000;

  if (choice.kind === 'local') {
    const outputsFile = explicitPath ?? files.localOutputs;
    if (!existsSync(outputsFile)) {
      // The pipeline removes its outputs file when it stops: without it, a state file found by
      // itself is most likely one a killed pipeline left, its pid since taken by another process.
      if (choice.automatic && explicitPath === undefined) {
        return {
          configured: false,
          reason:
            `${files.localState} names pid ${choice.state.pid}, which is running, but ${outputsFile} does not exist, ` +
            'so it is probably left from a pipeline that was killed (remove it, or restart `npm start -- --keep`)',
        };
      }
      throw new E2eConfigurationError(
        `the local pipeline (pid ${choice.state.pid}) is running, but its stack outputs file ${outputsFile} does not exist; ` +
          'restart it with `npm start -- --keep`, which writes that file',
      );
    }
    const resources = readStackOutputs(outputsFile, stackName);
    assertTargetMatchesOutputs('local', outputsFile, resources.orderApiUrl);
    const stateApiUrl = choice.state.outputs[STACK_OUTPUTS.orderApiUrl];
    if (stateApiUrl !== resources.orderApiUrl) {
      throw new E2eConfigurationError(
        `${outputsFile} gives ${STACK_OUTPUTS.orderApiUrl} ${resources.orderApiUrl}, but the running local pipeline ` +
          `(${files.localState}) has ${stateApiUrl ?? 'none'}: the outputs file is from another run; restart \`npm start -- --keep\``,
      );
    }
    const target: DeploymentTarget = {
      kind: 'local',
      stateFile: files.localState,
      pid: choice.state.pid,
      endpoints: choice.state.endpoints,
    };
    return {
      configured: true,
      stack: {
        stackName,
        outputsFile,
        resources,
        target,
        region: choice.state.region,
        waitMs,
        chosenBy: choice.chosenBy,
      },
    };
  }

  const outputsFile = explicitPath ?? files.localstackOutputs;
  if (!existsSync(outputsFile)) {
    if (choice.kind === 'aws') {
      throw new E2eConfigurationError(
        `${E2E_ENV.realAws}=1 asks for a run against real AWS, but there is no stack outputs file at ${outputsFile}; ` +
          `deploy with \`npx cdk deploy --outputs-file <file>\` and set ${E2E_ENV.outputsFile}=<file> ` +
          '(CloudFormation DescribeStacks is not supported: @aws-sdk/client-cloudformation is not installed)',
      );
    }
    if (explicitPath !== undefined) {
      throw new E2eConfigurationError(`${E2E_ENV.outputsFile} names ${outputsFile}, which does not exist`);
    }
    // AWS_ENDPOINT_URL is often set for other tools, so without outputs it is not taken as intent.
    const running = liveLocalPipeline(files.localState, alive);
    return {
      configured: false,
      reason:
        `${E2E_ENV.endpoint} is set, but there are no stack outputs at ${outputsFile} (run \`npm run local:deploy\` first)` +
        (running
          ? `; a local pipeline is running (pid ${running.pid}): set ${E2E_ENV.local}=1 to test it`
          : ''),
    };
  }
  const resources = readStackOutputs(outputsFile, stackName);
  assertTargetMatchesOutputs(choice.kind, outputsFile, resources.orderApiUrl);
  const region = regionOfFunctionUrl(outputsFile, resources.orderApiUrl);
  const target: DeploymentTarget =
    choice.kind === 'localstack' ? { kind: 'localstack', endpoint: choice.endpoint } : { kind: 'aws' };
  return {
    configured: true,
    stack: { stackName, outputsFile, resources, target, region, waitMs, chosenBy: choice.chosenBy },
  };
}

/**
 * The outputs every run needs, as `[key, is a URL]`: the table, the order API, the relay failure
 * queue, and for every registered consumer its queue, dead-letter queue and function (and, for an
 * unordered consumer, its EventBridge target's dead-letter queue).
 */
export function requiredOutputKeys(
  consumers: ReadonlyArray<ConsumerDeclaration> = registeredConsumers(),
): Array<readonly [key: string, isUrl: boolean]> {
  const keys: Array<readonly [string, boolean]> = [
    [STACK_OUTPUTS.tableName, false],
    [STACK_OUTPUTS.orderApiUrl, true],
    [STACK_OUTPUTS.relayFailureQueueUrl, true],
  ];
  for (const consumer of consumers) {
    keys.push([consumerOutputKey(consumer.name, 'queueUrl'), true]);
    keys.push([consumerOutputKey(consumer.name, 'deadLetterQueueUrl'), true]);
    keys.push([consumerOutputKey(consumer.name, 'functionName'), false]);
    if (consumer.kind === 'unordered')
      keys.push([consumerOutputKey(consumer.name, 'targetDeadLetterQueueUrl'), true]);
  }
  return keys;
}

/**
 * Reads the outputs of one stack from a `cdk deploy --outputs-file` file
 * (`{ "<stack>": { "<output key>": "<value>", … } }`) and picks the suite's resources from them.
 *
 * @throws StackOutputsError naming the file and the stack or output that is missing or malformed
 */
export function readStackOutputs(
  file: string,
  stackName: string,
  consumers: ReadonlyArray<ConsumerDeclaration> = registeredConsumers(),
): StackResources {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new StackOutputsError(file, `cannot be read (${(error as Error).message})`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new StackOutputsError(file, `is not valid JSON (${(error as Error).message})`);
  }
  if (!isRecord(parsed)) {
    throw new StackOutputsError(
      file,
      'must be a JSON object keyed by stack name, as `cdk deploy --outputs-file` writes',
    );
  }
  const stackOutputs = parsed[stackName];
  if (!isRecord(stackOutputs)) {
    const stacks = Object.keys(parsed);
    throw new StackOutputsError(
      file,
      `has no outputs for stack '${stackName}' (it has ${stacks.length > 0 ? stacks.map((s) => `'${s}'`).join(', ') : 'none'}); ` +
        `set ${E2E_ENV.stackName} to the deployed stack's name`,
    );
  }
  const outputs: Record<string, string> = {};
  for (const [key, isUrl] of requiredOutputKeys(consumers)) {
    const value = stackOutputs[key];
    if (typeof value !== 'string' || value.length === 0) {
      throw new StackOutputsError(
        file,
        `stack '${stackName}' has no output '${key}' (given ${JSON.stringify(value) ?? 'nothing'}); ` +
          'redeploy the current stack so that its outputs match contract/stack-outputs.ts and contract/consumers.ts',
      );
    }
    if (isUrl && !URL.canParse(value)) {
      throw new StackOutputsError(
        file,
        `output '${key}' of stack '${stackName}' is not a URL (given '${value}')`,
      );
    }
    outputs[key] = value;
  }
  return resourcesOf(outputs, consumers);
}

function resourcesOf(outputs: StackOutputs, consumers: ReadonlyArray<ConsumerDeclaration>): StackResources {
  const value = (key: string) => outputs[key] ?? '';
  return {
    tableName: value(STACK_OUTPUTS.tableName),
    orderApiUrl: value(STACK_OUTPUTS.orderApiUrl),
    relayFailureQueueUrl: value(STACK_OUTPUTS.relayFailureQueueUrl),
    consumers: consumers.map((consumer) => ({
      consumer,
      queueUrl: value(consumerOutputKey(consumer.name, 'queueUrl')),
      deadLetterQueueUrl: value(consumerOutputKey(consumer.name, 'deadLetterQueueUrl')),
      functionName: value(consumerOutputKey(consumer.name, 'functionName')),
      ...(consumer.kind === 'unordered'
        ? { targetDeadLetterQueueUrl: value(consumerOutputKey(consumer.name, 'targetDeadLetterQueueUrl')) }
        : {}),
    })),
    // The operator CLI's reading of the registry: the same queues `npm run outbox -- status` lists.
    failureQueues: deadLetterQueues(outputs, consumers),
  };
}

/** A service the suite calls through the SDK. */
export type SdkService = 'dynamodb' | 'sqs';

/**
 * Client settings for one service of the stack: the local engine's endpoint and the operator
 * key (`LOCAL_CREDENTIALS` of local-aws, allowed everything by its IAM enforcement), LocalStack's endpoint and credentials it accepts, or the default credential chain for AWS.
 */
export function awsClientConfig(
  stack: DeployedStack,
  service: SdkService,
  env: NodeJS.ProcessEnv = process.env,
): { region: string; endpoint?: string; credentials?: AwsCredentialIdentity } {
  const { target } = stack;
  if (target.kind === 'aws') return { region: stack.region };
  if (target.kind === 'local') {
    return { region: stack.region, endpoint: target.endpoints[service], credentials: LOCAL_CREDENTIALS };
  }
  // LocalStack namespaces accounts by access key, so use the key cdklocal deployed with: 'test',
  // unless AWS_ENVAR_ALLOWLIST let the caller's own key through to it.
  const allowList = (env.AWS_ENVAR_ALLOWLIST ?? '').split(',').map((name) => name.trim());
  const fromEnv = (name: 'AWS_ACCESS_KEY_ID' | 'AWS_SECRET_ACCESS_KEY') =>
    (allowList.includes(name) ? nonEmpty(env[name]) : undefined) ?? 'test';
  return {
    region: stack.region,
    endpoint: target.endpoint,
    credentials: {
      accessKeyId: fromEnv('AWS_ACCESS_KEY_ID'),
      secretAccessKey: fromEnv('AWS_SECRET_ACCESS_KEY'),
    },
  };
}

/**
 * A client of the stack's order API (a Function URL with `AWS_IAM` auth). Local: signed with
 * the operator key, in the state file's region (the URL is `http://127.0.0.1:<port>/` and names
 * none). AWS: signed with the default credential chain (env, profile, SSO, IMDS, …), which an
 * SDK client resolves for us. LocalStack does not enforce IAM by default: unsigned.
 */
export function orderApiFor(stack: DeployedStack): OrderApiClient {
  const { orderApiUrl: baseUrl } = stack.resources;
  const { region, target } = stack;
  if (target.kind === 'local') return new OrderApiClient({ baseUrl, region, credentials: LOCAL_CREDENTIALS });
  if (target.kind === 'localstack') return new OrderApiClient({ baseUrl, region });
  return new OrderApiClient({
    baseUrl,
    region,
    credentials: new DynamoDBClient({ region }).config.credentials,
  });
}

/** One line saying what the suite runs against and why. */
export function describeTarget(stack: DeployedStack): string {
  const { target } = stack;
  const where =
    target.kind === 'local'
      ? `the local pipeline of \`npm start -- --keep\` (pid ${target.pid}, ${target.stateFile}, region ${stack.region})`
      : target.kind === 'localstack'
        ? `LocalStack at ${target.endpoint} (region ${stack.region})`
        : `AWS region ${stack.region}`;
  return `[e2e] Target: ${where}, stack ${stack.stackName} (outputs ${stack.outputsFile}), chosen by ${stack.chosenBy}.`;
}

/** The message printed once when the suite is skipped: the reason, and how to configure each target. */
export function skipMessage(reason: string): string {
  return [
    `[e2e] Skipping the deployed-stack suite: ${reason}.`,
    '  Local:      in one terminal `npm start -- --keep`; once it prints its endpoints, in another',
    `    ${E2E_ENV.local}=1 npm run test:e2e   (also chosen without it while that pipeline runs)`,
    '  LocalStack: start it (see docs/localstack.md), run `npm run local:deploy`, then',
    `    ${E2E_ENV.endpoint}=${LOCALSTACK_ENDPOINT} npm run test:e2e`,
    '  Real AWS:   npx cdk deploy --outputs-file .local/aws-outputs.json, then',
    `    ${E2E_ENV.realAws}=1 ${E2E_ENV.outputsFile}=.local/aws-outputs.json npm run test:e2e`,
    `  Optional:   ${E2E_ENV.stackName} (default ${DEFAULT_STACK_NAME}), ` +
      `${E2E_ENV.waitSeconds} (default ${DEFAULT_WAIT_SECONDS}, at most ${MAX_WAIT_SECONDS}), ` +
      `${E2E_ENV.local}=0 (never choose the local pipeline by itself).`,
  ].join('\n');
}

/** The local pipeline's state, or why it cannot be used (for {@link chooseTarget}). */
function localPipeline(stateFile: string, alive: (pid: number) => boolean): LocalPipelineLookup {
  if (!existsSync(stateFile)) return { problem: `${stateFile} does not exist` };
  try {
    const state = readLocalPipelineState(stateFile);
    if (!alive(state.pid)) {
      return {
        problem: `${stateFile} names pid ${state.pid}, which is not running (left by a pipeline that was killed)`,
      };
    }
    return { state };
  } catch (error) {
    if (error instanceof LocalStateError) return { problem: error.message };
    throw error;
  }
}

function liveLocalPipeline(stateFile: string, alive: (pid: number) => boolean): { pid: number } | undefined {
  const found = localPipeline(stateFile, alive);
  return 'state' in found ? { pid: found.state.pid } : undefined;
}

function readWaitSeconds(env: NodeJS.ProcessEnv): number {
  const raw = nonEmpty(env[E2E_ENV.waitSeconds]);
  if (raw === undefined) return DEFAULT_WAIT_SECONDS;
  const seconds = Number(raw);
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > MAX_WAIT_SECONDS) {
    throw new E2eConfigurationError(
      `${E2E_ENV.waitSeconds} must be a whole number of seconds from 1 to ${MAX_WAIT_SECONDS} (given '${raw}')`,
    );
  }
  return seconds;
}

// Function URLs are `<id>.lambda-url.<region>.on.aws` on AWS and
// `<id>.lambda-url.<region>.localhost.localstack.cloud:4566` on LocalStack.
function regionOfFunctionUrl(file: string, url: string): string {
  const region = /\.lambda-url\.([a-z0-9-]+)\./.exec(new URL(url).hostname)?.[1];
  if (region === undefined) {
    throw new StackOutputsError(
      file,
      `output '${STACK_OUTPUTS.orderApiUrl}' is not a Lambda Function URL (given '${url}')`,
    );
  }
  return region;
}

/** What kind of deployment a Function URL belongs to. */
export function deploymentOfUrl(url: string): DeploymentTarget['kind'] {
  const hostname = new URL(url).hostname;
  if (/^127\.\d+\.\d+\.\d+$/.test(hostname) || hostname === 'localhost' || hostname === '[::1]')
    return 'local';
  if (/(^|\.)localhost(\.|$)|localstack/.test(hostname)) return 'localstack';
  return 'aws';
}

const DEPLOYMENT_NAMES = {
  local: 'the local pipeline (npm start -- --keep)',
  localstack: 'a LocalStack deployment',
  aws: 'an AWS deployment',
} as const;

// Catches the outputs of one target being used for another, which would otherwise fail later
// with a confusing "table not found".
function assertTargetMatchesOutputs(
  target: DeploymentTarget['kind'],
  file: string,
  functionUrl: string,
): void {
  const described = deploymentOfUrl(functionUrl);
  if (described === target) return;
  const hint = {
    local: `unset ${E2E_ENV.outputsFile} to use the local pipeline's own outputs`,
    localstack: `point ${E2E_ENV.outputsFile} at LocalStack outputs, or choose the target that file describes`,
    aws: `set ${E2E_ENV.outputsFile} to the outputs of your AWS deployment`,
  }[target];
  throw new E2eConfigurationError(
    `the target is ${DEPLOYMENT_NAMES[target]}, but ${file} describes ${DEPLOYMENT_NAMES[described]} (${functionUrl}); ${hint}`,
  );
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

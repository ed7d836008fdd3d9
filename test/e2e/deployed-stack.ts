import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AwsCredentialIdentity } from '@smithy/types';
import { STACK_OUTPUTS } from '../../lib/outbox-pipeline-stack';

/**
 * Where the end-to-end suite finds the deployed stack, and whether it may run at all.
 *
 * The only source of stack outputs is the file `cdk deploy --outputs-file` writes:
 * `@aws-sdk/client-cloudformation` is not a dependency of this project, so there is no
 * `DescribeStacks` fallback.
 */

/** Environment variables the suite reads. */
export const E2E_ENV = {
  /** Outputs file written by `cdk deploy --outputs-file` / `npm run local:deploy`. */
  outputsFile: 'OUTBOX_E2E_OUTPUTS_FILE',
  /** Stack whose outputs to read from the file. */
  stackName: 'OUTBOX_E2E_STACK',
  /** `1` to run against real AWS (no endpoint override). */
  realAws: 'OUTBOX_E2E_AWS',
  /** LocalStack's endpoint; its presence selects the LocalStack target. */
  endpoint: 'AWS_ENDPOINT_URL',
  /** Upper bound, in seconds, on waiting for the consumers to catch up. */
  waitSeconds: 'OUTBOX_E2E_WAIT_SECONDS',
} as const;

/** Project root, so the default outputs file does not depend on the working directory. */
const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Relative to the project root; the path `npm run local:deploy` writes. */
export const DEFAULT_OUTPUTS_FILE = '.local/localstack-outputs.json';
export const DEFAULT_STACK_NAME = 'OutboxPipeline';
export const LOCALSTACK_ENDPOINT = 'http://localhost.localstack.cloud:4566';
export const DEFAULT_WAIT_SECONDS = 90;
/** Kept below the e2e config's hook timeout (300 s), which also covers the commands themselves. */
export const MAX_WAIT_SECONDS = 240;

/** The resources the suite drives and inspects, by their CfnOutput id. */
const REQUIRED_OUTPUTS = {
  tableName: STACK_OUTPUTS.tableName,
  orderApiUrl: STACK_OUTPUTS.orderApiUrl,
  relayFailureQueueUrl: STACK_OUTPUTS.relayFailureQueueUrl,
  orderProjectionDeadLetterQueueUrl: STACK_OUTPUTS.orderProjectionDeadLetterQueueUrl,
  orderActivityDeadLetterQueueUrl: STACK_OUTPUTS.orderActivityDeadLetterQueueUrl,
  orderActivityTargetDeadLetterQueueUrl: STACK_OUTPUTS.orderActivityTargetDeadLetterQueueUrl,
} as const;

/** Output values the suite needs, keyed like {@link STACK_OUTPUTS}. */
export type RequiredOutputs = { readonly [K in keyof typeof REQUIRED_OUTPUTS]: string };

/** LocalStack (an endpoint override) or a real AWS account (the default endpoints, SigV4-signed calls). */
export type DeploymentTarget =
  | { readonly kind: 'localstack'; readonly endpoint: string }
  | { readonly kind: 'aws' };

/** A deployed stack the suite can run against. */
export interface DeployedStack {
  readonly stackName: string;
  /** Absolute path of the outputs file the values came from. */
  readonly outputsFile: string;
  readonly outputs: RequiredOutputs;
  readonly target: DeploymentTarget;
  /** Region of the deployed resources, taken from the Function URL. */
  readonly region: string;
  /** Bound on waiting for the consumers. */
  readonly waitMs: number;
}

/** Either a stack to run against, or why there is none (the suite is then skipped). */
export type Deployment =
  | { readonly configured: true; readonly stack: DeployedStack }
  | { readonly configured: false; readonly reason: string };

/** The suite's configuration is inconsistent or the stack outputs cannot be used. */
export class E2eConfigurationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** The outputs file is unreadable, is not `cdk deploy --outputs-file` JSON, or lacks an output. */
export class StackOutputsError extends E2eConfigurationError {
  constructor(
    readonly file: string,
    problem: string,
  ) {
    super(`stack outputs file ${file}: ${problem}`);
  }
}

/**
 * Decides whether the suite runs, and against what.
 *
 * Configured means: the outputs file exists and one target is chosen, `AWS_ENDPOINT_URL`
 * (LocalStack) or `OUTBOX_E2E_AWS=1` (real AWS). Without a target the suite is skipped, and
 * so it is when only `AWS_ENDPOINT_URL` is set and the default outputs file is missing (that
 * variable is often set for other tools). Explicit intent that cannot be met throws instead of
 * skipping: `OUTBOX_E2E_AWS=1` or `OUTBOX_E2E_OUTPUTS_FILE` naming a file that does not exist.
 *
 * @throws E2eConfigurationError for contradictory or invalid settings
 * @throws StackOutputsError for an outputs file that cannot be used
 */
export function resolveDeployment(
  env: NodeJS.ProcessEnv = process.env,
  projectRoot: string = PROJECT_ROOT,
): Deployment {
  const target = readTarget(env);
  const explicitFile = nonEmpty(env[E2E_ENV.outputsFile]);
  // A path given by the user is relative to where they run the command; the default is the project's.
  const outputsFile =
    explicitFile !== undefined ? resolve(explicitFile) : join(projectRoot, DEFAULT_OUTPUTS_FILE);
  const stackName = nonEmpty(env[E2E_ENV.stackName]) ?? DEFAULT_STACK_NAME;
  const fileExists = existsSync(outputsFile);

  if (target === undefined) {
    return {
      configured: false,
      reason: fileExists
        ? `found ${outputsFile}, but neither ${E2E_ENV.endpoint} (LocalStack) nor ${E2E_ENV.realAws}=1 (real AWS) is set`
        : `no stack outputs at ${outputsFile}, and neither ${E2E_ENV.endpoint} (LocalStack) nor ${E2E_ENV.realAws}=1 (real AWS) is set`,
    };
  }
  if (!fileExists) {
    if (target.kind === 'aws') {
      throw new E2eConfigurationError(
        `${E2E_ENV.realAws}=1 asks for a run against real AWS, but there is no stack outputs file at ${outputsFile}; ` +
          `deploy with \`npx cdk deploy --outputs-file <file>\` and set ${E2E_ENV.outputsFile}=<file> ` +
          '(CloudFormation DescribeStacks is not supported: @aws-sdk/client-cloudformation is not installed)',
      );
    }
    if (explicitFile !== undefined) {
      throw new E2eConfigurationError(`${E2E_ENV.outputsFile} names ${outputsFile}, which does not exist`);
    }
    return {
      configured: false,
      reason: `${E2E_ENV.endpoint} is set, but there are no stack outputs at ${outputsFile} (run \`npm run local:deploy\` first)`,
    };
  }

  const outputs = readStackOutputs(outputsFile, stackName);
  const region = regionOfFunctionUrl(outputsFile, outputs.orderApiUrl);
  assertTargetMatchesOutputs(target, outputsFile, outputs.orderApiUrl);
  return {
    configured: true,
    stack: { stackName, outputsFile, outputs, target, region, waitMs: readWaitSeconds(env) * 1000 },
  };
}

/**
 * Reads the outputs of one stack from a `cdk deploy --outputs-file` file
 * (`{ "<stack>": { "<output id>": "<value>", … } }`).
 *
 * @throws StackOutputsError naming the file and the stack or output that is missing or malformed
 */
export function readStackOutputs(file: string, stackName: string): RequiredOutputs {
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
  const values = {} as Record<keyof RequiredOutputs, string>;
  for (const [key, outputId] of Object.entries(REQUIRED_OUTPUTS) as Array<[keyof RequiredOutputs, string]>) {
    const value = stackOutputs[outputId];
    if (typeof value !== 'string' || value.length === 0) {
      throw new StackOutputsError(
        file,
        `stack '${stackName}' has no output '${outputId}' (given ${JSON.stringify(value) ?? 'nothing'}); ` +
          'redeploy the current stack so that its outputs match lib/outbox-pipeline-stack.ts',
      );
    }
    if (outputId !== STACK_OUTPUTS.tableName && !URL.canParse(value)) {
      throw new StackOutputsError(
        file,
        `output '${outputId}' of stack '${stackName}' is not a URL (given '${value}')`,
      );
    }
    values[key] = value;
  }
  return values;
}

/**
 * Client settings for the deployed stack: LocalStack's endpoint and credentials it accepts,
 * or the default credential chain for real AWS.
 */
export function awsClientConfig(
  stack: DeployedStack,
  env: NodeJS.ProcessEnv = process.env,
): { region: string; endpoint?: string; credentials?: AwsCredentialIdentity } {
  if (stack.target.kind === 'aws') return { region: stack.region };
  // LocalStack namespaces accounts by access key, so use the key cdklocal deployed with: 'test',
  // unless AWS_ENVAR_ALLOWLIST let the caller's own key through to it.
  const allowList = (env.AWS_ENVAR_ALLOWLIST ?? '').split(',').map((name) => name.trim());
  const fromEnv = (name: 'AWS_ACCESS_KEY_ID' | 'AWS_SECRET_ACCESS_KEY') =>
    (allowList.includes(name) ? nonEmpty(env[name]) : undefined) ?? 'test';
  return {
    region: stack.region,
    endpoint: stack.target.endpoint,
    credentials: {
      accessKeyId: fromEnv('AWS_ACCESS_KEY_ID'),
      secretAccessKey: fromEnv('AWS_SECRET_ACCESS_KEY'),
    },
  };
}

/** The message printed once when the suite is skipped. */
export function skipMessage(reason: string): string {
  return [
    `[e2e] Skipping the deployed-stack suite: ${reason}.`,
    '  LocalStack: start it (see docs/localstack.md), run `npm run local:deploy`, then',
    `    ${E2E_ENV.endpoint}=${LOCALSTACK_ENDPOINT} npm run test:e2e`,
    '  Real AWS:   npx cdk deploy --outputs-file .local/aws-outputs.json, then',
    `    ${E2E_ENV.realAws}=1 ${E2E_ENV.outputsFile}=.local/aws-outputs.json npm run test:e2e`,
    `  Optional:   ${E2E_ENV.stackName} (default ${DEFAULT_STACK_NAME}), ` +
      `${E2E_ENV.waitSeconds} (default ${DEFAULT_WAIT_SECONDS}, at most ${MAX_WAIT_SECONDS}).`,
  ].join('\n');
}

function readTarget(env: NodeJS.ProcessEnv): DeploymentTarget | undefined {
  const endpoint = nonEmpty(env[E2E_ENV.endpoint]);
  if (endpoint !== undefined) {
    if (!URL.canParse(endpoint)) {
      throw new E2eConfigurationError(
        `${E2E_ENV.endpoint} must be a URL such as ${LOCALSTACK_ENDPOINT} (given '${endpoint}')`,
      );
    }
    return { kind: 'localstack', endpoint };
  }
  const realAws = nonEmpty(env[E2E_ENV.realAws]);
  if (realAws === undefined || realAws === '0') return undefined;
  if (realAws !== '1')
    throw new E2eConfigurationError(`${E2E_ENV.realAws} must be 1 or unset (given '${realAws}')`);
  return { kind: 'aws' };
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

// Catches the default LocalStack outputs file being used for a real-AWS run (or the reverse),
// which would otherwise fail later with a confusing "table not found".
function assertTargetMatchesOutputs(target: DeploymentTarget, file: string, functionUrl: string): void {
  const hostname = new URL(functionUrl).hostname;
  const local = /(^|\.)localhost(\.|$)|localstack/.test(hostname);
  if (target.kind === 'aws' && local) {
    throw new E2eConfigurationError(
      `${E2E_ENV.realAws}=1 targets real AWS, but ${file} describes a LocalStack deployment (${functionUrl}); ` +
        `set ${E2E_ENV.outputsFile} to the outputs of your AWS deployment`,
    );
  }
  if (target.kind === 'localstack' && !local) {
    throw new E2eConfigurationError(
      `${E2E_ENV.endpoint} targets LocalStack, but ${file} describes an AWS deployment (${functionUrl}); ` +
        `unset ${E2E_ENV.endpoint} and set ${E2E_ENV.realAws}=1, or point ${E2E_ENV.outputsFile} at LocalStack outputs`,
    );
  }
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { STACK_OUTPUTS } from '../../lib/outbox-pipeline-stack';
import {
  DEFAULT_OUTPUTS_FILE,
  E2eConfigurationError,
  LOCALSTACK_ENDPOINT,
  resolveDeployment,
  StackOutputsError,
} from './deployed-stack';

// How the e2e suite decides whether and where to run; needs no deployed stack.

const LOCAL_URL = 'http://abc123.lambda-url.us-east-1.localhost.localstack.cloud:4566/';
const AWS_URL = 'https://abc123.lambda-url.eu-west-1.on.aws/';

function outputs(orderApiUrl: string): Record<string, string> {
  return Object.fromEntries(
    Object.values(STACK_OUTPUTS).map((id) => [
      id,
      id === STACK_OUTPUTS.orderApiUrl
        ? orderApiUrl
        : id.endsWith('Url')
          ? `http://sqs.us-east-1.localhost.localstack.cloud:4566/000000000000/${id}`
          : `OutboxPipeline-${id}`,
    ]),
  );
}

describe('resolveDeployment', () => {
  let root: string;

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'outbox-e2e-'));
  });
  afterEach(() => {
    rmSync(root, { recursive: true, force: true });
  });

  function writeOutputs(content: unknown, file = join(root, DEFAULT_OUTPUTS_FILE)): string {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
    return file;
  }

  it('skips, naming both variables, when no target is chosen', () => {
    // Given no outputs file and no target variable
    // When the deployment is resolved
    const deployment = resolveDeployment({}, root);

    // Then the suite is skipped with a reason that says what to set
    expect(deployment).toMatchObject({ configured: false });
    expect(deployment.configured ? '' : deployment.reason).toMatch(/AWS_ENDPOINT_URL.*OUTBOX_E2E_AWS=1/);
  });

  it('skips when the outputs file exists but no target is chosen', () => {
    // Given a valid LocalStack outputs file and no target variable
    writeOutputs({ OutboxPipeline: outputs(LOCAL_URL) });

    // When the deployment is resolved
    const deployment = resolveDeployment({}, root);

    // Then the suite is skipped, and the reason mentions the file it found
    expect(deployment.configured ? '' : deployment.reason).toMatch(/^found .*localstack-outputs\.json, but/);
  });

  it('resolves a LocalStack deployment from the default outputs file', () => {
    // Given a valid LocalStack outputs file
    writeOutputs({ OutboxPipeline: outputs(LOCAL_URL) });

    // When the deployment is resolved with AWS_ENDPOINT_URL set
    const deployment = resolveDeployment({ AWS_ENDPOINT_URL: LOCALSTACK_ENDPOINT }, root);

    // Then it targets LocalStack in the Function URL's region
    expect(deployment).toMatchObject({
      configured: true,
      stack: {
        stackName: 'OutboxPipeline',
        region: 'us-east-1',
        target: { kind: 'localstack', endpoint: LOCALSTACK_ENDPOINT },
        outputs: { tableName: 'OutboxPipeline-TableName', orderApiUrl: LOCAL_URL },
        waitMs: 90_000,
      },
    });
  });

  it('names the file and the missing output when an output is absent', () => {
    // Given an outputs file without OrderApiUrl
    const { [STACK_OUTPUTS.orderApiUrl]: _omitted, ...rest } = outputs(LOCAL_URL);
    const file = writeOutputs({ OutboxPipeline: rest });

    // When the deployment is resolved, then the error names both
    expect(() => resolveDeployment({ AWS_ENDPOINT_URL: LOCALSTACK_ENDPOINT }, root)).toThrow(
      StackOutputsError,
    );
    expect(() => resolveDeployment({ AWS_ENDPOINT_URL: LOCALSTACK_ENDPOINT }, root)).toThrow(
      `stack outputs file ${file}: stack 'OutboxPipeline' has no output 'OrderApiUrl'`,
    );
  });

  it('lists the stacks the file has when the named stack is absent', () => {
    // Given an outputs file for another stack name
    writeOutputs({ OtherStack: outputs(LOCAL_URL) });

    // When the deployment is resolved, then the error lists the stacks it found
    expect(() => resolveDeployment({ AWS_ENDPOINT_URL: LOCALSTACK_ENDPOINT }, root)).toThrow(
      /has no outputs for stack 'OutboxPipeline' \(it has 'OtherStack'\); set OUTBOX_E2E_STACK/,
    );
  });

  it('rejects an outputs file that is not JSON', () => {
    // Given a truncated outputs file
    writeOutputs('{"OutboxPipeline": {');

    // When the deployment is resolved, then the error says so
    expect(() => resolveDeployment({ AWS_ENDPOINT_URL: LOCALSTACK_ENDPOINT }, root)).toThrow(
      /localstack-outputs\.json: is not valid JSON/,
    );
  });

  it('fails instead of skipping when OUTBOX_E2E_AWS=1 has no outputs file', () => {
    // Given the real-AWS target and no outputs file
    // When the deployment is resolved, then it fails and explains the missing CloudFormation lookup
    expect(() => resolveDeployment({ OUTBOX_E2E_AWS: '1' }, root)).toThrow(E2eConfigurationError);
    expect(() => resolveDeployment({ OUTBOX_E2E_AWS: '1' }, root)).toThrow(
      /client-cloudformation is not installed/,
    );
  });

  it('refuses to run against real AWS with LocalStack outputs', () => {
    // Given LocalStack outputs in the default file
    writeOutputs({ OutboxPipeline: outputs(LOCAL_URL) });

    // When the real-AWS target is chosen, then the mismatch is reported
    expect(() => resolveDeployment({ OUTBOX_E2E_AWS: '1' }, root)).toThrow(
      /describes a LocalStack deployment/,
    );
  });

  it('resolves a real AWS deployment from an explicit outputs file', () => {
    // Given AWS outputs in a file of the user's choosing
    const file = writeOutputs({ OutboxPipeline: outputs(AWS_URL) }, join(root, 'aws-outputs.json'));

    // When the deployment is resolved with OUTBOX_E2E_AWS=1
    const deployment = resolveDeployment({ OUTBOX_E2E_AWS: '1', OUTBOX_E2E_OUTPUTS_FILE: file }, root);

    // Then it targets AWS in the Function URL's region
    expect(deployment).toMatchObject({
      configured: true,
      stack: { region: 'eu-west-1', target: { kind: 'aws' } },
    });
  });

  it('rejects a wait outside 1..240 seconds', () => {
    // Given a valid LocalStack outputs file
    writeOutputs({ OutboxPipeline: outputs(LOCAL_URL) });

    // When the wait is set too long, then the error gives the range and the value
    expect(() =>
      resolveDeployment({ AWS_ENDPOINT_URL: LOCALSTACK_ENDPOINT, OUTBOX_E2E_WAIT_SECONDS: '600' }, root),
    ).toThrow("OUTBOX_E2E_WAIT_SECONDS must be a whole number of seconds from 1 to 240 (given '600')");
  });
});

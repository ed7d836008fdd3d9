import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ConsumerDeclaration } from '../../contract/consumers';
import { registeredConsumers } from '../../contract/consumers';
import { consumerOutputKey, STACK_OUTPUTS } from '../../contract/stack-outputs';
import {
  DEFAULT_OUTPUTS_FILE,
  deploymentOfUrl,
  E2eConfigurationError,
  LOCALSTACK_ENDPOINT,
  readStackOutputs,
  resolveDeployment,
  StackOutputsError,
  skipMessage,
} from './deployed-stack';
import { AWS_URL, LOCAL_URL, LOCALSTACK_URL, stackOutputs, writeJson, writeLocalPipeline } from './fixtures';

// How the e2e suite reads stack outputs and decides whether to run against LocalStack or AWS;
// needs no deployed stack. The local target has its own file (local-target.e2e.test.ts).

const NO_PROCESS = () => false;

describe('readStackOutputs', () => {
  let root: string;

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'outbox-e2e-'));
  });
  afterEach(() => {
    rmSync(root, { recursive: true, force: true });
  });

  it('finds every dead-letter queue of every registered consumer, and the relay failure queue', () => {
    // Given outputs for the current registry
    const outputs = stackOutputs(LOCALSTACK_URL);
    const file = writeJson(join(root, 'outputs.json'), { OutboxPipeline: outputs });

    // When the suite's resources are read from them
    const resources = readStackOutputs(file, 'OutboxPipeline');

    // Then each registered consumer is there with its queues, and the failure queues are the
    // relay's plus each consumer's DLQ (and the EventBridge target DLQ of an unordered one)
    const consumers = registeredConsumers();
    expect(resources.consumers.map((c) => c.consumer.name)).toEqual(consumers.map((c) => c.name));
    expect(resources.failureQueues.map((q) => q.key)).toEqual([
      STACK_OUTPUTS.relayFailureQueueUrl,
      ...consumers.flatMap((c) =>
        c.kind === 'unordered'
          ? [
              consumerOutputKey(c.name, 'deadLetterQueueUrl'),
              consumerOutputKey(c.name, 'targetDeadLetterQueueUrl'),
            ]
          : [consumerOutputKey(c.name, 'deadLetterQueueUrl')],
      ),
    ]);
    expect(resources.failureQueues.map((q) => q.url)).toEqual(
      resources.failureQueues.map((q) => outputs[q.key]),
    );
  });

  it('requires the outputs of a consumer added to the registry, with no change to the suite', () => {
    // Given a registry with one more consumer, and outputs that lack it
    const added: ConsumerDeclaration = {
      name: 'order-emails',
      kind: 'unordered',
      eventTypes: ['OrderPlaced'],
    };
    const file = writeJson(join(root, 'outputs.json'), { OutboxPipeline: stackOutputs(LOCALSTACK_URL) });

    // When the outputs are read for that registry, then the first missing output of it is named
    expect(() => readStackOutputs(file, 'OutboxPipeline', [...registeredConsumers(), added])).toThrow(
      "stack 'OutboxPipeline' has no output 'OrderEmailsQueueUrl'",
    );

    // And once the stack outputs it, its DLQ and target DLQ are among the failure queues
    const outputs = {
      ...stackOutputs(LOCALSTACK_URL),
      OrderEmailsQueueUrl: 'http://localhost:4566/000000000000/emails',
      OrderEmailsDeadLetterQueueUrl: 'http://localhost:4566/000000000000/emails-dlq',
      OrderEmailsFunctionName: 'OrderEmailsFunction',
      OrderEmailsTargetDeadLetterQueueUrl: 'http://localhost:4566/000000000000/emails-target-dlq',
    };
    writeJson(file, { OutboxPipeline: outputs });
    const resources = readStackOutputs(file, 'OutboxPipeline', [...registeredConsumers(), added]);
    expect(
      resources.failureQueues.filter((q) => q.consumer?.name === 'order-emails').map((q) => q.url),
    ).toEqual([
      'http://localhost:4566/000000000000/emails-dlq',
      'http://localhost:4566/000000000000/emails-target-dlq',
    ]);
  });

  it('names the file and the missing output when a consumer’s dead-letter queue is absent', () => {
    // Given outputs without the first registered consumer's DLQ
    const [first] = registeredConsumers();
    if (!first) throw new Error('the registry has no consumer');
    const key = consumerOutputKey(first.name, 'deadLetterQueueUrl');
    const { [key]: _omitted, ...rest } = stackOutputs(LOCALSTACK_URL);
    const file = writeJson(join(root, 'outputs.json'), { OutboxPipeline: rest });

    // When they are read, then the error names the file and the key
    expect(() => readStackOutputs(file, 'OutboxPipeline')).toThrow(
      `stack outputs file ${file}: stack 'OutboxPipeline' has no output '${key}'`,
    );
  });

  it('rejects a queue output that is not a URL', () => {
    // Given a relay failure queue output that is a name, not a URL
    const file = writeJson(join(root, 'outputs.json'), {
      OutboxPipeline: {
        ...stackOutputs(LOCALSTACK_URL),
        [STACK_OUTPUTS.relayFailureQueueUrl]: 'RelayFailureQueue',
      },
    });

    // When they are read, then the error says which output is not a URL
    expect(() => readStackOutputs(file, 'OutboxPipeline')).toThrow(
      "output 'RelayFailureQueueUrl' of stack 'OutboxPipeline' is not a URL (given 'RelayFailureQueue')",
    );
  });
});

describe('resolveDeployment: LocalStack and real AWS', () => {
  let root: string;

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'outbox-e2e-'));
  });
  afterEach(() => {
    rmSync(root, { recursive: true, force: true });
  });

  const resolve = (env: NodeJS.ProcessEnv) =>
    resolveDeployment(env, { projectRoot: root, isProcessAlive: NO_PROCESS });
  const writeOutputs = (content: unknown, file = join(root, DEFAULT_OUTPUTS_FILE)) =>
    writeJson(file, content);

  it('skips, naming every target’s variable, when no target is chosen', () => {
    // Given no outputs file, no state file and no target variable
    // When the deployment is resolved
    const deployment = resolve({});

    // Then the suite is skipped with a reason that says what to set
    expect(deployment).toMatchObject({ configured: false });
    expect(deployment.configured ? '' : deployment.reason).toMatch(
      /OUTBOX_E2E_LOCAL=1 .*AWS_ENDPOINT_URL .*OUTBOX_E2E_AWS=1 .*no local pipeline is running/,
    );
  });

  it('skips when the LocalStack outputs file exists but no target is chosen, and mentions the file', () => {
    // Given a valid LocalStack outputs file and no target variable
    writeOutputs({ OutboxPipeline: stackOutputs(LOCALSTACK_URL) });

    // When the deployment is resolved
    const deployment = resolve({});

    // Then the suite is skipped, and the reason mentions the file it found
    expect(deployment.configured ? '' : deployment.reason).toMatch(
      /found .*localstack-outputs\.json: set AWS_ENDPOINT_URL/,
    );
  });

  it('resolves a LocalStack deployment from the default outputs file', () => {
    // Given a valid LocalStack outputs file
    writeOutputs({ OutboxPipeline: stackOutputs(LOCALSTACK_URL) });

    // When the deployment is resolved with AWS_ENDPOINT_URL set
    const deployment = resolve({ AWS_ENDPOINT_URL: LOCALSTACK_ENDPOINT });

    // Then it targets LocalStack in the Function URL's region
    expect(deployment).toMatchObject({
      configured: true,
      stack: {
        stackName: 'OutboxPipeline',
        region: 'us-east-1',
        target: { kind: 'localstack', endpoint: LOCALSTACK_ENDPOINT },
        resources: { tableName: 'OutboxPipeline-TableName', orderApiUrl: LOCALSTACK_URL },
        waitMs: 90_000,
        chosenBy: 'AWS_ENDPOINT_URL',
      },
    });
  });

  it('chooses LocalStack over a running local pipeline when AWS_ENDPOINT_URL is set', () => {
    // Given LocalStack outputs and a running local pipeline
    writeOutputs({ OutboxPipeline: stackOutputs(LOCALSTACK_URL) });
    writeLocalPipeline(root, { pid: process.pid });

    // When the deployment is resolved with AWS_ENDPOINT_URL set
    const deployment = resolveDeployment({ AWS_ENDPOINT_URL: LOCALSTACK_ENDPOINT }, { projectRoot: root });

    // Then the configured target wins
    expect(deployment).toMatchObject({ configured: true, stack: { target: { kind: 'localstack' } } });
  });

  it('skips when only AWS_ENDPOINT_URL is set and there are no LocalStack outputs, pointing at a running local pipeline', () => {
    // Given a running local pipeline and no LocalStack outputs
    writeLocalPipeline(root, { pid: process.pid });

    // When the deployment is resolved with AWS_ENDPOINT_URL set (often set for other tools)
    const deployment = resolveDeployment({ AWS_ENDPOINT_URL: LOCALSTACK_ENDPOINT }, { projectRoot: root });

    // Then the suite is skipped, and the reason says how to test the local pipeline instead
    expect(deployment.configured ? '' : deployment.reason).toMatch(
      new RegExp(
        `no stack outputs at .*a local pipeline is running \\(pid ${process.pid}\\): set OUTBOX_E2E_LOCAL=1`,
      ),
    );
  });

  it('names the file and the missing output when an output is absent', () => {
    // Given an outputs file without OrderApiUrl
    const { [STACK_OUTPUTS.orderApiUrl]: _omitted, ...rest } = stackOutputs(LOCALSTACK_URL);
    const file = writeOutputs({ OutboxPipeline: rest });

    // When the deployment is resolved, then the error names both
    expect(() => resolve({ AWS_ENDPOINT_URL: LOCALSTACK_ENDPOINT })).toThrow(StackOutputsError);
    expect(() => resolve({ AWS_ENDPOINT_URL: LOCALSTACK_ENDPOINT })).toThrow(
      `stack outputs file ${file}: stack 'OutboxPipeline' has no output 'OrderApiUrl'`,
    );
  });

  it('lists the stacks the file has when the named stack is absent', () => {
    // Given an outputs file for another stack name
    writeOutputs({ OtherStack: stackOutputs(LOCALSTACK_URL) });

    // When the deployment is resolved, then the error lists the stacks it found
    expect(() => resolve({ AWS_ENDPOINT_URL: LOCALSTACK_ENDPOINT })).toThrow(
      /has no outputs for stack 'OutboxPipeline' \(it has 'OtherStack'\); set OUTBOX_E2E_STACK/,
    );
  });

  it('rejects an outputs file that is not JSON', () => {
    // Given a truncated outputs file
    writeOutputs('{"OutboxPipeline": {');

    // When the deployment is resolved, then the error says so
    expect(() => resolve({ AWS_ENDPOINT_URL: LOCALSTACK_ENDPOINT })).toThrow(
      /localstack-outputs\.json: is not valid JSON/,
    );
  });

  it('rejects an AWS_ENDPOINT_URL that is not a URL', () => {
    expect(() => resolve({ AWS_ENDPOINT_URL: '127.0.0.1:4566' })).toThrow(
      "AWS_ENDPOINT_URL must be a URL such as http://localhost.localstack.cloud:4566 (given '127.0.0.1:4566')",
    );
  });

  it('fails instead of skipping when OUTBOX_E2E_AWS=1 has no outputs file', () => {
    // Given the real-AWS target and no outputs file
    // When the deployment is resolved, then it fails and explains the missing CloudFormation lookup
    expect(() => resolve({ OUTBOX_E2E_AWS: '1' })).toThrow(E2eConfigurationError);
    expect(() => resolve({ OUTBOX_E2E_AWS: '1' })).toThrow(/client-cloudformation is not installed/);
  });

  it('refuses to run against real AWS with LocalStack outputs', () => {
    // Given LocalStack outputs in the default file
    writeOutputs({ OutboxPipeline: stackOutputs(LOCALSTACK_URL) });

    // When the real-AWS target is chosen, then the mismatch is reported
    expect(() => resolve({ OUTBOX_E2E_AWS: '1' })).toThrow(
      /the target is an AWS deployment, but .* describes a LocalStack deployment/,
    );
  });

  it('refuses to run against real AWS with the local pipeline’s outputs', () => {
    // Given the outputs file of `npm start -- --keep`, named explicitly
    const { outputsFile } = writeLocalPipeline(root, { pid: 1 });

    // When the real-AWS target is chosen, then the mismatch names the local pipeline
    expect(() => resolve({ OUTBOX_E2E_AWS: '1', OUTBOX_E2E_OUTPUTS_FILE: outputsFile })).toThrow(
      /describes the local pipeline \(npm start -- --keep\) \(http:\/\/127\.0\.0\.1:43811\/\)/,
    );
  });

  it('refuses OUTBOX_E2E_AWS=1 together with AWS_ENDPOINT_URL', () => {
    // Given AWS outputs, and both target variables
    const file = writeOutputs({ OutboxPipeline: stackOutputs(AWS_URL) }, join(root, 'aws-outputs.json'));

    // When the deployment is resolved, then it refuses to guess
    expect(() =>
      resolve({ OUTBOX_E2E_AWS: '1', AWS_ENDPOINT_URL: LOCALSTACK_ENDPOINT, OUTBOX_E2E_OUTPUTS_FILE: file }),
    ).toThrow(
      'OUTBOX_E2E_AWS=1 (real AWS) and AWS_ENDPOINT_URL (LocalStack) choose different targets: set only one',
    );
  });

  it('resolves a real AWS deployment from an explicit outputs file', () => {
    // Given AWS outputs in a file of the user's choosing
    const file = writeOutputs({ OutboxPipeline: stackOutputs(AWS_URL) }, join(root, 'aws-outputs.json'));

    // When the deployment is resolved with OUTBOX_E2E_AWS=1
    const deployment = resolve({ OUTBOX_E2E_AWS: '1', OUTBOX_E2E_OUTPUTS_FILE: file });

    // Then it targets AWS in the Function URL's region
    expect(deployment).toMatchObject({
      configured: true,
      stack: {
        region: 'eu-west-1',
        target: { kind: 'aws' },
        outputsFile: file,
        chosenBy: 'OUTBOX_E2E_AWS=1',
      },
    });
  });

  it('rejects a target flag other than 1 or 0', () => {
    expect(() => resolve({ OUTBOX_E2E_AWS: 'yes' })).toThrow(
      "OUTBOX_E2E_AWS must be 1, 0 or unset (given 'yes')",
    );
  });

  it('rejects a wait outside 1..240 seconds', () => {
    // Given a valid LocalStack outputs file
    writeOutputs({ OutboxPipeline: stackOutputs(LOCALSTACK_URL) });

    // When the wait is set too long, then the error gives the range and the value
    expect(() => resolve({ AWS_ENDPOINT_URL: LOCALSTACK_ENDPOINT, OUTBOX_E2E_WAIT_SECONDS: '600' })).toThrow(
      "OUTBOX_E2E_WAIT_SECONDS must be a whole number of seconds from 1 to 240 (given '600')",
    );
  });
});

describe('skipMessage', () => {
  it('says how to configure each of the three targets', () => {
    // When the skip message is built
    const message = skipMessage('no target');

    // Then it gives the reason and one command for each target
    expect(message.split('\n')[0]).toBe('[e2e] Skipping the deployed-stack suite: no target.');
    expect(message).toContain('OUTBOX_E2E_LOCAL=1 npm run test:e2e');
    expect(message).toContain('npm start -- --keep');
    expect(message).toContain(`AWS_ENDPOINT_URL=${LOCALSTACK_ENDPOINT} npm run test:e2e`);
    expect(message).toContain(
      'OUTBOX_E2E_AWS=1 OUTBOX_E2E_OUTPUTS_FILE=.local/aws-outputs.json npm run test:e2e',
    );
  });
});

describe('deploymentOfUrl', () => {
  it('tells the local pipeline, LocalStack and AWS apart by the Function URL’s host', () => {
    expect(
      [LOCAL_URL, 'http://localhost:9000/', LOCALSTACK_URL, AWS_URL].map((url) => deploymentOfUrl(url)),
    ).toEqual(['local', 'local', 'localstack', 'aws']);
  });
});

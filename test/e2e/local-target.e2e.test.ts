import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { LOCAL_CREDENTIALS } from 'local-aws';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../contract/project';
import { LOCAL_OUTPUTS_FILE, LOCAL_STATE_FILE } from '../../local/pipeline';
import {
  awsClientConfig,
  type DeployedStack,
  describeTarget,
  orderApiFor,
  resolveDeployment,
} from './deployed-stack';
import { LOCAL_ENDPOINTS, LOCALSTACK_URL, stackOutputs, writeJson, writeLocalPipeline } from './fixtures';
import { isProcessAlive, readLocalPipelineState } from './local-state';

// The local target (the pipeline of `npm start -- --keep`): how it is chosen, and what the
// suite's clients get from it. Needs no running pipeline: the state files are written here.

const LIVE_PID = 4242;
const DEAD_PID = 4343;
const alive = (pid: number) => pid === LIVE_PID;

describe('resolveDeployment: the local pipeline', () => {
  let root: string;

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'outbox-e2e-local-'));
  });
  afterEach(() => {
    rmSync(root, { recursive: true, force: true });
  });

  const resolve = (env: NodeJS.ProcessEnv) =>
    resolveDeployment(env, { projectRoot: root, isProcessAlive: alive });

  it('looks for the files npm start -- --keep writes', () => {
    // The suite reads the paths local/pipeline.ts defines, relative to the project root
    expect(relative(PROJECT_ROOT, LOCAL_STATE_FILE)).toBe(join('.local', 'pipeline.json'));
    expect(relative(PROJECT_ROOT, LOCAL_OUTPUTS_FILE)).toBe(join('.local', 'outputs.json'));
  });

  it('resolves OUTBOX_E2E_LOCAL=1 to the running pipeline, in the state file’s region', () => {
    // Given a running pipeline's state and outputs files (region eu-central-1, which its URL cannot tell)
    const { stateFile, outputsFile } = writeLocalPipeline(root, { pid: LIVE_PID, region: 'eu-central-1' });

    // When the deployment is resolved with OUTBOX_E2E_LOCAL=1
    const deployment = resolve({ OUTBOX_E2E_LOCAL: '1' });

    // Then it targets the local endpoints, with the outputs from the outputs file
    expect(deployment).toEqual({
      configured: true,
      stack: expect.objectContaining({
        stackName: 'OutboxPipeline',
        outputsFile,
        region: 'eu-central-1',
        target: { kind: 'local', stateFile, pid: LIVE_PID, endpoints: LOCAL_ENDPOINTS },
        chosenBy: 'OUTBOX_E2E_LOCAL=1',
      }),
    });
  });

  it('chooses the running pipeline by itself when no target is set, and says so', () => {
    // Given a running pipeline and no target variable
    const { stateFile } = writeLocalPipeline(root, { pid: LIVE_PID });

    // When the deployment is resolved
    const deployment = resolve({});

    // Then it is the local target, and the line printed names the pid, the file and why
    if (!deployment.configured) throw new Error(`expected a target, got: ${deployment.reason}`);
    expect(deployment.stack.target.kind).toBe('local');
    expect(describeTarget(deployment.stack)).toBe(
      `[e2e] Target: the local pipeline of \`npm start -- --keep\` (pid ${LIVE_PID}, ${stateFile}, region eu-central-1), ` +
        `stack OutboxPipeline (outputs ${join(root, '.local', 'outputs.json')}), chosen by default: no target is set and ` +
        `${stateFile} names a running pipeline (pid ${LIVE_PID}); OUTBOX_E2E_LOCAL=0 turns this off.`,
    );
  });

  it('skips, naming the pid, when the state file was left by a pipeline that is gone', () => {
    // Given a state file whose process is not running
    writeLocalPipeline(root, { pid: DEAD_PID });

    // When the deployment is resolved with no target variable
    const deployment = resolve({});

    // Then the suite is skipped, and the reason says why the file was not used
    expect(deployment.configured ? '' : deployment.reason).toMatch(
      new RegExp(`names pid ${DEAD_PID}, which is not running`),
    );
  });

  it('skips a running pipeline when OUTBOX_E2E_LOCAL=0', () => {
    // Given a running pipeline
    writeLocalPipeline(root, { pid: LIVE_PID });

    // When the deployment is resolved with OUTBOX_E2E_LOCAL=0, then the suite is skipped
    expect(resolve({ OUTBOX_E2E_LOCAL: '0' })).toEqual({
      configured: false,
      reason: expect.stringMatching(/OUTBOX_E2E_LOCAL=0 keeps the local pipeline out/),
    });
  });

  it('fails instead of skipping when OUTBOX_E2E_LOCAL=1 finds no state file', () => {
    // Given no state file
    // When the deployment is resolved with OUTBOX_E2E_LOCAL=1, then it says how to start one
    expect(() => resolve({ OUTBOX_E2E_LOCAL: '1' })).toThrow(
      /OUTBOX_E2E_LOCAL=1 asks for the local pipeline, but .*pipeline\.json does not exist; start it with `npm start -- --keep`/,
    );
  });

  it('fails when OUTBOX_E2E_LOCAL=1 finds the state of a pipeline that is gone', () => {
    // Given a state file whose process is not running
    writeLocalPipeline(root, { pid: DEAD_PID });

    // When the deployment is resolved with OUTBOX_E2E_LOCAL=1, then it names the pid
    expect(() => resolve({ OUTBOX_E2E_LOCAL: '1' })).toThrow(`names pid ${DEAD_PID}, which is not running`);
  });

  it('fails when the outputs file is from another run than the state file', () => {
    // Given an outputs file whose OrderApiUrl is not the running pipeline's
    writeLocalPipeline(root, { pid: LIVE_PID, outputsApiUrl: 'http://127.0.0.1:40000/' });

    // When the deployment is resolved, then the mismatch is reported
    expect(() => resolve({ OUTBOX_E2E_LOCAL: '1' })).toThrow(/the outputs file is from another run/);
  });

  it('fails when the running pipeline wrote no outputs file', () => {
    // Given a state file only
    writeLocalPipeline(root, { pid: LIVE_PID });
    rmSync(join(root, '.local', 'outputs.json'));

    // When the deployment is resolved, then it says which file is missing
    expect(() => resolve({ OUTBOX_E2E_LOCAL: '1' })).toThrow(
      /its stack outputs file .*outputs\.json does not exist/,
    );
  });

  it('skips instead when a state file found by itself has no outputs file beside it', () => {
    // Given a state file whose pid is alive (taken by another process) and no outputs file
    writeLocalPipeline(root, { pid: LIVE_PID });
    rmSync(join(root, '.local', 'outputs.json'));

    // When the deployment is resolved with no target variable, then the suite is skipped
    expect(resolve({})).toEqual({
      configured: false,
      reason: expect.stringMatching(/probably left from a pipeline that was killed/),
    });
  });

  it('refuses LocalStack outputs for the local target', () => {
    // Given a running pipeline, and OUTBOX_E2E_OUTPUTS_FILE naming LocalStack outputs
    writeLocalPipeline(root, { pid: LIVE_PID });
    const file = writeJson(join(root, 'ls.json'), { OutboxPipeline: stackOutputs(LOCALSTACK_URL) });

    // When the deployment is resolved, then the mismatch is reported
    expect(() => resolve({ OUTBOX_E2E_LOCAL: '1', OUTBOX_E2E_OUTPUTS_FILE: file })).toThrow(
      /the target is the local pipeline .* describes a LocalStack deployment/,
    );
  });

  it('refuses OUTBOX_E2E_LOCAL=1 together with OUTBOX_E2E_AWS=1', () => {
    writeLocalPipeline(root, { pid: LIVE_PID });
    expect(() => resolve({ OUTBOX_E2E_LOCAL: '1', OUTBOX_E2E_AWS: '1' })).toThrow(
      'OUTBOX_E2E_AWS=1 (real AWS) and OUTBOX_E2E_LOCAL=1 choose different targets: set only one',
    );
  });

  it('takes OUTBOX_E2E_LOCAL=1 over an AWS_ENDPOINT_URL set for other tools, and says it is not used', () => {
    // Given a running pipeline and AWS_ENDPOINT_URL in the environment
    writeLocalPipeline(root, { pid: LIVE_PID });

    // When the deployment is resolved with OUTBOX_E2E_LOCAL=1
    const deployment = resolve({ OUTBOX_E2E_LOCAL: '1', AWS_ENDPOINT_URL: 'http://localhost:4566' });

    // Then it is the local target
    expect(deployment).toMatchObject({
      configured: true,
      stack: {
        target: { kind: 'local' },
        chosenBy: 'OUTBOX_E2E_LOCAL=1 (AWS_ENDPOINT_URL is not used for it)',
      },
    });
  });
});

describe('clients for the local target', () => {
  let root: string;

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'outbox-e2e-local-'));
  });
  afterEach(() => {
    rmSync(root, { recursive: true, force: true });
  });

  function localStack(orderApiUrl?: string): DeployedStack {
    writeLocalPipeline(root, {
      pid: LIVE_PID,
      region: 'eu-central-1',
      ...(orderApiUrl ? { orderApiUrl } : {}),
    });
    const deployment = resolveDeployment(
      { OUTBOX_E2E_LOCAL: '1' },
      { projectRoot: root, isProcessAlive: alive },
    );
    if (!deployment.configured) throw new Error(`expected a target, got: ${deployment.reason}`);
    return deployment.stack;
  }

  it('gives each service its own local endpoint, the state file’s region and the operator key', () => {
    // Given the local target
    const stack = localStack();

    // When client settings are asked for DynamoDB and SQS
    // Then each gets its engine's endpoint, and both the local-aws operator key
    expect(awsClientConfig(stack, 'dynamodb')).toEqual({
      region: 'eu-central-1',
      endpoint: LOCAL_ENDPOINTS.dynamodb,
      credentials: LOCAL_CREDENTIALS,
    });
    expect(awsClientConfig(stack, 'sqs')).toEqual({
      region: 'eu-central-1',
      endpoint: LOCAL_ENDPOINTS.sqs,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
  });

  it('signs order API requests with the operator key for lambda in the state file’s region', async () => {
    // Given a stand-in for the local Function URL that records what it receives
    const received: Array<{ method?: string; url?: string; headers: IncomingHttpHeaders }> = [];
    const server = createServer((req, res) => {
      received.push({ method: req.method, url: req.url, headers: req.headers });
      req.resume();
      res.writeHead(201, { 'content-type': 'application/json' }).end('{"version":1}');
    });
    await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
    try {
      const { port } = server.address() as AddressInfo;
      const api = orderApiFor(localStack(`http://127.0.0.1:${port}/`));

      // When the suite's client posts a command
      const response = await api.post('/orders', { customerId: 'c-1' }, { idempotencyKey: 'key-1' });

      // Then the request was SigV4-signed as `local` for lambda in eu-central-1, with the key
      expect(response.status).toBe(201);
      const [request] = received;
      expect(request).toMatchObject({ method: 'POST', url: '/orders' });
      expect(request?.headers.authorization).toMatch(
        /^AWS4-HMAC-SHA256 Credential=local\/\d{8}\/eu-central-1\/lambda\/aws4_request, SignedHeaders=[^,]*idempotency-key/,
      );
      expect(request?.headers['idempotency-key']).toBe('key-1');
    } finally {
      await new Promise((closed) => server.close(closed));
    }
  });
});

describe('readLocalPipelineState', () => {
  let root: string;

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'outbox-e2e-local-'));
  });
  afterEach(() => {
    rmSync(root, { recursive: true, force: true });
  });

  it('names the endpoint that is missing', () => {
    // Given a state file without the SQS endpoint
    const { sqs: _omitted, ...endpoints } = LOCAL_ENDPOINTS;
    const file = writeJson(join(root, 'pipeline.json'), {
      pid: 1,
      region: 'us-east-1',
      endpoints,
      functionUrls: {},
      outputs: {},
    });

    // When it is read, then the error names the file and the field
    expect(() => readLocalPipelineState(file)).toThrow(
      `local pipeline state ${file}: endpoints.sqs must be a URL (given undefined)`,
    );
  });

  it('rejects a state file that is not JSON', () => {
    const file = writeJson(join(root, 'pipeline.json'), '{"pid": 1');
    expect(() => readLocalPipelineState(file)).toThrow(/pipeline\.json: is not valid JSON/);
  });
});

describe('isProcessAlive', () => {
  it('tells a running process from one that is gone', async () => {
    // Given this process, and a child that has exited
    const { spawn } = await import('node:child_process');
    const child = spawn(process.execPath, ['-e', '0']);
    const exited = new Promise((done) => child.once('exit', done));
    const pid = child.pid;
    await exited;

    // Then only this one is alive
    expect(isProcessAlive(process.pid)).toBe(true);
    expect(pid === undefined ? 'no pid' : isProcessAlive(pid)).toBe(false);
  });
});

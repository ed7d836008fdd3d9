import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { STACK_OUTPUTS } from '../../contract/stack-outputs';
import { requiredOutputKeys } from './deployed-stack';

/**
 * Files for the target-resolution tests, which need no stack: outputs files in the format
 * `cdk deploy --outputs-file` writes, and the local pipeline's state file.
 */

export const LOCALSTACK_URL = 'http://abc123.lambda-url.us-east-1.localhost.localstack.cloud:4566/';
export const AWS_URL = 'https://abc123.lambda-url.eu-west-1.on.aws/';
export const LOCAL_URL = 'http://127.0.0.1:43811/';

/** Every output the stack emits (the required ones, from the registry, and the rest), pointing at `orderApiUrl`'s kind of host. */
export function stackOutputs(orderApiUrl: string): Record<string, string> {
  const queueHost = new URL(orderApiUrl).host;
  const keys = new Set([...Object.values(STACK_OUTPUTS), ...requiredOutputKeys().map(([key]) => key)]);
  return Object.fromEntries(
    [...keys].map((key) => [
      key,
      key === STACK_OUTPUTS.orderApiUrl
        ? orderApiUrl
        : key.endsWith('Url')
          ? `http://${queueHost}/000000000000/${key}`
          : `OutboxPipeline-${key}`,
    ]),
  );
}

/** Writes a file (JSON unless a string is given), creating its folder. */
export function writeJson(file: string, content: unknown): string {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
}

/** Local endpoints with a port per service, so a test can tell which one a client got. */
export const LOCAL_ENDPOINTS = {
  dynamodb: 'http://127.0.0.1:36685',
  sqs: 'http://127.0.0.1:44731',
  s3: 'http://127.0.0.1:44732',
  eventbridge: 'http://127.0.0.1:40199',
} as const;

/**
 * What `npm start -- --keep` leaves under `<root>/.local/`: the state file and the outputs file.
 * `outputsApiUrl` lets a test make the outputs file disagree with the state (another run's file).
 */
export function writeLocalPipeline(
  root: string,
  {
    pid,
    region = 'eu-central-1',
    orderApiUrl = LOCAL_URL,
    outputsApiUrl = orderApiUrl,
  }: { pid: number; region?: string; orderApiUrl?: string; outputsApiUrl?: string },
): { stateFile: string; outputsFile: string } {
  const stateFile = writeJson(join(root, '.local', 'pipeline.json'), {
    pid,
    startedAt: '2026-01-01T00:00:00.000Z',
    region,
    endpoints: LOCAL_ENDPOINTS,
    functionUrls: { OrderApiFunction7DE8FFB8: orderApiUrl },
    outputs: stackOutputs(orderApiUrl),
  });
  const outputsFile = writeJson(join(root, '.local', 'outputs.json'), {
    OutboxPipeline: stackOutputs(outputsApiUrl),
  });
  return { stateFile, outputsFile };
}

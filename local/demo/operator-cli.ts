import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { LocalAws } from 'local-aws';
import { runCli } from '../../tools/outbox-cli/run';
import { withClients } from '../../tools/outbox-cli/target';

/** What one `npm run outbox` command printed and returned. */
export interface CliRun {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

/**
 * Runs `npm run outbox -- <argv>` in-process against a running local pipeline, as an operator
 * would with `--local` (the operator's key, the pipeline's endpoints and resolved outputs).
 */
export async function runOutboxCli(
  pipeline: LocalAws,
  argv: ReadonlyArray<string>,
  // Short polls: the local engines answer at once.
  optionOverrides: Record<string, unknown> = { receiveWaitSeconds: 1, pollSeconds: 1 },
): Promise<CliRun> {
  const out: string[] = [];
  const err: string[] = [];
  const config = pipeline.clientConfig;
  const code = await runCli(
    [...argv, '--local'],
    { out: (line) => void out.push(line), err: (line) => void err.push(line) },
    {
      optionOverrides,
      resolveTarget: async () =>
        withClients('the local pipeline under test', pipeline.outputs, true, {
          dynamodb: new DynamoDBClient({ ...config, endpoint: pipeline.endpoints.dynamodb }),
          sqs: new SQSClient({ ...config, endpoint: pipeline.endpoints.sqs }),
          eventbridge: new EventBridgeClient({ ...config, endpoint: pipeline.endpoints.eventbridge }),
          s3: new S3Client({ ...config, endpoint: pipeline.endpoints.s3, forcePathStyle: true }),
        }),
    },
  );
  return { code, out: out.join('\n'), err: err.join('\n') };
}

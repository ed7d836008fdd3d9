import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { ENV } from '../../contract/env';
import { requireEnv, requirePositiveIntEnv } from '../shared/env';
import { ConfigurationError } from '../shared/errors';
import type { ConsumerDefinition } from './definition';

/**
 * Everything a consumer runs against, created once per execution environment by the kit and
 * handed to the consumer: tables, queues and the AWS clients (wrapped for tracing in Lambda).
 */
export interface ConsumerRuntime {
  /** App table holding the consumer's own items (its read model). */
  readonly tableName: string;
  /** The kit's table: Powertools idempotency records, effect markers, checkpoints, parked events. */
  readonly kitTableName: string;
  /** Seconds the consumer remembers an applied event (idempotency records, effect markers). */
  readonly memorySeconds: number;
  readonly deadLetterQueueUrl: string;
  readonly dynamodb: DynamoDBClient;
  readonly sqs: SQSClient;
}

/**
 * Reads the runtime the stack gives a consumer function, and checks that the stack deployed this
 * code as the consumer it says it is (name and kind), so that a module wired to the wrong queue
 * fails loudly instead of decoding another transport.
 *
 * @throws ConfigurationError `"<NAME> environment variable is not set"`, or a name/kind mismatch
 */
export function runtimeFromEnv(
  definition: Pick<ConsumerDefinition, 'name' | 'kind'>,
  clients: { readonly dynamodb?: DynamoDBClient; readonly sqs?: SQSClient } = {},
  env: NodeJS.ProcessEnv = process.env,
): ConsumerRuntime {
  const name = requireEnv(ENV.consumerName, env);
  const kind = requireEnv(ENV.consumerKind, env);
  if (name !== definition.name || kind !== definition.kind) {
    throw new ConfigurationError(
      `this function runs consumer ${definition.name} (${definition.kind}) but the stack deployed it as ${name} (${kind}): check contract/consumers.ts and the consumer's defineConsumer name`,
    );
  }
  return {
    tableName: requireEnv(ENV.tableName, env),
    kitTableName: requireEnv(ENV.idempotencyTableName, env),
    memorySeconds: requirePositiveIntEnv(ENV.consumerMemorySeconds, env),
    deadLetterQueueUrl: requireEnv(ENV.deadLetterQueueUrl, env),
    dynamodb: clients.dynamodb ?? new DynamoDBClient({}),
    sqs: clients.sqs ?? new SQSClient({}),
  };
}

import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { SQSClient } from '@aws-sdk/client-sqs';
import {
  createQueues,
  createTables,
  type DynamoDbLocal,
  LOCAL_CREDENTIALS,
  LOCAL_REGION,
  type LocalQueue,
  type LocalTable,
  readTopology,
  type SqsEmulator,
  startDynamoDbLocal,
  startSqsEmulator,
  type Topology,
} from 'local-aws';
import { synthesizeOutboxStack } from '../../local/pipeline';

/** The synthesized stack's topology (the global setup has already synthesized it). */
export async function stackTopology(): Promise<Topology> {
  const { template, assemblyDir } = await synthesizeOutboxStack();
  return readTopology(template as never, assemblyDir);
}

/** DynamoDB Local with the stack's tables, and clients for it. */
export interface LocalDynamo {
  readonly engine: DynamoDbLocal;
  readonly client: DynamoDBClient;
  readonly streams: DynamoDBStreamsClient;
  readonly tables: LocalTable[];
  /** The table with a stream (the outbox table). */
  readonly outboxTable: LocalTable;
  /** The table keyed on `id` (Powertools idempotency). */
  readonly idempotencyTable: LocalTable;
  stop(): Promise<void>;
}

/** Starts DynamoDB Local on a free loopback port and creates the stack's tables on it. */
export async function startLocalDynamo(topology: Topology): Promise<LocalDynamo> {
  const engine = await startDynamoDbLocal();
  const config = { endpoint: engine.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS };
  const client = new DynamoDBClient(config);
  const streams = new DynamoDBStreamsClient(config);
  try {
    const tables = await createTables(client, topology.tables);
    const outboxTable = tables.find((t) => t.streamArn);
    const idempotencyTable = tables.find(
      (t) => topology.tables.find((s) => s.logicalId === t.logicalId)?.keySchema[0]?.AttributeName === 'id',
    );
    if (!outboxTable || !idempotencyTable)
      throw new Error('the stack must have a table with a stream and a table keyed on id');
    return {
      engine,
      client,
      streams,
      tables,
      outboxTable,
      idempotencyTable,
      stop: async () => {
        client.destroy();
        streams.destroy();
        await engine.stop();
      },
    };
  } catch (error) {
    await engine.stop();
    throw error;
  }
}

/** The SQS emulator with the stack's queues. */
export interface LocalSqs {
  readonly engine: SqsEmulator;
  readonly client: SQSClient;
  readonly queues: LocalQueue[];
  stop(): Promise<void>;
}

/** Starts the SQS emulator on a free loopback port and creates the stack's queues on it. */
export async function startLocalSqs(topology: Topology): Promise<LocalSqs> {
  const engine = await startSqsEmulator();
  const client = new SQSClient({
    endpoint: engine.endpoint,
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
  });
  try {
    const queues = await createQueues(client, topology.queues);
    return {
      engine,
      client,
      queues,
      stop: async () => {
        client.destroy();
        await engine.stop();
      },
    };
  } catch (error) {
    await engine.stop();
    throw error;
  }
}

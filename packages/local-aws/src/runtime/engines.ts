/**
 * Step 1 of start-up: the engines (DynamoDB Local, fauxqs for SQS and S3, the local EventBridge,
 * the optional DynamoDB fault proxy) and the SDK clients the runtime itself uses.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { SQSClient } from '@aws-sdk/client-sqs';
import { type DynamoDbFaultProxy, startDynamoDbFaultProxy } from '../dynamodb-fault-proxy';
import { type DynamoDbLocal, LOCAL_CREDENTIALS, startDynamoDbLocal } from '../engines/dynamodb-local';
import { LocalS3Client } from '../engines/s3-client';
import { type SqsEmulator, startSqsEmulator } from '../engines/sqs-emulator';
import { type EventBusEmulator, startEventBusEmulator } from '../eventbridge/event-bus-emulator';
import { LOCAL_ACCOUNT, LOCAL_REGION } from '../template/intrinsics';
import type { LocalFaults } from './local-aws';
import type { StopList } from './stop-list';

/** The running engines and the runtime's own clients. */
export interface Engines {
  readonly dynamo: DynamoDbLocal;
  readonly sqsEngine: SqsEmulator;
  readonly eventBus: EventBusEmulator;
  /** Between the functions and DynamoDB Local, when DynamoDB faults are injected. */
  readonly dynamoFaults: DynamoDbFaultProxy | undefined;
  readonly clientConfig: { readonly region: string; readonly credentials: typeof LOCAL_CREDENTIALS };
  readonly dynamodb: DynamoDBClient;
  readonly streams: DynamoDBStreamsClient;
  readonly sqs: SQSClient;
  /** fauxqs's S3, on the same endpoint as its SQS. */
  readonly s3: LocalS3Client;
}

/** Starts every engine on loopback; each one is added to `stops` as soon as it runs. */
export async function startEngines(faults: LocalFaults | undefined, stops: StopList): Promise<Engines> {
  const seed = faults?.seed ?? 1;
  // Settled, not Promise.all: an engine that starts after the other one failed must still be stopped.
  const [dynamoStart, sqsStart] = await Promise.allSettled([
    startDynamoDbLocal(),
    startSqsEmulator({ faults: { ...faults?.sqs, seed: seed + 1 } }),
  ]);
  for (const started of [dynamoStart, sqsStart]) {
    if (started.status === 'fulfilled') {
      const engine = started.value;
      stops.add(() => engine.stop());
    }
  }
  if (dynamoStart.status === 'rejected') throw dynamoStart.reason;
  if (sqsStart.status === 'rejected') throw sqsStart.reason;
  const dynamo = dynamoStart.value;
  const sqsEngine = sqsStart.value;
  const clientConfig = { region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS };
  const dynamodb = new DynamoDBClient({ ...clientConfig, endpoint: dynamo.endpoint });
  const streams = new DynamoDBStreamsClient({ ...clientConfig, endpoint: dynamo.endpoint });
  const sqs = new SQSClient({ ...clientConfig, endpoint: sqsEngine.endpoint });
  stops.add(async () => {
    dynamodb.destroy();
    streams.destroy();
    sqs.destroy();
  });
  const eventBus = await startEventBusEmulator({
    region: LOCAL_REGION,
    accountId: LOCAL_ACCOUNT,
    sqs: { endpoint: sqsEngine.endpoint },
    faults: { ...faults?.eventBridge, seed: seed + 2 },
  });
  stops.add(() => eventBus.stop());
  const dynamoFaults = faults?.dynamodb
    ? await startDynamoDbFaultProxy(dynamo.endpoint, { ...faults.dynamodb, seed: seed + 3 })
    : undefined;
  if (dynamoFaults) stops.add(() => dynamoFaults.stop());
  const s3 = new LocalS3Client(sqsEngine.endpoint);
  return { dynamo, sqsEngine, eventBus, dynamoFaults, clientConfig, dynamodb, streams, sqs, s3 };
}

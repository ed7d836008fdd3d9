import { fork } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  BatchWriteItemCommand,
  type BatchWriteItemCommandOutput,
  DeleteTableCommand,
  DynamoDBClient,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { CreateQueueCommand, DeleteQueueCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBRecord } from 'aws-lambda';
import type { MappingSpec, QueueSpec, Topology } from 'local-aws';
import {
  compileFilterCriteria,
  createQueues,
  createTables,
  LOCAL_CREDENTIALS,
  LOCAL_REGION,
  type LocalTable,
  readAllStreamRecords,
  referencedLogicalId,
  startDynamoDbLocal,
} from 'local-aws';
import {
  DynamoDbCursorStore,
  DynamoDbOutboxReader,
  DynamoDbPendingMarks,
  EventBridgeBusPublisher,
  SqsFailureSink,
  SqsFifoPublisher,
} from '../functions/relay/aws-adapters';
import type { RelayPorts, RelayTelemetry } from '../functions/relay/ports';
import { ENV } from '../functions/shared/env-names';
import { KEYS } from '../functions/shared/outbox-item';
import { CallCounter } from './call-counter';
import type { Cleanup } from './cleanup';
import type { EngineHostMessage, EngineHostRequest } from './engine-host';

/** The relay's stream mapping and function, as the stack defines them. */
export interface RelayDeployment {
  readonly mapping: MappingSpec;
  /** The mapping's BatchSize (Lambda's default for streams, 100, when unset). */
  readonly batchSize: number;
  /** The stack's ordered (FIFO) consumer queues: the relay publishes every event to each. */
  readonly orderedQueues: ReadonlyArray<QueueSpec>;
  readonly failureQueueLogicalId: string;
  readonly eventBusName: string;
}

/** Reads the relay's wiring from the synthesized topology. */
export function relayDeployment(topology: Topology): RelayDeployment {
  const mapping = topology.mappings.find((m) => m.source.kind === 'dynamodb-stream');
  if (!mapping) throw new Error('the stack has no DynamoDB stream mapping (the relay)');
  const relay = topology.functions.find((f) => f.logicalId === mapping.functionLogicalId);
  const failureQueueLogicalId = referencedLogicalId(relay?.environment[ENV.relayFailureQueueUrl]);
  if (!failureQueueLogicalId) throw new Error(`the relay function has no ${ENV.relayFailureQueueUrl}`);
  const fifoSources = new Set(
    topology.mappings.flatMap((m) => (m.source.kind === 'sqs' ? [m.source.queueLogicalId] : [])),
  );
  const eventBusName = topology.eventBuses[0]?.name;
  if (!eventBusName) throw new Error('the stack has no event bus');
  return {
    mapping,
    batchSize: mapping.batchSize ?? 100,
    orderedQueues: topology.queues.filter((q) => q.fifo && fifoSources.has(q.logicalId)),
    failureQueueLogicalId,
    eventBusName,
  };
}

/** DynamoDB Local, fauxqs and the EventBridge emulator, with the stack's tables and queues. */
export interface RelayEngines {
  readonly deployment: RelayDeployment;
  readonly outboxTable: LocalTable;
  /** Uncounted clients, for setup (writing datasets, resetting cursors, reading the stream). */
  readonly setup: { readonly dynamodb: DynamoDBClient; readonly streams: DynamoDBStreamsClient };
  /** Counts every SDK call the relays under test make. */
  readonly counter: CallCounter;
  /** Counts what the relay asks of its DynamoDB ports, to tell apart the UpdateItems of cursors and pending marks. */
  readonly portCounts: PortCounts;
  /** PutEvents requests the EventBridge emulator received (a cross-check of the client-side count). */
  putEventsRequests(): Promise<number>;
  /** The relay's ports on the engines, through counted clients; telemetry is silent but counts problems. */
  relayPorts(): RelayPorts;
  /** Counted clients for the naive relay. */
  readonly naiveClients: { readonly eventBridge: EventBridgeClient; readonly sqs: SQSClient };
  /** Outbox INSERT records passing the relay mapping's FilterCriteria, in stream order. */
  outboxRecords(): Promise<DynamoDBRecord[]>;
  /** Deletes the relay cursors of these aggregates, so a replay publishes everything again. */
  resetCursors(aggregateKeys: ReadonlyArray<string>): Promise<void>;
  /**
   * Creates one fresh FIFO queue per ordered queue of the stack (same attributes), so
   * that each run really enqueues instead of hitting the 5-minute deduplication window.
   */
  freshOrderedQueues(): Promise<string[]>;
  /** Telemetry warnings and errors the relay reported (0 in a clean run). */
  readonly problems: string[];
  stop(): Promise<void>;
}

/** Calls the relay made to its DynamoDB-backed ports. */
export interface PortCounts {
  cursorReads: number;
  cursorAdvances: number;
  /** `pending.clear` calls, and the sequences they cleared (one UpdateItem each in the AWS adapter). */
  pendingClearCalls: number;
  pendingMarksCleared: number;
  rangeReads: number;
}

const silentButCounting = (problems: string[]): RelayTelemetry => ({
  count: () => {},
  publishLag: () => {},
  warn: (message) => problems.push(`warn: ${message}`),
  error: (message) => problems.push(`error: ${message}`),
});

/**
 * Starts the engines the relay benchmarks run against, all on 127.0.0.1:
 * DynamoDB Local (a JVM), and fauxqs with the EventBridge emulator in a child
 * process (`engine-host.ts`), so that no engine work runs on the event loop of
 * the relay being measured. The event bus gets no rules: the relay's cost ends
 * when PutEvents returns, as on AWS, and routing would only compete for the
 * same two cores.
 */
export async function startRelayEngines(topology: Topology, cleanup: Cleanup): Promise<RelayEngines> {
  const deployment = relayDeployment(topology);
  const config = { region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS };
  const [[dynamoEngine, stopDynamo], [host, stopHost]] = await Promise.all([
    cleanup.track(startDynamoDbLocal(), (engine) => engine.stop()),
    cleanup.track(startEngineHost(deployment.eventBusName), (started) => started.stop()),
  ]);

  const setupDynamo = new DynamoDBClient({ ...config, endpoint: dynamoEngine.endpoint });
  const streams = new DynamoDBStreamsClient({ ...config, endpoint: dynamoEngine.endpoint });
  const setupSqs = new SQSClient({ ...config, endpoint: host.sqsEndpoint });
  const counter = new CallCounter();
  const dynamodb = counter.attach(new DynamoDBClient({ ...config, endpoint: dynamoEngine.endpoint }));
  const eventBridge = counter.attach(
    new EventBridgeClient({ ...config, endpoint: host.eventBridgeEndpoint }),
  );
  const sqs = counter.attach(new SQSClient({ ...config, endpoint: host.sqsEndpoint }));
  const clients = [setupDynamo, streams, setupSqs, dynamodb, eventBridge, sqs];
  const releaseClients = cleanup.add(async () => {
    for (const client of clients) client.destroy();
  });

  const tables = await createTables(setupDynamo, topology.tables);
  const outboxTable = tables.find(
    (t) => t.logicalId === (deployment.mapping.source as { tableLogicalId: string }).tableLogicalId,
  );
  if (!outboxTable?.streamArn) throw new Error('the relay mapping reads a table without a stream');
  const queues = await createQueues(setupSqs, topology.queues);
  const failureQueue = queues.find((q) => q.logicalId === deployment.failureQueueLogicalId);
  if (!failureQueue) throw new Error(`queue ${deployment.failureQueueLogicalId} was not created`);
  const filter = compileFilterCriteria(deployment.mapping.filters, 'dynamodb');
  const problems: string[] = [];
  const portCounts: PortCounts = {
    cursorReads: 0,
    cursorAdvances: 0,
    pendingClearCalls: 0,
    pendingMarksCleared: 0,
    rangeReads: 0,
  };
  const created: string[] = [];
  let queueNumber = 0;

  return {
    deployment,
    outboxTable,
    setup: { dynamodb: setupDynamo, streams },
    counter,
    portCounts,
    problems,
    putEventsRequests: () => host.putEventsRequests(),
    relayPorts: () => {
      const cursors = new DynamoDbCursorStore(dynamodb, outboxTable.name);
      const outbox = new DynamoDbOutboxReader(dynamodb, outboxTable.name);
      const pending = new DynamoDbPendingMarks(dynamodb, outboxTable.name);
      // Wired as createAwsRelay does, through counted clients and port wrappers.
      return {
        cursors: {
          get: (keys) => {
            portCounts.cursorReads++;
            return cursors.get(keys);
          },
          advance: (key, from, to) => {
            portCounts.cursorAdvances++;
            return cursors.advance(key, from, to);
          },
        },
        outbox: {
          readRange: (key, from, to) => {
            portCounts.rangeReads++;
            return outbox.readRange(key, from, to);
          },
        },
        pending: {
          clear: (key, sequences) => {
            portCounts.pendingClearCalls++;
            portCounts.pendingMarksCleared += sequences.length;
            return pending.clear(key, sequences);
          },
        },
        eventBus: new EventBridgeBusPublisher(eventBridge, deployment.eventBusName),
        queues: new SqsFifoPublisher(sqs),
        failures: new SqsFailureSink(sqs, failureQueue.url),
        telemetry: silentButCounting(problems),
      } satisfies RelayPorts;
    },
    naiveClients: { eventBridge, sqs },
    outboxRecords: async () => {
      const records = await readAllStreamRecords({ streams, streamArn: outboxTable.streamArn ?? '' });
      return records.filter((record) => filter(record));
    },
    resetCursors: async (aggregateKeys) => {
      for (let i = 0; i < aggregateKeys.length; i += 25) {
        let requests: WriteRequest[] | undefined = aggregateKeys.slice(i, i + 25).map((pk) => ({
          DeleteRequest: { Key: { pk: { S: pk }, sk: { S: KEYS.cursorSk } } },
        }));
        while (requests && requests.length > 0) {
          const response: BatchWriteItemCommandOutput = await setupDynamo.send(
            new BatchWriteItemCommand({ RequestItems: { [outboxTable.name]: requests } }),
          );
          requests = response.UnprocessedItems?.[outboxTable.name];
        }
      }
    },
    freshOrderedQueues: async () => {
      // Queues of earlier runs are deleted first so that fauxqs does not keep every run's messages.
      await Promise.all(
        created.splice(0).map((url) => setupSqs.send(new DeleteQueueCommand({ QueueUrl: url }))),
      );
      return Promise.all(
        deployment.orderedQueues.map(async (spec) => {
          const { QueueUrl } = await setupSqs.send(
            new CreateQueueCommand({
              QueueName: `bench-${++queueNumber}.fifo`,
              Attributes: { ...spec.attributes, FifoQueue: 'true' },
            }),
          );
          if (!QueueUrl) throw new Error('CreateQueue returned no QueueUrl');
          created.push(QueueUrl);
          return QueueUrl;
        }),
      );
    },
    stop: async () => {
      await releaseClients();
      await Promise.all([stopHost(), stopDynamo()]);
    },
  };
}

/** fauxqs and the EventBridge emulator, running in a child process. */
interface EngineHost {
  readonly sqsEndpoint: string;
  readonly eventBridgeEndpoint: string;
  putEventsRequests(): Promise<number>;
  stop(): Promise<void>;
}

async function startEngineHost(eventBusName: string): Promise<EngineHost> {
  const script = fileURLToPath(new URL('./engine-host.ts', import.meta.url));
  const child = fork(script, [eventBusName], {
    // Resolved here so that the child finds tsx whatever the working directory.
    execArgv: ['--import', pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href],
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const next = <T extends EngineHostMessage['type']>(type: T) =>
    new Promise<Extract<EngineHostMessage, { type: T }>>((resolve, reject) => {
      const onMessage = (message: EngineHostMessage) => {
        if (message.type !== type) return;
        child.off('message', onMessage);
        resolve(message as Extract<EngineHostMessage, { type: T }>);
      };
      child.on('message', onMessage);
      void exited.then(() => reject(new Error(`the engine host exited: ${stderr.trim()}`)));
    });
  // A send to a child that already exited is reported as an 'error' event: handled here, seen by `next`.
  child.on('error', () => {});
  const request = (message: EngineHostRequest) => {
    if (!child.connected) throw new Error(`the engine host is gone: ${stderr.trim()}`);
    child.send(message);
  };
  const ready = await next('ready').catch((error: Error) => {
    child.kill('SIGKILL');
    throw error;
  });
  return {
    sqsEndpoint: ready.sqsEndpoint,
    eventBridgeEndpoint: ready.eventBridgeEndpoint,
    putEventsRequests: async () => {
      const answer = next('counters');
      request({ type: 'counters' });
      return (await answer).putEventsRequests;
    },
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      request({ type: 'stop' });
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Drops a scratch table; errors are ignored (the engine is about to stop anyway). */
export async function dropTable(client: DynamoDBClient, tableName: string): Promise<void> {
  await client.send(new DeleteTableCommand({ TableName: tableName })).catch(() => undefined);
}

import { fork } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type AttributeValue, DeleteTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { S3Client } from '@aws-sdk/client-s3';
import { CreateQueueCommand, DeleteQueueCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBRecord } from 'aws-lambda';
import type { LocalQueue, MappingSpec, QueueSpec, Topology } from 'local-aws';
import {
  compileFilterCriteria,
  createBuckets,
  createQueues,
  createTables,
  LOCAL_CREDENTIALS,
  LOCAL_REGION,
  type LocalBucket,
  LocalS3Client,
  type LocalTable,
  readAllStreamRecords,
  referencedLogicalId,
  startDynamoDbLocal,
} from 'local-aws';
import { ENV } from '../contract/env';
import { KEYS } from '../contract/keys';
import {
  DynamoDbHeartbeatStore,
  DynamoDbOutboxReader,
  EventBridgeBusPublisher,
  SqsFailureSink,
  SqsFifoPublisher,
} from '../functions/relay/aws-adapters';
import type { RelayPorts, RelayTelemetry } from '../functions/relay/ports';
import { STATE_ATTRIBUTES } from '../functions/shared/outbox-item';
import { CallCounter } from './call-counter';
import { CapacityMeter, meteredTable } from './capacity';
import type { Cleanup } from './cleanup';
import type { EngineHostMessage, EngineHostRequest, HostRule } from './engine-host';
import { NaiveRelay } from './naive-relay';

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

/** Calls the relay made to its DynamoDB-backed ports. */
export interface PortCounts {
  /** `outbox.readRange`: one Query (page) per transaction whose outbox records were in another batch. */
  rangeReads: number;
  /** `heartbeat.probeSeen`: one UpdateItem per batch holding a sweeper probe. */
  heartbeats: number;
}

/** Clients of one component: SDK calls counted, DynamoDB capacity metered when asked for. */
export interface ComponentClients {
  readonly dynamodb: DynamoDBClient;
  readonly sqs: SQSClient;
  readonly eventBridge: EventBridgeClient;
  readonly s3: S3Client;
}

/** DynamoDB Local, fauxqs (SQS and S3) and the EventBridge emulator, with the stack's resources. */
export interface RelayEngines {
  readonly topology: Topology;
  readonly deployment: RelayDeployment;
  readonly outboxTable: LocalTable;
  readonly tables: ReadonlyArray<LocalTable>;
  readonly queues: ReadonlyArray<LocalQueue>;
  readonly buckets: ReadonlyArray<LocalBucket>;
  readonly endpoints: { readonly dynamodb: string; readonly sqs: string; readonly eventBridge: string };
  /** Uncounted clients, for setup (writing datasets, reading the stream, receiving messages). */
  readonly setup: {
    readonly dynamodb: DynamoDBClient;
    readonly streams: DynamoDBStreamsClient;
    readonly sqs: SQSClient;
  };
  /** Counts every SDK call the components under test make. */
  readonly counter: CallCounter;
  /** Meters the DynamoDB capacity of the metered components' calls, per component. */
  readonly meter: CapacityMeter;
  /** What the relay asked of its DynamoDB-backed ports. */
  readonly portCounts: PortCounts;
  /** Counted clients; with `meteredAs`, DynamoDB calls are also billed to that account (slower: never time them). */
  clients(meteredAs?: string): ComponentClients;
  /** PutEvents requests the EventBridge emulator received (a cross-check of the client-side count). */
  putEventsRequests(): Promise<number>;
  /** The relay's ports on the engines, wired as createAwsRelay does; telemetry is silent but counts problems. */
  relayPorts(clients: ComponentClients): RelayPorts;
  /** A naive relay publishing to `queueUrls`, with cursors of its own for this run. */
  naiveRelay(clients: ComponentClients, queueUrls: ReadonlyArray<string>): NaiveRelay;
  /** Records passing the relay mapping's FilterCriteria, in stream order (state, outbox and probe records). */
  streamRecords(): Promise<DynamoDBRecord[]>;
  /**
   * Creates one fresh FIFO queue per ordered queue of the stack (same attributes), so that each
   * run really enqueues instead of hitting the 5-minute deduplication window.
   */
  freshOrderedQueues(): Promise<string[]>;
  /** Installs the stack's EventBridge rules (with their SQS targets) on the bus. */
  installRules(): Promise<void>;
  /** Telemetry warnings and errors the relay reported (0 in a clean run). */
  readonly problems: string[];
  stop(): Promise<void>;
}

const silentButCounting = (problems: string[]): RelayTelemetry => ({
  count: () => {},
  publishLag: () => {},
  warn: (message) => problems.push(`warn: ${message}`),
  error: (message) => problems.push(`error: ${message}`),
});

/**
 * Starts the engines the relay and cost benchmarks run against, all on 127.0.0.1: DynamoDB
 * Local (a JVM), and fauxqs with the EventBridge emulator in a child process (`engine-host.ts`),
 * so that no engine work runs on the event loop of the code being measured. The event bus gets
 * no rules until `installRules` (the cost section): the relay's cost ends when PutEvents
 * returns, as on AWS, and routing would only compete for the same two cores.
 */
export async function startRelayEngines(topology: Topology, cleanup: Cleanup): Promise<RelayEngines> {
  const deployment = relayDeployment(topology);
  const config = { region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS };
  const [[dynamoEngine, stopDynamo], [host, stopHost]] = await Promise.all([
    cleanup.track(startDynamoDbLocal(), (engine) => engine.stop()),
    cleanup.track(startEngineHost(deployment.eventBusName), (started) => started.stop()),
  ]);
  const endpoints = {
    dynamodb: dynamoEngine.endpoint,
    sqs: host.sqsEndpoint,
    eventBridge: host.eventBridgeEndpoint,
  };
  const setupDynamo = new DynamoDBClient({ ...config, endpoint: endpoints.dynamodb });
  const oracle = new DynamoDBClient({ ...config, endpoint: endpoints.dynamodb });
  const streams = new DynamoDBStreamsClient({ ...config, endpoint: endpoints.dynamodb });
  const setupSqs = new SQSClient({ ...config, endpoint: endpoints.sqs });
  const created: Array<{ destroy(): void }> = [setupDynamo, oracle, streams, setupSqs];
  const releaseClients = cleanup.add(async () => {
    for (const client of created) client.destroy();
  });

  const { tables, outboxTable, queues, buckets, failureQueue, meter } = await createResources(
    topology,
    deployment,
    endpoints,
    {
      dynamodb: setupDynamo,
      oracle,
      sqs: setupSqs,
    },
  );
  const filter = compileFilterCriteria(deployment.mapping.filters, 'dynamodb');
  const counter = new CallCounter();
  const problems: string[] = [];
  const portCounts: PortCounts = { rangeReads: 0, heartbeats: 0 };
  const orderedQueues = freshQueueFactory(setupSqs, deployment.orderedQueues);
  let naiveRuns = 0;

  const clients = clientFactory(counter, meter, endpoints, created);

  return {
    topology,
    deployment,
    outboxTable,
    tables,
    queues,
    buckets,
    endpoints,
    setup: { dynamodb: setupDynamo, streams, sqs: setupSqs },
    counter,
    meter,
    portCounts,
    problems,
    clients,
    putEventsRequests: () => host.putEventsRequests(),
    relayPorts: (c) =>
      countedRelayPorts(c, outboxTable.name, deployment.eventBusName, failureQueue.url, portCounts, problems),
    naiveRelay: (c, queueUrls) =>
      new NaiveRelay({
        eventBus: new EventBridgeBusPublisher(c.eventBridge, deployment.eventBusName),
        sqs: c.sqs,
        queueUrls,
        dynamodb: c.dynamodb,
        tableName: outboxTable.name,
        cursorSk: `NAIVE#CURSOR#${++naiveRuns}`,
      }),
    streamRecords: async () => {
      const records = await readAllStreamRecords({ streams, streamArn: outboxTable.streamArn ?? '' });
      return records.filter((record) => filter(record));
    },
    freshOrderedQueues: orderedQueues,
    installRules: async () => {
      for (const rule of topology.rules) await host.putRule(hostRule(rule, queues, deployment.eventBusName));
    },
    stop: async () => {
      await releaseClients();
      await Promise.all([stopHost(), stopDynamo()]);
    },
  };
}

/** Counted clients per component, created once each; metered too when `meteredAs` is given. */
function clientFactory(
  counter: CallCounter,
  meter: CapacityMeter,
  endpoints: { readonly dynamodb: string; readonly sqs: string; readonly eventBridge: string },
  created: Array<{ destroy(): void }>,
): (meteredAs?: string) => ComponentClients {
  const config = { region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS };
  const componentClients = new Map<string, ComponentClients>();
  return (meteredAs) => {
    const key = meteredAs ?? '';
    const known = componentClients.get(key);
    if (known) return known;
    const dynamodb = counter.attach(new DynamoDBClient({ ...config, endpoint: endpoints.dynamodb }));
    if (meteredAs !== undefined) meter.attach(dynamodb, meteredAs);
    const made: ComponentClients = {
      dynamodb,
      sqs: counter.attach(new SQSClient({ ...config, endpoint: endpoints.sqs })),
      eventBridge: counter.attach(new EventBridgeClient({ ...config, endpoint: endpoints.eventBridge })),
      s3: counter.attach(new S3Client({ ...config, endpoint: endpoints.sqs, forcePathStyle: true })),
    };
    created.push(made.dynamodb, made.sqs, made.eventBridge, made.s3);
    componentClients.set(key, made);
    return made;
  };
}

/** The relay's ports on counted clients, wired as createAwsRelay does, its DynamoDB-backed ports counted. */
function countedRelayPorts(
  c: ComponentClients,
  tableName: string,
  eventBusName: string,
  failureQueueUrl: string,
  portCounts: PortCounts,
  problems: string[],
): RelayPorts {
  const outbox = new DynamoDbOutboxReader(c.dynamodb, tableName);
  const heartbeat = new DynamoDbHeartbeatStore(c.dynamodb, tableName);
  return {
    outbox: {
      readRange: (key, from, to) => {
        portCounts.rangeReads++;
        return outbox.readRange(key, from, to);
      },
    },
    heartbeat: {
      probeSeen: (seq, writtenAt) => {
        portCounts.heartbeats++;
        return heartbeat.probeSeen(seq, writtenAt);
      },
    },
    eventBus: new EventBridgeBusPublisher(c.eventBridge, eventBusName),
    queues: new SqsFifoPublisher(c.sqs),
    failures: new SqsFailureSink(c.sqs, failureQueueUrl),
    telemetry: silentButCounting(problems),
  };
}

/** Creates the stack's tables, queues and buckets on the engines, and a meter that knows the tables. */
async function createResources(
  topology: Topology,
  deployment: RelayDeployment,
  endpoints: { sqs: string },
  clients: { dynamodb: DynamoDBClient; oracle: DynamoDBClient; sqs: SQSClient },
) {
  const tables = await createTables(clients.dynamodb, topology.tables);
  const outboxTable = tables.find(
    (t) => t.logicalId === (deployment.mapping.source as { tableLogicalId: string }).tableLogicalId,
  );
  if (!outboxTable?.streamArn) throw new Error('the relay mapping reads a table without a stream');
  const queues = await createQueues(clients.sqs, topology.queues);
  const buckets = await createBuckets(new LocalS3Client(endpoints.sqs), topology.buckets);
  const failureQueue = queues.find((q) => q.logicalId === deployment.failureQueueLogicalId);
  if (!failureQueue) throw new Error(`queue ${deployment.failureQueueLogicalId} was not created`);
  const meter = new CapacityMeter(
    clients.oracle,
    tables.map((t) => {
      const spec = topology.tables.find((s) => s.logicalId === t.logicalId);
      if (!spec) throw new Error(`table ${t.logicalId} has no spec`);
      return meteredTable(t.name, spec);
    }),
    // What the writer stores only so that the relay knows what a transaction committed.
    [STATE_ATTRIBUTES.committedFrom],
    classifyItem,
  );
  return { tables, outboxTable, queues, buckets, failureQueue, meter };
}

/**
 * The kind of item a key names, for the cost breakdown: the app table's items by their key
 * formats (contract/keys.ts), the consumer-kit table's by their id prefixes (`<consumer>#…`).
 */
export function classifyItem(_table: string, key: Record<string, AttributeValue>): string {
  const id = key.id?.S;
  if (id !== undefined) {
    const kind = id.split('#')[1] ?? '';
    if (kind === 'checkpoint') return 'kit checkpoints';
    if (kind === 'effect') return 'kit effect markers';
    if (kind === 'parked') return 'kit parked events';
    return 'Powertools idempotency records';
  }
  const pk = key.pk?.S ?? '';
  const sk = key.sk?.S ?? '';
  if (pk.startsWith(KEYS.viewPkPrefix)) return 'effects (read models)';
  if (pk.startsWith(KEYS.relayPkPrefix)) return 'relay and sweeper items';
  if (pk.startsWith(KEYS.commandPkPrefix)) return 'command records';
  if (sk.startsWith('NAIVE#CURSOR')) return 'naive relay cursors';
  if (sk === KEYS.stateSk) return 'state items';
  if (sk.startsWith(KEYS.outboxSkPrefix)) return 'outbox items';
  return 'other';
}

/** Fresh FIFO queues per call; the previous call's are deleted so that fauxqs does not keep every run's messages. */
function freshQueueFactory(sqs: SQSClient, specs: ReadonlyArray<QueueSpec>): () => Promise<string[]> {
  const created: string[] = [];
  let queueNumber = 0;
  return async () => {
    await Promise.all(created.splice(0).map((url) => sqs.send(new DeleteQueueCommand({ QueueUrl: url }))));
    return Promise.all(
      specs.map(async (spec) => {
        const { QueueUrl } = await sqs.send(
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
  };
}

/** A rule of the template as the emulator takes it, its targets resolved to the local queues. */
function hostRule(
  rule: Topology['rules'][number],
  queues: ReadonlyArray<LocalQueue>,
  eventBusName: string,
): HostRule {
  const urlOf = (logicalId: string | undefined) => queues.find((q) => q.logicalId === logicalId)?.url;
  return {
    name: rule.logicalId,
    eventBusName,
    eventPattern: rule.eventPattern,
    targets: rule.targets.map((target) => ({
      id: target.id,
      queueUrl: urlOf(target.queueLogicalId) ?? '',
      deadLetterQueueUrl: urlOf(target.deadLetterQueueLogicalId),
      maximumRetryAttempts: target.maximumRetryAttempts,
      maximumEventAgeInSeconds: target.maximumEventAgeInSeconds,
      messageGroupId: target.messageGroupId,
    })),
  };
}

/** fauxqs and the EventBridge emulator, running in a child process. */
interface EngineHost {
  readonly sqsEndpoint: string;
  readonly eventBridgeEndpoint: string;
  putEventsRequests(): Promise<number>;
  putRule(rule: HostRule): Promise<void>;
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
    putRule: async (rule) => {
      const answer = next('ruleAdded');
      request({ type: 'putRule', rule });
      await answer;
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

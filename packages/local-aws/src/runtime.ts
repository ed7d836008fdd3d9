import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { type DynamoDbFaults, startDynamoDbFaultProxy } from './dynamodb-fault-proxy';
import { type DynamoDbLocal, LOCAL_CREDENTIALS, startDynamoDbLocal } from './engines/dynamodb-local';
import { type SqsEmulator, startSqsEmulator } from './engines/sqs-emulator';
import { DynamoDbStreamMapping } from './event-source-mappings/dynamodb-stream-mapping';
import { SqsMapping } from './event-source-mappings/sqs-mapping';
import { type EventBusEmulator, startEventBusEmulator } from './eventbridge/event-bus-emulator';
import { compileFilterCriteria } from './eventbridge/event-pattern';
import { type StreamFaults, streamFaultHooks } from './faults';
import { type LocalFunctionUrl, serveFunctionUrl } from './lambda/function-url-server';
import { LocalFunction } from './lambda/local-function';
import { createQueues, createTables, type LocalQueue, type LocalTable } from './resources';
import { LOCAL_ACCOUNT, LOCAL_REGION, type LocalResource, resolveValue } from './template/intrinsics';
import type { SynthesizedStack } from './template/synth';
import { type MappingSpec, readTopology, type Topology } from './template/topology';

/** Every fault the local runtime can inject. Each has its own seeded generator derived from `seed`. */
export interface LocalFaults {
  readonly seed?: number;
  /** Reordered and duplicated stream batches (DynamoDB Local never reorders). */
  readonly stream?: Omit<StreamFaults, 'seed'>;
  /** PutEvents entry failures and throttled requests. */
  readonly eventBridge?: { readonly putEventsEntryFailureRate?: number; readonly throttleRate?: number };
  /** SendMessageBatch entry failures. */
  readonly sqs?: { readonly sendMessageBatchEntryFailureRate?: number };
  /** Throttling and transaction conflicts on the functions' DynamoDB calls. */
  readonly dynamodb?: Omit<DynamoDbFaults, 'seed'>;
  /** Crashes of functions invoked by event source mappings (relay and consumers), mid-invocation or after returning. */
  readonly functions?: { readonly crashRate?: number };
}

/** What the injected faults did. */
export interface InjectedFaults {
  reorderedBatches: number;
  duplicatedRecords: number;
  putEventsEntriesFailed: number;
  putEventsThrottled: number;
  sendMessageBatchEntriesFailed: number;
  dynamodbThrottles: number;
  transactionConflicts: number;
  functionCrashes: number;
}

/** Options of {@link startLocalAws}. */
export interface LocalAwsOptions {
  /** Where each function's output goes (`<dir>/<function>.log`). @default discarded */
  readonly logDir?: string;
  /** Faults to inject, all seeded and reproducible. @default none */
  readonly faults?: LocalFaults;
  /**
   * Overrides every function's timeout (seconds). Keep it below the visibility timeout, as the
   * stack does: Powertools idempotency treats an in-progress record as live until the timeout.
   * @default the template's
   */
  readonly functionTimeoutSeconds?: number;
  /**
   * Environment overrides for functions whose logical id contains the key, e.g.
   * `{ Sweeper: { SWEEP_AFTER_SECONDS: '1' } }`. Applied after the template's values.
   * @default none
   */
  readonly environmentOverrides?: Readonly<Record<string, Readonly<Record<string, string>>>>;
  /** Overrides every queue's visibility timeout (seconds), so crashed batches come back quickly. @default the template's */
  readonly queueVisibilityTimeoutSeconds?: number;
  /** Execution environments per function (Lambda concurrency). @default 2 */
  readonly functionConcurrency?: number;
  /**
   * Runs scheduled functions (the sweeper) at this interval instead of their
   * `rate(...)`; 0 disables the schedules (call `runSchedule` by hand).
   * @default the template's rate
   */
  readonly scheduleIntervalMs?: number;
  /** Sees every invocation made by an event source mapping, for reports. */
  readonly observe?: (invocation: ObservedInvocation) => void;
  /** Progress messages. @default none */
  readonly log?: (message: string) => void;
}

/** One invocation made by an event source mapping, as seen from outside the function. */
export interface ObservedInvocation {
  readonly mapping: MappingSpec;
  readonly event: unknown;
  readonly response?: unknown;
  readonly error?: Error;
  readonly startedAt: number;
  readonly endedAt: number;
}

/** The running local stack: engines, resources, functions and event source mappings. */
export interface LocalAws {
  readonly topology: Topology;
  readonly endpoints: { readonly dynamodb: string; readonly sqs: string; readonly eventbridge: string };
  /** SDK client settings for the local engines. */
  readonly clientConfig: { readonly region: string; readonly credentials: typeof LOCAL_CREDENTIALS };
  readonly tables: ReadonlyArray<LocalTable>;
  readonly queues: ReadonlyArray<LocalQueue>;
  readonly functions: ReadonlyMap<string, LocalFunction>;
  readonly functionUrls: ReadonlyMap<string, string>;
  readonly streamMappings: ReadonlyArray<{ spec: MappingSpec; mapping: DynamoDbStreamMapping }>;
  readonly sqsMappings: ReadonlyArray<{ spec: MappingSpec; mapping: SqsMapping }>;
  readonly eventBus: EventBusEmulator;
  readonly streamFaultStats: { reorderedBatches: number; duplicatedRecords: number };
  /** Counts of every fault injected so far. */
  injectedFaults(): InjectedFaults;
  /** Stack outputs resolved to local names and URLs. */
  readonly outputs: Readonly<Record<string, string>>;
  readonly timings: { readonly synthMs: number; readonly synthCached: boolean; readonly startMs: number };
  /** Invokes the scheduled function whose logical id contains `name` now, as its schedule would. */
  runSchedule(name: string): Promise<unknown>;
  /** Moves the stream mappings' clock forward, to age records as hours passing would. */
  advanceStreamClock(milliseconds: number): void;
  /** Resolves when every mapping has caught up and no EventBridge delivery is pending, twice in a row. */
  drain(timeoutMs?: number): Promise<void>;
  /** Stops everything this runtime started. Safe to call twice. */
  stop(): Promise<void>;
}

/**
 * Runs a synthesized CDK stack on this machine: starts
 * DynamoDB Local, the SQS emulator and the EventBridge emulator on loopback,
 * creates every table, queue, bus and rule of the template, loads every function
 * from its bundled asset in its own worker with the environment the stack gives
 * it (resolved to local names and endpoints), and runs every event source mapping.
 *
 * Everything is read from the synthesized template: a function, queue or
 * mapping added to the stack runs here with no second registration.
 */
export async function startLocalAws(
  synth: SynthesizedStack,
  options: LocalAwsOptions = {},
): Promise<LocalAws> {
  const log = options.log ?? (() => {});
  const started = Date.now();
  const topology = readTopology(synth.template as never, synth.assemblyDir);
  const startMark = Date.now();

  const stops: Array<() => Promise<unknown>> = [];
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    for (const fn of stops.reverse()) await fn().catch(() => undefined);
  };

  try {
    const seed = options.faults?.seed ?? 1;
    const [dynamoEngine, sqsEngine] = await Promise.all([
      startDynamoDbLocal(),
      startSqsEmulator({ faults: { ...options.faults?.sqs, seed: seed + 1 } }),
    ]);
    stops.push(
      () => (dynamoEngine as DynamoDbLocal).stop(),
      () => (sqsEngine as SqsEmulator).stop(),
    );
    const clientConfig = { region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS };
    const dynamodb = new DynamoDBClient({ ...clientConfig, endpoint: dynamoEngine.endpoint });
    const streams = new DynamoDBStreamsClient({ ...clientConfig, endpoint: dynamoEngine.endpoint });
    const sqs = new SQSClient({ ...clientConfig, endpoint: sqsEngine.endpoint });
    stops.push(async () => {
      dynamodb.destroy();
      streams.destroy();
      sqs.destroy();
    });

    const [tables, queues] = await Promise.all([
      createTables(dynamodb, topology.tables),
      createQueues(sqs, topology.queues, { visibilityTimeoutSeconds: options.queueVisibilityTimeoutSeconds }),
    ]);
    const eventBus = await startEventBusEmulator({
      region: LOCAL_REGION,
      accountId: LOCAL_ACCOUNT,
      sqs: { endpoint: sqsEngine.endpoint },
      faults: { ...options.faults?.eventBridge, seed: seed + 2 },
    });
    stops.push(() => eventBus.stop());
    const dynamoFaults = options.faults?.dynamodb
      ? await startDynamoDbFaultProxy(dynamoEngine.endpoint, { ...options.faults.dynamodb, seed: seed + 3 })
      : undefined;
    if (dynamoFaults) stops.push(() => dynamoFaults.stop());

    const resources = new Map<string, LocalResource>();
    resources.set('AWS::StackName', { ref: synth.stackName, attributes: {} });
    for (const table of tables) resources.set(table.logicalId, table);
    for (const queue of queues) resources.set(queue.logicalId, queue);
    for (const bus of topology.eventBuses) {
      eventBus.createEventBus(bus.name);
      const arn = `arn:aws:events:${LOCAL_REGION}:${LOCAL_ACCOUNT}:event-bus/${bus.name}`;
      resources.set(bus.logicalId, { ref: bus.name, attributes: { Arn: arn, Name: bus.name } });
    }
    for (const fn of topology.functions) {
      resources.set(fn.logicalId, {
        ref: fn.logicalId,
        attributes: { Arn: `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT}:function:${fn.logicalId}` },
      });
    }
    for (const archive of topology.archives) {
      const bus = resources.get(archive.eventBusLogicalId);
      if (!bus) continue;
      const arn = eventBus.createArchive({
        name: archive.name,
        eventBusName: bus.ref,
        eventPattern: archive.eventPattern,
      });
      resources.set(archive.logicalId, {
        ref: archive.name,
        attributes: { Arn: arn, ArchiveName: archive.name },
      });
    }
    const queueUrl = (logicalId: string | undefined) =>
      logicalId ? resources.get(logicalId)?.attributes.QueueUrl : undefined;
    for (const rule of topology.rules) {
      const bus = resources.get(rule.eventBusLogicalId);
      if (!bus)
        throw new Error(
          `rule ${rule.logicalId} is on bus ${rule.eventBusLogicalId}, which is not in the template`,
        );
      eventBus.putRule({
        name: rule.logicalId,
        eventBusName: bus.ref,
        eventPattern: rule.eventPattern,
        targets: rule.targets.map((target) => ({
          id: target.id,
          queueUrl: queueUrl(target.queueLogicalId) ?? '',
          deadLetterQueueUrl: queueUrl(target.deadLetterQueueLogicalId),
          maximumRetryAttempts: target.maximumRetryAttempts,
          maximumEventAgeInSeconds: target.maximumEventAgeInSeconds,
          messageGroupId: target.messageGroupId,
        })),
      });
    }

    const logDir = options.logDir;
    const functions = new Map<string, LocalFunction>();
    for (const spec of topology.functions) {
      const environment: Record<string, string> = {
        AWS_REGION: LOCAL_REGION,
        AWS_DEFAULT_REGION: LOCAL_REGION,
        AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
        AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
        // The SDK's standard per-service endpoint settings: the handler code is unchanged.
        AWS_ENDPOINT_URL_DYNAMODB: dynamoFaults?.endpoint ?? dynamoEngine.endpoint,
        AWS_ENDPOINT_URL_SQS: sqsEngine.endpoint,
        AWS_ENDPOINT_URL_EVENTBRIDGE: eventBus.endpoint,
        AWS_LAMBDA_FUNCTION_NAME: spec.logicalId,
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(spec.memorySize),
        AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
        POWERTOOLS_TRACE_ENABLED: 'false',
        AWS_XRAY_CONTEXT_MISSING: 'IGNORE_ERROR',
      };
      for (const [name, value] of Object.entries(spec.environment)) {
        environment[name] = resolveValue(value, resources, `${spec.logicalId}.Environment.${name}`);
      }
      for (const [match, overrides] of Object.entries(options.environmentOverrides ?? {})) {
        if (spec.logicalId.includes(match)) Object.assign(environment, overrides);
      }
      const fn = new LocalFunction({
        name: spec.logicalId,
        modulePath: spec.modulePath,
        exportName: spec.exportName,
        environment,
        timeoutSeconds: options.functionTimeoutSeconds ?? spec.timeoutSeconds,
        memorySize: spec.memorySize,
        logFile: logDir === undefined ? undefined : join(logDir, `${spec.logicalId}.log`),
        concurrency: options.functionConcurrency ?? 2,
      });
      functions.set(spec.logicalId, fn);
      stops.push(() => fn.stop());
    }
    await Promise.all([...functions.values()].map((fn) => fn.ready()));

    const functionUrls = new Map<string, string>();
    for (const spec of topology.functionUrls) {
      const fn = functions.get(spec.functionLogicalId);
      if (!fn) continue;
      const served: LocalFunctionUrl = await serveFunctionUrl(fn);
      stops.push(() => served.stop());
      functionUrls.set(spec.functionLogicalId, served.url);
      resources.set(spec.logicalId, { ref: served.url, attributes: { FunctionUrl: served.url } });
    }

    const faults = streamFaultHooks({ ...options.faults?.stream, seed });
    const crashRate = options.faults?.functions?.crashRate ?? 0;
    if (crashRate > 0) {
      const invoked = new Set(topology.mappings.map((m) => m.functionLogicalId));
      let offset = 10;
      for (const [id, fn] of functions)
        if (invoked.has(id)) fn.setFaults({ crashRate, seed: seed + offset++ });
    }
    let clockOffsetMs = 0;
    const streamClock = () => Date.now() + clockOffsetMs;
    const streamMappings: Array<{ spec: MappingSpec; mapping: DynamoDbStreamMapping }> = [];
    const sqsMappings: Array<{ spec: MappingSpec; mapping: SqsMapping }> = [];
    for (const spec of topology.mappings) {
      const fn = functions.get(spec.functionLogicalId);
      if (!fn)
        throw new Error(
          `mapping ${spec.logicalId} targets ${spec.functionLogicalId}, which has no local bundle`,
        );
      const invoke = observed(spec, fn, options.observe);
      if (spec.source.kind === 'dynamodb-stream') {
        const table = tables.find(
          (t) => t.logicalId === (spec.source as { tableLogicalId: string }).tableLogicalId,
        );
        if (!table?.streamArn) throw new Error(`mapping ${spec.logicalId} reads a table without a stream`);
        const onFailureUrl = queueUrl(spec.onFailureQueueLogicalId);
        const mapping = new DynamoDbStreamMapping({
          streams,
          streamArn: table.streamArn,
          invoke,
          startingPosition: spec.startingPosition ?? 'TRIM_HORIZON',
          batchSize: spec.batchSize,
          maximumBatchingWindowInSeconds: spec.maximumBatchingWindowInSeconds,
          filter: compileFilterCriteria(spec.filters, 'dynamodb'),
          reportBatchItemFailures: spec.reportBatchItemFailures,
          bisectBatchOnFunctionError: spec.bisectBatchOnFunctionError,
          maximumRetryAttempts: spec.maximumRetryAttempts,
          maximumRecordAgeInSeconds: spec.maximumRecordAgeInSeconds,
          functionArn: resources.get(spec.functionLogicalId)?.attributes.Arn,
          awsRegion: LOCAL_REGION,
          now: streamClock,
          shuffle: faults.shuffle,
          duplicate: faults.duplicate,
          onFailure: onFailureUrl
            ? async (record) => {
                await sqs.send(
                  new SendMessageCommand({ QueueUrl: onFailureUrl, MessageBody: JSON.stringify(record) }),
                );
              }
            : undefined,
        });
        streamMappings.push({ spec, mapping });
      } else {
        const url = queueUrl(spec.source.queueLogicalId);
        if (!url)
          throw new Error(
            `mapping ${spec.logicalId} reads queue ${spec.source.queueLogicalId}, which was not created`,
          );
        const mapping = new SqsMapping({
          sqs,
          queueUrl: url,
          invoke,
          batchSize: spec.batchSize,
          maximumBatchingWindowInSeconds: spec.maximumBatchingWindowInSeconds,
          reportBatchItemFailures: spec.reportBatchItemFailures,
          filter: spec.filters.length > 0 ? compileFilterCriteria(spec.filters, 'sqs') : undefined,
          // Without a ScalingConfig Lambda scales pollers on its own; locally, one batch per execution environment.
          maximumConcurrency: spec.maximumConcurrency ?? Math.max(2, options.functionConcurrency ?? 2),
          awsRegion: LOCAL_REGION,
        });
        sqsMappings.push({ spec, mapping });
      }
    }
    const allMappings = [...streamMappings, ...sqsMappings].map((m) => m.mapping);
    await Promise.all(allMappings.map((m) => m.start()));
    // Stops run in reverse order: mappings first, so that no invocation is in flight
    // when functions, the bus and the engines go.
    stops.push(async () => {
      await Promise.all(allMappings.map((m) => m.stop()));
    });

    const scheduledEvent = (spec: (typeof topology.schedules)[number]) => ({
      version: '0',
      id: randomUUID(),
      'detail-type': 'Scheduled Event',
      source: 'aws.events',
      account: LOCAL_ACCOUNT,
      time: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
      region: LOCAL_REGION,
      resources: [`arn:aws:events:${LOCAL_REGION}:${LOCAL_ACCOUNT}:rule/${spec.logicalId}`],
      detail: {},
    });
    for (const spec of topology.schedules) {
      const interval = options.scheduleIntervalMs ?? spec.intervalMs;
      const fn = functions.get(spec.functionLogicalId);
      if (!fn || interval <= 0) continue;
      let running = false;
      const timer = setInterval(() => {
        if (running) return;
        running = true;
        fn.invoke(scheduledEvent(spec))
          .catch((error: Error) => log(`scheduled ${spec.functionLogicalId} failed: ${error.message}`))
          .finally(() => {
            running = false;
          });
      }, interval);
      timer.unref();
      stops.push(async () => clearInterval(timer));
    }
    const runSchedule = async (prefix: string) => {
      const spec = topology.schedules.find((s) => s.functionLogicalId.includes(prefix));
      const fn = spec ? functions.get(spec.functionLogicalId) : undefined;
      if (!spec || !fn)
        throw new Error(
          `no scheduled function starts with ${prefix} (have: ${topology.schedules.map((s) => s.functionLogicalId).join(', ') || 'none'})`,
        );
      return fn.invoke(scheduledEvent(spec));
    };

    const outputs: Record<string, string> = {};
    for (const [key, value] of Object.entries(topology.outputs)) {
      try {
        outputs[key] = resolveValue(value, resources, `Outputs.${key}`);
      } catch {
        // Outputs of resources the local runtime does not create (e.g. log groups) are left out.
      }
    }

    const drain = async (timeoutMs = 60_000) => {
      const deadline = Date.now() + timeoutMs;
      let quietPasses = 0;
      let lastActivity = activity();
      while (quietPasses < 2) {
        const remaining = deadline - Date.now();
        if (remaining <= 0) throw new Error(`the local stack did not settle within ${timeoutMs} ms`);
        await Promise.all([...allMappings.map((m) => m.drain(remaining)), eventBus.waitForIdle(remaining)]);
        const now = activity();
        quietPasses = now === lastActivity ? quietPasses + 1 : 0;
        lastActivity = now;
      }
    };
    const activity = () =>
      JSON.stringify([
        streamMappings.map((m) => m.mapping.counters),
        sqsMappings.map((m) => m.mapping.counters),
        eventBus.counters,
      ]);

    return {
      topology,
      endpoints: { dynamodb: dynamoEngine.endpoint, sqs: sqsEngine.endpoint, eventbridge: eventBus.endpoint },
      clientConfig,
      tables,
      queues,
      functions,
      functionUrls,
      streamMappings,
      sqsMappings,
      eventBus,
      streamFaultStats: faults.stats,
      injectedFaults: () => ({
        reorderedBatches: faults.stats.reorderedBatches,
        duplicatedRecords: faults.stats.duplicatedRecords,
        putEventsEntriesFailed: Object.values(eventBus.counters.entriesFailed ?? {}).reduce(
          (a: number, b) => a + Number(b),
          0,
        ),
        putEventsThrottled: eventBus.counters.throttledRequests ?? 0,
        sendMessageBatchEntriesFailed: sqsEngine.faults.injected.entries,
        dynamodbThrottles: dynamoFaults?.injected.throttles ?? 0,
        transactionConflicts: dynamoFaults?.injected.conflicts ?? 0,
        functionCrashes: [...functions.values()].reduce((n, fn) => n + fn.crashes, 0),
      }),
      outputs,
      timings: { synthMs: synth.durationMs, synthCached: synth.cached, startMs: Date.now() - startMark },
      drain,
      runSchedule,
      advanceStreamClock: (ms: number) => {
        clockOffsetMs += ms;
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  } finally {
    log(`local AWS ${stopped ? 'failed to start' : 'started'} in ${Date.now() - started} ms`);
  }
}

function observed<E>(spec: MappingSpec, fn: LocalFunction, observe: LocalAwsOptions['observe']) {
  return async (event: E): Promise<unknown> => {
    const startedAt = Date.now();
    try {
      const response = await fn.invoke(event);
      observe?.({ mapping: spec, event, response, startedAt, endedAt: Date.now() });
      return response;
    } catch (error) {
      observe?.({ mapping: spec, event, error: error as Error, startedAt, endedAt: Date.now() });
      throw error;
    }
  };
}

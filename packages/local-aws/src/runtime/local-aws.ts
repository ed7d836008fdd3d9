/**
 * `startLocalAws`: runs a synthesized CDK stack on this machine. The start-up
 * steps live in files of their own, in the order they run: `engines.ts`,
 * `create-resources.ts`, `iam.ts`, `load-functions.ts`, `serve-function-urls.ts`,
 * `start-mappings.ts`, `schedules.ts`, `outputs.ts`; `drain.ts` is `drain()`.
 */
import type { DynamoDbFaults } from '../dynamodb-fault-proxy';
import type { LOCAL_CREDENTIALS } from '../engines/dynamodb-local';
import type { DynamoDbStreamMapping } from '../event-source-mappings/dynamodb-stream-mapping';
import type { SqsMapping } from '../event-source-mappings/sqs-mapping';
import type { EventBusEmulator } from '../eventbridge/event-bus-emulator';
import type { StreamFaults } from '../faults';
import type { LocalFunction } from '../lambda/local-function';
import { checkNodeRuntimes } from '../lambda/node-runtime';
import type { LocalBucket, LocalQueue, LocalTable } from '../resources';
import type { SynthesizedStack } from '../template/synth';
import { type MappingSpec, readTopology, type Topology } from '../template/topology';
import { createResources } from './create-resources';
import { drainAll } from './drain';
import { type Engines, startEngines } from './engines';
import { type LocalIam, startIam } from './iam';
import { loadFunctions } from './load-functions';
import { resolveOutputs, writeOutputsFile } from './outputs';
import { startSchedules } from './schedules';
import { serveFunctionUrls } from './serve-function-urls';
import { type StartedMappings, startMappings } from './start-mappings';
import { StopList } from './stop-list';

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
  /**
   * Writes the resolved stack outputs to this file as `cdk deploy --outputs-file`
   * does (`{ "<stackName>": { "<OutputKey>": "<value>" } }`); `stop()` removes it.
   * @default no file
   */
  readonly outputsFile?: string;
  /** Progress messages. @default none */
  readonly log?: (message: string) => void;
  /**
   * Enforces the template's IAM as AWS does: every call a function makes (and the polls
   * and destination writes of its event source mappings) is signed with its execution role
   * and evaluated against the role's and the resource's policies; EventBridge deliveries
   * against the queue's policy; Function URLs against AuthType and the function's policy.
   * A refused call gets AWS's AccessDenied; `LocalAws.iam.denials` counts them. A policy
   * that cannot be read faithfully stops start-up with an `IamTemplateError`.
   *
   * `false` lets everything through with the operator key, as before: it exists for
   * debugging (is it IAM or my code?), not for running tests, which should see what AWS refuses.
   * @default true
   */
  readonly iam?: boolean;
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
  /** Where each engine listens; `s3` is fauxqs, the same endpoint as `sqs`. */
  readonly endpoints: {
    readonly dynamodb: string;
    readonly sqs: string;
    readonly s3: string;
    readonly eventbridge: string;
  };
  /** SDK client settings for the local engines, with the operator key (`local`, allowed everything). */
  readonly clientConfig: { readonly region: string; readonly credentials: typeof LOCAL_CREDENTIALS };
  /** IAM enforcement: whether it is on, the denials so far, the operator and function credentials. */
  readonly iam: LocalIam;
  readonly tables: ReadonlyArray<LocalTable>;
  readonly queues: ReadonlyArray<LocalQueue>;
  /** Every `AWS::S3::Bucket` of the template, created in fauxqs's S3. */
  readonly buckets: ReadonlyArray<LocalBucket>;
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
 * Runs a synthesized CDK stack on this machine: starts DynamoDB Local, the SQS
 * emulator and the EventBridge emulator on loopback, creates every table,
 * queue, bus and rule of the template, loads every function from its bundled
 * asset in its own worker with the environment the stack gives it (resolved
 * to local names and endpoints), and runs every event source mapping.
 *
 * Everything is read from the synthesized template: a function, queue or
 * mapping added to the stack runs here with no second registration. When
 * start-up fails, everything started so far is stopped before the error is
 * rethrown.
 *
 * @throws NodeRuntimeMismatchError before starting anything, when a function
 *   declares a `nodejs<major>.x` other than the Node running this process
 * @throws IamTemplateError when IAM is on and a policy of the template cannot be
 *   emulated faithfully (each problem is listed in `issues`)
 *
 * @example
 * const local = await startLocalAws(stack, { logDir: '.local/logs' });
 * try {
 *   // An AuthType NONE URL; an AWS_IAM one needs a SigV4-signed request (e.g. with the operator key).
 *   await fetch(local.outputs.ApiUrl, { method: 'POST', body: '{}' });
 *   await local.drain();
 * } finally {
 *   await local.stop();
 * }
 */
export async function startLocalAws(
  synth: SynthesizedStack,
  options: LocalAwsOptions = {},
): Promise<LocalAws> {
  checkStack(synth);
  checkOptions(options);
  const log = options.log ?? (() => {});
  const started = Date.now();
  const topology = readTopology(synth.template as never, synth.assemblyDir);
  // Before any engine starts: a mismatch would only show as odd failures inside the functions.
  checkNodeRuntimes(topology.functions);
  const stops = new StopList();
  try {
    const engines = await startEngines(options.faults, stops);
    const { tables, queues, buckets, resources } = await createResources(synth, topology, engines, options);
    const iamInputs = { template: synth.template as never, topology, resources, queues, engines, log };
    const iam = await startIam(options.iam !== false, iamInputs, stops);
    if (!iam.view.enabled) log('IAM is off (iam: false): every call is allowed');
    const functions = await loadFunctions(topology, iam, options, stops);
    const functionUrls = await serveFunctionUrls(topology, functions, resources, iam, stops);
    const mappingContext = { engines, tables, resources, options, iam };
    const mappings = await startMappings(topology, functions, mappingContext, stops);
    const runSchedule = startSchedules(
      topology,
      functions,
      { scheduleIntervalMs: options.scheduleIntervalMs, log, refusal: iam.scheduleRefusal },
      stops,
    );
    const parts = {
      topology,
      engines,
      tables,
      queues,
      buckets,
      functions,
      functionUrls,
      mappings,
      runSchedule,
      iam: iam.view,
    };
    const outputs = resolveOutputs(topology, resources);
    if (options.outputsFile !== undefined)
      writeOutputsFile(options.outputsFile, synth.stackName, outputs, stops);
    const local = assemble(parts, outputs, stops);
    log(`local AWS started in ${Date.now() - started} ms`);
    return {
      ...local,
      timings: { synthMs: synth.durationMs, synthCached: synth.cached, startMs: Date.now() - started },
    };
  } catch (error) {
    await stops.stop();
    log(`local AWS failed to start in ${Date.now() - started} ms`);
    throw error;
  }
}

function checkStack(synth: SynthesizedStack): void {
  if (
    typeof synth !== 'object' ||
    synth === null ||
    typeof synth.template !== 'object' ||
    synth.template === null
  ) {
    throw new TypeError(
      `startLocalAws needs a synthesized stack with a template (given ${synth === null ? 'null' : typeof synth}); use synthesizeCdkApp()`,
    );
  }
}

/** Refuses options outside what the runtime can do, naming the option and the value given. */
function checkOptions(options: LocalAwsOptions): void {
  if (options.iam !== undefined && typeof options.iam !== 'boolean') {
    throw new TypeError(`iam must be true or false (given ${JSON.stringify(options.iam)})`);
  }
  if (
    options.outputsFile !== undefined &&
    (typeof options.outputsFile !== 'string' || options.outputsFile.trim() === '')
  ) {
    throw new TypeError(`outputsFile must be a file path (given ${JSON.stringify(options.outputsFile)})`);
  }
  const positive: Array<[string, number | undefined]> = [
    ['functionTimeoutSeconds', options.functionTimeoutSeconds],
    ['functionConcurrency', options.functionConcurrency],
  ];
  for (const [name, value] of positive) {
    if (value !== undefined && !(Number.isInteger(value) && value > 0)) {
      throw new RangeError(`${name} must be a positive integer (given ${value})`);
    }
  }
  const visibility = options.queueVisibilityTimeoutSeconds;
  if (
    visibility !== undefined &&
    !(Number.isInteger(visibility) && visibility >= 0 && visibility <= 43_200)
  ) {
    throw new RangeError(
      `queueVisibilityTimeoutSeconds must be an integer from 0 to 43200 (given ${visibility})`,
    );
  }
}

interface RuntimeParts {
  readonly topology: Topology;
  readonly engines: Engines;
  readonly tables: ReadonlyArray<LocalTable>;
  readonly queues: ReadonlyArray<LocalQueue>;
  readonly buckets: ReadonlyArray<LocalBucket>;
  readonly functions: ReadonlyMap<string, LocalFunction>;
  readonly functionUrls: ReadonlyMap<string, string>;
  readonly mappings: StartedMappings;
  readonly runSchedule: (name: string) => Promise<unknown>;
  readonly iam: LocalIam;
}

/** The LocalAws object over the started parts. */
function assemble(
  parts: RuntimeParts,
  outputs: Record<string, string>,
  stops: StopList,
): Omit<LocalAws, 'timings'> {
  const { engines, mappings } = parts;
  const { eventBus, sqsEngine, dynamoFaults } = engines;
  const allMappings = [...mappings.streamMappings, ...mappings.sqsMappings].map((m) => m.mapping);
  const activity = () =>
    JSON.stringify([
      mappings.streamMappings.map((m) => m.mapping.counters),
      mappings.sqsMappings.map((m) => m.mapping.counters),
      eventBus.counters,
    ]);
  const faults = mappings.streamFaultStats;
  return {
    topology: parts.topology,
    endpoints: {
      dynamodb: engines.dynamo.endpoint,
      sqs: sqsEngine.endpoint,
      s3: engines.s3.endpoint,
      eventbridge: eventBus.endpoint,
    },
    clientConfig: engines.clientConfig,
    iam: parts.iam,
    tables: parts.tables,
    queues: parts.queues,
    buckets: parts.buckets,
    functions: parts.functions,
    functionUrls: parts.functionUrls,
    streamMappings: mappings.streamMappings,
    sqsMappings: mappings.sqsMappings,
    eventBus,
    streamFaultStats: faults,
    injectedFaults: () => ({
      reorderedBatches: faults.reorderedBatches,
      duplicatedRecords: faults.duplicatedRecords,
      putEventsEntriesFailed: Object.values(eventBus.counters.entriesFailed).reduce((a, b) => a + b, 0),
      putEventsThrottled: eventBus.counters.throttledRequests,
      sendMessageBatchEntriesFailed: sqsEngine.faults.injected.entries,
      dynamodbThrottles: dynamoFaults?.injected.throttles ?? 0,
      transactionConflicts: dynamoFaults?.injected.conflicts ?? 0,
      functionCrashes: [...parts.functions.values()].reduce((n, fn) => n + fn.crashes, 0),
    }),
    outputs,
    runSchedule: parts.runSchedule,
    advanceStreamClock: mappings.advanceStreamClock,
    drain: (timeoutMs = 60_000) => drainAll(allMappings, eventBus, activity, timeoutMs),
    stop: () => stops.stop(),
  };
}

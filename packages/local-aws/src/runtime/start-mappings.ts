/**
 * Step 6 of start-up: every event source mapping of the template (DynamoDB
 * streams and SQS), started, with the stream faults and the observer wired in.
 * As on AWS, each mapping reads its source and writes its on-failure destination
 * with its function's execution role (through the IAM proxies, see `iam.ts`); a
 * refused call is reported once through `options.log` and retried.
 */
import { randomUUID } from 'node:crypto';
import { DynamoDbStreamMapping } from '../event-source-mappings/dynamodb-stream-mapping';
import {
  type OnFailureDestination,
  s3OnFailureDestination,
  sqsOnFailureDestination,
} from '../event-source-mappings/on-failure-destinations';
import { SqsMapping } from '../event-source-mappings/sqs-mapping';
import { compileFilterCriteria } from '../eventbridge/filter-criteria';
import { streamFaultHooks } from '../faults';
import type { LocalFunction } from '../lambda/local-function';
import type { LocalTable } from '../resources';
import { LOCAL_REGION, type LocalResource } from '../template/intrinsics';
import type { MappingSpec, Topology } from '../template/topology';
import { queueUrlOf } from './create-resources';
import type { Engines } from './engines';
import type { RuntimeIam } from './iam';
import type { LocalAwsOptions } from './local-aws';
import type { StopList } from './stop-list';

/** The running mappings, the stream fault statistics and the clock the stream mappings age records by. */
export interface StartedMappings {
  readonly streamMappings: Array<{ spec: MappingSpec; mapping: DynamoDbStreamMapping }>;
  readonly sqsMappings: Array<{ spec: MappingSpec; mapping: SqsMapping }>;
  readonly streamFaultStats: { reorderedBatches: number; duplicatedRecords: number };
  /** Moves the stream mappings' clock forward. */
  advanceStreamClock(milliseconds: number): void;
}

/** What a mapping needs from the rest of the stack. */
interface MappingContext {
  readonly engines: Engines;
  readonly tables: ReadonlyArray<LocalTable>;
  readonly resources: ReadonlyMap<string, LocalResource>;
  readonly options: LocalAwsOptions;
  readonly iam: RuntimeIam;
  readonly streamClock: () => number;
  readonly faults: ReturnType<typeof streamFaultHooks>;
}

/** Creates and starts every mapping; they are stopped first at `stop()`, before what they invoke. */
export async function startMappings(
  topology: Topology,
  functions: ReadonlyMap<string, LocalFunction>,
  context: Omit<MappingContext, 'streamClock' | 'faults'>,
  stops: StopList,
): Promise<StartedMappings> {
  let clockOffsetMs = 0;
  const full: MappingContext = {
    ...context,
    streamClock: () => Date.now() + clockOffsetMs,
    faults: streamFaultHooks({ ...context.options.faults?.stream, seed: context.options.faults?.seed ?? 1 }),
  };
  const streamMappings: StartedMappings['streamMappings'] = [];
  const sqsMappings: StartedMappings['sqsMappings'] = [];
  for (const spec of topology.mappings) {
    const fn = functions.get(spec.functionLogicalId);
    if (!fn)
      throw new Error(
        `mapping ${spec.logicalId} targets ${spec.functionLogicalId}, which has no local bundle`,
      );
    const invoke = observed(spec, fn, context.options.observe);
    if (spec.source.kind === 'dynamodb-stream') {
      streamMappings.push({ spec, mapping: streamMapping(spec, spec.source.tableLogicalId, invoke, full) });
    } else {
      sqsMappings.push({ spec, mapping: sqsMapping(spec, spec.source.queueLogicalId, invoke, full) });
    }
  }
  const all = [...streamMappings, ...sqsMappings].map((m) => m.mapping);
  // Stops run in reverse order: mappings first, so that no invocation is in flight
  // when functions, the bus and the engines go.
  stops.add(async () => {
    await Promise.all(all.map((m) => m.stop()));
  });
  await Promise.all(all.map((m) => m.start()));
  return {
    streamMappings,
    sqsMappings,
    streamFaultStats: full.faults.stats,
    advanceStreamClock: (milliseconds) => {
      if (!Number.isFinite(milliseconds) || milliseconds < 0)
        throw new RangeError(`advanceStreamClock takes a duration of 0 ms or more (given ${milliseconds})`);
      clockOffsetMs += milliseconds;
    },
  };
}

function streamMapping(
  spec: MappingSpec,
  tableLogicalId: string,
  invoke: (event: unknown) => Promise<unknown>,
  context: MappingContext,
): DynamoDbStreamMapping {
  const table = context.tables.find((t) => t.logicalId === tableLogicalId);
  if (!table?.streamArn) throw new Error(`mapping ${spec.logicalId} reads a table without a stream`);
  const uuid = randomUUID();
  return new DynamoDbStreamMapping({
    uuid,
    streams: context.iam.mappingClients(spec.functionLogicalId).streams,
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
    functionArn: context.resources.get(spec.functionLogicalId)?.attributes.Arn,
    awsRegion: LOCAL_REGION,
    now: context.streamClock,
    shuffle: context.faults.shuffle,
    duplicate: context.faults.duplicate,
    onFailure: onFailureDestination(spec, uuid, context),
    report: context.options.log,
  });
}

/**
 * Where a stream mapping's discarded batches go: the queue or bucket of its DestinationConfig, if any,
 * written with the function's execution role (it needs sqs:SendMessage or s3:PutObject there, as on AWS).
 */
function onFailureDestination(
  spec: MappingSpec,
  uuid: string,
  context: MappingContext,
): OnFailureDestination | undefined {
  const clients = context.iam.mappingClients(spec.functionLogicalId);
  const queueUrl = queueUrlOf(context.resources, spec.onFailureQueueLogicalId);
  if (queueUrl !== undefined) return sqsOnFailureDestination(clients.sqs, queueUrl);
  const bucketId = spec.onFailureBucketLogicalId;
  const bucket = bucketId === undefined ? undefined : context.resources.get(bucketId)?.ref;
  if (bucket !== undefined) return s3OnFailureDestination(clients.s3, bucket, uuid);
  return undefined;
}

function sqsMapping(
  spec: MappingSpec,
  queueLogicalId: string,
  invoke: (event: unknown) => Promise<unknown>,
  context: MappingContext,
): SqsMapping {
  const url = queueUrlOf(context.resources, queueLogicalId);
  if (!url) throw new Error(`mapping ${spec.logicalId} reads queue ${queueLogicalId}, which was not created`);
  return new SqsMapping({
    sqs: context.engines.sqs,
    receiver: context.iam.mappingClients(spec.functionLogicalId).sqs,
    report: context.options.log,
    queueUrl: url,
    invoke,
    batchSize: spec.batchSize,
    maximumBatchingWindowInSeconds: spec.maximumBatchingWindowInSeconds,
    reportBatchItemFailures: spec.reportBatchItemFailures,
    filter: spec.filters.length > 0 ? compileFilterCriteria(spec.filters, 'sqs') : undefined,
    // Without a ScalingConfig Lambda scales pollers on its own; locally, one batch per execution environment.
    maximumConcurrency: spec.maximumConcurrency ?? Math.max(2, context.options.functionConcurrency ?? 2),
    awsRegion: LOCAL_REGION,
  });
}

/** The function, as the mapping invokes it, reporting each invocation to `observe`. */
function observed(spec: MappingSpec, fn: LocalFunction, observe: LocalAwsOptions['observe']) {
  return async (event: unknown): Promise<unknown> => {
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

import { join } from 'node:path';
import { referencedLogicalId, TemplateResolutionError } from '../intrinsics';
import type { MappingSpec } from '../topology';
import { optionalNumber, type ReaderContext } from './resource-reader';

/**
 * `AWS::Lambda::Function` with a Node.js runtime and a local asset (the bundle
 * `cdk synth` wrote); custom-resource providers without `aws:asset:path` are skipped.
 */
export function readFunction({
  logicalId,
  properties: p,
  resource,
  assemblyDir,
  topology,
}: ReaderContext): void {
  const assetPath = resource.Metadata?.['aws:asset:path'];
  if (typeof assetPath !== 'string') return;
  const runtime = String(p.Runtime ?? '');
  if (!runtime.startsWith('nodejs')) return;
  const [file, exportName] = splitHandler(String(p.Handler ?? 'index.handler'), logicalId);
  topology.functions.push({
    logicalId,
    modulePath: join(assemblyDir, assetPath, `${file}.mjs`),
    exportName,
    runtime,
    environment: ((p.Environment as { Variables?: Record<string, unknown> })?.Variables ?? {}) as Record<
      string,
      unknown
    >,
    timeoutSeconds: Number(p.Timeout ?? 3),
    memorySize: Number(p.MemorySize ?? 128),
  });
}

/** `AWS::Lambda::EventSourceMapping` on a DynamoDB stream or an SQS queue of the stack. */
export function readEventSourceMapping({
  logicalId,
  properties: p,
  resources,
  topology,
}: ReaderContext): void {
  const sourceId = referencedLogicalId(p.EventSourceArn);
  const functionLogicalId = referencedLogicalId(p.FunctionName);
  if (!sourceId || !functionLogicalId)
    throw new TemplateResolutionError(
      `${logicalId}: EventSourceArn and FunctionName must reference resources of the stack`,
    );
  const source =
    resources[sourceId]?.Type === 'AWS::SQS::Queue'
      ? ({ kind: 'sqs', queueLogicalId: sourceId } as const)
      : ({ kind: 'dynamodb-stream', tableLogicalId: sourceId } as const);
  const destinationId = referencedLogicalId(
    (p.DestinationConfig as { OnFailure?: { Destination?: unknown } } | undefined)?.OnFailure?.Destination,
  );
  const destinationIsBucket =
    destinationId !== undefined && resources[destinationId]?.Type === 'AWS::S3::Bucket';
  topology.mappings.push({
    logicalId,
    functionLogicalId,
    source,
    batchSize: optionalNumber(p.BatchSize),
    maximumBatchingWindowInSeconds: optionalNumber(p.MaximumBatchingWindowInSeconds),
    startingPosition: p.StartingPosition as MappingSpec['startingPosition'],
    filters: ((p.FilterCriteria as { Filters?: Array<{ Pattern: string }> })?.Filters ?? []).map((f) => ({
      Pattern: String(f.Pattern),
    })),
    reportBatchItemFailures: ((p.FunctionResponseTypes as string[]) ?? []).includes(
      'ReportBatchItemFailures',
    ),
    bisectBatchOnFunctionError: p.BisectBatchOnFunctionError === true,
    maximumRetryAttempts: optionalNumber(p.MaximumRetryAttempts),
    maximumRecordAgeInSeconds: optionalNumber(p.MaximumRecordAgeInSeconds),
    parallelizationFactor: optionalNumber(p.ParallelizationFactor),
    maximumConcurrency: optionalNumber(
      (p.ScalingConfig as { MaximumConcurrency?: number })?.MaximumConcurrency,
    ),
    onFailureQueueLogicalId: destinationIsBucket ? undefined : destinationId,
    onFailureBucketLogicalId: destinationIsBucket ? destinationId : undefined,
  });
}

/** `AWS::Lambda::Url` of a function of the stack. */
export function readFunctionUrl({ logicalId, properties: p, topology }: ReaderContext): void {
  const functionLogicalId = referencedLogicalId(p.TargetFunctionArn);
  if (functionLogicalId) topology.functionUrls.push({ logicalId, functionLogicalId });
}

function splitHandler(handler: string, logicalId: string): [string, string] {
  const dot = handler.lastIndexOf('.');
  if (dot <= 0)
    throw new TemplateResolutionError(
      `${logicalId}: Handler ${JSON.stringify(handler)} is not <file>.<export>`,
    );
  return [handler.slice(0, dot), handler.slice(dot + 1)];
}

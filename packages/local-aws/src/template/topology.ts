import { TemplateResolutionError } from './intrinsics';
import { RESOURCE_READERS } from './readers/registry';
import type { CfnResource } from './readers/resource-reader';

export { rateToMs } from './readers/events';

/**
 * The parts of a synthesized CloudFormation template that the local runtime
 * runs, read generically by resource type. Nothing here knows the stack's
 * construct names: a consumer added to the stack appears here by itself.
 */
export interface Topology {
  readonly tables: TableSpec[];
  readonly queues: QueueSpec[];
  readonly buckets: BucketSpec[];
  readonly eventBuses: EventBusSpec[];
  readonly rules: RuleSpec[];
  readonly functions: FunctionSpec[];
  readonly mappings: MappingSpec[];
  readonly functionUrls: FunctionUrlSpec[];
  /** EventBridge archives (for replay). */
  readonly archives: ArchiveSpec[];
  /** Scheduled rules that invoke a function (e.g. the sweeper). */
  readonly schedules: ScheduleSpec[];
  /** Stack outputs, unresolved. */
  readonly outputs: Record<string, unknown>;
}

export interface TableSpec {
  readonly logicalId: string;
  readonly keySchema: Array<{ AttributeName: string; KeyType: 'HASH' | 'RANGE' }>;
  readonly attributeDefinitions: Array<{ AttributeName: string; AttributeType: 'S' | 'N' | 'B' }>;
  readonly globalSecondaryIndexes: Array<{
    IndexName: string;
    KeySchema: Array<{ AttributeName: string; KeyType: 'HASH' | 'RANGE' }>;
    Projection: { ProjectionType?: string; NonKeyAttributes?: string[] };
  }>;
  readonly streamViewType?: string;
  readonly ttlAttribute?: string;
}

export interface QueueSpec {
  readonly logicalId: string;
  readonly fifo: boolean;
  readonly attributes: Record<string, string>;
  readonly deadLetterQueueLogicalId?: string;
  readonly maxReceiveCount?: number;
}

/** An `AWS::S3::Bucket`, created empty in fauxqs's S3. */
export interface BucketSpec {
  readonly logicalId: string;
}

export interface EventBusSpec {
  readonly logicalId: string;
  readonly name: string;
}

export interface RuleTargetSpec {
  readonly id: string;
  readonly queueLogicalId: string;
  readonly deadLetterQueueLogicalId?: string;
  readonly maximumRetryAttempts?: number;
  readonly maximumEventAgeInSeconds?: number;
  readonly messageGroupId?: string;
}

export interface RuleSpec {
  readonly logicalId: string;
  readonly eventBusLogicalId: string;
  readonly eventPattern: unknown;
  readonly targets: RuleTargetSpec[];
}

export interface FunctionSpec {
  readonly logicalId: string;
  /** Absolute path of the bundled module. */
  readonly modulePath: string;
  readonly exportName: string;
  /** The declared Runtime, e.g. `nodejs24.x`. */
  readonly runtime: string;
  /** Environment variables, unresolved. */
  readonly environment: Record<string, unknown>;
  readonly timeoutSeconds: number;
  readonly memorySize: number;
}

export interface MappingSpec {
  readonly logicalId: string;
  readonly functionLogicalId: string;
  readonly source:
    | { readonly kind: 'dynamodb-stream'; readonly tableLogicalId: string }
    | { readonly kind: 'sqs'; readonly queueLogicalId: string };
  readonly batchSize?: number;
  readonly maximumBatchingWindowInSeconds?: number;
  readonly startingPosition?: 'TRIM_HORIZON' | 'LATEST';
  readonly filters: Array<{ Pattern: string }>;
  readonly reportBatchItemFailures: boolean;
  readonly bisectBatchOnFunctionError: boolean;
  readonly maximumRetryAttempts?: number;
  readonly maximumRecordAgeInSeconds?: number;
  readonly parallelizationFactor?: number;
  readonly maximumConcurrency?: number;
  /** The on-failure destination when it is a queue (or another non-bucket resource) of the stack. */
  readonly onFailureQueueLogicalId?: string;
  /** The on-failure destination when it is a bucket of the stack. */
  readonly onFailureBucketLogicalId?: string;
}

export interface ArchiveSpec {
  readonly logicalId: string;
  readonly name: string;
  readonly eventBusLogicalId: string;
  readonly eventPattern?: unknown;
}

export interface ScheduleSpec {
  readonly logicalId: string;
  readonly functionLogicalId: string;
  /** `rate(...)` expressions as milliseconds; cron expressions are not run locally. */
  readonly intervalMs: number;
  readonly expression: string;
}

export interface FunctionUrlSpec {
  readonly logicalId: string;
  readonly functionLogicalId: string;
}

/** Reads a template (and the cloud assembly folder holding its assets) into a Topology. */
export function readTopology(
  template: { Resources?: Record<string, CfnResource>; Outputs?: Record<string, { Value: unknown }> },
  assemblyDir: string,
): Topology {
  if (typeof template !== 'object' || template === null) {
    throw new TemplateResolutionError(`the template must be an object (given ${JSON.stringify(template)})`);
  }
  if (typeof assemblyDir !== 'string' || assemblyDir === '') {
    throw new TemplateResolutionError(
      `assemblyDir must be the cloud assembly folder (given ${JSON.stringify(assemblyDir)})`,
    );
  }
  const resources = template.Resources ?? {};
  const topology: Topology = {
    tables: [],
    queues: [],
    buckets: [],
    eventBuses: [],
    rules: [],
    functions: [],
    mappings: [],
    functionUrls: [],
    schedules: [],
    archives: [],
    outputs: Object.fromEntries(
      Object.entries(template.Outputs ?? {}).map(([key, output]) => [key, output.Value]),
    ),
  };
  for (const [logicalId, resource] of Object.entries(resources)) {
    RESOURCE_READERS.get(resource.Type)?.({
      logicalId,
      properties: resource.Properties ?? {},
      resource,
      resources,
      assemblyDir,
      topology,
    });
  }
  return topology;
}

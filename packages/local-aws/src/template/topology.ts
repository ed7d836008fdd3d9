import { join } from 'node:path';
import { referencedLogicalId, TemplateResolutionError } from './intrinsics';

/**
 * The parts of a synthesized CloudFormation template that the local runtime
 * runs, read generically by resource type. Nothing here knows the stack's
 * construct names: a consumer added to the stack appears here by itself.
 */
export interface Topology {
  readonly tables: TableSpec[];
  readonly queues: QueueSpec[];
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
  readonly onFailureQueueLogicalId?: string;
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

interface CfnResource {
  Type: string;
  Properties?: Record<string, unknown>;
  Metadata?: Record<string, unknown>;
}

/** Reads a template (and the cloud assembly folder holding its assets) into a Topology. */
export function readTopology(
  template: { Resources?: Record<string, CfnResource>; Outputs?: Record<string, { Value: unknown }> },
  assemblyDir: string,
): Topology {
  const resources = template.Resources ?? {};
  const topology: Topology = {
    tables: [],
    queues: [],
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
    const p = resource.Properties ?? {};
    switch (resource.Type) {
      case 'AWS::DynamoDB::Table':
      case 'AWS::DynamoDB::GlobalTable': {
        const stream = p.StreamSpecification as { StreamViewType?: string } | undefined;
        const ttl = p.TimeToLiveSpecification as { AttributeName?: string; Enabled?: boolean } | undefined;
        topology.tables.push({
          logicalId,
          keySchema: p.KeySchema as TableSpec['keySchema'],
          attributeDefinitions: p.AttributeDefinitions as TableSpec['attributeDefinitions'],
          globalSecondaryIndexes: (p.GlobalSecondaryIndexes as TableSpec['globalSecondaryIndexes']) ?? [],
          streamViewType: stream?.StreamViewType,
          ttlAttribute: ttl?.Enabled ? ttl.AttributeName : undefined,
        });
        break;
      }
      case 'AWS::SQS::Queue': {
        const redrive = p.RedrivePolicy as
          | { deadLetterTargetArn?: unknown; maxReceiveCount?: number }
          | undefined;
        const attributes: Record<string, string> = {};
        for (const key of [
          'VisibilityTimeout',
          'MessageRetentionPeriod',
          'DelaySeconds',
          'ReceiveMessageWaitTimeSeconds',
          'ContentBasedDeduplication',
          'DeduplicationScope',
          'FifoThroughputLimit',
        ]) {
          if (p[key] !== undefined) attributes[key] = String(p[key]);
        }
        topology.queues.push({
          logicalId,
          fifo: p.FifoQueue === true || p.FifoQueue === 'true',
          attributes,
          deadLetterQueueLogicalId: redrive ? referencedLogicalId(redrive.deadLetterTargetArn) : undefined,
          maxReceiveCount:
            redrive?.maxReceiveCount === undefined ? undefined : Number(redrive.maxReceiveCount),
        });
        break;
      }
      case 'AWS::Events::Archive': {
        const busId = referencedLogicalId(p.SourceArn);
        if (busId) {
          topology.archives.push({
            logicalId,
            name: String(p.ArchiveName ?? logicalId).slice(0, 48),
            eventBusLogicalId: busId,
            eventPattern: p.EventPattern,
          });
        }
        break;
      }
      case 'AWS::Events::EventBus':
        topology.eventBuses.push({ logicalId, name: String(p.Name ?? logicalId) });
        break;
      case 'AWS::Events::Rule': {
        if (typeof p.ScheduleExpression === 'string') {
          const intervalMs = rateToMs(p.ScheduleExpression);
          for (const target of (p.Targets as Array<Record<string, unknown>>) ?? []) {
            const functionLogicalId = referencedLogicalId(target.Arn);
            if (
              functionLogicalId &&
              resources[functionLogicalId]?.Type === 'AWS::Lambda::Function' &&
              intervalMs !== undefined
            ) {
              topology.schedules.push({
                logicalId,
                functionLogicalId,
                intervalMs,
                expression: p.ScheduleExpression,
              });
            }
          }
          break;
        }
        const busId = referencedLogicalId(p.EventBusName);
        if (!busId) break; // other rules on the default bus are not part of the pipeline
        const targets = ((p.Targets as Array<Record<string, unknown>>) ?? []).flatMap(
          (target): RuleTargetSpec[] => {
            const queueLogicalId = referencedLogicalId(target.Arn);
            if (!queueLogicalId || resources[queueLogicalId]?.Type !== 'AWS::SQS::Queue') return [];
            const retry = target.RetryPolicy as
              | { MaximumRetryAttempts?: number; MaximumEventAgeInSeconds?: number }
              | undefined;
            const dlq = target.DeadLetterConfig as { Arn?: unknown } | undefined;
            const sqs = target.SqsParameters as { MessageGroupId?: string } | undefined;
            return [
              {
                id: String(target.Id),
                queueLogicalId,
                deadLetterQueueLogicalId: dlq ? referencedLogicalId(dlq.Arn) : undefined,
                maximumRetryAttempts: retry?.MaximumRetryAttempts,
                maximumEventAgeInSeconds: retry?.MaximumEventAgeInSeconds,
                messageGroupId: sqs?.MessageGroupId,
              },
            ];
          },
        );
        topology.rules.push({ logicalId, eventBusLogicalId: busId, eventPattern: p.EventPattern, targets });
        break;
      }
      case 'AWS::Lambda::Function': {
        const assetPath = resource.Metadata?.['aws:asset:path'];
        if (typeof assetPath !== 'string') break; // custom-resource providers without a local asset
        const [file, exportName] = splitHandler(String(p.Handler ?? 'index.handler'), logicalId);
        const runtime = String(p.Runtime ?? '');
        if (!runtime.startsWith('nodejs')) break;
        topology.functions.push({
          logicalId,
          modulePath: join(assemblyDir, assetPath, `${file}.mjs`),
          exportName,
          environment: ((p.Environment as { Variables?: Record<string, unknown> })?.Variables ??
            {}) as Record<string, unknown>,
          timeoutSeconds: Number(p.Timeout ?? 3),
          memorySize: Number(p.MemorySize ?? 128),
        });
        break;
      }
      case 'AWS::Lambda::EventSourceMapping': {
        const sourceId = referencedLogicalId(p.EventSourceArn);
        const functionLogicalId = referencedLogicalId(p.FunctionName);
        if (!sourceId || !functionLogicalId)
          throw new TemplateResolutionError(
            `${logicalId}: EventSourceArn and FunctionName must reference resources of the stack`,
          );
        const sourceType = resources[sourceId]?.Type;
        const source =
          sourceType === 'AWS::SQS::Queue'
            ? ({ kind: 'sqs', queueLogicalId: sourceId } as const)
            : ({ kind: 'dynamodb-stream', tableLogicalId: sourceId } as const);
        const destination = (p.DestinationConfig as { OnFailure?: { Destination?: unknown } } | undefined)
          ?.OnFailure?.Destination;
        topology.mappings.push({
          logicalId,
          functionLogicalId,
          source,
          batchSize: optionalNumber(p.BatchSize),
          maximumBatchingWindowInSeconds: optionalNumber(p.MaximumBatchingWindowInSeconds),
          startingPosition: p.StartingPosition as MappingSpec['startingPosition'],
          filters: ((p.FilterCriteria as { Filters?: Array<{ Pattern: string }> })?.Filters ?? []).map(
            (f) => ({ Pattern: String(f.Pattern) }),
          ),
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
          onFailureQueueLogicalId: destination ? referencedLogicalId(destination) : undefined,
        });
        break;
      }
      case 'AWS::Lambda::Url': {
        const functionLogicalId = referencedLogicalId(p.TargetFunctionArn);
        if (functionLogicalId) topology.functionUrls.push({ logicalId, functionLogicalId });
        break;
      }
      default:
        break;
    }
  }
  return topology;
}

function splitHandler(handler: string, logicalId: string): [string, string] {
  const dot = handler.lastIndexOf('.');
  if (dot <= 0)
    throw new TemplateResolutionError(
      `${logicalId}: Handler ${JSON.stringify(handler)} is not <file>.<export>`,
    );
  return [handler.slice(0, dot), handler.slice(dot + 1)];
}

/** `rate(5 minutes)` → 300000; undefined for cron expressions. */
export function rateToMs(expression: string): number | undefined {
  const match = /^rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)$/.exec(expression.trim());
  if (!match) return undefined;
  const unit = match[2]?.startsWith('minute')
    ? 60_000
    : match[2]?.startsWith('hour')
      ? 3_600_000
      : 86_400_000;
  return Number(match[1]) * unit;
}

function optionalNumber(value: unknown): number | undefined {
  return value === undefined ? undefined : Number(value);
}

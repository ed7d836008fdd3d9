import { referencedLogicalId } from '../intrinsics';
import type { RuleTargetSpec } from '../topology';
import type { ReaderContext } from './resource-reader';

/** `AWS::Events::EventBus`: a custom bus, named by its Name. */
export function readEventBus({ logicalId, properties: p, topology }: ReaderContext): void {
  topology.eventBuses.push({ logicalId, name: String(p.Name ?? logicalId) });
}

/** `AWS::Events::Archive` of a bus of the stack. */
export function readArchive({ logicalId, properties: p, topology }: ReaderContext): void {
  const busId = referencedLogicalId(p.SourceArn);
  if (!busId) return;
  topology.archives.push({
    logicalId,
    name: String(p.ArchiveName ?? logicalId).slice(0, 48),
    eventBusLogicalId: busId,
    eventPattern: p.EventPattern,
  });
}

/**
 * `AWS::Events::Rule`: a schedule that invokes a function of the stack, or a
 * pattern rule on a bus of the stack with SQS targets. Rules on the default bus
 * and targets of other kinds are not run locally.
 */
export function readRule(context: ReaderContext): void {
  if (typeof context.properties.ScheduleExpression === 'string') {
    readScheduleRule(context, context.properties.ScheduleExpression);
    return;
  }
  const { logicalId, properties: p, resources, topology } = context;
  const busId = referencedLogicalId(p.EventBusName);
  if (!busId) return;
  const targets = targetsOf(p).flatMap((target): RuleTargetSpec[] => {
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
  });
  topology.rules.push({ logicalId, eventBusLogicalId: busId, eventPattern: p.EventPattern, targets });
}

function readScheduleRule(
  { logicalId, properties: p, resources, topology }: ReaderContext,
  expression: string,
) {
  const intervalMs = rateToMs(expression);
  if (intervalMs === undefined) return;
  for (const target of targetsOf(p)) {
    const functionLogicalId = referencedLogicalId(target.Arn);
    if (functionLogicalId && resources[functionLogicalId]?.Type === 'AWS::Lambda::Function') {
      topology.schedules.push({ logicalId, functionLogicalId, intervalMs, expression });
    }
  }
}

function targetsOf(properties: Readonly<Record<string, unknown>>): Array<Record<string, unknown>> {
  return (properties.Targets as Array<Record<string, unknown>> | undefined) ?? [];
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

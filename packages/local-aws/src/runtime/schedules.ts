/**
 * Step 7 of start-up: `rate(...)` schedules that invoke a function, with the
 * event EventBridge Scheduler's predecessor (scheduled rules) sends. With IAM,
 * the rule may invoke the function only if the function's resource policy
 * (AWS::Lambda::Permission) lets events.amazonaws.com do it for that rule; a
 * refused schedule does not run the function (logged once; `runSchedule` throws).
 */
import { randomUUID } from 'node:crypto';
import type { LocalFunction } from '../lambda/local-function';
import { LOCAL_ACCOUNT, LOCAL_REGION } from '../template/intrinsics';
import type { ScheduleSpec, Topology } from '../template/topology';
import type { StopList } from './stop-list';

/** Starts the schedules (unless `intervalMs` is 0) and returns `runSchedule`. */
export function startSchedules(
  topology: Topology,
  functions: ReadonlyMap<string, LocalFunction>,
  options: {
    readonly scheduleIntervalMs?: number;
    readonly log: (message: string) => void;
    /** Why the rule may not invoke the function (undefined: it may). @default always allowed */
    readonly refusal?: (functionLogicalId: string, ruleArn: string) => string | undefined;
  },
  stops: StopList,
): (name: string) => Promise<unknown> {
  const refusalOf = (spec: ScheduleSpec) => {
    const refusal = options.refusal?.(spec.functionLogicalId, scheduleRuleArn(spec));
    return refusal === undefined
      ? undefined
      : `EventBridge may not invoke ${spec.functionLogicalId} for rule ${spec.logicalId}: ${refusal}`;
  };
  if (options.scheduleIntervalMs !== undefined && !(options.scheduleIntervalMs >= 0)) {
    throw new RangeError(`scheduleIntervalMs must be 0 or more (given ${options.scheduleIntervalMs})`);
  }
  for (const spec of topology.schedules) {
    const interval = options.scheduleIntervalMs ?? spec.intervalMs;
    const fn = functions.get(spec.functionLogicalId);
    if (!fn || interval <= 0) continue;
    let running = false;
    let reported = false;
    const timer = setInterval(() => {
      if (running) return;
      const refusal = refusalOf(spec);
      if (refusal !== undefined) {
        if (!reported) options.log(refusal);
        reported = true;
        return;
      }
      running = true;
      fn.invoke(scheduledEvent(spec))
        .catch((error: Error) => options.log(`scheduled ${spec.functionLogicalId} failed: ${error.message}`))
        .finally(() => {
          running = false;
        });
    }, interval);
    timer.unref();
    stops.add(async () => clearInterval(timer));
  }
  return async (name) => {
    const spec = topology.schedules.find((s) => s.functionLogicalId.includes(name));
    const fn = spec ? functions.get(spec.functionLogicalId) : undefined;
    if (!spec || !fn)
      throw new Error(
        `no scheduled function's logical id contains ${JSON.stringify(name)} (have: ${topology.schedules.map((s) => s.functionLogicalId).join(', ') || 'none'})`,
      );
    const refusal = refusalOf(spec);
    if (refusal !== undefined) throw new Error(refusal);
    return fn.invoke(scheduledEvent(spec));
  };
}

/** The ARN of a scheduled rule: on the default bus, so `rule/<name>`. */
function scheduleRuleArn(spec: ScheduleSpec): string {
  return `arn:aws:events:${LOCAL_REGION}:${LOCAL_ACCOUNT}:rule/${spec.logicalId}`;
}

/** The event a scheduled rule sends its target. */
function scheduledEvent(spec: ScheduleSpec) {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: LOCAL_ACCOUNT,
    time: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region: LOCAL_REGION,
    resources: [scheduleRuleArn(spec)],
    detail: {},
  };
}

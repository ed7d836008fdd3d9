/**
 * Step 6 of start-up: `rate(...)` schedules that invoke a function, with the
 * event EventBridge Scheduler's predecessor (scheduled rules) sends.
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
  options: { readonly scheduleIntervalMs?: number; readonly log: (message: string) => void },
  stops: StopList,
): (name: string) => Promise<unknown> {
  if (options.scheduleIntervalMs !== undefined && !(options.scheduleIntervalMs >= 0)) {
    throw new RangeError(`scheduleIntervalMs must be 0 or more (given ${options.scheduleIntervalMs})`);
  }
  for (const spec of topology.schedules) {
    const interval = options.scheduleIntervalMs ?? spec.intervalMs;
    const fn = functions.get(spec.functionLogicalId);
    if (!fn || interval <= 0) continue;
    let running = false;
    const timer = setInterval(() => {
      if (running) return;
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
    return fn.invoke(scheduledEvent(spec));
  };
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
    resources: [`arn:aws:events:${LOCAL_REGION}:${LOCAL_ACCOUNT}:rule/${spec.logicalId}`],
    detail: {},
  };
}

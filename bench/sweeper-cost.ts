import { referencedLogicalId } from 'local-aws';
import { ENV } from '../contract/env';
import { RELAY_ITEMS } from '../contract/keys';
import { Relay } from '../functions/relay/relay';
import {
  DynamoDbOutboxScanner,
  DynamoDbRelayBookkeeping,
  S3FailedBatchStore,
} from '../functions/sweeper/aws-adapters';
import { Sweeper } from '../functions/sweeper/sweeper';
import type { CallCounts } from './call-counter';
import { accountTotal, type CapacityCount } from './capacity';
import type { PhaseBar } from './progress';
import type { ComponentClients, RelayEngines } from './relay-engines';
import { median, ratio, round } from './stats';

/** What the sweeper costs per run at steady state (nothing to recover), and the relay's heartbeat write. */
export interface SweeperCostResult {
  readonly functionId: string;
  readonly memoryMb: number;
  readonly intervalSeconds: number;
  /** Steady-state runs measured (after a first, untimed run that creates the probe item). */
  readonly runs: number;
  /** SDK calls per run, and DynamoDB capacity per run. */
  readonly callsPerRun: Readonly<Record<string, number>>;
  readonly capacityPerRun: CapacityCount;
  /** S3 requests per run (ListObjectsV2 on the failure bucket's two prefixes). */
  readonly s3ListPerRun: number;
  /** The relay's UpdateItem of its heartbeat when it reads the run's probe, per run. */
  readonly heartbeatCapacityPerRun: CapacityCount;
  /** Median wall time of an unmetered run, ms. */
  readonly msPerRun: number;
  readonly problems: ReadonlyArray<string>;
}

/** Steady-state runs (metered, then as many unmetered, timed). */
export function sweeperWork(runs: number): number {
  return 1 + 2 * runs;
}

/**
 * Runs the real Sweeper on the engines with the stack's settings: one untimed run (it creates
 * the probe), then `runs` metered runs, each followed by the relay reading that run's probe from
 * the real stream (its heartbeat UpdateItem, metered apart), then `runs` unmetered runs, timed.
 * Nothing is in the failure bucket and the relay is keeping up: the steady state.
 */
export async function measureSweeper(
  engines: RelayEngines,
  runs: number,
  bar: PhaseBar,
): Promise<SweeperCostResult> {
  const fn = engines.topology.functions.find((f) => f.environment[ENV.sweepIntervalSeconds] !== undefined);
  if (!fn) throw new Error(`the stack has no function with ${ENV.sweepIntervalSeconds} (the sweeper)`);
  const bucketLogicalId = referencedLogicalId(fn.environment[ENV.failureBucketName]);
  const bucket = engines.buckets.find((b) => b.logicalId === bucketLogicalId);
  if (!bucket) throw new Error(`the sweeper's ${ENV.failureBucketName} names no bucket of the stack`);
  const intervalSeconds = Number(fn.environment[ENV.sweepIntervalSeconds]);
  const problems: string[] = [];
  const sweeperOf = (clients: ComponentClients) =>
    new Sweeper(
      {
        bookkeeping: new DynamoDbRelayBookkeeping(clients.dynamodb, engines.outboxTable.name),
        failedBatches: new S3FailedBatchStore(clients.s3, bucket.name),
        scanner: new DynamoDbOutboxScanner(clients.dynamodb, engines.outboxTable.name),
        relay: new Relay(engines.relayPorts(clients), { queueUrls: [] }),
        failures: engines.relayPorts(clients).failures,
        telemetry: {
          warn: (message) => problems.push(`warn: ${message}`),
          error: (message) => problems.push(`error: ${message}`),
        },
      },
      { intervalSeconds },
    );
  const heartbeatRelay = new Relay(engines.relayPorts(engines.clients('relay heartbeat')), { queueUrls: [] });
  const readProbe = async () => {
    const probes = (await engines.streamRecords()).filter(
      (r) => r.dynamodb?.Keys?.pk?.S === RELAY_ITEMS.probePk,
    );
    const newest = probes.at(-1);
    if (newest) await heartbeatRelay.handle([newest]);
  };

  const metered = sweeperOf(engines.clients('sweeper'));
  await metered.sweep();
  await readProbe();
  bar.increment();
  const calls = engines.counter.snapshot();
  const capacity = engines.meter.snapshot();
  for (let run = 0; run < runs; run++) {
    await metered.sweep();
    await readProbe();
    bar.increment();
  }
  const usage = engines.meter.since(capacity);
  const counts = engines.counter.since(calls);
  const timedSweeper = sweeperOf(engines.clients());
  const durations: number[] = [];
  for (let run = 0; run < runs; run++) {
    const started = performance.now();
    await timedSweeper.sweep();
    durations.push(performance.now() - started);
    bar.increment();
  }
  const perRun = (count: CapacityCount): CapacityCount => ({
    requests: count.requests / runs,
    wru: count.wru / runs,
    rru: count.rru / runs,
    relayOnlyWru: count.relayOnlyWru / runs,
    relayOnlyBytes: count.relayOnlyBytes / runs,
    localReported: count.localReported / runs,
  });
  return {
    functionId: fn.logicalId,
    memoryMb: fn.memorySize,
    intervalSeconds,
    runs,
    callsPerRun: perRunCalls(counts, runs),
    capacityPerRun: perRun(accountTotal(usage, 'sweeper')),
    s3ListPerRun: round(ratio(counts.ListObjectsV2Command?.calls ?? 0, runs), 2),
    heartbeatCapacityPerRun: perRun(accountTotal(usage, 'relay heartbeat')),
    msPerRun: round(median(durations), 1),
    problems,
  };
}

/** Calls per run by command; the counter sees the relay heartbeat's UpdateItem too (it runs in the same loop). */
function perRunCalls(counts: CallCounts, runs: number): Record<string, number> {
  return Object.fromEntries(
    Object.entries(counts).map(([name, count]) => [
      name.replace(/Command$/, ''),
      round(count.calls / runs, 2),
    ]),
  );
}

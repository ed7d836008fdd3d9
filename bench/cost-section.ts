import type { DynamoDBRecord } from 'aws-lambda';
import { Relay } from '../functions/relay/relay';
import type { CapacityCount, CategoryCount } from './capacity';
import {
  type ConsumerCostResult,
  type ConsumerRun,
  consumerResult,
  consumerTargets,
  driveConsumer,
  meteredConsumerRun,
  quietPowertools,
} from './consumer-cost';
import { buildCostReport } from './cost-model';
import { batchesOf, type Dataset } from './outbox-dataset';
import type { PhaseBar } from './progress';
import type { EfficiencyResult } from './relay-efficiency';
import type { RelayEngines } from './relay-engines';
import type { ThroughputReport } from './relay-throughput';
import type { CostSection } from './report';
import { measureSweeper, sweeperWork } from './sweeper-cost';

/** Options of {@link measureCost}. */
export interface CostOptions {
  readonly sweeperRuns: number;
  /** Events per second the sweeper's per-run cost is spread over. */
  readonly referenceEventsPerSecond: number;
  /** Events of the timing dataset each consumer's unmetered, timed pass applies (at most all of them). */
  readonly timedEvents: number;
}

/** What the cost section starts from: the runs other sections made with metering on. */
export interface CostStart {
  readonly writer: {
    readonly dataset: Dataset;
    readonly capacity: CapacityCount;
    readonly categories: Record<string, CategoryCount>;
  };
  readonly efficiency: EfficiencyResult;
  readonly throughput?: ThroughputReport;
  /** The dataset the consumers' unmetered, timed pass runs over. */
  readonly timingDataset: Dataset;
}

/** Units of work of {@link measureCost}, for the progress bar. */
export function costWork(
  start: Pick<CostStart, 'writer' | 'timingDataset'>,
  options: CostOptions,
  consumers: number,
): number {
  return (
    sweeperWork(options.sweeperRuns) + consumers * (start.writer.dataset.events + start.timingDataset.events)
  );
}

/**
 * The cost section: the sweeper at steady state, then each consumer over what the relay really
 * published (the stack's rules installed on the bus, so rule-fed queues get their events): once
 * metered over the writer's dataset, once unmetered and timed over another; then the cost table
 * from those and the writer's and relays' metered runs.
 */
export async function measureCost(
  engines: RelayEngines,
  start: CostStart,
  options: CostOptions,
  bar: PhaseBar,
): Promise<CostSection> {
  quietPowertools();
  const sweeper = await measureSweeper(engines, options.sweeperRuns, bar);
  await engines.installRules();
  const targets = consumerTargets(engines);
  const queueUrlOf = (queues: string[], logicalId: string) => {
    const index = engines.deployment.orderedQueues.findIndex((q) => q.logicalId === logicalId);
    return index >= 0
      ? (queues[index] ?? '')
      : (engines.queues.find((q) => q.logicalId === logicalId)?.url ?? '');
  };
  const meteredQueues = await publish(engines, start.writer.dataset.records);
  const metered = [];
  for (const target of targets) {
    const queueUrl = queueUrlOf(meteredQueues, target.queueLogicalId);
    metered.push(await meteredConsumerRun(engines, target, queueUrl, start.writer.dataset.events, bar));
  }
  const timedQueues = await publish(engines, start.timingDataset.records);
  const consumers: ConsumerCostResult[] = [];
  for (const [index, target] of targets.entries()) {
    const queueUrl = queueUrlOf(timedQueues, target.queueLogicalId);
    const timing: ConsumerRun = await driveConsumer(
      engines,
      target,
      queueUrl,
      start.timingDataset.events,
      undefined,
      bar,
    );
    const run = metered[index];
    if (run) consumers.push(consumerResult(target, run, timing));
  }
  const relayFunction = engines.topology.functions.find(
    (f) => f.logicalId === engines.deployment.mapping.functionLogicalId,
  );
  const report = buildCostReport({
    writer: {
      events: start.writer.dataset.events,
      capacity: start.writer.capacity,
      categories: start.writer.categories,
    },
    efficiency: start.efficiency,
    throughput: start.throughput,
    relayMemoryMb: relayFunction?.memorySize ?? 512,
    sweeper,
    consumers,
    referenceEventsPerSecond: options.referenceEventsPerSecond,
  });
  return {
    report,
    writer: { events: start.writer.dataset.events, dataset: start.writer.dataset.spec.name },
    sweeper,
    consumers,
  };
}

/** Publishes records through the relay (counted, not metered) to fresh FIFO queues; returns their URLs. */
async function publish(engines: RelayEngines, records: ReadonlyArray<DynamoDBRecord>): Promise<string[]> {
  const queueUrls = await engines.freshOrderedQueues();
  const relay = new Relay(engines.relayPorts(engines.clients()), { queueUrls });
  for (const batch of batchesOf(records, engines.deployment.batchSize)) {
    const { batchItemFailures } = await relay.handle(batch);
    if (batchItemFailures.length > 0)
      throw new Error(`the relay reported ${batchItemFailures.length} failed records`);
  }
  return queueUrls;
}

/** The consumers the cost section drives. */
export function consumerCount(engines: RelayEngines): number {
  return consumerTargets(engines).length;
}

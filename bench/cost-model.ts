/**
 * The AWS cost of an event: the calls and item sizes the benchmark counted, priced at us-east-1
 * list prices. Every figure is per million events; the sweeper, whose cost is per run and not
 * per event, is spread over the events of a reference rate.
 */
import type { CallCounts } from './call-counter';
import type { CapacityCount, CategoryCount } from './capacity';
import type { ConsumerCostResult } from './consumer-cost';
import type { EfficiencyResult } from './relay-efficiency';
import type { ThroughputReport } from './relay-throughput';
import type { SweeperCostResult } from './sweeper-cost';

/** List prices, US$ per unit. */
export const PRICES = {
  date: '2026-12-01',
  region: 'us-east-1',
  source: 'issue 11 (S3 and SQS standard: AWS list prices, not in the issue)',
  dynamoDbWru: 0.625 / 1e6,
  dynamoDbRru: 0.125 / 1e6,
  eventBridgeEvent: 1.0 / 1e6,
  sqsFifoRequest: 0.5 / 1e6,
  /** Not in the issue: SQS standard queues (the unordered consumers' rule-fed queues). */
  sqsStandardRequest: 0.4 / 1e6,
  /** Not in the issue: S3 Standard LIST requests. */
  s3ListRequest: 0.005 / 1e3,
  lambdaRequest: 0.2 / 1e6,
  lambdaGbSecondArm: 0.0000133334,
} as const;

/** Billed units per million events, by kind. */
export interface Units {
  wru: number;
  rru: number;
  eventBridgeEvents: number;
  sqsFifoRequests: number;
  sqsStandardRequests: number;
  s3Requests: number;
  lambdaRequests: number;
  lambdaGbSeconds: number;
}

/** One row of the cost table. */
export interface CostRow {
  readonly component: string;
  /** A short name for the tables under the main one. */
  readonly short: string;
  /** What the figures come from. */
  readonly basis: string;
  readonly units: Units;
  readonly dollars: Units;
  readonly total: number;
  /** DynamoDB capacity per million events by kind of item, where it says something. */
  readonly categories?: Readonly<Record<string, CategoryCount>>;
}

/** The cost table and what it rests on. */
export interface CostReport {
  readonly prices: typeof PRICES;
  /** Events per second the sweeper's per-run cost is spread over. */
  readonly referenceEventsPerSecond: number;
  readonly rows: ReadonlyArray<CostRow>;
  /** The pipeline with our relay, and with the naive one in its place. */
  readonly pipelineTotal: number;
  readonly pipelineTotalWithNaiveRelay: number;
  /** The relay's DynamoDB per event in WRU-equivalents (RRU at their price ratio), the writer's share for it included. */
  readonly relayWruEquivalentPerEvent: number;
  readonly relayWruPerEvent: number;
  readonly relayRruPerEvent: number;
  readonly writerRelayOnlyWruPerEvent: number;
  readonly writerRelayOnlyBytesPerEvent: number;
  /** DynamoDB Local's own ConsumedCapacity for the metered calls, per million events (a cross-check). */
  readonly localReportedPerMillion: Readonly<Record<string, number>>;
}

/** What the cost model is built from. */
export interface CostInputs {
  readonly writer: {
    readonly events: number;
    readonly capacity: CapacityCount;
    readonly categories: Readonly<Record<string, CategoryCount>>;
  };
  readonly efficiency: EfficiencyResult;
  readonly throughput?: ThroughputReport;
  readonly relayMemoryMb: number;
  readonly sweeper: SweeperCostResult;
  readonly consumers: ReadonlyArray<ConsumerCostResult>;
  readonly referenceEventsPerSecond: number;
}

const MILLION = 1e6;

/** Builds the cost table. */
export function buildCostReport(inputs: CostInputs): CostReport {
  const { efficiency: e, writer } = inputs;
  const at100 = inputs.throughput?.results.find((r) => r.batchSize === 100);
  const perMillion = (n: number, events: number) => (n * MILLION) / events;
  const writerRow = row(
    ['writer (OutboxWriter.commit: state + outbox items, one TransactWriteItems)', 'writer'],
    'counted: the even dataset written through the OutboxWriter; its WRU for relay-only attributes are in the relay row',
    {
      ...zero(),
      wru: perMillion(writer.capacity.wru - writer.capacity.relayOnlyWru, writer.events),
      rru: perMillion(writer.capacity.rru, writer.events),
    },
    scale(writer.categories, MILLION / writer.events),
  );
  const relayOnly = perMillion(writer.capacity.relayOnlyWru, writer.events);
  const relayMs = at100?.relayMeanMsPerInvocation ?? e.relay.meteredMsPerInvocation;
  const naiveMs = at100?.naiveMeanMsPerInvocation ?? e.naive.meteredMsPerInvocation;
  const durationBasis = at100
    ? 'mean ms per invocation at batch 100 (section 2)'
    : 'ms per invocation of the metered replay';
  const relayRow = row(
    ['relay (ours), + what the writer stores only for it', 'relay (ours)'],
    `counted: ${e.dataset} spread, batch ${e.batchSize}; Lambda: ${durationBasis}, ${inputs.relayMemoryMb} MB`,
    {
      ...publishUnits(e.relay.calls, e.events),
      wru: perMillion(e.relay.capacity.wru, e.events) + relayOnly,
      rru: perMillion(e.relay.capacity.rru, e.events),
      ...lambdaUnits(e.invocations / e.events, relayMs, inputs.relayMemoryMb),
    },
    scale(e.relay.capacityByCategory, MILLION / e.events),
  );
  const naiveRow = row(
    [
      'relay (naive baseline: 1 PutEvents + 1 SendMessage per queue + 1 cursor UpdateItem per event)',
      'naive relay',
    ],
    `counted: the same batches; Lambda: ${durationBasis}, ${inputs.relayMemoryMb} MB`,
    {
      ...publishUnits(e.naive.calls, e.events),
      wru: perMillion(e.naive.capacity.wru, e.events),
      rru: perMillion(e.naive.capacity.rru, e.events),
      ...lambdaUnits(e.invocations / e.events, naiveMs, inputs.relayMemoryMb),
    },
    scale(e.naive.capacityByCategory, MILLION / e.events),
  );
  const rows = [writerRow, relayRow, naiveRow, sweeperRow(inputs), ...inputs.consumers.map(consumerRow)];
  const sum = (list: CostRow[]) => list.reduce((total, r) => total + r.total, 0);
  const ours = rows.filter((r) => r !== naiveRow);
  const withNaive = rows.filter((r) => r !== relayRow);
  const relayWru = e.relay.capacity.wru / e.events;
  const relayRru = e.relay.capacity.rru / e.events;
  const writerRelayOnly = writer.capacity.relayOnlyWru / writer.events;
  return {
    prices: PRICES,
    referenceEventsPerSecond: inputs.referenceEventsPerSecond,
    rows,
    pipelineTotal: round4(sum(ours)),
    pipelineTotalWithNaiveRelay: round4(sum(withNaive)),
    relayWruEquivalentPerEvent: round4(
      relayWru + writerRelayOnly + (relayRru * PRICES.dynamoDbRru) / PRICES.dynamoDbWru,
    ),
    relayWruPerEvent: round4(relayWru),
    relayRruPerEvent: round4(relayRru),
    writerRelayOnlyWruPerEvent: round4(writerRelayOnly),
    writerRelayOnlyBytesPerEvent: round4(writer.capacity.relayOnlyBytes / writer.events),
    localReportedPerMillion: {
      writer: Math.round(perMillion(writer.capacity.localReported, writer.events)),
      relay: Math.round(perMillion(e.relay.capacity.localReported, e.events)),
      naive: Math.round(perMillion(e.naive.capacity.localReported, e.events)),
      ...Object.fromEntries(
        inputs.consumers.map((c) => [c.consumer, Math.round(perMillion(c.capacity.localReported, c.events))]),
      ),
    },
  };
}

function sweeperRow(inputs: CostInputs): CostRow {
  const s = inputs.sweeper;
  const runsPerMillion = MILLION / (inputs.referenceEventsPerSecond * s.intervalSeconds);
  return row(
    [
      `sweeper at steady state (a run every ${s.intervalSeconds / 60} min; spread over ${inputs.referenceEventsPerSecond} events/s)`,
      'sweeper',
    ],
    `counted: ${s.runs} runs (probe UpdateItem, heartbeat GetItem, lost-window GetItem, S3 List) + the relay's heartbeat UpdateItem per probe; Lambda: ${s.msPerRun} ms per run, ${s.memoryMb} MB`,
    {
      ...zero(),
      wru: (s.capacityPerRun.wru + s.heartbeatCapacityPerRun.wru) * runsPerMillion,
      rru: (s.capacityPerRun.rru + s.heartbeatCapacityPerRun.rru) * runsPerMillion,
      s3Requests: s.s3ListPerRun * runsPerMillion,
      ...lambdaUnits(runsPerMillion / MILLION, s.msPerRun, s.memoryMb),
    },
  );
}

function consumerRow(c: ConsumerCostResult): CostRow {
  const perMillion = (n: number) => (n * MILLION) / c.events;
  const sqs = c.kind === 'ordered' ? 'sqsFifoRequests' : 'sqsStandardRequests';
  const units: Units = {
    ...zero(),
    wru: perMillion(c.capacity.wru),
    rru: perMillion(c.capacity.rru),
    ...lambdaUnits(c.invocations / c.events, c.meanMsPerInvocation, c.memoryMb),
  };
  // The mapping's ReceiveMessage and DeleteMessageBatch, and for a rule-fed queue EventBridge's SendMessage.
  units[sqs] = perMillion(c.pollerRequests + c.deliveryRequests);
  return row(
    [`consumer ${c.consumer} (${c.kind === 'ordered' ? 'FIFO, ordered' : 'rule, unordered'})`, c.consumer],
    `counted: ${c.events} events in ${c.invocations} invocations of up to ${c.batchSize}; Lambda: ${c.meanMsPerInvocation} ms per invocation (unmetered pass), ${c.memoryMb} MB`,
    units,
    scale(c.capacityByCategory, MILLION / c.events),
  );
}

/** PutEvents and SendMessage(Batch) billed units per million events. */
function publishUnits(calls: CallCounts, events: number): Partial<Units> {
  const billed = (name: string) => calls[`${name}Command`]?.billed ?? 0;
  return {
    eventBridgeEvents: (billed('PutEvents') * MILLION) / events,
    sqsFifoRequests: ((billed('SendMessageBatch') + billed('SendMessage')) * MILLION) / events,
  };
}

/** Lambda requests and GB-seconds per million events; a duration is billed in whole milliseconds. */
function lambdaUnits(invocationsPerEvent: number, msPerInvocation: number, memoryMb: number): Partial<Units> {
  const requests = invocationsPerEvent * MILLION;
  return {
    lambdaRequests: requests,
    lambdaGbSeconds: requests * (Math.ceil(msPerInvocation) / 1000) * (memoryMb / 1024),
  };
}

function row(
  [component, short]: [string, string],
  basis: string,
  units: Partial<Units>,
  categories?: Record<string, CategoryCount>,
): CostRow {
  const full: Units = { ...zero(), ...units };
  const dollars: Units = {
    wru: full.wru * PRICES.dynamoDbWru,
    rru: full.rru * PRICES.dynamoDbRru,
    eventBridgeEvents: full.eventBridgeEvents * PRICES.eventBridgeEvent,
    sqsFifoRequests: full.sqsFifoRequests * PRICES.sqsFifoRequest,
    sqsStandardRequests: full.sqsStandardRequests * PRICES.sqsStandardRequest,
    s3Requests: full.s3Requests * PRICES.s3ListRequest,
    lambdaRequests: full.lambdaRequests * PRICES.lambdaRequest,
    lambdaGbSeconds: full.lambdaGbSeconds * PRICES.lambdaGbSecondArm,
  };
  const total = Object.values(dollars).reduce((a, b) => a + b, 0);
  return {
    component,
    short,
    basis,
    units: mapUnits(full, round4),
    dollars: mapUnits(dollars, round4),
    total: round4(total),
    ...(categories ? { categories } : {}),
  };
}

function zero(): Units {
  return {
    wru: 0,
    rru: 0,
    eventBridgeEvents: 0,
    sqsFifoRequests: 0,
    sqsStandardRequests: 0,
    s3Requests: 0,
    lambdaRequests: 0,
    lambdaGbSeconds: 0,
  };
}

function mapUnits(units: Units, fn: (n: number) => number): Units {
  return Object.fromEntries(Object.entries(units).map(([k, v]) => [k, fn(v)])) as unknown as Units;
}

function scale(
  categories: Readonly<Record<string, CategoryCount>>,
  factor: number,
): Record<string, CategoryCount> {
  return Object.fromEntries(
    Object.entries(categories).map(([name, c]) => [
      name,
      { wru: Math.round(c.wru * factor), rru: Math.round(c.rru * factor) },
    ]),
  );
}

function round4(value: number): number {
  return Math.round(value * 10_000) / 10_000;
}

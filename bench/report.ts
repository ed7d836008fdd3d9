import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MachineInfo } from '../tools/machine-info';
import type { ConsumerCostResult } from './consumer-cost';
import type { CostReport } from './cost-model';
import { renderCost } from './cost-report';
import type { EndToEndResult } from './end-to-end';
import type { PackagingResult } from './lambda-packaging';
import type { EfficiencyResult } from './relay-efficiency';
import type { ThroughputReport } from './relay-throughput';
import type { SweeperCostResult } from './sweeper-cost';
import { table } from './table';

export { table };

/** What the cost section measured, and the table built from it. */
export interface CostSection {
  readonly report: CostReport;
  readonly writer: { readonly events: number; readonly dataset: string };
  readonly sweeper: SweeperCostResult;
  readonly consumers: ReadonlyArray<ConsumerCostResult>;
}

/** Everything one run measured. */
export interface BenchResults {
  readonly startedAt: string;
  readonly durationMs: number;
  readonly mode: 'quick' | 'full';
  readonly sections: ReadonlyArray<string>;
  /** 1-minute load average at the end of each section. */
  readonly loadAverageAfter: Readonly<Record<string, number>>;
  readonly machine: MachineInfo;
  readonly efficiency?: ReadonlyArray<EfficiencyResult>;
  readonly throughput?: ThroughputReport;
  readonly endToEnd?: EndToEndResult;
  /** Set instead of `endToEnd` when that section failed: the error, so the rest of the run still reports. */
  readonly endToEndError?: string;
  readonly packaging?: {
    readonly relayFunctionId: string;
    readonly functions: ReadonlyArray<PackagingResult>;
  };
  readonly cost?: CostSection;
  readonly targets: ReadonlyArray<TargetVerdict>;
}

/** One target and whether this run met it. */
export interface TargetVerdict {
  readonly target: string;
  readonly measured: string;
  readonly met: boolean;
}

/** Judges issue 11's targets (and the earlier packaging ones) against whatever sections ran. */
export function judgeTargets(results: Omit<BenchResults, 'targets'>): TargetVerdict[] {
  const verdicts: TargetVerdict[] = [];
  const at100 = results.throughput?.results.find((r) => r.batchSize === 100);
  if (at100) {
    const ceiling = results.throughput?.publishCeilingEventsPerSecond ?? Number.NaN;
    verdicts.push({
      target: 'relay >= 10x the naive relay at batch 100',
      measured: `${at100.ratio}x (${at100.relayEventsPerSecond} vs ${at100.naiveEventsPerSecond} events/s); limit here: the emulators take the relay's calls at ${ceiling} events/s, relay at ${Math.round(at100.relayShareOfPublishCeiling * 100)}% of it`,
      met: at100.ratio >= 10,
    });
  }
  const even = results.efficiency?.find((e) => e.dataset === 'even');
  if (even) {
    verdicts.push({
      target: 'relay DynamoDB requests per event <= 0.05 (batch 100, even spread)',
      measured: `${even.perEvent.relayDynamoDbRequests} (${even.relay.ports.rangeReads} Query for ${even.events} events; batches of ${even.misaligned.batchSize}, cutting transactions apart: ${even.misaligned.queriesPerEvent}; naive ${even.perEvent.naiveDynamoDbRequests})`,
      met: even.perEvent.relayDynamoDbRequests <= 0.05,
    });
  }
  const cost = results.cost?.report;
  if (cost) {
    verdicts.push({
      target: "relay's DynamoDB + writer's relay-only storage <= 1 WRU per event (even spread)",
      measured: `${cost.relayWruEquivalentPerEvent} WRU-equivalents (${cost.relayWruPerEvent} WRU + ${cost.relayRruPerEvent} RRU + writer ${cost.writerRelayOnlyWruPerEvent} WRU for ${cost.writerRelayOnlyBytesPerEvent} bytes)`,
      met: cost.relayWruEquivalentPerEvent <= 1,
    });
  }
  const e2e = results.endToEnd;
  if (e2e) {
    verdicts.push({
      target: 'end to end >= 0.35x the raw TransactWriteItems rate, p99 <= 500 ms',
      measured: `${e2e.ratioToRawWrites}x (${e2e.endToEndEventsPerSecond} vs ${e2e.rawWriteEventsPerSecond} events/s), p99 ${e2e.latencyMs.p99} ms; commits through the order API ${e2e.producerRatioToRawWrites}x`,
      met: e2e.ratioToRawWrites >= 0.35 && e2e.latencyMs.p99 <= 500,
    });
    const busiest = [...e2e.stages].sort((a, b) => b.utilisation - a.utilisation)[0];
    const relayStage = e2e.stages.find((s) => s.source === 'dynamodb-stream');
    if (busiest) {
      verdicts.push({
        target: 'busiest stage end to end is not the relay',
        measured: `${busiest.functionId}, utilisation ${busiest.utilisation}${relayStage && relayStage !== busiest ? `; relay ${relayStage.utilisation}` : ''}`,
        met: busiest.source !== 'dynamodb-stream',
      });
    }
  } else if (results.endToEndError) {
    verdicts.push({
      target: 'end to end (section failed)',
      measured: results.endToEndError.slice(0, 200),
      met: false,
    });
  }
  const relay = results.packaging?.functions.find((f) => f.functionId === results.packaging?.relayFunctionId);
  if (relay) {
    verdicts.push({
      target: 'relay bundle < 250 KB minified (earlier issue)',
      measured: `${relay.bundleKiB} KB (${relay.bundleBytes} bytes)`,
      met: relay.bundleBytes < 250 * 1024,
    });
    verdicts.push({
      target: 'relay cold init < 150 ms (earlier issue)',
      measured: `${relay.coldInitMs} ms median wall, ${relay.coldInitCpuMs} ms CPU`,
      met: relay.coldInitMs < 150,
    });
  }
  return verdicts;
}

/** Renders the results as plain-text tables. */
export function renderResults(results: BenchResults): string {
  const out: string[] = [];
  const m = results.machine;
  out.push(
    `Outbox pipeline benchmark (${results.mode}) — ${results.startedAt}`,
    `Machine: ${m.cpu}, ${m.cores} cores, ${m.totalMemoryGiB} GiB, Node ${m.node}, Java ${m.java}, ${m.platform}`,
    `Load average (1 min): ${m.loadAverageAtStart} at start; after ${Object.entries(results.loadAverageAfter)
      .map(([section, load]) => `${section} ${load}`)
      .join(', ')}`,
    '',
  );
  if (results.efficiency) out.push(renderEfficiency(results.efficiency), '');
  if (results.throughput) out.push(renderThroughput(results.throughput), '');
  if (results.endToEnd) out.push(renderEndToEnd(results.endToEnd), '');
  if (results.endToEndError) out.push(`3. End to end FAILED: ${results.endToEndError}`, '');
  if (results.packaging) out.push(renderPackaging(results.packaging), '');
  if (results.cost) out.push(renderCost(results.cost.report), '');
  out.push(
    'Targets',
    table(
      ['target', 'measured', 'met'],
      results.targets.map((t) => [t.target, t.measured, t.met ? 'yes' : 'NO']),
    ),
    '',
    `Total ${(results.durationMs / 1000).toFixed(0)} s`,
  );
  return out.join('\n');
}

function renderEfficiency(results: ReadonlyArray<EfficiencyResult>): string {
  const rows: string[][] = [];
  for (const e of results) {
    const queries = e.relay.calls.QueryCommand?.calls ?? 0;
    const updates = e.relay.calls.UpdateItemCommand?.calls ?? 0;
    rows.push([
      e.dataset,
      'PutEvents',
      String(e.relay.putEvents),
      `${e.bounds.perTarget} (${e.bounds.perTargetGivenBatches})`,
      String(e.relay.putEventsFill),
      String(e.naive.putEvents),
    ]);
    rows.push([
      '',
      `SendMessageBatch (${e.fifoQueues} FIFO)`,
      String(e.relay.sendMessageBatch),
      `${e.bounds.perTarget * e.fifoQueues} (rule ${e.bounds.fifoOrderingRule})`,
      String(e.relay.sendMessageBatchFill),
      `${e.naive.sendMessage} SendMessage`,
    ]);
    rows.push([
      '',
      'DynamoDB requests',
      `${queries} Query${updates > 0 ? ` + ${updates} UpdateItem` : ''}`,
      '-',
      '-',
      `${e.naive.calls.UpdateItemCommand?.calls ?? 0} cursor UpdateItem`,
    ]);
    rows.push([
      '',
      'DynamoDB WRU / RRU',
      `${e.relay.capacity.wru} / ${e.relay.capacity.rru}`,
      '-',
      '-',
      `${e.naive.capacity.wru} / ${e.naive.capacity.rru}`,
    ]);
  }
  const legend = results.flatMap((e) => [
    `  ${e.dataset}: ${e.description}; ${e.records} stream records in ${e.invocations} invocations of ${e.batchSize}; failed records: relay ${e.relay.failedRecords}, naive ${e.naive.failedRecords}; the EventBridge emulator saw ${e.putEventsSeenByEmulator} PutEvents`,
    `    batches of ${e.misaligned.batchSize} instead (they cut transactions apart): the relay makes ${e.misaligned.queries} Query, ${e.misaligned.queriesPerEvent} per event`,
    `    per event: relay ${e.perEvent.relayPublishCalls} publish calls, ${e.perEvent.relayDynamoDbRequests} DynamoDB requests, ${e.perEvent.relayWru} WRU + ${e.perEvent.relayRru} RRU; naive ${e.perEvent.naivePublishCalls} publish calls, ${e.perEvent.naiveDynamoDbRequests} DynamoDB requests, ${e.perEvent.naiveWru} WRU`,
  ]);
  return [
    '1. Relay efficiency: AWS API calls for the whole dataset (Lambda batch size as deployed), DynamoDB capacity metered',
    table(['dataset', 'call', 'relay', 'lower bound (given batches)', 'entries/call', 'naive'], rows),
    ...legend,
    '  rule = the sum over invocations of max(ceil(k/10), most events of one aggregate in the batch): the floor',
    '  that sending at most one message per FIFO group per SendMessageBatch allows.',
  ].join('\n');
}

function renderThroughput(throughput: ThroughputReport): string {
  return [
    `2. Relay throughput: Relay.handle over recorded stream batches (${throughput.dataset})`,
    table(
      [
        'batch size',
        'relay ev/s',
        'naive ev/s',
        'relay/naive',
        'ms/inv relay (naive)',
        'DynamoDB req/event (naive)',
        'publish calls/event (naive)',
        'of ceiling',
        'failed',
      ],
      throughput.results.map((r) => [
        String(r.batchSize),
        `${r.relayEventsPerSecond} (${r.relayRuns.join(', ')})`,
        `${r.naiveEventsPerSecond} (${r.naiveRuns.join(', ')})`,
        `${r.ratio}x`,
        `${r.relayMsPerInvocation} (${r.naiveMsPerInvocation})`,
        `${r.relayDynamoDbRequestsPerEvent} (${r.naiveDynamoDbRequestsPerEvent})`,
        `${r.relayPublishCallsPerEvent} (${r.naivePublishCallsPerEvent})`,
        `${Math.round(r.relayShareOfPublishCeiling * 100)}%`,
        String(r.failedRecords),
      ]),
    ),
    `  Publish ceiling: the emulators take the dataset's events as PutEvents and SendMessageBatch of 10 (4 in flight per target, no relay logic) at ${throughput.publishCeilingEventsPerSecond} events/s; "of ceiling" = relay / that.`,
    "  Ablation at batch 100 (bench-only change of the relay's input):",
    table(
      ['variant', 'ev/s', 'DynamoDB req/event', 'vs naive', 'vs relay'],
      throughput.ablations.map((a) => [
        a.variant,
        String(a.eventsPerSecond),
        String(a.dynamoDbRequestsPerEvent),
        `${a.ratioToNaive}x`,
        `${a.ratioToRelay}x`,
      ]),
    ),
    ...throughput.ablations.map((a) => `  ${a.variant}: ${a.description}`),
  ].join('\n');
}

function renderEndToEnd(e: EndToEndResult): string {
  return [
    `3. End to end on the local runtime: ${e.events} events over ${e.aggregates} orders, ${e.concurrency} commands in flight, ${e.functionConcurrency} environments per function`,
    table(
      ['measure', 'events/s', 'ratio to raw writes'],
      [
        [
          'DynamoDB Local TransactWriteItems (raw, same transactions)',
          String(e.rawWriteEventsPerSecond),
          '1',
        ],
        [
          'commits through the order API (producer Lambda)',
          String(e.producerEventsPerSecond),
          String(e.producerRatioToRawWrites),
        ],
        [
          'end to end: first commit → last consumer done',
          String(e.endToEndEventsPerSecond),
          String(e.ratioToRawWrites),
        ],
      ],
    ),
    `  latency commit → consumer done: p50 ${e.latencyMs.p50} ms, p95 ${e.latencyMs.p95} ms, p99 ${e.latencyMs.p99} ms; ${
      e.ok ? 'every guarantee held (verifyRun)' : `PROBLEMS: ${e.problems.join('; ')}`
    }`,
    `  order API: ${e.producer.commands} commands, latency p50 ${e.producer.latencyMs.p50} / p95 ${e.producer.latencyMs.p95} ms (waiting for one of ${e.functionConcurrency} environments included): ~${e.producer.serviceMsPerCommand} ms of environment time per command`,
    ...e.consumers.map(
      (c) =>
        `  ${c.functionId} (${c.ordered ? 'FIFO, ordered' : 'rule, unordered'}): ${c.delivered} events, p50 ${c.latencyMs.p50} / p95 ${c.latencyMs.p95} / p99 ${c.latencyMs.p99} ms`,
    ),
    table(
      [
        'stage (mapping → function)',
        'invocations',
        'records/inv',
        'ms/inv p50',
        'p95',
        'parallel',
        'capacity ev/s',
        'busy',
      ],
      e.stages.map((s) => [
        `${s.source} → ${s.functionId}`,
        String(s.invocations),
        String(s.recordsPerInvocation),
        String(s.msPerInvocation.p50),
        String(s.msPerInvocation.p95),
        String(s.parallelism),
        String(s.capacityEventsPerSecond),
        `${Math.round(s.utilisation * 100)}%`,
      ]),
    ),
    bottleneck(e),
  ].join('\n');
}

function bottleneck(e: EndToEndResult): string {
  const busiest = [...e.stages].sort((a, b) => b.utilisation - a.utilisation)[0];
  if (!busiest) return '';
  return `  busiest stage: ${busiest.functionId}, ${Math.round(busiest.utilisation * 100)}% of its ${busiest.parallelism} slot(s) busy, ${busiest.capacityEventsPerSecond} events/s at most at ${busiest.msPerInvocation.p50} ms per batch of ~${busiest.recordsPerInvocation}`;
}

function renderPackaging(packaging: NonNullable<BenchResults['packaging']>): string {
  const relay = packaging.functions.find((f) => f.functionId === packaging.relayFunctionId);
  return [
    '4. Lambda packaging: synthesized bundles (index.mjs), cold init = await import() in a fresh Node process',
    table(
      ['function', 'bytes', 'KB', 'cold init ms', 'CPU ms', 'no source maps ms', 'process → handler ms'],
      packaging.functions.map((f) => [
        f.functionId === packaging.relayFunctionId ? `${f.functionId} (relay)` : f.functionId,
        String(f.bundleBytes),
        String(f.bundleKiB),
        String(f.coldInitMs),
        String(f.coldInitCpuMs),
        String(f.coldInitWithoutSourceMapsMs),
        String(f.processToHandlerMs),
      ]),
    ),
    relay
      ? `  relay bundle by package: ${relay.contributors
          .slice(0, 8)
          .map((c) => `${c.name} ${(c.bytes / 1024).toFixed(1)} KB`)
          .join(', ')}`
      : '',
  ].join('\n');
}

/** Writes `bench/results/<timestamp>.json` and `bench/results/latest.json`; returns the first path. */
export function writeResults(directory: string, results: BenchResults): string {
  mkdirSync(directory, { recursive: true });
  const json = `${JSON.stringify(results, null, 2)}\n`;
  const path = join(directory, `${results.startedAt.replace(/[:.]/g, '-')}.json`);
  writeFileSync(path, json);
  writeFileSync(join(directory, 'latest.json'), json);
  return path;
}

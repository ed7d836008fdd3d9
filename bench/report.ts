import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { join } from 'node:path';
import type { EndToEndResult } from './end-to-end';
import type { PackagingResult } from './lambda-packaging';
import type { EfficiencyResult } from './relay-efficiency';
import type { ThroughputReport } from './relay-throughput';

/** The machine the figures come from. */
export interface MachineInfo {
  readonly cpu: string;
  readonly cores: number;
  readonly node: string;
  readonly totalMemoryGiB: number;
  readonly platform: string;
  readonly java: string;
  /** 1-minute load average when the run started: other work on a shared machine moves the absolute figures. */
  readonly loadAverageAtStart: number;
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
  readonly packaging?: {
    readonly relayFunctionId: string;
    readonly functions: ReadonlyArray<PackagingResult>;
  };
  readonly targets: ReadonlyArray<TargetVerdict>;
}

/** One target of the issue and whether this run met it. */
export interface TargetVerdict {
  readonly target: string;
  readonly measured: string;
  readonly met: boolean;
}

/** CPU, cores, memory, Node and Java versions. */
export function machineInfo(): MachineInfo {
  const java = spawnSync('java', ['-version'], { encoding: 'utf8' });
  const javaVersion = /version "([^"]+)"/.exec(`${java.stderr ?? ''}${java.stdout ?? ''}`)?.[1] ?? 'unknown';
  return {
    cpu: cpus()[0]?.model.trim() ?? 'unknown',
    cores: cpus().length,
    node: process.version,
    totalMemoryGiB: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    platform: `${process.platform} ${release()} ${process.arch}`,
    java: javaVersion,
    loadAverageAtStart: round2(loadavg()[0] ?? Number.NaN),
  };
}

/** Judges the issue's targets against whatever sections ran. */
export function judgeTargets(results: Omit<BenchResults, 'targets'>): TargetVerdict[] {
  const verdicts: TargetVerdict[] = [];
  for (const e of results.efficiency ?? []) {
    verdicts.push({
      target: `PutEvents within 5% of ceil(n/10) (${e.dataset})`,
      measured: `${e.relay.putEvents} calls vs ${e.bounds.perTarget} (${pct(e.overBound.putEvents)})`,
      met: e.overBound.putEvents <= 0.05,
    });
    verdicts.push({
      target: `SendMessageBatch within 5% of ceil(n/10) (${e.dataset})`,
      measured: `${e.relay.sendMessageBatch} calls vs ${e.bounds.perTarget * e.fifoQueues} (${pct(e.overBound.sendMessageBatch)}); ordering-rule floor ${e.bounds.fifoOrderingRule}`,
      met: e.overBound.sendMessageBatch <= 0.05,
    });
  }
  const at100 = results.throughput?.results.find((r) => r.batchSize === 100);
  if (at100) {
    verdicts.push({
      target: 'relay >= 10x the naive relay at batch 100',
      measured: `${at100.ratio}x (${at100.relayEventsPerSecond} vs ${at100.naiveEventsPerSecond} events/s)`,
      met: at100.ratio >= 10,
    });
  }
  const relay = results.packaging?.functions.find((f) => f.functionId === results.packaging?.relayFunctionId);
  if (relay) {
    verdicts.push({
      target: 'relay bundle < 250 KB minified',
      measured: `${relay.bundleKiB} KB (${relay.bundleBytes} bytes)`,
      met: relay.bundleBytes < 250 * 1024,
    });
    verdicts.push({
      target: 'relay cold init < 150 ms',
      measured: `${relay.coldInitMs} ms median wall, ${relay.coldInitCpuMs} ms CPU (${relay.coldInitWithoutSourceMapsMs} ms without --enable-source-maps)`,
      met: relay.coldInitMs < 150,
    });
  }
  const e2e = results.endToEnd;
  if (e2e) {
    verdicts.push({
      target: 'end to end >= 0.8x the engine write rate, p99 reported',
      measured: `${e2e.ratioToRawWrites}x (${e2e.endToEndEventsPerSecond} vs ${e2e.rawWriteEventsPerSecond} events/s), p99 ${e2e.latencyMs.p99} ms`,
      met: e2e.ratioToRawWrites >= 0.8 && Number.isFinite(e2e.latencyMs.p99),
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
  if (results.packaging) out.push(renderPackaging(results.packaging), '');
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
    rows.push([
      e.dataset,
      'PutEvents',
      String(e.relay.putEvents),
      String(e.bounds.perTarget),
      pct(e.overBound.putEvents),
      String(e.relay.putEventsFill),
      String(e.naive.putEvents),
      `${e.savings.putEvents}x`,
    ]);
    rows.push([
      '',
      `SendMessageBatch (${e.fifoQueues} FIFO)`,
      String(e.relay.sendMessageBatch),
      `${e.bounds.perTarget * e.fifoQueues} (rule ${e.bounds.fifoOrderingRule})`,
      pct(e.overBound.sendMessageBatch),
      String(e.relay.sendMessageBatchFill),
      String(e.naive.sendMessage),
      `${e.savings.sendMessage}x`,
    ]);
    const d = e.relay.dynamodb;
    const p = e.relay.ports;
    rows.push(['', 'DynamoDB BatchGetItem (cursor reads)', String(d.batchGetItem), '-', '-', '-', '0', '-']);
    rows.push([
      '',
      'DynamoDB UpdateItem: cursor advances',
      String(p.cursorAdvances),
      '-',
      '-',
      '-',
      '0',
      '-',
    ]);
    rows.push([
      '',
      'DynamoDB UpdateItem: pending-mark clears',
      String(p.pendingMarksCleared),
      '-',
      '-',
      '-',
      '0',
      '-',
    ]);
    if (d.query > 0) rows.push(['', 'DynamoDB Query (gap fill)', String(d.query), '-', '-', '-', '0', '-']);
  }
  const legend = results.flatMap((e) => [
    `  ${e.dataset}: ${e.description}; ${e.invocations} invocations of ${e.batchSize} records; failed records: relay ${e.relay.failedRecords}, naive ${e.naive.failedRecords}; the EventBridge emulator saw ${e.putEventsSeenByEmulator} PutEvents`,
    `    per 1,000 events: relay ${e.per1000.relayPutEvents} PutEvents + ${e.per1000.relaySendMessageBatch} SendMessageBatch per FIFO queue + ${e.per1000.relayDynamoDb} DynamoDB requests; naive ${e.per1000.naivePutEvents} PutEvents + ${e.per1000.naiveSendMessage} SendMessage; lower bound ${e.per1000.lowerBound} per target`,
  ]);
  return [
    '1. Relay efficiency: AWS API calls for the whole dataset (Lambda batch size as deployed)',
    table(
      ['dataset', 'call', 'relay', 'lower bound', 'over bound', 'entries/call', 'naive', 'naive/relay'],
      rows,
    ),
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
        'ms/invocation',
        'DynamoDB req/event',
        'publish calls/event (naive)',
        'engine-bound ev/s',
        'failed',
      ],
      throughput.results.map((r) => [
        String(r.batchSize),
        `${r.relayEventsPerSecond} (${r.relayRuns.join(', ')})`,
        `${r.naiveEventsPerSecond} (${r.naiveRuns.join(', ')})`,
        `${r.ratio}x`,
        String(r.relayMsPerInvocation),
        String(r.relayDynamoDbRequestsPerEvent),
        `${r.relayPublishCallsPerEvent} (${r.naivePublishCallsPerEvent})`,
        String(r.engineBoundEventsPerSecond),
        String(r.failedRecords),
      ]),
    ),
    `  DynamoDB Local serves ${throughput.engineUpdateItemsPerSecond} cursor UpdateItems/s (16 in flight); engine-bound = that / the relay's DynamoDB requests per event.`,
    '  What-if at batch 100 (bench-only port substitutions, not product behaviour):',
    table(
      ['variant', 'ev/s', 'vs naive', 'vs relay'],
      throughput.ablations.map((a) => [
        a.variant,
        String(a.eventsPerSecond),
        `${a.ratioToNaive}x`,
        `${a.ratioToRelay}x`,
      ]),
    ),
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

/** Left-aligned text table with a header rule. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => `  ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ')}`.trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}

function pct(value: number, digits = 1): string {
  if (!Number.isFinite(value)) return '-';
  return `${value >= 0 ? '+' : ''}${(value * 100).toFixed(digits)}%`;
}

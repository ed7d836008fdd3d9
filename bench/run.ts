/**
 * `npm run bench`: measures the relay's API-call efficiency and throughput
 * against a naive relay, the pipeline end to end on the local runtime against
 * DynamoDB Local's raw write rate, and the Lambda bundles' size and cold init,
 * in one run, and prints them side by side with the issue's targets.
 * Results go to bench/results/<timestamp>.json and bench/results/latest.json.
 */
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { readTopology, type Topology } from 'local-aws';
import { PROJECT_ROOT } from '../contract/project';
import { Cleanup } from './cleanup';
import { type EndToEndOptions, measureEndToEnd } from './end-to-end';
import { measurePackaging, type PackagingOptions, packagingWork } from './lambda-packaging';
import { type Dataset, type DatasetSpec, evenSpread, skewedSpread, writeDataset } from './outbox-dataset';
import { withBar } from './progress';
import { synthesizeQuietly } from './quiet-synth';
import { measureEfficiency } from './relay-efficiency';
import { relayDeployment, startRelayEngines } from './relay-engines';
import { measureThroughput, type ThroughputOptions, throughputWork } from './relay-throughput';
import { type BenchResults, judgeTargets, machineInfo, renderResults, writeResults } from './report';

const SECTIONS = ['efficiency', 'throughput', 'e2e', 'packaging'] as const;
type Section = (typeof SECTIONS)[number];

const HELP = `Usage: npm run bench -- [options]

Measures, in one run, with the local engines on 127.0.0.1 (no Docker, no AWS):
  efficiency  AWS API calls per 1,000 events of the relay vs ceil(n/10) and vs a naive
              one-event-per-call relay, on an even and a skewed aggregate spread
  throughput  events/s through Relay.handle and the naive relay over recorded stream
              batches of 10, 100 and 1000 records
  e2e         the local pipeline end to end (events/s, latency p50/p95/p99) against
              DynamoDB Local's raw TransactWriteItems rate
  packaging   each Lambda bundle's size and cold init (import in a fresh Node process)

Options:
  --quick             smaller sizes and fewer repetitions, for a smoke run (~1 min)
  --only <sections>   comma-separated subset of: ${SECTIONS.join(', ')}
  -h, --help          show this help

Results: a table on stdout, progress on stderr, and bench/results/<timestamp>.json
plus bench/results/latest.json. See docs/benchmarks.md.`;

interface Sizes {
  readonly efficiency: ReadonlyArray<DatasetSpec>;
  readonly throughputDataset: DatasetSpec;
  readonly throughput: ThroughputOptions;
  readonly e2e: EndToEndOptions;
  readonly packaging: PackagingOptions;
}

function sizes(quick: boolean): Sizes {
  const n = quick ? 200 : 1000;
  return {
    efficiency: [evenSpread('even', n, n / 5), skewedSpread('skewed', n, 3, 0.6, n / 5)],
    throughputDataset: quick ? evenSpread('throughput', 500, 100) : evenSpread('throughput', 2000, 400),
    throughput: {
      batchSizes: [10, 100, 1000],
      relayRuns: quick ? 1 : 3,
      naiveRuns: quick ? 1 : 2,
      engineProbeRequests: quick ? 300 : 1500,
    },
    e2e: { events: n, aggregates: n / 5, concurrency: 16, functionConcurrency: 2, seed: 7 },
    packaging: { runs: quick ? 3 : 7 },
  };
}

function parseOptions(): { help: boolean; quick: boolean; only: Section[] } {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  const only = values.only === undefined ? [...SECTIONS] : values.only.split(',').map((s) => s.trim());
  for (const section of only) {
    if (!(SECTIONS as ReadonlyArray<string>).includes(section))
      throw new UsageError(`--only takes ${SECTIONS.join(', ')} (given ${JSON.stringify(section)})`);
  }
  return { help: values.help, quick: values.quick, only: only as Section[] };
}

class UsageError extends Error {}

async function main(cleanup: Cleanup): Promise<number> {
  let options: ReturnType<typeof parseOptions>;
  try {
    options = parseOptions();
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${HELP}`);
    return 2;
  }
  if (options.help) {
    console.log(HELP);
    return 0;
  }
  const startedAt = new Date();
  const started = performance.now();
  const size = sizes(options.quick);
  const machine = machineInfo();
  console.error(
    `Benchmark (${options.quick ? 'quick' : 'full'}): ${options.only.join(', ')} on ${machine.cpu}, ${machine.cores} cores, Node ${machine.node}`,
  );

  const stack = await withBar('synthesize the stack', 1, 'step', async (bar) => {
    const synthesized = await synthesizeQuietly();
    bar.increment();
    return synthesized;
  });
  const topology: Topology = readTopology(stack.template as never, stack.assemblyDir);
  const loadAverageAfter: Record<string, number> = {};
  const noteLoad = (section: string) => {
    loadAverageAfter[section] = Math.round((loadavg()[0] ?? 0) * 100) / 100;
  };
  const partial: Omit<BenchResults, 'targets' | 'durationMs'> & {
    -readonly [K in 'efficiency' | 'throughput' | 'endToEnd' | 'packaging']?: BenchResults[K];
  } = {
    startedAt: startedAt.toISOString(),
    mode: options.quick ? 'quick' : 'full',
    sections: options.only,
    loadAverageAfter,
    machine,
  };

  if (options.only.includes('efficiency') || options.only.includes('throughput')) {
    const engines = await withBar('relay: start engines', 1, 'step', async (bar) => {
      const started = await startRelayEngines(topology, cleanup);
      bar.increment();
      return started;
    });
    try {
      const specs = [
        ...(options.only.includes('efficiency') ? size.efficiency : []),
        ...(options.only.includes('throughput') ? [size.throughputDataset] : []),
      ];
      const runTag = Date.now().toString(36);
      const total = specs.reduce((sum, s) => sum + s.eventsPerAggregate.reduce((a, b) => a + b, 0), 0);
      const datasets: Dataset[] = await withBar(
        'relay: commit outbox events',
        total,
        'events',
        async (bar) => {
          const written: Dataset[] = [];
          for (const spec of specs) {
            const dataset = await writeDataset(
              engines.setup.dynamodb,
              engines.outboxTable.name,
              spec,
              runTag,
              () => bar.increment(),
            );
            written.push({ ...dataset, records: [] });
          }
          return written;
        },
      );
      const records = await withBar('relay: read the stream', 1, 'step', async (bar) => {
        const all = await engines.outboxRecords();
        bar.increment();
        return all;
      });
      for (const dataset of datasets) {
        const keys = new Set(dataset.aggregateKeys);
        dataset.records = records.filter((r) => keys.has(r.dynamodb?.Keys?.pk?.S ?? ''));
        if (dataset.records.length !== dataset.events)
          throw new Error(
            `stream holds ${dataset.records.length} records of ${dataset.spec.name}, expected ${dataset.events}`,
          );
      }
      const efficiencyData = datasets.filter((d) => d.spec.name !== size.throughputDataset.name);
      if (efficiencyData.length > 0) {
        const work = efficiencyData.reduce((sum, d) => sum + 2 * d.events, 0);
        partial.efficiency = await withBar('1 efficiency: relay and naive', work, 'events', async (bar) => {
          const results = [];
          for (const dataset of efficiencyData) results.push(await measureEfficiency(engines, dataset, bar));
          return results;
        });
        noteLoad('efficiency');
      }
      const throughputData = datasets.find((d) => d.spec.name === size.throughputDataset.name);
      if (throughputData) {
        partial.throughput = await withBar(
          '2 throughput: relay and naive',
          throughputWork(throughputData, size.throughput),
          'events',
          (bar) => measureThroughput(engines, throughputData, size.throughput, bar),
        );
        noteLoad('throughput');
      }
      if (engines.problems.length > 0)
        console.error(`relay telemetry reported: ${[...new Set(engines.problems)].join('; ')}`);
    } finally {
      await engines.stop();
    }
  }

  if (options.only.includes('e2e')) {
    partial.endToEnd = await measureEndToEnd(size.e2e, cleanup);
    noteLoad('e2e');
  }

  if (options.only.includes('packaging')) {
    const functions = await withBar(
      '4 packaging: cold init',
      packagingWork(topology, size.packaging),
      'processes',
      (bar) => measurePackaging(topology, stack.template as never, size.packaging, bar),
    );
    partial.packaging = { relayFunctionId: relayDeployment(topology).mapping.functionLogicalId, functions };
    noteLoad('packaging');
  }

  const withoutTargets = { ...partial, durationMs: Math.round(performance.now() - started) };
  const results: BenchResults = { ...withoutTargets, targets: judgeTargets(withoutTargets) };
  const path = writeResults(join(PROJECT_ROOT, 'bench', 'results'), results);
  console.log(renderResults(results));
  console.log(`\nResults written to ${path} and bench/results/latest.json`);
  return 0;
}

const cleanup = new Cleanup();
let interruptedAt: number | undefined;
for (const [signal, code] of [
  ['SIGINT', 130],
  ['SIGTERM', 143],
] as const) {
  process.on(signal, () => {
    // A wrapper (npm, tsx) relays the terminal's Ctrl-C, so one key press can arrive twice:
    // only a second signal a moment later means "stop now, skip the cleanup".
    if (interruptedAt !== undefined) {
      if (Date.now() - interruptedAt > 1000) process.exit(code);
      return;
    }
    interruptedAt = Date.now();
    console.error(`\n${signal}: stopping the engines... (again to force)`);
    void cleanup.runAll().finally(() => process.exit(code));
  });
}

main(cleanup).then(
  async (code) => {
    await cleanup.runAll();
    process.exit(code);
  },
  async (error: Error) => {
    // Interrupted: the engines going away makes the running section fail; the signal handler exits.
    if (interruptedAt !== undefined) return;
    console.error(`\nnpm run bench failed: ${error.stack ?? error.message}`);
    if (error.name === 'JavaNotFoundError') console.error('DynamoDB Local needs Java 17+ on PATH.');
    await cleanup.runAll();
    process.exit(1);
  },
);

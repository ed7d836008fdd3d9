/**
 * `npm run bench`: measures the relay's API calls, DynamoDB capacity and throughput against a
 * naive relay, the pipeline end to end on the local runtime against DynamoDB Local's raw write
 * rate, the Lambda bundles' size and cold init, and the AWS cost of an event by component, in one
 * run, and prints them with one table of the targets.
 * Results go to bench/results/<timestamp>.json and bench/results/latest.json.
 */
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { readTopology, type Topology } from 'local-aws';
import { ENTITY_TYPES } from '../contract/keys';
import { PROJECT_ROOT } from '../contract/project';
import { machineInfo } from '../tools/machine-info';
import { parseScriptOptions } from '../tools/script-options';
import { accountTotal, type CategoryCount } from './capacity';
import { Cleanup } from './cleanup';
import { type CostOptions, consumerCount, costWork, measureCost } from './cost-section';
import { type EndToEndOptions, measureEndToEnd } from './end-to-end';
import { measurePackaging, type PackagingOptions, packagingWork } from './lambda-packaging';
import { type Dataset, type DatasetSpec, evenSpread, skewedSpread, writeDataset } from './outbox-dataset';
import { withBar } from './progress';
import { synthesizeQuietly } from './quiet-synth';
import { measureEfficiency } from './relay-efficiency';
import { type RelayEngines, relayDeployment, startRelayEngines } from './relay-engines';
import { measureThroughput, type ThroughputOptions, throughputWork } from './relay-throughput';
import { type BenchResults, judgeTargets, renderResults, writeResults } from './report';

const SECTIONS = ['efficiency', 'throughput', 'e2e', 'packaging', 'cost'] as const;
type Section = (typeof SECTIONS)[number];

const HELP = `Usage: npm run bench -- [options]

Measures, in one run, with the local engines on 127.0.0.1 (no Docker, no AWS):
  efficiency  AWS API calls and DynamoDB capacity of the relay vs ceil(n/10) and vs a naive
              relay (one PutEvents + one SendMessage per queue + one cursor write per event),
              on an even and a skewed aggregate spread, batch size as deployed
  throughput  events/s through Relay.handle and the naive relay over recorded stream batches
              of 10, 100 and 1000 records; the emulators' own ceiling; the relay always querying
  e2e         the local pipeline end to end (events/s, latency p50/p95/p99, busiest stage)
              against DynamoDB Local's raw TransactWriteItems rate
  packaging   each Lambda bundle's size and cold init (import in a fresh Node process)
  cost        US$ per million events by component (writer, relay vs naive, sweeper, each
              consumer) from counted calls and metered item sizes; needs efficiency's runs
              (it runs them itself when --only leaves efficiency out)

Options:
  --quick             smaller sizes and fewer repetitions, for a smoke run (~1 min)
  --only <sections>   comma-separated subset of: ${SECTIONS.join(', ')}
  -h, --help          show this help

Results: the tables on stdout (with one targets table), progress on stderr, and
bench/results/<timestamp>.json plus bench/results/latest.json. See docs/benchmarks.md.`;

interface Sizes {
  readonly even: DatasetSpec;
  readonly skewed: DatasetSpec;
  readonly throughputDataset: DatasetSpec;
  readonly throughput: ThroughputOptions;
  readonly e2e: EndToEndOptions;
  readonly packaging: PackagingOptions;
  readonly cost: CostOptions;
}

function sizes(quick: boolean): Sizes {
  const n = quick ? 200 : 1000;
  return {
    even: evenSpread('even', n, n / 5),
    skewed: skewedSpread('skewed', n, 3, 0.6, n / 5),
    throughputDataset: quick ? evenSpread('throughput', 300, 60) : evenSpread('throughput', 2000, 400),
    throughput: { batchSizes: [10, 100, 1000], relayRuns: quick ? 1 : 3, naiveRuns: quick ? 1 : 2 },
    e2e: { events: n, aggregates: n / 5, concurrency: 16, functionConcurrency: 2, seed: 7 },
    packaging: { runs: quick ? 3 : 7 },
    cost: { sweeperRuns: quick ? 2 : 4, referenceEventsPerSecond: 10, timedEvents: quick ? 100 : 500 },
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

type PartialResults = Omit<BenchResults, 'targets' | 'durationMs'> & {
  -readonly [K in
    | 'efficiency'
    | 'throughput'
    | 'endToEnd'
    | 'endToEndError'
    | 'packaging'
    | 'cost']?: BenchResults[K];
};

async function main(cleanup: Cleanup): Promise<number> {
  const options = parseScriptOptions(parseOptions, HELP);
  if (typeof options === 'number') return options;
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
  const partial: PartialResults = {
    startedAt: startedAt.toISOString(),
    mode: options.quick ? 'quick' : 'full',
    sections: options.only,
    loadAverageAfter,
    machine,
  };
  const wants = (section: Section) => options.only.includes(section);
  if (wants('efficiency') || wants('throughput') || wants('cost')) {
    await relaySections(topology, size, wants, partial, noteLoad, cleanup);
  }
  if (wants('e2e')) {
    try {
      partial.endToEnd = await measureEndToEnd(size.e2e, cleanup);
    } catch (error) {
      partial.endToEndError = (error as Error).stack ?? String(error);
      console.error(`\nend to end failed (the other sections still report): ${partial.endToEndError}`);
    }
    noteLoad('e2e');
  }
  if (wants('packaging')) {
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

/** Sections 1, 2 and the cost section, on one set of engines. */
async function relaySections(
  topology: Topology,
  size: Sizes,
  wants: (section: Section) => boolean,
  partial: PartialResults,
  noteLoad: (section: string) => void,
  cleanup: Cleanup,
): Promise<void> {
  const engines = await withBar('relay: start engines', 1, 'step', async (bar) => {
    const started = await startRelayEngines(topology, cleanup);
    bar.increment();
    return started;
  });
  try {
    const needsThroughputData = wants('throughput') || wants('cost');
    const specs = [
      size.even,
      ...(wants('efficiency') ? [size.skewed] : []),
      ...(needsThroughputData ? [size.throughputDataset] : []),
    ];
    const { datasets, writer } = await writeDatasets(engines, specs, size.even.name);
    const even = datasets.find((d) => d.spec.name === size.even.name);
    const effData = datasets.filter(
      (d) => d.spec.name !== size.throughputDataset.name && (wants('efficiency') || d === even),
    );
    const work = effData.reduce((sum, d) => sum + 3 * d.records.length, 0);
    const efficiency = await withBar('1 efficiency: relay and naive', work, 'records', async (bar) => {
      const results = [];
      for (const dataset of effData) results.push(await measureEfficiency(engines, dataset, bar));
      return results;
    });
    if (wants('efficiency')) partial.efficiency = efficiency;
    noteLoad('efficiency');
    const throughputData = datasets.find((d) => d.spec.name === size.throughputDataset.name);
    if (throughputData && wants('throughput')) {
      partial.throughput = await withBar(
        '2 throughput: relay and naive',
        throughputWork(throughputData, size.throughput),
        'records',
        (bar) => measureThroughput(engines, throughputData, size.throughput, bar),
      );
      noteLoad('throughput');
    }
    const evenEfficiency = efficiency.find((e) => e.dataset === size.even.name);
    if (wants('cost') && even && evenEfficiency && throughputData) {
      const start = {
        writer: { dataset: even, ...writer },
        efficiency: evenEfficiency,
        throughput: partial.throughput,
        timingDataset: throughputData,
      };
      partial.cost = await withBar(
        '5 cost: sweeper and consumers',
        costWork(start, size.cost, consumerCount(engines)),
        'steps',
        (bar) => measureCost(engines, start, size.cost, bar),
      );
      noteLoad('cost');
    }
    if (engines.problems.length > 0)
      console.error(`relay telemetry reported: ${[...new Set(engines.problems)].join('; ')}`);
  } finally {
    await engines.stop();
  }
}

/** Commits the datasets (the writer's dataset through a metered client), reads the stream, splits it by dataset. */
async function writeDatasets(engines: RelayEngines, specs: ReadonlyArray<DatasetSpec>, meteredName: string) {
  const runTag = Date.now().toString(36);
  const total = specs.reduce((sum, s) => sum + s.eventsPerAggregate.reduce((a, b) => a + b, 0), 0);
  let writer = { capacity: accountTotal({}, 'writer'), categories: {} as Record<string, CategoryCount> };
  const datasets: Dataset[] = await withBar('relay: commit outbox events', total, 'events', async (bar) => {
    const written: Dataset[] = [];
    for (const spec of specs) {
      const metered = spec.name === meteredName;
      const before = engines.meter.snapshot();
      const client = metered ? engines.clients('writer').dynamodb : engines.setup.dynamodb;
      const dataset = await writeDataset(client, engines.outboxTable.name, spec, runTag, () =>
        bar.increment(),
      );
      if (metered) {
        const usage = engines.meter.since(before);
        writer = { capacity: accountTotal(usage, 'writer'), categories: usage.writer?.categories ?? {} };
      }
      written.push({ ...dataset, records: [] });
    }
    return written;
  });
  const records = await withBar('relay: read the stream', 1, 'step', async (bar) => {
    const all = await engines.streamRecords();
    bar.increment();
    return all;
  });
  for (const dataset of datasets) {
    const keys = new Set(dataset.aggregateKeys);
    dataset.records = records.filter((r) => keys.has(r.dynamodb?.Keys?.pk?.S ?? ''));
    const outbox = dataset.records.filter(
      (r) => r.dynamodb?.NewImage?.entityType?.S === ENTITY_TYPES.outbox,
    ).length;
    if (outbox !== dataset.events)
      throw new Error(
        `stream holds ${outbox} outbox records of ${dataset.spec.name}, expected ${dataset.events}`,
      );
  }
  return { datasets, writer };
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

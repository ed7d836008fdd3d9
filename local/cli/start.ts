import { rmSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import cliProgress from 'cli-progress';
import type { LocalAws } from 'local-aws';
import { machineInfo } from '../../tools/machine-info';
import { parseScriptOptions } from '../../tools/script-options';
import { DeliveryTracker } from '../demo/delivery-tracker';
import { verifyRun } from '../demo/verify';
import { runWorkload, type WorkloadResult } from '../demo/workload';
import { LOCAL_OUTPUTS_FILE, LOCAL_STATE_FILE, startOutboxPipeline } from '../pipeline';
import { printReport } from './report';

const HELP = `Usage: npm start -- [options]

Runs the deployable outbox pipeline on this machine (DynamoDB Local, an SQS
emulator, a local EventBridge and the Lambda bundles from \`cdk synth\`), drives a
seeded order workload through the producer's Function URL, and reports whether
every committed event reached every consumer once, in order.

Options:
  --events <n>          events to commit (default 3000)
  --aggregates <n>      orders to spread them over (default: events / 10)
  --conflict-rate <r>   share of orders that get two racing commands (default 0.1)
  --reorder-rate <r>    share of stream batches delivered shuffled, as AWS may (default 0.2)
  --duplicate-rate <r>  share of stream records delivered twice (default 0.02)
  --seed <n>            seed for the workload and the injected faults (default 7)
  --concurrency <n>     commands in flight at once (default 16)
  --json <file>         also write the report as JSON
  --keep                leave the pipeline running and print its endpoints (Ctrl-C to stop)
  --no-iam              do not enforce the template's IAM (debugging only; the report says so)
  -h, --help            show this help

Exit code: 0 when every guarantee held, 1 when one did not, 2 on bad options.`;

function parseOptions() {
  const { values } = parseArgs({
    options: {
      events: { type: 'string', default: '3000' },
      aggregates: { type: 'string' },
      'conflict-rate': { type: 'string', default: '0.1' },
      'reorder-rate': { type: 'string', default: '0.2' },
      'duplicate-rate': { type: 'string', default: '0.02' },
      seed: { type: 'string', default: '7' },
      concurrency: { type: 'string', default: '16' },
      json: { type: 'string' },
      keep: { type: 'boolean', default: false },
      'no-iam': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  const int = (name: keyof typeof values, min: number, max: number) => {
    const n = Number(values[name]);
    if (!Number.isInteger(n) || n < min || n > max)
      throw new UsageError(`--${name} must be a whole number from ${min} to ${max} (given ${values[name]})`);
    return n;
  };
  const rate = (name: keyof typeof values) => {
    const n = Number(values[name]);
    if (Number.isNaN(n) || n < 0 || n > 1)
      throw new UsageError(`--${name} must be between 0 and 1 (given ${values[name]})`);
    return n;
  };
  const events = int('events', 1, 1_000_000);
  const aggregates =
    values.aggregates === undefined ? Math.max(1, Math.round(events / 10)) : int('aggregates', 1, events);
  return {
    help: values.help,
    events,
    aggregates,
    conflictRate: rate('conflict-rate'),
    reorderRate: rate('reorder-rate'),
    duplicateRate: rate('duplicate-rate'),
    seed: int('seed', 0, 2 ** 31),
    concurrency: int('concurrency', 1, 256),
    json: values.json,
    keep: values.keep,
    iam: !values['no-iam'],
  };
}

class UsageError extends Error {}

async function main(): Promise<number> {
  const options = parseScriptOptions(parseOptions, HELP);
  if (typeof options === 'number') return options;
  const tracker = new DeliveryTracker();
  const pipeline = await startPipeline(options, tracker);
  const apiUrl = [...pipeline.functionUrls.values()][0];
  if (!apiUrl) throw new Error('the stack has no Function URL to send commands to');
  const bars = new DemoProgress(pipeline, options.events, tracker);
  let workload: WorkloadResult;
  try {
    workload = await runWorkload(apiUrl, {
      events: options.events,
      aggregates: options.aggregates,
      conflictRate: options.conflictRate,
      concurrency: options.concurrency,
      seed: options.seed,
      onProgress: (done, total) => bars.commands(done, total),
    });
    bars.expect(workload.committed.size);
    await pipeline.drain(Math.max(60_000, options.events * 20));
  } finally {
    bars.stop();
  }
  const report = await verifyRun(pipeline, workload, tracker);
  printReport(report);
  if (options.json)
    writeFileSync(options.json, `${JSON.stringify({ machine: machineInfo(), options, report }, null, 2)}\n`);
  if (options.keep) await keepRunning(pipeline);
  await pipeline.stop();
  return report.ok ? 0 : 1;
}

type Options = ReturnType<typeof parseOptions>;

/** Starts the pipeline, stopping it (and removing the state file) on Ctrl-C or SIGTERM. */
async function startPipeline(options: Options, tracker: DeliveryTracker): Promise<LocalAws> {
  console.log(
    'Starting the local pipeline (DynamoDB Local, SQS emulator, EventBridge emulator, Lambda bundles)...',
  );
  let pipeline: LocalAws | undefined;
  let stopping = false;
  const shutdown = async (code: number) => {
    // The state file goes first: a second signal (or a wrapper's SIGKILL) may not wait for the rest.
    rmSync(LOCAL_STATE_FILE, { force: true });
    if (stopping) return;
    stopping = true;
    await pipeline?.stop();
    process.exit(code);
  };
  process.on('SIGINT', () => void shutdown(130));
  process.on('SIGTERM', () => void shutdown(143));
  pipeline = await startOutboxPipeline({
    faults: {
      seed: options.seed,
      stream: { reorderRate: options.reorderRate, duplicateRate: options.duplicateRate },
    },
    observe: tracker.observe,
    functionConcurrency: 2,
    iam: options.iam,
    ...(options.keep ? { outputsFile: LOCAL_OUTPUTS_FILE } : {}),
  });
  const { timings } = pipeline;
  const synth = timings.synthCached ? 'cached' : `${(timings.synthMs / 1000).toFixed(1)} s`;
  console.log(
    `Ready in ${((timings.synthMs + timings.startMs) / 1000).toFixed(1)} s (synth ${synth}, engines + resources + handlers ${(timings.startMs / 1000).toFixed(1)} s, IAM ${pipeline.iam.enabled ? 'enforced' : 'off'}). Function logs: .local/logs/`,
  );
  return pipeline;
}

/** The demo's progress bars: commands sent, and events each consumer processed. */
class DemoProgress {
  private readonly bars: cliProgress.MultiBar;
  private readonly commandsBar: cliProgress.SingleBar;
  private readonly consumerBars: Array<{ readonly id: string; readonly bar: cliProgress.SingleBar }>;
  private readonly ticker: NodeJS.Timeout;

  constructor(
    pipeline: LocalAws,
    events: number,
    private readonly tracker: DeliveryTracker,
  ) {
    const consumerIds = pipeline.sqsMappings.map((m) => m.spec.functionLogicalId);
    this.bars = new cliProgress.MultiBar(
      {
        format: ' {name} |{bar}| {value}/{total}',
        barCompleteChar: '█',
        barIncompleteChar: '░',
        hideCursor: true,
        clearOnComplete: false,
        fps: 10,
      },
      cliProgress.Presets.shades_classic,
    );
    const width = Math.max(...consumerIds.map((id) => id.length), 'commands'.length);
    this.commandsBar = this.bars.create(events, 0, {}, { format: barFormat('commands'.padEnd(width)) });
    this.consumerBars = consumerIds.map((id) => ({
      id,
      bar: this.bars.create(events, 0, {}, { format: barFormat(id.padEnd(width)) }),
    }));
    this.ticker = setInterval(() => this.refresh(), 200);
  }

  commands(done: number, total: number): void {
    this.commandsBar.setTotal(total);
    this.commandsBar.update(done);
  }

  /** How many events each consumer should process, once the workload knows. */
  expect(committed: number): void {
    for (const { bar } of this.consumerBars) bar.setTotal(committed);
  }

  stop(): void {
    clearInterval(this.ticker);
    this.refresh();
    this.bars.stop();
  }

  private refresh(): void {
    for (const { id, bar } of this.consumerBars) bar.update(this.tracker.processedCount(id));
  }
}

/** `--keep`: writes the state file other tools read, prints the endpoints, and waits for Ctrl-C. */
async function keepRunning(pipeline: LocalAws): Promise<never> {
  writeFileSync(LOCAL_STATE_FILE, `${JSON.stringify(localState(pipeline), null, 2)}\n`);
  process.once('exit', () => rmSync(LOCAL_STATE_FILE, { force: true }));
  printEndpoints(pipeline);
  return new Promise<never>(() => {});
}

function printEndpoints(pipeline: LocalAws): void {
  const outputs = Object.entries(pipeline.outputs).map(([k, v]) => `  ${k.padEnd(40)} ${v}`);
  const api = [...pipeline.functionUrls.values()][0];
  console.log(
    [
      '',
      'The pipeline keeps running. Endpoints:',
      `  DynamoDB     ${pipeline.endpoints.dynamodb}`,
      `  SQS          ${pipeline.endpoints.sqs}`,
      `  EventBridge  ${pipeline.endpoints.eventbridge}`,
      `  S3           ${pipeline.endpoints.s3}`,
      `  Order API    ${api}`,
      'Stack outputs, resolved locally:',
      ...outputs,
      '',
      `Stack outputs file (cdk deploy --outputs-file format): ${LOCAL_OUTPUTS_FILE}`,
      '',
      'Try it (access key "local", the operator, is allowed everything; region us-east-1):',
      `  curl -s --aws-sigv4 aws:amz:us-east-1:lambda --user local:local -H "idempotency-key: $(uuidgen)" \\`,
      `    -X POST ${api}orders -d '{"customerId":"c-1","lines":[{"sku":"A","quantity":1,"unitPrice":500}]}'`,
      '  npm run test:e2e        (the deployed-stack suite, against this pipeline)',
      `  aws dynamodb scan --table-name ${pipeline.outputs.TableName ?? '<table>'} --endpoint-url ${pipeline.endpoints.dynamodb} --region us-east-1`,
      `  aws sqs list-queues --endpoint-url ${pipeline.endpoints.sqs} --region us-east-1`,
      'Press Ctrl-C to stop.',
    ].join('\n'),
  );
}

/**
 * What `npm run outbox -- --local` reads to find the running local pipeline:
 * endpoints, region and the stack outputs resolved to local names.
 */
function localState(pipeline: LocalAws) {
  return {
    pid: process.pid,
    startedAt: new Date().toISOString(),
    region: pipeline.clientConfig.region,
    endpoints: pipeline.endpoints,
    functionUrls: Object.fromEntries(pipeline.functionUrls),
    outputs: pipeline.outputs,
  };
}

/** Each bar's label is part of its own format, so it shows the same with or without a TTY. */
function barFormat(label: string): string {
  return ` ${label} |{bar}| {value}/{total}`;
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(`\nnpm start failed: ${(error as Error).message}`);
    if ((error as Error).name === 'JavaNotFoundError') console.error('Install Java 17+ and try again.');
    process.exit(1);
  },
);

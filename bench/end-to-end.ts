import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBStreamEvent, SQSEvent } from 'aws-lambda';
import { createTables, type ObservedInvocation } from 'local-aws';
import { ENTITY_TYPES } from '../contract/keys';
import { type CommitRequest, OutboxWriter } from '../functions/shared/outbox-writer';
import { DeliveryTracker, percentile } from '../local/demo/delivery-tracker';
import { verifyRun } from '../local/demo/verify';
import { runWorkload } from '../local/demo/workload';
import { startOutboxPipeline } from '../local/pipeline';
import type { Cleanup } from './cleanup';
import { type PhaseBar, phaseBar, withBar } from './progress';
import { dropTable } from './relay-engines';
import { median, ratio, round } from './stats';

/** Options of {@link measureEndToEnd}. */
export interface EndToEndOptions {
  /** Events to commit through the order API (one per command). */
  readonly events: number;
  readonly aggregates: number;
  /** Commands in flight at once; also the concurrency of the raw write measurement. */
  readonly concurrency: number;
  /** Execution environments per function (as `npm start`). */
  readonly functionConcurrency: number;
  readonly seed: number;
}

/** What one event source mapping's function did during the run. */
export interface StageResult {
  readonly functionId: string;
  readonly source: 'dynamodb-stream' | 'sqs';
  readonly invocations: number;
  readonly records: number;
  /** Events among the records: outbox records for the stream (it also carries state and probe records), every record for SQS. */
  readonly events: number;
  readonly recordsPerInvocation: number;
  readonly msPerInvocation: { readonly p50: number; readonly p95: number };
  /** Batches this mapping can have in flight at once (1 per shard for the stream). */
  readonly parallelism: number;
  /** Events per second of invocation time, times parallelism: the stage's ceiling on this machine. */
  readonly capacityEventsPerSecond: number;
  /** Share of the run's window its invocations were busy, per parallel slot. */
  readonly utilisation: number;
}

/** The end-to-end figures. */
export interface EndToEndResult {
  readonly events: number;
  readonly aggregates: number;
  readonly concurrency: number;
  readonly functionConcurrency: number;
  readonly ok: boolean;
  readonly problems: ReadonlyArray<string>;
  /** Raw TransactWriteItems rate of DynamoDB Local, same transactions, same concurrency, events/s. */
  readonly rawWriteEventsPerSecond: number;
  /** Commit rate through the order API (Function URL → producer Lambda → OutboxWriter), events/s. */
  readonly producerEventsPerSecond: number;
  /** Committed events / (last consumer done − first commit), events/s. */
  readonly endToEndEventsPerSecond: number;
  /** endToEnd / rawWrite. */
  readonly ratioToRawWrites: number;
  readonly producerRatioToRawWrites: number;
  readonly latencyMs: { readonly p50: number; readonly p95: number; readonly p99: number };
  readonly consumers: ReadonlyArray<{
    readonly functionId: string;
    readonly ordered: boolean;
    readonly delivered: number;
    readonly latencyMs: { readonly p50: number; readonly p95: number; readonly p99: number };
  }>;
  readonly stages: ReadonlyArray<StageResult>;
  /** The order API's Function URL invocations, timed from outside (waiting for a free environment included). */
  readonly producer: {
    readonly commands: number;
    readonly latencyMs: { readonly p50: number; readonly p95: number };
    /** environments / commit rate: the time one command holds an environment while the API is saturated. */
    readonly serviceMsPerCommand: number;
  };
  /** Module init of each function in its worker (the runtime's cold start), median, ms. */
  readonly workerColdStartMs: Readonly<Record<string, number>>;
  readonly durationMs: number;
}

/**
 * Runs the deployable pipeline locally (`startLocalPipeline`), first measures
 * what DynamoDB Local itself sustains for the OutboxWriter's transactions at
 * the workload's concurrency (on a scratch table, so nothing is relayed), then
 * drives the demo workload through the order API, waits until every consumer
 * is done, and checks the run with the demo's verifier.
 */
export async function measureEndToEnd(options: EndToEndOptions, cleanup: Cleanup): Promise<EndToEndResult> {
  const tracker = new DeliveryTracker();
  const observed: ObservedInvocation[] = [];
  const [pipeline, stopPipeline] = await withBar('e2e: start local pipeline', 1, 'step', async (bar) => {
    const started = await cleanup.track(
      startOutboxPipeline({
        observe: (invocation) => {
          observed.push(invocation);
          tracker.observe(invocation);
        },
        functionConcurrency: options.functionConcurrency,
        logDir: join(tmpdir(), 'outbox-bench-logs'),
      }),
      (p) => p.stop(),
    );
    bar.increment();
    return started;
  });
  try {
    const apiUrl = [...pipeline.functionUrls.values()][0];
    if (!apiUrl) throw new Error('the stack has no Function URL to send commands to');
    const outboxSpec = pipeline.topology.tables.find((t) => t.streamViewType);
    if (!outboxSpec) throw new Error('the stack has no table with a stream');

    const commandMs = timeInvocations(pipeline, [...pipeline.functionUrls.keys()][0]);
    const perOrder = Math.max(2, Math.round(options.events / options.aggregates));
    const plannedEvents = perOrder * options.aggregates;
    const rawWriteEventsPerSecond = await measureRawWrites(pipeline, outboxSpec, options, perOrder);

    const commands = phaseBar('e2e: commands via the order API', plannedEvents, 'commands');
    const consumerIds = pipeline.sqsMappings.map((m) => m.spec.functionLogicalId);
    const delivered = () => Math.min(...consumerIds.map((id) => tracker.processedCount(id)));
    let deliveries: PhaseBar | undefined;
    let ticker: NodeJS.Timeout | undefined;
    try {
      const workload = await runWorkload(apiUrl, {
        events: options.events,
        aggregates: options.aggregates,
        // Conflicts would make the workload commit fewer events than the raw writes it is compared with.
        conflictRate: 0,
        concurrency: options.concurrency,
        seed: options.seed,
        onProgress: (done, total) => {
          commands.setTotal(total);
          commands.update(done);
        },
      });
      commands.stop();
      // Consumers have been working all along; this bar shows them catching up after the last commit.
      const bar = phaseBar('e2e: delivered to every consumer', workload.committed.size, 'events');
      deliveries = bar;
      bar.update(delivered());
      ticker = setInterval(() => bar.update(delivered()), 250);
      await pipeline.drain(Math.max(120_000, options.events * 100));
      bar.update(delivered());
      const report = await verifyRun(pipeline, workload, tracker);
      return summarize(options, pipeline, observed, workload, report, rawWriteEventsPerSecond, commandMs);
    } finally {
      clearInterval(ticker);
      commands.stop();
      deliveries?.stop();
    }
  } finally {
    await stopPipeline();
  }
}

/** The end-to-end figures from the verified run. */
function summarize(
  options: EndToEndOptions,
  pipeline: Awaited<ReturnType<typeof startOutboxPipeline>>,
  observed: ReadonlyArray<ObservedInvocation>,
  workload: Awaited<ReturnType<typeof runWorkload>>,
  report: Awaited<ReturnType<typeof verifyRun>>,
  rawWriteEventsPerSecond: number,
  commandMs: ReadonlyArray<number>,
): EndToEndResult {
  const producerEventsPerSecond =
    (workload.committed.size * 1000) / Math.max(1, workload.lastCommitAt - workload.firstCommitAt);
  const windowMs = report.durationMs;
  return {
    events: report.committed,
    aggregates: report.aggregates,
    concurrency: options.concurrency,
    functionConcurrency: options.functionConcurrency,
    ok: report.ok,
    problems: report.problems,
    rawWriteEventsPerSecond: round(rawWriteEventsPerSecond, 0),
    producerEventsPerSecond: round(producerEventsPerSecond, 0),
    endToEndEventsPerSecond: round(report.throughputPerSecond, 0),
    ratioToRawWrites: round(ratio(report.throughputPerSecond, rawWriteEventsPerSecond), 2),
    producerRatioToRawWrites: round(ratio(producerEventsPerSecond, rawWriteEventsPerSecond), 2),
    latencyMs: report.latencyMs,
    consumers: report.consumers.map((c) => ({
      functionId: c.functionId,
      ordered: c.ordered,
      delivered: c.delivered,
      latencyMs: c.latencyMs,
    })),
    stages: stageResults(pipeline, observed, windowMs, options.functionConcurrency),
    producer: {
      commands: commandMs.length,
      latencyMs: { p50: round(percentile(commandMs, 50), 0), p95: round(percentile(commandMs, 95), 0) },
      serviceMsPerCommand: round(ratio(options.functionConcurrency * 1000, producerEventsPerSecond), 0),
    },
    workerColdStartMs: Object.fromEntries(
      [...pipeline.functions].map(([id, fn]) => [id, round(median(fn.coldStartsMs), 0)]),
    ),
    durationMs: windowMs,
  };
}

/**
 * DynamoDB Local's own rate for the OutboxWriter's transactions: the same orders
 * (place, items, confirm: one event per transaction, each order's commands in
 * sequence), the same concurrency, on a scratch copy of the outbox table (with
 * its stream, which costs the engine too) that no mapping reads. A short
 * untimed warm-up comes first, as the JVM is still compiling.
 */
async function measureRawWrites(
  pipeline: Awaited<ReturnType<typeof startOutboxPipeline>>,
  outboxSpec: Awaited<ReturnType<typeof startOutboxPipeline>>['topology']['tables'][number],
  options: EndToEndOptions,
  perOrder: number,
): Promise<number> {
  const client = new DynamoDBClient({ ...pipeline.clientConfig, endpoint: pipeline.endpoints.dynamodb });
  const [table] = await createTables(client, [{ ...outboxSpec, logicalId: 'BenchRawWrites' }]);
  if (!table) throw new Error('could not create the scratch table');
  try {
    const writer = new OutboxWriter({ client, tableName: table.name, source: 'com.example.orders' });
    const warmUpOrders = Math.max(options.concurrency, Math.round(options.aggregates / 5));
    const total = (warmUpOrders + options.aggregates) * perOrder;
    return await withBar('e2e: raw TransactWriteItems', total, 'transactions', async (bar) => {
      await writeOrders(writer, 'warm', warmUpOrders, perOrder, options.concurrency, () => bar.increment());
      const started = performance.now();
      const events = await writeOrders(writer, 'raw', options.aggregates, perOrder, options.concurrency, () =>
        bar.increment(),
      );
      return (events * 1000) / (performance.now() - started);
    });
  } finally {
    await dropTable(client, table.name);
    client.destroy();
  }
}

/** Commits `orders` orders of `perOrder` events each, `concurrency` orders at a time; returns the events. */
async function writeOrders(
  writer: OutboxWriter,
  tag: string,
  orders: number,
  perOrder: number,
  concurrency: number,
  onCommit: () => void,
): Promise<number> {
  const runId = `${tag}-${Date.now().toString(36)}`;
  let next = 0;
  let events = 0;
  const worker = async () => {
    while (next < orders) {
      const orderId = `o-${runId}-${next++}`;
      for (const request of orderCommits(orderId, perOrder)) {
        await writer.commit(request);
        events++;
        onCommit();
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, orders) }, worker));
  return events;
}

/** The transactions the order API commits for one order of the demo workload: place, items, confirm. */
function orderCommits(orderId: string, perOrder: number): CommitRequest[] {
  const lines = [{ sku: 'SKU-1', quantity: 1, unitPrice: 1000 }];
  const customerId = `c-${orderId.length % 50}`;
  const total = () => lines.reduce((sum, l) => sum + l.quantity * l.unitPrice, 0);
  const base = { aggregateType: 'Order', aggregateId: orderId, correlationId: `demo-${orderId}` };
  const requests: CommitRequest[] = [
    {
      ...base,
      expectedVersion: 0,
      state: { status: 'PLACED', customerId, lines: [...lines], total: total() },
      events: [{ type: 'OrderPlaced', data: { customerId, lines: [...lines], total: total() } }],
    },
  ];
  for (let i = 0; i < perOrder - 2; i++) {
    const line = { sku: `SKU-${i + 2}`, quantity: 1 + (i % 3), unitPrice: 250 };
    lines.push(line);
    requests.push({
      ...base,
      expectedVersion: requests.length,
      state: { status: 'PLACED', customerId, lines: [...lines], total: total() },
      events: [{ type: 'OrderItemAdded', data: { line, total: total() } }],
    });
  }
  requests.push({
    ...base,
    expectedVersion: requests.length,
    state: { status: 'CONFIRMED', customerId, lines: [...lines], total: total() },
    events: [{ type: 'OrderConfirmed', data: { total: total() } }],
  });
  return requests;
}

/**
 * Times every invocation of one function from outside (the Function URL server calls
 * `invoke` on the instance, so wrapping it there sees each command). Bench-only
 * instrumentation of the running pipeline; the function itself is unchanged.
 */
function timeInvocations(
  pipeline: Awaited<ReturnType<typeof startOutboxPipeline>>,
  functionId: string | undefined,
): number[] {
  const durations: number[] = [];
  const fn = functionId === undefined ? undefined : pipeline.functions.get(functionId);
  if (!fn) return durations;
  const target = fn as unknown as { invoke: (event: unknown) => Promise<unknown> };
  const invoke = target.invoke.bind(fn);
  target.invoke = async (event) => {
    const started = performance.now();
    try {
      return await invoke(event);
    } finally {
      durations.push(performance.now() - started);
    }
  };
  return durations;
}

/** Per-mapping invocation statistics from what the runtime observed. */
function stageResults(
  pipeline: Awaited<ReturnType<typeof startOutboxPipeline>>,
  observed: ReadonlyArray<ObservedInvocation>,
  windowMs: number,
  functionConcurrency: number,
): StageResult[] {
  const specs = [...pipeline.streamMappings, ...pipeline.sqsMappings].map((m) => m.spec);
  return specs.map((spec) => {
    const invocations = observed.filter((o) => o.mapping.logicalId === spec.logicalId);
    const durations = invocations.map((o) => o.endedAt - o.startedAt);
    const busyMs = durations.reduce((a, b) => a + b, 0);
    const records = invocations.reduce(
      (sum, o) => sum + ((o.event as DynamoDBStreamEvent | SQSEvent).Records?.length ?? 0),
      0,
    );
    const events =
      spec.source.kind === 'dynamodb-stream'
        ? invocations.reduce(
            (sum, o) =>
              sum +
              ((o.event as DynamoDBStreamEvent).Records ?? []).filter(
                (r) => r.dynamodb?.NewImage?.entityType?.S === ENTITY_TYPES.outbox,
              ).length,
            0,
          )
        : records;
    // One shard on DynamoDB Local: the stream mapping runs one batch at a time (ParallelizationFactor 1).
    const parallelism =
      spec.source.kind === 'dynamodb-stream'
        ? Math.min(spec.parallelizationFactor ?? 1, functionConcurrency)
        : Math.min(spec.maximumConcurrency ?? Math.max(2, functionConcurrency), functionConcurrency);
    return {
      functionId: spec.functionLogicalId,
      source: spec.source.kind,
      invocations: invocations.length,
      records,
      events,
      recordsPerInvocation: round(ratio(records, invocations.length), 1),
      msPerInvocation: { p50: round(percentile(durations, 50), 0), p95: round(percentile(durations, 95), 0) },
      parallelism,
      capacityEventsPerSecond: round(ratio(events * 1000 * parallelism, busyMs), 0),
      utilisation: round(ratio(busyMs, windowMs * parallelism), 2),
    };
  });
}

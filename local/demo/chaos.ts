import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { InjectedFaults, LocalAws } from 'local-aws';
import { ENV } from '../../contract/env';
import { consumerOutputKey, STACK_OUTPUTS } from '../../contract/stack-outputs';
import { startOutboxPipeline } from '../pipeline';
import {
  commitPoison,
  type HostileReport,
  LateConsumer,
  type PoisonReport,
  type RelayFailure,
  relayFailures as readRelayFailures,
  sendHostileInputs,
  waitForDeadLetters,
} from './chaos-operations';
import { deadLetteredEvents } from './dead-letters';
import { DeliveryTracker } from './delivery-tracker';
import { runOutboxCli } from './operator-cli';
import { type ScaffoldedApp, type ScaffoldedConsumer, scaffoldedApp } from './scaffolded-app';
import { scaffoldedEffectMismatches } from './scaffolded-effects';
import { appliedOrderViolations } from './trace';
import { type PipelineReport, verifyRun } from './verify';
import { runWorkload, type WorkloadResult } from './workload';

/** Shape of a chaos run. */
export interface ChaosOptions {
  readonly events: number;
  readonly aggregates: number;
  /** Base fault rate; each fault is injected at this rate (crashes and throttles at half). */
  readonly faultRate: number;
  /** Live orders that get a poison event mid-run (a payload its schema refuses). */
  readonly poisonEvents: number;
  /** Hostile requests of each kind (emoji orders, smuggled envelopes) sent mid-run. @default 3 */
  readonly hostileInputs?: number;
  /** Enforce the template's IAM on every call. @default true */
  readonly iam?: boolean;
  /** Run with a scaffolded ordered and unordered consumer added to the stack. @default true */
  readonly scaffolded?: boolean;
  readonly seed: number;
  readonly concurrency?: number;
  readonly onProgress?: (phase: 'commands' | 'delivery', done: number, total: number) => void;
  /** Called with the pipeline once it runs (e.g. to show live delivery counts). */
  readonly onPipeline?: (pipeline: LocalAws, tracker: DeliveryTracker) => void;
}

/** What the operator did while traffic flowed, and what came of it. */
export interface OperatorReport {
  /** `replay` of some orders mid-run: exit code and how many orders. */
  readonly replay: { readonly orders: number; readonly code: number };
  /** `redrive` of the projection's DLQ mid-run (the poison fails again and comes back). */
  readonly redrive: { readonly code: number; readonly output: string };
  /** `skip` of each poison event on each ordered consumer that parked behind it. */
  readonly skips: { readonly sent: number; readonly failed: number };
  /** The ordered consumer added mid-run (deployed, then backfilled), if any. */
  readonly lateConsumer?: { readonly name: string; readonly backfillCode: number };
}

/** The outcome of a chaos run. */
export interface ChaosResult {
  readonly report: PipelineReport;
  readonly injected: InjectedFaults;
  /** Injected faults per committed event. */
  readonly faultRatio: number;
  readonly poison: ReadonlyMap<string, string>;
  readonly hostile: HostileReport;
  /** The relay failure queue's messages (the smuggled envelopes, each once per publish path that met it). */
  readonly relayFailures: ReadonlyArray<RelayFailure>;
  readonly operator: OperatorReport;
  /** The scaffolded consumers and how many of their read-model counters disagree with what committed. */
  readonly scaffolded: {
    readonly consumers: ReadonlyArray<ScaffoldedConsumer>;
    readonly effectMismatches: number;
  };
}

/** Consumers of the stack that validate the poison's type (OrderConfirmed), so they dead-letter it. */
function validatingConsumers(scaffolded: ScaffoldedApp | undefined): ScaffoldedConsumer[] {
  return [
    { name: 'order-projection', ordered: true, handles: [], argv: [] },
    ...(scaffolded?.consumers.filter((c) => c.handles.includes('OrderConfirmed')) ?? []),
  ];
}

/**
 * Runs the order workload on the local pipeline with every fault injected at once (PutEvents
 * entry failures and throttling, SendMessageBatch entry failures, relay and consumer crashes,
 * reordered and duplicated stream records, DynamoDB throttling and transaction conflicts) on a
 * stack that also deploys a scaffolded ordered and unordered consumer, and, while the workload
 * runs: poison on live orders, hostile requests and smuggled envelopes, an operator's replay and
 * redrive. After it, the operator skips the poison. Then it checks: nothing lost, nothing
 * ghosted, no effect doubled, order held, poison only in the DLQs of consumers that validate it.
 */
export async function runChaos(options: ChaosOptions): Promise<ChaosResult> {
  checkOptions(options);
  const rate = options.faultRate;
  const tracker = new DeliveryTracker();
  const scaffolded = options.scaffolded === false ? undefined : scaffoldedApp();
  // Logs of this run only: the order check reads the kit's "event applied" lines.
  const logDir = mkdtempSync(join(tmpdir(), 'outbox-chaos-logs-'));
  try {
    const pipeline = await startOutboxPipeline({
      logDir,
      ...(scaffolded ? { app: scaffolded.app } : {}),
      observe: tracker.observe,
      iam: options.iam !== false,
      faults: {
        seed: options.seed,
        stream: { reorderRate: rate, duplicateRate: rate },
        eventBridge: { putEventsEntryFailureRate: rate, throttleRate: rate / 2 },
        sqs: { sendMessageBatchEntryFailureRate: rate },
        dynamodb: { throttleRate: rate / 2, transactionConflictRate: rate },
        functions: { crashRate: rate / 2 },
      },
      // Crashed consumer batches come back after the visibility timeout; keep both short and
      // the timeout below it, as the stack does (6x), so idempotency's in-progress records expire first.
      functionTimeoutSeconds: 12,
      queueVisibilityTimeoutSeconds: 16,
    });
    try {
      options.onPipeline?.(pipeline, tracker);
      return await runOn(pipeline, tracker, scaffolded, options, logDir);
    } finally {
      await pipeline.stop();
    }
  } finally {
    scaffolded?.remove();
    rmSync(logDir, { recursive: true, force: true });
  }
}

async function runOn(
  pipeline: LocalAws,
  tracker: DeliveryTracker,
  scaffolded: ScaffoldedApp | undefined,
  options: ChaosOptions,
  logDir: string,
): Promise<ChaosResult> {
  const apiUrl = pipeline.outputs[STACK_OUTPUTS.orderApiUrl] ?? [...pipeline.functionUrls.values()][0];
  if (!apiUrl) throw new Error('the stack has no Function URL to send commands to');
  const cli = await operatorCli(scaffolded);
  // The scaffolded ordered consumer is "deployed" mid-run, into a running system.
  const late = scaffolded?.consumers.find((c) => c.ordered);
  const lateConsumer = late ? new LateConsumer(pipeline, late.name) : undefined;
  await lateConsumer?.holdBack();
  const midRun = new MidRunActions(pipeline, apiUrl, options, cli, lateConsumer);
  const workload = await runTraffic(apiUrl, options, midRun);
  const { poison, hostile, replay, redrive, backfillCode } = await midRun.settled(workload);
  const validating = validatingConsumers(scaffolded);
  const skips = await skipWhereDeadLettered(pipeline, cli, poison, validating, options);

  const poisonIds = new Map([...poison.events].map(([id, { aggregate }]) => [id, aggregate]));
  const report = await verifyRun(pipeline, workload, tracker, {
    poison: poisonIds,
    deadLetters: validating.map((c) => c.name),
    // A consumer the user scaffolded into this copy may validate the poison too.
    poisonElsewhere: true,
    appliedOrderViolations: appliedOrderViolations(logDir),
  });
  const relayFailures = await readRelayFailures(pipeline);
  const effectMismatches = scaffolded
    ? await scaffoldedEffectMismatches(
        pipeline,
        scaffolded.consumers,
        workload,
        new Set(poison.events.keys()),
      )
    : 0;
  const problems = [
    ...report.problems,
    ...operatorProblems({
      hostile,
      relayFailures,
      replay,
      skips,
      backfillCode,
      lateConsumer,
      effectMismatches,
    }),
  ];
  const injected = pipeline.injectedFaults();
  const total = Object.values(injected).reduce((a, b) => a + b, 0);
  return {
    report: { ...report, problems, ok: problems.length === 0 },
    injected,
    faultRatio: total / Math.max(1, report.committed),
    poison: poisonIds,
    hostile,
    relayFailures,
    operator: {
      replay,
      redrive,
      skips,
      ...(lateConsumer
        ? { lateConsumer: { name: lateConsumer.name, backfillCode: backfillCode ?? -1 } }
        : {}),
    },
    scaffolded: { consumers: scaffolded?.consumers ?? [], effectMismatches },
  };
}

/** `npm run outbox` in-process, as the operator of this stack runs it. */
type OperatorCli = typeof runOutboxCli;

/**
 * The operator CLI of the stack that runs: a scaffolded copy's own (its registry knows the
 * scaffolded consumers, as a user's clone would), or this project's.
 */
async function operatorCli(scaffolded: ScaffoldedApp | undefined): Promise<OperatorCli> {
  if (!scaffolded) return runOutboxCli;
  const module = (await import(
    pathToFileURL(join(scaffolded.root, 'local', 'demo', 'operator-cli.ts')).href
  )) as {
    runOutboxCli: OperatorCli;
  };
  return module.runOutboxCli;
}

/** The actions taken while the workload runs, each started once when the workload reaches its share. */
class MidRunActions {
  private poison: Promise<PoisonReport> | undefined;
  private hostile: Promise<HostileReport> | undefined;
  private replay: Promise<{ orders: number; code: number }> | undefined;
  private redrive: Promise<{ code: number; output: string }> | undefined;
  private join: Promise<number> | undefined;

  constructor(
    private readonly pipeline: LocalAws,
    private readonly apiUrl: string,
    private readonly options: ChaosOptions,
    private readonly cli: OperatorCli,
    private readonly lateConsumer: LateConsumer | undefined,
  ) {}

  /** Called on the workload's progress (0..1). */
  at(share: number): void {
    if (share >= 0.25 && !this.poison)
      this.poison = commitPoison(this.pipeline, this.liveOrders(this.options.poisonEvents));
    if (share >= 0.35 && !this.hostile) this.hostile = this.startHostile();
    if (share >= 0.4 && !this.join && this.lateConsumer) this.join = this.lateConsumer.join(this.cli);
    if (share >= 0.5 && !this.replay) this.replay = this.startReplay();
    if (share >= 0.6 && !this.redrive && this.poison) this.redrive = this.startRedrive(this.poison);
  }

  /** Waits for every action; starts those the workload finished before reaching. */
  async settled(workload: WorkloadResult) {
    this.at(1);
    const [poison, hostile, replay, redrive, backfillCode] = await Promise.all([
      this.poison,
      this.hostile,
      this.replay,
      this.redrive,
      this.join,
    ]);
    if (!poison || !hostile || !replay || !redrive) throw new Error('a mid-run action never started');
    for (const [id, { aggregate, sequence }] of poison.events) {
      workload.committed.set(id, { aggregate, sequence, type: 'OrderConfirmed' });
    }
    for (const [id, entry] of this.astral) workload.committed.set(id, entry);
    return { poison, hostile, replay, redrive, backfillCode };
  }

  private readonly astral = new Map<string, { aggregate: string; sequence: number; type: string }>();

  /** Orders the workload is writing to now: its order ids are `o-<run>-<n>`, known from the first commits. */
  private liveOrders(count: number): string[] {
    return this.knownOrders().slice(0, count);
  }

  private knownOrders(): string[] {
    return [...new Set(this.pipelineCommitted().map((entry) => entry.aggregate))];
  }

  /** What the workload has committed and the relay published so far: the bus archive. */
  private pipelineCommitted(): Array<{ aggregate: string }> {
    const bus = this.pipeline.topology.eventBuses[0]?.name;
    const archived = bus ? this.pipeline.eventBus.archive(bus) : [];
    return archived
      .map((entry) => entry.event.detail as { aggregatetype?: string; aggregateid?: string })
      .filter((detail) => detail.aggregatetype === 'Order' && detail.aggregateid?.startsWith('o-'))
      .map((detail) => ({ aggregate: `Order#${detail.aggregateid}` }));
  }

  private async startHostile(): Promise<HostileReport> {
    const committed = new Map<string, { aggregate: string; sequence: number; type: string }>();
    const report = await sendHostileInputs(
      this.pipeline,
      this.apiUrl,
      { committed },
      this.options.hostileInputs ?? 3,
    );
    for (const [id, entry] of committed) this.astral.set(id, entry);
    return report;
  }

  private async startReplay(): Promise<{ orders: number; code: number }> {
    const orders = this.knownOrders().slice(-5);
    let code = 0;
    for (const aggregate of orders) {
      // Replay is safe to repeat: run again while a target refused something (the SQS faults hit the CLI too).
      let run = await this.cli(this.pipeline, ['replay', '--aggregate', aggregate]);
      for (let retry = 0; run.code !== 0 && retry < 5; retry++)
        run = await this.cli(this.pipeline, ['replay', '--aggregate', aggregate]);
      code = Math.max(code, run.code);
    }
    return { orders: orders.length, code };
  }

  private async startRedrive(poison: Promise<PoisonReport>): Promise<{ code: number; output: string }> {
    const { events } = await poison;
    await waitForDeadLetters(this.pipeline, 'order-projection', events.size, 60_000);
    const run = await this.cli(this.pipeline, [
      'redrive',
      '--queue',
      consumerOutputKey('order-projection', 'deadLetterQueueUrl'),
    ]);
    return { code: run.code, output: run.out };
  }
}

/**
 * The ordered consumers whose DLQ holds poison, by the name the stack gives each function
 * (CONSUMER_NAME): the examples, the scaffolded ones, and any a user added that validates it.
 */
async function orderedHoldingPoison(pipeline: LocalAws, poison: PoisonReport): Promise<string[]> {
  const deadLettered = await deadLetteredEvents(pipeline);
  const holding: string[] = [];
  for (const fn of pipeline.functions.values()) {
    const name = fn.environment[ENV.consumerName];
    if (!name || fn.environment[ENV.consumerKind] !== 'ordered') continue;
    const dlqUrl = pipeline.outputs[consumerOutputKey(name, 'deadLetterQueueUrl')];
    const queue = pipeline.queues.find((q) => q.url === dlqUrl);
    const events = queue ? deadLettered.get(queue.logicalId) : undefined;
    if (events && [...poison.events.keys()].some((id) => events.has(id))) holding.push(name);
  }
  return holding;
}

/** The operator's way out for a poison event: `skip` it on every ordered consumer parked behind it. */
async function skipPoison(
  pipeline: LocalAws,
  cli: OperatorCli,
  poison: PoisonReport,
  orderedConsumers: ReadonlyArray<string>,
): Promise<OperatorReport['skips']> {
  let sent = 0;
  let failed = 0;
  for (const consumer of orderedConsumers) {
    for (const { aggregate, sequence } of poison.events.values()) {
      const argv = [
        'skip',
        '--consumer',
        consumer,
        '--aggregate',
        aggregate,
        '--sequence',
        String(sequence),
        '--reason',
        'chaos poison',
      ];
      // An operator runs it again when the queue refused the marker (the SQS faults hit the CLI too).
      let code = (await cli(pipeline, argv)).code;
      for (let retry = 0; code !== 0 && retry < 5; retry++) code = (await cli(pipeline, argv)).code;
      if (code === 0) sent++;
      else failed++;
    }
  }
  return { sent, failed };
}

/** The order workload, with the mid-run actions started as it reaches their share. */
function runTraffic(apiUrl: string, options: ChaosOptions, midRun: MidRunActions): Promise<WorkloadResult> {
  return runWorkload(apiUrl, {
    events: options.events,
    aggregates: options.aggregates,
    conflictRate: 0.1,
    concurrency: options.concurrency ?? 16,
    seed: options.seed,
    onProgress: (done, total) => {
      options.onProgress?.('commands', done, total);
      midRun.at(done / total);
    },
  });
}

/**
 * After the traffic: once the poison is in the DLQs of the consumers that validate it and the
 * pipeline is drained, the operator skips it on every ordered consumer that dead-lettered it.
 */
async function skipWhereDeadLettered(
  pipeline: LocalAws,
  cli: OperatorCli,
  poison: PoisonReport,
  validating: ReadonlyArray<ScaffoldedConsumer>,
  options: ChaosOptions,
): Promise<OperatorReport['skips']> {
  await Promise.all(validating.map((c) => waitForDeadLetters(pipeline, c.name, poison.events.size, 60_000)));
  await pipeline.drain(Math.max(120_000, options.events * 60));
  const skips = await skipPoison(pipeline, cli, poison, await orderedHoldingPoison(pipeline, poison));
  await pipeline.drain(Math.max(120_000, options.events * 60));
  return skips;
}

/** What went wrong around the workload: hostile inputs let through, the operator's commands, the scaffolded counters. */
function operatorProblems(found: {
  readonly hostile: HostileReport;
  readonly relayFailures: ReadonlyArray<RelayFailure>;
  readonly replay: { readonly code: number };
  readonly skips: OperatorReport['skips'];
  readonly backfillCode: number | undefined;
  readonly lateConsumer: LateConsumer | undefined;
  readonly effectMismatches: number;
}): string[] {
  const { hostile, replay, skips, lateConsumer, backfillCode, effectMismatches } = found;
  const problems: string[] = [];
  if (hostile.acceptedHostile > 0)
    problems.push(`${hostile.acceptedHostile} hostile requests were not refused`);
  if (hostile.astralRefused > 0)
    problems.push(`${hostile.astralRefused} orders with astral-plane text were refused`);
  problems.push(...relayFailureProblems(found.relayFailures, hostile.smuggled));
  if (lateConsumer && backfillCode !== 0)
    problems.push(`backfill of ${lateConsumer.name} exited ${backfillCode}`);
  if (replay.code !== 0) problems.push(`replay under traffic exited ${replay.code}`);
  if (skips.failed > 0) problems.push(`${skips.failed} skips failed`);
  if (effectMismatches > 0)
    problems.push(`${effectMismatches} scaffolded consumer counters disagree with what committed`);
  return problems;
}

/**
 * The relay failure queue must hold the smuggled envelopes and nothing else: each is stepped over
 * (once by the relay, once more by each backfill or replay that reads it), never delivered.
 */
function relayFailureProblems(
  failures: ReadonlyArray<RelayFailure>,
  smuggled: ReadonlyArray<string>,
): string[] {
  const expected = new Set(smuggled);
  const unexpected = failures.filter(
    (f) => f.reason !== 'MalformedOutboxItem' || !expected.has(f.aggregateKey ?? ''),
  );
  const missing = smuggled.filter((key) => !failures.some((f) => f.aggregateKey === key));
  if (unexpected.length === 0 && missing.length === 0) return [];
  return [
    `relay failure queue: ${unexpected.length} unexpected (${[...new Set(unexpected.map((f) => f.reason))].join(', ')}), ${missing.length} smuggled envelopes missing`,
  ];
}

function checkOptions(options: ChaosOptions): void {
  if (!(options.faultRate >= 0 && options.faultRate <= 1))
    throw new RangeError(`faultRate must be between 0 and 1 (given ${options.faultRate})`);
  if (
    !Number.isInteger(options.poisonEvents) ||
    options.poisonEvents < 0 ||
    options.poisonEvents > options.aggregates
  ) {
    throw new RangeError(`poisonEvents must be between 0 and aggregates (given ${options.poisonEvents})`);
  }
  const hostile = options.hostileInputs ?? 3;
  if (!Number.isInteger(hostile) || hostile < 0 || hostile > 100) {
    throw new RangeError(`hostileInputs must be a whole number from 0 to 100 (given ${hostile})`);
  }
}

import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { InjectedFaults, LocalAws } from 'local-aws';
import { OutboxWriter } from '../../functions/shared/outbox-writer';
import { startOutboxPipeline } from '../pipeline';
import { DeliveryTracker } from './delivery-tracker';
import { type PipelineReport, verifyRun } from './verify';
import { runWorkload } from './workload';

/** Shape of a chaos run. */
export interface ChaosOptions {
  readonly events: number;
  readonly aggregates: number;
  /** Base fault rate; each fault is injected at this rate (crashes and throttles at half). */
  readonly faultRate: number;
  /** Orders that end with an event no ordered consumer accepts. */
  readonly poisonEvents: number;
  readonly seed: number;
  readonly concurrency?: number;
  readonly onProgress?: (phase: 'commands' | 'delivery', done: number, total: number) => void;
  /** Called with the pipeline once it runs (e.g. to show live delivery counts). */
  readonly onPipeline?: (pipeline: LocalAws, tracker: DeliveryTracker) => void;
}

/** The outcome of a chaos run. */
export interface ChaosResult {
  readonly report: PipelineReport;
  readonly injected: InjectedFaults;
  /** Injected faults per committed event. */
  readonly faultRatio: number;
  readonly poison: ReadonlyMap<string, string>;
}

/**
 * Runs the order workload on the local pipeline with every fault injected at
 * once — PutEvents entry failures and throttling, SendMessageBatch entry
 * failures, relay and consumer crashes (mid-invocation and after the effect,
 * before the acknowledgement), reordered and duplicated stream records, DynamoDB
 * throttling and transaction conflicts — then poison events, and checks that
 * nothing was lost, nothing ghosted, no effect doubled, order held, and poison
 * ended in DLQs and nowhere else.
 */
export async function runChaos(options: ChaosOptions): Promise<ChaosResult> {
  if (!(options.faultRate >= 0 && options.faultRate <= 1))
    throw new RangeError(`faultRate must be between 0 and 1 (given ${options.faultRate})`);
  if (
    !Number.isInteger(options.poisonEvents) ||
    options.poisonEvents < 0 ||
    options.poisonEvents > options.aggregates
  ) {
    throw new RangeError(`poisonEvents must be between 0 and aggregates (given ${options.poisonEvents})`);
  }
  const rate = options.faultRate;
  const tracker = new DeliveryTracker();
  const pipeline = await startOutboxPipeline({
    observe: tracker.observe,
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
    functionTimeoutSeconds: 6,
    queueVisibilityTimeoutSeconds: 8,
  });
  try {
    options.onPipeline?.(pipeline, tracker);
    const apiUrl = [...pipeline.functionUrls.values()][0];
    if (!apiUrl) throw new Error('the stack has no Function URL to send commands to');
    const workload = await runWorkload(apiUrl, {
      events: options.events,
      aggregates: options.aggregates,
      conflictRate: 0.1,
      concurrency: options.concurrency ?? 16,
      seed: options.seed,
      onProgress: (done, total) => options.onProgress?.('commands', done, total),
    });

    // Poison: a payload its schema refuses (written around the API's validation, as a buggy
    // producer could), as the last event of a few orders. The projection dead-letters it.
    const poison = new Map<string, string>();
    const dynamodb = new DynamoDBClient({ ...pipeline.clientConfig, endpoint: pipeline.endpoints.dynamodb });
    try {
      const writer = new OutboxWriter({
        client: dynamodb,
        tableName: pipeline.outputs.TableName ?? '',
        source: 'com.example.orders',
      });
      const aggregates = [...new Set([...workload.committed.values()].map((c) => c.aggregate))].slice(
        0,
        options.poisonEvents,
      );
      for (const aggregate of aggregates) {
        const id = aggregate.slice('Order#'.length);
        const current = await writer.load('Order', id);
        const result = await writer.commit({
          aggregateType: 'Order',
          aggregateId: id,
          expectedVersion: current?.version ?? 0,
          state: current?.state ?? {},
          events: [{ type: 'OrderConfirmed', data: { total: 'all of it' } }],
        });
        for (const event of result.events) {
          poison.set(event.id, aggregate);
          workload.committed.set(event.id, { aggregate, sequence: event.sequence, type: 'poison' });
        }
      }
    } finally {
      dynamodb.destroy();
    }

    await pipeline.drain(Math.max(120_000, options.events * 60));
    const report = await verifyRun(pipeline, workload, tracker, { poison });
    const injected = pipeline.injectedFaults();
    const total = Object.values(injected).reduce((a, b) => a + b, 0);
    return { report, injected, faultRatio: total / Math.max(1, report.committed), poison };
  } finally {
    await pipeline.stop();
  }
}

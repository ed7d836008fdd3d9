import { type AttributeValue, BatchGetItemCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { LocalAws } from 'local-aws';
import { compileEventPattern } from 'local-aws';
import { consumerItemPk, KEYS } from '../../contract/keys';
import { consumerOutputKey } from '../../contract/stack-outputs';
import { type DeliveryTracker, percentile } from './delivery-tracker';
import type { WorkloadResult } from './workload';

/** The example consumers whose effects the demo reads back. */
const PROJECTION = 'order-projection';
const ACTIVITY = 'order-activity';

/** What a run is expected to contain beyond the workload's committed events. */
export interface RunExpectations {
  /** Poison event ids → aggregate key: events the projection dead-letters (its view skips them). */
  readonly poison?: ReadonlyMap<string, string>;
  /** The consumers whose DLQs must hold exactly the poison events (all other DLQs none). @default the projection */
  readonly deadLetters?: ReadonlyArray<string>;
}

/** Per-consumer outcome. */
export interface ConsumerReport {
  readonly functionId: string;
  readonly ordered: boolean;
  readonly expected: number;
  readonly delivered: number;
  readonly missing: number;
  readonly unexpected: number;
  readonly duplicatesSuppressed: number;
  readonly orderViolations: number;
  readonly latencyMs: { p50: number; p95: number; p99: number };
}

/** The demo's report: what was committed, relayed and delivered, and whether the guarantees held. */
export interface PipelineReport {
  readonly committed: number;
  readonly aggregates: number;
  readonly conflictsRejected: number;
  readonly domainRejections: number;
  /** Commands refused as transient (503): nothing written, so no events expected. */
  readonly unavailable: number;
  readonly relayedToBus: number;
  readonly ghosts: number;
  readonly consumers: ConsumerReport[];
  /** Distinct events in each dead-letter or failure queue. */
  readonly deadLetterQueues: Record<string, number>;
  readonly effectMismatches: number;
  /** Whether the runtime enforced the template's IAM, and how many calls it refused. */
  readonly iam: { readonly enforced: boolean; readonly denials: number };
  readonly streamFaults: { reorderedBatches: number; duplicatedRecords: number };
  readonly latencyMs: { p50: number; p95: number; p99: number };
  readonly throughputPerSecond: number;
  readonly durationMs: number;
  readonly problems: string[];
  readonly ok: boolean;
}

/**
 * Checks the run against the guarantees: every committed event reached every
 * consumer that should get it (FIFO consumers: all; rule consumers: what their
 * rule matches) and nothing else did; nothing uncommitted was published; order
 * held per aggregate; each effect happened once (read models agree with the
 * aggregates' versions); dead-letter queues are empty.
 */
export async function verifyRun(
  pipeline: LocalAws,
  workload: WorkloadResult,
  tracker: DeliveryTracker,
  expectations: RunExpectations = {},
): Promise<PipelineReport> {
  const poison = expectations.poison ?? new Map<string, string>();
  const problems: string[] = [];
  const committedIds = new Set(workload.committed.keys());
  const busName = pipeline.topology.eventBuses[0]?.name;
  const archived = busName ? pipeline.eventBus.archive(busName) : [];
  const archivedIds = new Set(archived.map((a) => (a.event.detail as { id?: string })?.id ?? ''));

  const queueOfMapping = new Map(
    pipeline.sqsMappings.map(({ spec }) => [
      spec.functionLogicalId,
      spec.source.kind === 'sqs' ? spec.source.queueLogicalId : '',
    ]),
  );
  const fifoQueueIds = new Set(pipeline.queues.filter((q) => q.fifo).map((q) => q.logicalId));
  const consumers: ConsumerReport[] = [];
  let ghosts = [...archivedIds].filter((id) => !committedIds.has(id)).length;
  const allLatencies: number[] = [];

  for (const [functionId, queueId] of queueOfMapping) {
    let expected: Set<string>;
    const ordered = fifoQueueIds.has(queueId);
    if (ordered) {
      expected = committedIds;
    } else {
      const rules = pipeline.topology.rules.filter((r) =>
        r.targets.some((t) => t.queueLogicalId === queueId),
      );
      const matchers = rules.map((r) => compileEventPattern(r.eventPattern));
      expected = new Set(
        archived
          .filter((a) => matchers.some((m) => m(a.event)))
          .map((a) => (a.event.detail as { id: string }).id),
      );
    }
    const deliveries = tracker.consumers.get(functionId);
    const processed = new Set(deliveries?.processed.keys() ?? []);
    const missing = [...expected].filter((id) => !processed.has(id)).length;
    const unexpected = [...processed].filter((id) => !expected.has(id)).length;
    ghosts += [...processed].filter((id) => !committedIds.has(id)).length;
    const latencies = deliveries?.latenciesMs ?? [];
    allLatencies.push(...latencies);
    if (missing > 0) problems.push(`${functionId}: ${missing} committed events never processed`);
    if (unexpected > 0)
      problems.push(`${functionId}: ${unexpected} events processed that it should not have received`);
    // Order is promised on FIFO consumers only; an EventBridge-fed consumer may see any order.
    if (ordered && (deliveries?.orderViolations ?? 0) > 0)
      problems.push(`${functionId}: ${deliveries?.orderViolations} per-aggregate order violations`);
    consumers.push({
      functionId,
      ordered,
      expected: expected.size,
      delivered: processed.size,
      missing,
      unexpected,
      duplicatesSuppressed: deliveries?.duplicateDeliveries ?? 0,
      orderViolations: ordered ? (deliveries?.orderViolations ?? 0) : 0,
      latencyMs: {
        p50: percentile(latencies, 50),
        p95: percentile(latencies, 95),
        p99: percentile(latencies, 99),
      },
    });
  }
  if (ghosts > 0) problems.push(`${ghosts} ghost events (published but never committed)`);
  const missingOnBus = [...committedIds].filter((id) => !archivedIds.has(id)).length;
  if (missingOnBus > 0) problems.push(`${missingOnBus} committed events never reached the event bus`);

  // At-least-once holds for dead-letter queues too (a standard DLQ may get a copy twice): what
  // counts is which events each holds. Poison (a payload its schema refuses) ends in the DLQs of
  // the consumers that validate it, and nowhere else.
  const deadLettered = await deadLetteredEvents(pipeline);
  const poisonDlqs = new Set(
    [...(expectations.deadLetters ?? [PROJECTION])].map(
      (consumer) => pipeline.outputs[consumerOutputKey(consumer, 'deadLetterQueueUrl')],
    ),
  );
  const deadLetterQueues: Record<string, number> = {};
  for (const queue of pipeline.queues) {
    const events = deadLettered.get(queue.logicalId);
    if (!events) continue;
    deadLetterQueues[queue.name] = events.size;
    const expected = poisonDlqs.has(queue.url) ? new Set(poison.keys()) : new Set<string>();
    const unexpected = [...events].filter((id) => !expected.has(id));
    const absent = [...expected].filter((id) => !events.has(id));
    if (unexpected.length > 0 || absent.length > 0) {
      problems.push(
        `${queue.name} holds ${events.size} events: ${unexpected.length} that should not be there, ${absent.length} poison missing`,
      );
    }
  }

  const versions = committedVersions(workload);
  // The projection's view ends at the last event it applied: the highest sequence that is not poison.
  const applied = committedVersions({
    committed: new Map([...workload.committed].filter(([id]) => !poison.has(id))),
  });
  const effectMismatches = await readModelMismatches(
    pipeline,
    versions,
    (aggregate) => applied.get(aggregate) ?? 0,
  );
  if (effectMismatches > 0)
    problems.push(
      `${effectMismatches} read-model entries disagree with their aggregate (an effect lost or applied twice)`,
    );

  // With IAM enforced, a refused call is a missing grant (or a function reaching past its own).
  const iam = { enforced: pipeline.iam.enabled, denials: pipeline.iam.denials.total };
  for (const denial of pipeline.iam.denials.summary()) {
    problems.push(`IAM refused ${denial.count} × ${denial.action} to ${denial.principal}`);
  }

  const lastDelivery = Math.max(0, ...[...tracker.consumers.values()].map((c) => c.lastProcessedAt));
  const durationMs = Math.max(1, lastDelivery - workload.firstCommitAt);
  return {
    committed: committedIds.size,
    aggregates: new Set([...workload.committed.values()].map((c) => c.aggregate)).size,
    conflictsRejected: workload.conflicts,
    domainRejections: workload.rejected,
    unavailable: workload.unavailable,
    relayedToBus: archivedIds.size,
    ghosts,
    consumers,
    deadLetterQueues,
    effectMismatches,
    iam,
    streamFaults: { ...pipeline.streamFaultStats },
    latencyMs: {
      p50: percentile(allLatencies, 50),
      p95: percentile(allLatencies, 95),
      p99: percentile(allLatencies, 99),
    },
    throughputPerSecond: (committedIds.size * 1000) / durationMs,
    durationMs,
    problems: [...workload.errors.map((e) => `command failed: ${e}`), ...problems],
    ok: problems.length === 0 && workload.errors.length === 0,
  };
}

/** Depth (visible + in flight) of every queue that is a dead-letter or failure destination in the stack. */
export async function dlqDepths(pipeline: LocalAws): Promise<Record<string, number>> {
  const topology = pipeline.topology;
  const dlqIds = new Set<string>([
    ...topology.queues.flatMap((q) => (q.deadLetterQueueLogicalId ? [q.deadLetterQueueLogicalId] : [])),
    ...topology.rules.flatMap((r) =>
      r.targets.flatMap((t) => (t.deadLetterQueueLogicalId ? [t.deadLetterQueueLogicalId] : [])),
    ),
    ...topology.mappings.flatMap((m) => (m.onFailureQueueLogicalId ? [m.onFailureQueueLogicalId] : [])),
  ]);
  const sqs = new SQSClient({ ...pipeline.clientConfig, endpoint: pipeline.endpoints.sqs });
  try {
    const depths: Record<string, number> = {};
    for (const queue of pipeline.queues.filter((q) => dlqIds.has(q.logicalId))) {
      const { Attributes } = await sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: queue.url,
          AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
        }),
      );
      depths[queue.name] =
        Number(Attributes?.ApproximateNumberOfMessages ?? 0) +
        Number(Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0);
    }
    return depths;
  } finally {
    sqs.destroy();
  }
}

/**
 * The distinct event ids in every dead-letter queue of the stack, by queue logical id (bodies:
 * an envelope, or an EventBridge event around one). Messages are read and left to reappear.
 */
export async function deadLetteredEvents(pipeline: LocalAws): Promise<Map<string, Set<string>>> {
  const depths = await dlqDepths(pipeline);
  const sqs = new SQSClient({ ...pipeline.clientConfig, endpoint: pipeline.endpoints.sqs });
  const found = new Map<string, Set<string>>();
  try {
    for (const queue of pipeline.queues.filter((q) => depths[q.name] !== undefined)) {
      const ids = new Set<string>();
      for (let empty = 0; empty < 2; ) {
        const { Messages = [] } = await sqs.send(
          new ReceiveMessageCommand({ QueueUrl: queue.url, MaxNumberOfMessages: 10, VisibilityTimeout: 5 }),
        );
        if (Messages.length === 0) empty++;
        for (const message of Messages)
          ids.add(eventIdOf(message.Body ?? '') ?? `unreadable:${message.MessageId}`);
      }
      found.set(queue.logicalId, ids);
    }
  } finally {
    sqs.destroy();
  }
  return found;
}

function eventIdOf(body: string): string | undefined {
  try {
    const parsed = JSON.parse(body) as { id?: unknown; detail?: { id?: unknown }; 'detail-type'?: unknown };
    const id = parsed['detail-type'] !== undefined ? parsed.detail?.id : parsed.id;
    return typeof id === 'string' ? id : undefined;
  } catch {
    return undefined;
  }
}

/** Highest committed sequence per aggregate key. */
export function committedVersions(workload: Pick<WorkloadResult, 'committed'>): Map<string, number> {
  const versions = new Map<string, number>();
  for (const { aggregate, sequence } of workload.committed.values())
    versions.set(aggregate, Math.max(versions.get(aggregate) ?? 0, sequence));
  return versions;
}

/**
 * Effects of the example consumers, read back from the table: the order view's
 * lastSequence and the activity counter must both equal the order's version.
 * A lost effect leaves them lower, a doubled one leaves the counter higher.
 */
export async function readModelMismatches(
  pipeline: LocalAws,
  versions: ReadonlyMap<string, number>,
  projectedVersion: (aggregate: string) => number = (aggregate) => versions.get(aggregate) ?? 0,
): Promise<number> {
  const table = pipeline.tables.find((t) => t.streamArn);
  if (!table) return 0;
  const dynamodb = new DynamoDBClient({ ...pipeline.clientConfig, endpoint: pipeline.endpoints.dynamodb });
  let mismatches = 0;
  try {
    const aggregates = [...versions.keys()];
    for (let i = 0; i < aggregates.length; i += 33) {
      // Three keys per aggregate; BatchGetItem takes at most 100.
      const slice = aggregates.slice(i, i + 33);
      const keys = slice.flatMap((aggregate) => [
        { pk: { S: aggregate }, sk: { S: KEYS.stateSk } },
        { pk: { S: consumerItemPk(PROJECTION, aggregate) }, sk: { S: KEYS.viewSk } },
        { pk: { S: consumerItemPk(ACTIVITY, aggregate) }, sk: { S: KEYS.viewSk } },
      ]);
      const items = new Map<string, Record<string, unknown>>();
      let request:
        | Record<string, { Keys: Record<string, AttributeValue>[]; ConsistentRead: boolean }>
        | undefined = {
        [table.name]: { Keys: keys, ConsistentRead: true },
      };
      while (request && Object.keys(request).length > 0) {
        const response = await dynamodb.send(new BatchGetItemCommand({ RequestItems: request }));
        for (const item of response.Responses?.[table.name] ?? []) {
          const plain = unmarshall(item);
          items.set(`${plain.pk}|${plain.sk}`, plain);
        }
        request = response.UnprocessedKeys as typeof request;
      }
      for (const aggregate of slice) {
        const version = Number(items.get(`${aggregate}|${KEYS.stateSk}`)?.version ?? -1);
        const view = items.get(`${consumerItemPk(PROJECTION, aggregate)}|${KEYS.viewSk}`);
        const activity = items.get(`${consumerItemPk(ACTIVITY, aggregate)}|${KEYS.viewSk}`);
        if (Number(view?.lastSequence ?? 0) !== projectedVersion(aggregate)) mismatches++;
        if (Number(activity?.eventCount ?? 0) !== version) mismatches++;
      }
    }
  } finally {
    dynamodb.destroy();
  }
  return mismatches;
}

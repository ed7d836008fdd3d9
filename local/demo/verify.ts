import type { EventBridgeEvent, LocalAws } from 'local-aws';
import { compileEventPattern } from 'local-aws';
import { auditDeadLetters } from './dead-letters';
import { type DeliveryTracker, percentile } from './delivery-tracker';
import { committedVersions, PROJECTION, readModelMismatches } from './read-models';
import type { WorkloadResult } from './workload';
/** What a run is expected to contain beyond the workload's committed events. */
export interface RunExpectations {
  /** Poison event ids → aggregate key: events the projection dead-letters (its view skips them). */
  readonly poison?: ReadonlyMap<string, string>;
  /**
   * Per-aggregate order violations per ordered consumer (function logical id), as the kit applied
   * events (from its logs), instead of the order deliveries were seen in from outside. A consumer
   * that parks events (one that joined late and waits for its history) needs it.
   */
  readonly appliedOrderViolations?: ReadonlyMap<string, number>;
  /** The consumers whose DLQs must hold exactly the poison events (all other DLQs none). @default the projection */
  readonly deadLetters?: ReadonlyArray<string>;
  /** Other consumers' DLQs may hold poison too (consumers a user scaffolded, which may validate it). @default false */
  readonly poisonElsewhere?: boolean;
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
 * Checks the run against the guarantees: every committed event reached every consumer that should
 * get it (ordered consumers: all; rule consumers: what their rule matches) and nothing else did;
 * nothing uncommitted was published; order held per aggregate; each effect happened once (read
 * models agree with the aggregates' versions); the DLQs hold the poison and nothing else; IAM
 * refused no call.
 */
export async function verifyRun(
  pipeline: LocalAws,
  workload: WorkloadResult,
  tracker: DeliveryTracker,
  expectations: RunExpectations = {},
): Promise<PipelineReport> {
  const poison = expectations.poison ?? new Map<string, string>();
  const published = publishedEvents(pipeline);
  const deliveries = auditDeliveries(
    pipeline,
    new Set(workload.committed.keys()),
    published,
    tracker,
    expectations.appliedOrderViolations,
  );
  const deadLetters = await auditDeadLetters(
    pipeline,
    poison,
    expectations.deadLetters ?? [PROJECTION],
    expectations.poisonElsewhere,
  );
  const effects = await auditEffects(pipeline, workload, poison);
  const iam = auditIam(pipeline);
  const problems = [...deliveries.problems, ...deadLetters.problems, ...effects.problems, ...iam.problems];
  const lastDelivery = Math.max(0, ...[...tracker.consumers.values()].map((c) => c.lastProcessedAt));
  const durationMs = Math.max(1, lastDelivery - workload.firstCommitAt);
  return {
    committed: workload.committed.size,
    aggregates: new Set([...workload.committed.values()].map((c) => c.aggregate)).size,
    conflictsRejected: workload.conflicts,
    domainRejections: workload.rejected,
    unavailable: workload.unavailable,
    relayedToBus: published.ids.size,
    ghosts: deliveries.ghosts,
    consumers: deliveries.consumers,
    deadLetterQueues: deadLetters.queues,
    effectMismatches: effects.mismatches,
    iam: { enforced: pipeline.iam.enabled, denials: pipeline.iam.denials.total },
    streamFaults: { ...pipeline.streamFaultStats },
    latencyMs: percentiles(deliveries.latencies),
    throughputPerSecond: (workload.committed.size * 1000) / durationMs,
    durationMs,
    problems: [...workload.errors.map((e) => `command failed: ${e}`), ...problems],
    ok: problems.length === 0 && workload.errors.length === 0,
  };
}

/** What reached the bus: the archive keeps every event the bus accepted. */
interface Published {
  readonly events: ReadonlyArray<{ readonly event: EventBridgeEvent }>;
  readonly ids: ReadonlySet<string>;
}

function publishedEvents(pipeline: LocalAws): Published {
  const busName = pipeline.topology.eventBuses[0]?.name;
  const events = busName ? pipeline.eventBus.archive(busName) : [];
  return { events, ids: new Set(events.map((a) => (a.event.detail as { id?: string })?.id ?? '')) };
}

/** Per consumer: what it should have got (ordered: everything; unordered: what its rules match) against what it processed. */
function auditDeliveries(
  pipeline: LocalAws,
  committed: ReadonlySet<string>,
  published: Published,
  tracker: DeliveryTracker,
  appliedOrderViolations: ReadonlyMap<string, number> | undefined,
) {
  const problems: string[] = [];
  const consumers: ConsumerReport[] = [];
  const latencies: number[] = [];
  let ghosts = [...published.ids].filter((id) => !committed.has(id)).length;
  const fifoQueueIds = new Set(pipeline.queues.filter((q) => q.fifo).map((q) => q.logicalId));
  for (const { spec } of pipeline.sqsMappings) {
    const functionId = spec.functionLogicalId;
    const queueId = spec.source.kind === 'sqs' ? spec.source.queueLogicalId : '';
    const ordered = fifoQueueIds.has(queueId);
    const expected = ordered ? committed : matchedByRules(pipeline, queueId, published);
    const deliveries = tracker.consumers.get(functionId);
    const processed = new Set(deliveries?.processed.keys() ?? []);
    const missing = [...expected].filter((id) => !processed.has(id)).length;
    const unexpected = [...processed].filter((id) => !expected.has(id)).length;
    // Order is promised on ordered consumers only; an EventBridge-fed consumer may see any order.
    const seen = appliedOrderViolations?.get(functionId) ?? deliveries?.orderViolations ?? 0;
    const orderViolations = ordered ? seen : 0;
    ghosts += [...processed].filter((id) => !committed.has(id)).length;
    latencies.push(...(deliveries?.latenciesMs ?? []));
    if (missing > 0) problems.push(`${functionId}: ${missing} committed events never processed`);
    if (unexpected > 0)
      problems.push(`${functionId}: ${unexpected} events processed that it should not have received`);
    if (orderViolations > 0)
      problems.push(`${functionId}: ${orderViolations} per-aggregate order violations`);
    consumers.push({
      functionId,
      ordered,
      expected: expected.size,
      delivered: processed.size,
      missing,
      unexpected,
      duplicatesSuppressed: deliveries?.duplicateDeliveries ?? 0,
      orderViolations,
      latencyMs: percentiles(deliveries?.latenciesMs ?? []),
    });
  }
  if (ghosts > 0) problems.push(`${ghosts} ghost events (published but never committed)`);
  const missingOnBus = [...committed].filter((id) => !published.ids.has(id)).length;
  if (missingOnBus > 0) problems.push(`${missingOnBus} committed events never reached the event bus`);
  return { consumers, ghosts, latencies, problems };
}

/** The published events the rules targeting a queue match. */
function matchedByRules(pipeline: LocalAws, queueId: string, published: Published): Set<string> {
  const rules = pipeline.topology.rules.filter((r) => r.targets.some((t) => t.queueLogicalId === queueId));
  const matchers = rules.map((r) => compileEventPattern(r.eventPattern));
  return new Set(
    published.events
      .filter((a) => matchers.some((m) => m(a.event)))
      .map((a) => (a.event.detail as { id: string }).id),
  );
}

/** Effects once: the example read models agree with every order's version (the projection's skips poison). */
async function auditEffects(
  pipeline: LocalAws,
  workload: WorkloadResult,
  poison: ReadonlyMap<string, string>,
) {
  const versions = committedVersions(workload);
  // The projection's view ends at the last event it applied: the highest sequence that is not poison.
  const applied = committedVersions({
    committed: new Map([...workload.committed].filter(([id]) => !poison.has(id))),
  });
  const mismatches = await readModelMismatches(
    pipeline,
    versions,
    (aggregate) => applied.get(aggregate) ?? 0,
  );
  const problems =
    mismatches > 0
      ? [`${mismatches} read-model entries disagree with their aggregate (an effect lost or applied twice)`]
      : [];
  return { mismatches, problems };
}

/** With IAM enforced, a refused call is a missing grant (or a function reaching past its own). */
function auditIam(pipeline: LocalAws) {
  return {
    problems: pipeline.iam.denials
      .summary()
      .map((d) => `IAM refused ${d.count} × ${d.action} to ${d.principal}`),
  };
}

function percentiles(values: ReadonlyArray<number>) {
  return { p50: percentile(values, 50), p95: percentile(values, 95), p99: percentile(values, 99) };
}

import type { PipelineReport } from '../demo/verify';

/** Prints a run's report: committed, relayed and delivered events, guarantees, latency, throughput. */
export function printReport(r: PipelineReport): void {
  const ms = (n: number) => (Number.isNaN(n) ? '-' : `${Math.round(n)} ms`);
  const lines = [
    '',
    'Outbox pipeline report',
    `  events committed           ${r.committed} over ${r.aggregates} orders`,
    `  commands rejected          ${r.conflictsRejected} version conflicts (no events), ${r.domainRejections} invalid transitions, ${r.unavailable} unavailable (503)`,
    `  relayed to the event bus   ${r.relayedToBus}`,
    `  stream faults injected     ${r.streamFaults.reorderedBatches} batches reordered, ${r.streamFaults.duplicatedRecords} records duplicated`,
    '  per consumer:',
    ...r.consumers.map(
      (c) =>
        `    ${c.functionId.padEnd(34)} ${c.ordered ? 'ordered  ' : 'unordered'} delivered ${c.delivered}/${c.expected}, duplicates suppressed ${c.duplicatesSuppressed}, order violations ${c.orderViolations}, p50 ${ms(c.latencyMs.p50)}`,
    ),
    `  dead-letter queues         ${
      Object.entries(r.deadLetterQueues)
        .map(([name, n]) => `${name.replace(/^OutboxPipeline/, '')}=${n}`)
        .join(', ') || 'none'
    }`,
    `  ghost events               ${r.ghosts}`,
    `  read-model mismatches      ${r.effectMismatches}`,
    `  IAM                        ${r.iam.enforced ? `enforced from the template: ${r.iam.denials} calls refused` : 'NOT enforced (--no-iam): a missing grant would go unnoticed'}`,
    `  end-to-end latency         p50 ${ms(r.latencyMs.p50)}, p95 ${ms(r.latencyMs.p95)}, p99 ${ms(r.latencyMs.p99)} (commit → consumer done)`,
    `  throughput                 ${r.throughputPerSecond.toFixed(0)} events/s (first commit → last delivery, ${(r.durationMs / 1000).toFixed(1)} s)`,
    '',
    r.ok
      ? 'PASS: every committed event reached every consumer that should get it, once, in order; nothing else did.'
      : 'FAIL:',
    ...r.problems.map((p) => `  - ${p}`),
  ];
  console.log(lines.join('\n'));
}

import { describe, expect, it } from 'vitest';
import { runChaos } from '../../local/demo/chaos';

/**
 * A bounded chaos run (`npm run chaos` runs the 10,000-event version): every fault injected at
 * 10 %, on the whole local pipeline with a scaffolded ordered and unordered consumer added, poison
 * on live orders, hostile requests and smuggled envelopes, and an operator's replay, redrive and
 * skips while traffic flows.
 */
describe('the pipeline under injected faults', () => {
  it('loses nothing, ghosts nothing, applies every effect once, keeps order, and quarantines only poison', async () => {
    // Act
    const { report, injected, faultRatio, poison, hostile, relayFailures, operator, scaffolded } =
      await runChaos({
        events: 400,
        aggregates: 40,
        faultRate: 0.1,
        poisonEvents: 3,
        hostileInputs: 2,
        seed: 42,
      });

    // Assert: the faults really happened, at every layer.
    expect(faultRatio).toBeGreaterThanOrEqual(0.1);
    expect(injected.putEventsEntriesFailed).toBeGreaterThan(0);
    expect(injected.sendMessageBatchEntriesFailed).toBeGreaterThan(0);
    expect(injected.functionCrashes).toBeGreaterThan(0);
    expect(injected.dynamodbThrottles + injected.transactionConflicts).toBeGreaterThan(0);
    expect(injected.reorderedBatches + injected.duplicatedRecords).toBeGreaterThan(0);
    // And the guarantees held.
    expect(report.problems).toEqual([]);
    expect(report.ghosts).toBe(0);
    expect(report.effectMismatches).toBe(0);
    for (const consumer of report.consumers) {
      expect(consumer.missing, consumer.functionId).toBe(0);
      expect(consumer.unexpected, consumer.functionId).toBe(0);
      if (consumer.ordered) expect(consumer.orderViolations, consumer.functionId).toBe(0);
    }
    expect(poison.size).toBe(3);
    const orderedDlq = Object.entries(report.deadLetterQueues).find(([name]) =>
      name.includes('OrderProjection'),
    );
    expect(orderedDlq?.[1]).toBe(3);
    // The scaffolded consumers counted every event once; hostile inputs never got in.
    expect(scaffolded.consumers.map((c) => c.name)).toEqual(['chaos-audit', 'chaos-timeline']);
    expect(scaffolded.effectMismatches).toBe(0);
    expect(hostile.refusedByApi).toBeGreaterThanOrEqual(6);
    expect(hostile.acceptedHostile).toBe(0);
    expect(hostile.astralCommitted).toBe(2);
    expect(new Set(relayFailures.map((failure) => failure.reason))).toEqual(new Set(['MalformedOutboxItem']));
    expect(new Set(relayFailures.map((failure) => failure.aggregateKey))).toEqual(new Set(hostile.smuggled));
    // The operator's actions under traffic worked.
    expect(operator.replay.code).toBe(0);
    expect(operator.lateConsumer).toEqual({ name: 'chaos-timeline', backfillCode: 0 });
    // Each poison skipped on each ordered consumer that dead-lettered it (at least the two known ones).
    expect(operator.skips.failed).toBe(0);
    expect(operator.skips.sent).toBeGreaterThanOrEqual(2 * poison.size);
    expect(report.ok).toBe(true);
  }, 300_000);
});

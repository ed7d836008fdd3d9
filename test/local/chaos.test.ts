import { describe, expect, it } from 'vitest';
import { runChaos } from '../../local/demo/chaos';

/**
 * A bounded chaos run (`npm run chaos` runs the 10,000-event version): every fault
 * injected at 10 %, plus poison events, on the whole local pipeline.
 */
describe('the pipeline under injected faults', () => {
  it('loses nothing, ghosts nothing, applies every effect once, keeps order, and quarantines only poison', async () => {
    // Act
    const { report, injected, faultRatio, poison } = await runChaos({
      events: 400,
      aggregates: 40,
      faultRate: 0.1,
      poisonEvents: 3,
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
    expect(report.ok).toBe(true);
  }, 300_000);
});

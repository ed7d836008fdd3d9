import { describe, expect, it } from 'vitest';
import { Relay } from '../../../functions/relay/relay';
import { ValidationError } from '../../../functions/shared/errors';
import { pendingShard } from '../../../functions/shared/outbox-item';
import { Sweeper } from '../../../functions/sweeper/sweeper';
import { FakeOutboxStream, FakeRelayPorts, testOutboxItems } from '../../support/fake-relay-ports';

const QUEUE = 'https://sqs.eu-west-1.amazonaws.com/123456789012/OrderProjection.fifo';
// The fake envelopes are committed at 2026-11-23T16:20:00Z (+ sequence ms).
const COMMITTED = Date.UTC(2026, 10, 23, 16, 20, 0);

function arrange(minutesLater: number) {
  const ports = new FakeRelayPorts();
  const relay = new Relay(ports, { queueUrls: [QUEUE] });
  const sweeper = new Sweeper(
    {
      index: ports.outbox.pendingIndex,
      cursors: ports.cursors,
      outbox: ports.outbox,
      pending: ports.pending,
      relay,
      telemetry: ports.telemetry,
    },
    { olderThanSeconds: 300, now: () => COMMITTED + minutesLater * 60_000 },
  );
  return { ports, relay, sweeper };
}

describe('Sweeper', () => {
  it('re-publishes in order the events the stream never delivered, once they are overdue', async () => {
    // Arrange: committed, but no stream record ever reached the relay.
    const { ports, sweeper } = arrange(10);
    ports.outbox.put(...testOutboxItems('o-1', 1, 3), ...testOutboxItems('o-2', 1, 2));

    // Act
    const result = await sweeper.sweep();

    // Assert
    expect(result).toMatchObject({
      overdue: 5,
      republished: 5,
      failed: 0,
      staleMarksCleared: 0,
      oldestPendingAgeSeconds: 600,
    });
    expect(ports.queues.deliveredSequences(QUEUE, 'Order#o-1')).toEqual([1, 2, 3]);
    expect(ports.queues.deliveredSequences(QUEUE, 'Order#o-2')).toEqual([1, 2]);
    expect(ports.cursors.cursor('Order#o-1')).toBe(3);
    for (const pk of ['Order#o-1', 'Order#o-2'])
      expect(await ports.outbox.pendingIndex.oldest(pendingShard(pk), 10)).toEqual([]);
  });

  it('leaves events alone while they are younger than the threshold', async () => {
    const { ports, sweeper } = arrange(2);
    ports.outbox.put(...testOutboxItems('o-1', 1, 2));

    const result = await sweeper.sweep();

    expect(result).toMatchObject({ overdue: 0, republished: 0, oldestPendingAgeSeconds: 120 });
    expect(ports.queues.delivered(QUEUE)).toEqual([]);
  });

  it('only clears the marks of events the cursor shows as already published', async () => {
    // Arrange: the relay published 1..2 but crashed before clearing their marks.
    const { ports, sweeper } = arrange(10);
    ports.outbox.put(...testOutboxItems('o-1', 1, 2));
    await ports.cursors.advance('Order#o-1', 0, 2);

    // Act
    const result = await sweeper.sweep();

    // Assert
    expect(result).toMatchObject({ overdue: 2, staleMarksCleared: 2, republished: 0 });
    expect(ports.queues.delivered(QUEUE)).toEqual([]);
  });

  it('publishes nothing twice when the relay already delivered part of the range', async () => {
    // Arrange: the stream delivered sequence 1; 2 and 3 were lost.
    const { ports, relay, sweeper } = arrange(10);
    const items = ports.outbox.put(...testOutboxItems('o-1', 1, 3));
    await relay.handle(new FakeOutboxStream().records(items.slice(0, 1)));

    // Act
    await sweeper.sweep();

    // Assert
    expect(ports.queues.deliveredSequences(QUEUE, 'Order#o-1')).toEqual([1, 2, 3]);
  });

  it('reports what it could not publish and leaves it pending for the next sweep', async () => {
    // Arrange: a relay whose FIFO queue refuses every send.
    const ports = new FakeRelayPorts({ queues: { faults: { failFirstAttempts: 100 } } });
    const relay = new Relay(ports, { queueUrls: [QUEUE] });
    const sweeper = new Sweeper(
      {
        index: ports.outbox.pendingIndex,
        cursors: ports.cursors,
        outbox: ports.outbox,
        pending: ports.pending,
        relay,
        telemetry: ports.telemetry,
      },
      { olderThanSeconds: 300, now: () => COMMITTED + 600_000 },
    );
    ports.outbox.put(...testOutboxItems('o-1', 1, 2));

    // Act
    const result = await sweeper.sweep();

    // Assert
    expect(result).toMatchObject({ overdue: 2, failed: 2, republished: 0 });
    expect(await ports.outbox.pendingIndex.oldest(pendingShard('Order#o-1'), 10)).toHaveLength(2);
  });

  it('validates its options', () => {
    const { ports, relay } = arrange(0);
    const make = (olderThanSeconds: number) =>
      new Sweeper(
        {
          index: ports.outbox.pendingIndex,
          cursors: ports.cursors,
          outbox: ports.outbox,
          pending: ports.pending,
          relay,
          telemetry: ports.telemetry,
        },
        { olderThanSeconds },
      );
    expect(() => make(0)).toThrow(ValidationError);
    expect(() => make(0)).toThrow(
      /options.olderThanSeconds must be a positive whole number of seconds \(given 0\)/,
    );
  });
});

import { describe, expect, it } from 'vitest';
import { Relay } from '../../../functions/relay/relay';
import { ValidationError } from '../../../functions/shared/errors';
import { Sweeper, type SweeperOptions, windowRecords } from '../../../functions/sweeper/sweeper';
import {
  FakeOutboxStream,
  FakeRelayPorts,
  type FakeRelayPortsOptions,
  testEventId,
  testProbeItem,
  testTransaction,
} from '../../support/fake-relay-ports';
import {
  InMemoryBookkeeping,
  InMemoryFailedBatches,
  InMemoryScanner,
} from '../../support/fake-sweeper-ports';

const QUEUE = 'https://sqs.eu-west-1.amazonaws.com/123456789012/OrderProjection.fifo';
const INTERVAL_SECONDS = 300;
const HOUR = 3600_000;
// The test envelopes are committed at 2026-11-23T16:20:00Z (+ sequence ms).
const COMMITTED = Date.UTC(2026, 10, 23, 16, 20, 0);

/** A relay on in-memory ports, the sweeper around it, and a clock the test moves. */
function arrange(relayOptions: FakeRelayPortsOptions = {}, options: Partial<SweeperOptions> = {}) {
  const ports = new FakeRelayPorts(relayOptions);
  const relay = new Relay(ports, { queueUrls: [QUEUE], maxAttempts: 1 });
  const bookkeeping = new InMemoryBookkeeping(ports.heartbeat);
  const failedBatches = new InMemoryFailedBatches();
  const scanner = new InMemoryScanner(ports.outbox);
  const clock = { now: COMMITTED + 60_000 };
  const sweeper = new Sweeper(
    { bookkeeping, failedBatches, scanner, relay, failures: ports.failures, telemetry: ports.telemetry },
    { intervalSeconds: INTERVAL_SECONDS, now: () => clock.now, ...options },
  );
  const stream = new FakeOutboxStream();
  /** The relay reads the newest probe, as it does when its stream mapping runs. */
  const relayReadsProbes = async () => {
    const probe = bookkeeping.probes.at(-1);
    if (!probe) throw new Error('the sweeper wrote no probe yet');
    await relay.handle(stream.records([testProbeItem(probe.seq, probe.writtenAt)]));
  };
  return { ports, relay, bookkeeping, failedBatches, scanner, clock, sweeper, stream, relayReadsProbes };
}

describe('Sweeper: the relay probe', () => {
  it('writes a probe on every run and reports the lag since the newest probe the relay read', async () => {
    // Arrange: the relay read the first probe, then stopped reading
    const { sweeper, clock, bookkeeping, relayReadsProbes } = arrange();
    await sweeper.sweep();
    await relayReadsProbes();
    clock.now += 20 * 60_000;

    // Act
    const result = await sweeper.sweep();

    // Assert
    expect(bookkeeping.probes.map((probe) => probe.seq)).toEqual([1, 2]);
    expect(result.relayProbeLagSeconds).toBe(20 * 60);
  });

  it('counts the lag from the first probe when the relay has never read one', async () => {
    // Arrange
    const { sweeper, clock } = arrange();
    await sweeper.sweep();
    clock.now += 7 * 60_000;

    // Act
    const result = await sweeper.sweep();

    // Assert
    expect(result.relayProbeLagSeconds).toBe(7 * 60);
  });
});

describe('Sweeper: batches the stream mapping discarded', () => {
  it('re-publishes a discarded batch in order through the relay core and deletes it', async () => {
    // Arrange: the mapping gave up on a batch of two transactions (its records are in the bucket)
    const { ports, sweeper, failedBatches, stream } = arrange();
    const first = testTransaction('o-1', 1, 2);
    const second = testTransaction('o-2', 1, 1);
    const records = stream.records(
      ports.outbox.put(...first.outbox, first.state, ...second.outbox, second.state),
    );
    failedBatches.discard(records, new Date(COMMITTED).toISOString());

    // Act
    const result = await sweeper.sweep();

    // Assert
    expect(ports.queues.deliveredSequences(QUEUE, 'Order#o-1')).toEqual([1, 2]);
    expect(ports.queues.deliveredSequences(QUEUE, 'Order#o-2')).toEqual([1]);
    expect(ports.eventBus.publishedIds()).toEqual(
      new Set([testEventId('Order#o-1', 1), testEventId('Order#o-1', 2), testEventId('Order#o-2', 1)]),
    );
    expect(result).toMatchObject({
      recordsRecovered: 5,
      recoveryFailures: 0,
      oldestUnrecoveredAgeSeconds: 0,
    });
    expect(failedBatches.batches.size).toBe(0);
  });

  it('keeps only the records of an aggregate that still fails, and recovers the rest of the batch', async () => {
    // Arrange: every publish of o-1's event fails; o-2 is healthy
    const { ports, sweeper, failedBatches, stream } = arrange({
      bus: { failEventIds: [testEventId('Order#o-1', 1)] },
    });
    const stuck = testTransaction('o-1', 1, 1);
    const healthy = testTransaction('o-2', 1, 1);
    const records = stream.records(
      ports.outbox.put(...stuck.outbox, stuck.state, ...healthy.outbox, healthy.state),
    );
    failedBatches.discard(records, new Date(COMMITTED).toISOString());

    // Act
    const result = await sweeper.sweep();

    // Assert
    expect(ports.queues.deliveredSequences(QUEUE, 'Order#o-2')).toEqual([1]);
    expect(result.recoveryFailures).toBeGreaterThan(0);
    const kept = [...failedBatches.batches.values()];
    expect(kept).toHaveLength(1);
    expect(kept[0]?.attempts).toBe(1);
    expect(kept[0]?.records.map((record) => record.dynamodb?.Keys?.pk?.S)).toEqual(['Order#o-1']);
    expect(result.oldestUnrecoveredAgeSeconds).toBe(60);
  });

  it('gives a batch up to the failure queue with a reason after its last attempt, and stops retrying it', async () => {
    // Arrange: o-1's event never goes out
    const { ports, sweeper, failedBatches, stream, clock } = arrange(
      { bus: { failEventIds: [testEventId('Order#o-1', 1)] } },
      { maxAttempts: 3 },
    );
    const stuck = testTransaction('o-1', 1, 1);
    failedBatches.discard(
      stream.records(ports.outbox.put(...stuck.outbox, stuck.state)),
      new Date(COMMITTED).toISOString(),
    );

    // Act
    const results = [];
    for (let run = 0; run < 4; run++) {
      results.push(await sweeper.sweep());
      clock.now += INTERVAL_SECONDS * 1000;
    }

    // Assert
    expect(results.map((result) => result.recoveryGivenUp)).toEqual([0, 0, 1, 0]);
    expect(failedBatches.batches.size).toBe(0);
    expect(ports.failures.messages).toEqual([
      expect.objectContaining({ reason: 'RecoveryGivenUp', aggregateKey: 'Order#o-1' }),
    ]);
    expect(ports.failures.messages[0]?.error).toContain('3 sweeps');
  });

  it('stops starting batches when its record budget is spent and reports what is left as unrecovered', async () => {
    // Arrange: two discarded batches, a budget of one batch
    const { ports, sweeper, failedBatches, stream } = arrange({}, { recordBudget: 2 });
    const first = testTransaction('o-1', 1, 1);
    const second = testTransaction('o-2', 1, 1);
    failedBatches.discard(
      stream.records(ports.outbox.put(...first.outbox, first.state)),
      new Date(COMMITTED).toISOString(),
    );
    failedBatches.discard(
      stream.records(ports.outbox.put(...second.outbox, second.state)),
      new Date(COMMITTED + 30_000).toISOString(),
    );

    // Act
    const result = await sweeper.sweep();

    // Assert: the oldest went first; the other waits with its age reported
    expect(ports.queues.deliveredSequences(QUEUE, 'Order#o-1')).toEqual([1]);
    expect(ports.queues.deliveredSequences(QUEUE, 'Order#o-2')).toEqual([]);
    expect(failedBatches.batches.size).toBe(1);
    expect(result.oldestUnrecoveredAgeSeconds).toBe(30);
  });
});

describe('Sweeper: a relay stopped longer than the stream keeps records', () => {
  it('opens a lost window when the relay has read no probe for nearly 24 hours, and alerts', async () => {
    // Arrange: the relay read the probe at the start, then its mapping was disabled
    const { sweeper, clock, bookkeeping, ports, relayReadsProbes } = arrange();
    await sweeper.sweep();
    await relayReadsProbes();
    const lastRead = clock.now;
    clock.now += 23.5 * HOUR;

    // Act
    const result = await sweeper.sweep();

    // Assert
    expect(result.lostWindowsOpened).toBe(1);
    expect(bookkeeping.window?.to).toBeUndefined();
    expect(Date.parse(bookkeeping.window?.from ?? '')).toBeLessThan(lastRead);
    expect(ports.telemetry.errors.map((error) => error.message).join()).toContain('lost window');
  });

  it('does not open a window while the relay keeps reading probes, however old the events', async () => {
    // Arrange
    const { sweeper, clock, bookkeeping, relayReadsProbes } = arrange();
    for (let run = 0; run < 30; run++) {
      await sweeper.sweep();
      await relayReadsProbes();
      clock.now += HOUR;
    }

    // Act
    const result = await sweeper.sweep();

    // Assert
    expect(result.lostWindowsOpened).toBe(0);
    expect(bookkeeping.window).toBeUndefined();
  });

  it('re-publishes every event committed in the window once the relay reads again, page by page', async () => {
    // Arrange: the relay went dark after the first probe; three orders were committed meanwhile,
    // their stream records expired unread. It came back a day and a half later.
    const { ports, sweeper, clock, bookkeeping, scanner, relayReadsProbes } = arrange({}, { batchSize: 2 });
    clock.now = COMMITTED - HOUR;
    await sweeper.sweep();
    await relayReadsProbes();
    for (const id of ['o-1', 'o-2', 'o-3']) {
      const { state, outbox } = testTransaction(id, 1, 2);
      ports.outbox.put(...outbox, state);
    }
    clock.now += 24 * HOUR;
    await sweeper.sweep();
    clock.now += 12 * HOUR;
    await sweeper.sweep();
    await relayReadsProbes();

    // Act
    const result = await sweeper.sweep();

    // Assert
    for (const id of ['o-1', 'o-2', 'o-3'])
      expect(ports.queues.deliveredSequences(QUEUE, `Order#${id}`)).toEqual([1, 2]);
    expect(result.recordsRecovered).toBeGreaterThanOrEqual(6);
    expect(scanner.pages.length).toBeGreaterThan(1);
    expect(bookkeeping.window).toBeUndefined();
  });

  it('continues a window scan where it stopped when the budget ran out, on the next run', async () => {
    // Arrange: a closed window over four orders, a budget smaller than the window
    const { ports, sweeper, bookkeeping, scanner, clock } = arrange({}, { batchSize: 2, recordBudget: 3 });
    for (const id of ['o-1', 'o-2', 'o-3', 'o-4']) {
      const { state, outbox } = testTransaction(id, 1, 1);
      ports.outbox.put(...outbox, state);
    }
    bookkeeping.window = {
      from: new Date(COMMITTED - HOUR).toISOString(),
      to: new Date(COMMITTED + HOUR).toISOString(),
      openedAt: new Date(COMMITTED).toISOString(),
    };
    ports.heartbeat.seen = { seq: 1, writtenAt: new Date(clock.now).toISOString() };

    // Act
    await sweeper.sweep();
    const savedCursor = bookkeeping.window?.cursor;
    await sweeper.sweep();

    // Assert
    expect(savedCursor).toBeDefined();
    expect(scanner.pages.some((page) => page.cursor === savedCursor)).toBe(true);
    for (const id of ['o-1', 'o-2', 'o-3', 'o-4'])
      expect(ports.queues.deliveredSequences(QUEUE, `Order#${id}`)).toEqual([1]);
    expect(bookkeeping.window).toBeUndefined();
  });

  it('keeps what it could not re-publish from a window in the bucket for the next runs', async () => {
    // Arrange
    const { ports, sweeper, bookkeeping, failedBatches, clock } = arrange({
      bus: { failEventIds: [testEventId('Order#o-1', 1)] },
    });
    const { state, outbox } = testTransaction('o-1', 1, 1);
    ports.outbox.put(...outbox, state);
    bookkeeping.window = {
      from: new Date(COMMITTED - HOUR).toISOString(),
      to: new Date(COMMITTED + HOUR).toISOString(),
      openedAt: new Date(COMMITTED).toISOString(),
    };
    ports.heartbeat.seen = { seq: 1, writtenAt: new Date(clock.now).toISOString() };

    // Act
    const result = await sweeper.sweep();

    // Assert
    expect(result.recoveryFailures).toBeGreaterThan(0);
    expect(bookkeeping.window).toBeUndefined();
    expect(failedBatches.records().map((record) => record.dynamodb?.Keys?.pk?.S)).toContain('Order#o-1');
  });
});

describe('windowRecords', () => {
  it('announces each aggregate of a page once, with the range of sequences the page holds', () => {
    // Arrange
    const { outbox } = testTransaction('o-1', 3, 5);
    const items = outbox.map((item) =>
      Object.fromEntries(Object.entries(item).map(([k, v]) => [k, v.S ?? Number(v.N)])),
    );

    // Act
    const records = windowRecords(items);

    // Assert
    expect(records).toHaveLength(4);
    expect(records[0]?.dynamodb?.NewImage).toMatchObject({ committedFrom: { N: '3' }, version: { N: '5' } });
    expect(records.slice(1).map((record) => record.dynamodb?.Keys?.sk?.S)).toEqual(
      outbox.map((item) => item.sk?.S),
    );
  });

  it('leaves out items that are not outbox items', () => {
    // Arrange
    const { state } = testTransaction('o-1', 1, 1);

    // Act
    const records = windowRecords([
      Object.fromEntries(Object.entries(state).map(([k, v]) => [k, v.S ?? v.N])),
    ]);

    // Assert
    expect(records).toEqual([]);
  });
});

describe('Sweeper: options', () => {
  it.each([
    ['intervalSeconds', { intervalSeconds: 0 }],
    ['maxAttempts', { intervalSeconds: 60, maxAttempts: 1.5 }],
    ['recordBudget', { intervalSeconds: 60, recordBudget: -1 }],
    ['batchSize', { intervalSeconds: 60, batchSize: 0 }],
  ])('refuses a bad %s with a typed error naming it and the value given', (field, options) => {
    // Arrange
    const ports = new FakeRelayPorts();
    const relay = new Relay(ports, { queueUrls: [QUEUE] });

    // Act
    const build = () =>
      new Sweeper(
        {
          bookkeeping: new InMemoryBookkeeping(ports.heartbeat),
          failedBatches: new InMemoryFailedBatches(),
          scanner: new InMemoryScanner(ports.outbox),
          relay,
          failures: ports.failures,
          telemetry: ports.telemetry,
        },
        options as SweeperOptions,
      );

    // Assert
    expect(build).toThrow(ValidationError);
    expect(build).toThrow(`options.${field}`);
  });
});

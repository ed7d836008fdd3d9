/**
 * PutEvents of the local EventBridge on the real wire: request and entry checks, fault injection and the in-memory archive of accepted events.
 */
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { describe, expect, it } from 'vitest';
import { BUS, credentials, entry, useEventBusFixture } from '../support/event-bus-fixture';

const LIMIT = 256 * 1024;
const fixture = useEventBusFixture();
const { unique } = fixture;

describe('startEventBusEmulator PutEvents', () => {
  it('answers PutEvents from the real SDK client with one EventId per entry', async () => {
    // Arrange
    const source = unique('test.ids');

    // Act
    const result = await fixture.events.send(
      new PutEventsCommand({ Entries: [entry(source), entry(source)] }),
    );

    // Assert
    expect(result.FailedEntryCount).toBe(0);
    expect(result.Entries).toHaveLength(2);
    const ids = (result.Entries ?? []).map((resultEntry) => resultEntry.EventId);
    expect(ids.every((id) => typeof id === 'string' && id.length > 0)).toBe(true);
    expect(new Set(ids).size).toBe(2);
  });

  it('refuses a request of 11 entries as a whole with ValidationException', async () => {
    // Arrange
    const source = unique('test.eleven');
    const before = fixture.bus.counters;

    // Act
    const sending = fixture.events.send(
      new PutEventsCommand({ Entries: Array.from({ length: 11 }, () => entry(source)) }),
    );

    // Assert
    await expect(sending).rejects.toMatchObject({
      name: 'ValidationException',
      $metadata: { httpStatusCode: 400 },
      message: expect.stringMatching(/Member must have length less than or equal to 10/),
    });
    expect(fixture.bus.counters.entriesAccepted).toBe(before.entriesAccepted);
    expect(fixture.bus.counters.rejectedRequests).toBe(before.rejectedRequests + 1);
  });

  it('refuses a request whose entries are over 256 KiB as a whole with ValidationException, as EventBridge does', async () => {
    // Arrange: Source + DetailType + Detail bytes one over the limit, plus a small entry that alone would pass
    const source = 'test.size';
    const padding = 'x'.repeat(LIMIT + 1 - (source.length + 'OrderPlaced'.length + '{"pad":""}'.length));
    const oversize = entry(source, { pad: padding });
    const before = fixture.bus.counters;

    // Act
    const sending = fixture.events.send(new PutEventsCommand({ Entries: [entry(source), oversize] }));

    // Assert
    await expect(sending).rejects.toMatchObject({
      name: 'ValidationException',
      message: expect.stringMatching(/^Total size of the entries in the request is over the limit\./),
    });
    expect(fixture.bus.counters.entriesAccepted).toBe(before.entriesAccepted);
  });

  it('accepts a request whose entries total exactly 256 KiB, counting Time as 14 bytes', async () => {
    // Arrange
    const source = 'test.size';
    const fixed = source.length + 'OrderPlaced'.length + '{"pad":""}'.length + 14;
    const exact = { ...entry(source, { pad: 'x'.repeat(LIMIT - fixed) }), Time: new Date() };

    // Act
    const result = await fixture.events.send(new PutEventsCommand({ Entries: [exact] }));

    // Assert
    expect(result.FailedEntryCount).toBe(0);
    expect(result.Entries?.[0]?.EventId).toBeDefined();
  });

  it('fails malformed entries alone with their error codes while the other entries are accepted', async () => {
    // Arrange
    const source = unique('test.malformed');

    // Act
    const result = await fixture.events.send(
      new PutEventsCommand({
        Entries: [
          { ...entry(source), Detail: 'not json' },
          entry(source),
          { ...entry(source), Detail: '[1, 2]' },
          { ...entry(source), Source: undefined },
          { ...entry(source), Source: 'aws.orders' },
        ],
      }),
    );

    // Assert
    expect(result.FailedEntryCount).toBe(4);
    expect(result.Entries?.map((resultEntry) => resultEntry.ErrorCode)).toEqual([
      'MalformedDetail',
      undefined,
      'MalformedDetail',
      'InvalidArgument',
      'NotAuthorizedForSourceException',
    ]);
    expect(result.Entries?.[1]?.EventId).toBeDefined();
    expect(result.Entries?.[3]?.ErrorMessage).toMatch(/Source is a required argument/);
  });

  it('fails an entry for an unknown bus alone, and accepts a bus named by its ARN', async () => {
    // Arrange
    const source = unique('test.unknownbus');

    // Act
    const result = await fixture.events.send(
      new PutEventsCommand({
        Entries: [
          { ...entry(source), EventBusName: 'no-such-bus' },
          { ...entry(source), EventBusName: `arn:aws:events:us-east-1:000000000000:event-bus/${BUS}` },
          { ...entry(source), EventBusName: undefined },
        ],
      }),
    );

    // Assert
    expect(result.FailedEntryCount).toBe(1);
    expect(result.Entries?.[0]).toMatchObject({
      ErrorCode: 'InvalidArgument',
      ErrorMessage: 'Event bus no-such-bus does not exist.',
    });
    expect(result.Entries?.[0]?.EventId).toBeUndefined();
    expect(result.Entries?.[1]?.EventId).toBeDefined();
    expect(result.Entries?.[2]?.EventId).toBeDefined();
  });

  it('fails the same entries with InternalFailure on two runs with the same seed', async () => {
    // Arrange
    const source = unique('test.seed');
    const failingIndexes = async (): Promise<number[]> => {
      fixture.bus.setFaults({ putEventsEntryFailureRate: 0.5, seed: 42 });
      const result = await fixture.events.send(
        new PutEventsCommand({ Entries: Array.from({ length: 10 }, (_, i) => entry(source, { i })) }),
      );
      const codes = (result.Entries ?? []).map((resultEntry) => resultEntry.ErrorCode);
      expect(new Set(codes.filter((code) => code !== undefined))).toEqual(new Set(['InternalFailure']));
      return codes.flatMap((code, index) => (code === undefined ? [] : [index]));
    };

    try {
      // Act
      const first = await failingIndexes();
      const second = await failingIndexes();

      // Assert
      expect(first.length).toBeGreaterThan(0);
      expect(first.length).toBeLessThan(10);
      expect(second).toEqual(first);
    } finally {
      fixture.bus.setFaults({});
    }
  });

  it('fails a whole request with ThrottlingException, which the SDK retries by itself', async () => {
    // Arrange
    const client = new EventBridgeClient({
      endpoint: fixture.bus.endpoint,
      region: 'us-east-1',
      credentials,
      maxAttempts: 2,
    });
    const before = fixture.bus.counters;
    fixture.bus.setFaults({ throttleRate: 1 });

    try {
      // Act
      const sending = client.send(new PutEventsCommand({ Entries: [entry(unique('test.throttle'))] }));

      // Assert
      await expect(sending).rejects.toMatchObject({
        name: 'ThrottlingException',
        $metadata: { attempts: 2 },
      });
      expect(fixture.bus.counters.throttledRequests).toBe(before.throttledRequests + 2);
    } finally {
      fixture.bus.setFaults({});
      client.destroy();
    }
  });

  it('keeps every accepted event of a bus in its archive, and no refused one', async () => {
    // Arrange
    const archived = unique('archived');
    fixture.bus.createEventBus(archived);
    const source = unique('test.archive');

    // Act
    const result = await fixture.events.send(
      new PutEventsCommand({
        Entries: [
          { ...entry(source, { n: 1 }), EventBusName: archived },
          { ...entry(source), EventBusName: archived, Detail: 'not json' },
          { ...entry(source, { n: 2 }), EventBusName: archived },
        ],
      }),
    );

    // Assert
    const archive = fixture.bus.archive(archived);
    expect(archive.map(({ event }) => event.id)).toEqual([
      result.Entries?.[0]?.EventId,
      result.Entries?.[2]?.EventId,
    ]);
    expect(archive.map(({ event }) => event.detail)).toEqual([{ n: 1 }, { n: 2 }]);
  });
});

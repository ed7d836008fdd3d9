/**
 * Archives and replays of the local EventBridge, through the real SDK client: CreateArchive,
 * DescribeArchive, StartReplay and DescribeReplay.
 */
import {
  CreateArchiveCommand,
  DescribeArchiveCommand,
  DescribeReplayCommand,
  type DescribeReplayCommandOutput,
  PutEventsCommand,
  StartReplayCommand,
} from '@aws-sdk/client-eventbridge';
import type { Message } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { entry, useEventBusFixture } from '../support/event-bus-fixture';

const fixture = useEventBusFixture();
const { unique, createQueue, receiveAll } = fixture;

describe('archives and replays', () => {
  const t = (hhmmss: string) => new Date(`2024-05-01T${hhmmss}Z`);

  /** A new bus with an archive of every event and a rule sending `source` events to a new queue. */
  async function archivedBus(source: string) {
    const busName = unique('replay-bus');
    fixture.bus.createEventBus(busName);
    const archiveArn = fixture.bus.createArchive({ name: unique('archive'), eventBusName: busName });
    const queueUrl = await createQueue(unique('replay-target'));
    const ruleName = unique('rule');
    fixture.bus.putRule({
      name: ruleName,
      eventBusName: busName,
      eventPattern: { source: [source] },
      targets: [{ id: 'q', queueUrl }],
    });
    const busArn = `arn:aws:events:us-east-1:000000000000:event-bus/${busName}`;
    return { busName, busArn, archiveArn, queueUrl, ruleName };
  }

  async function publishAt(busName: string, source: string, times: Date[]): Promise<string[]> {
    const result = await fixture.events.send(
      new PutEventsCommand({
        Entries: times.map((time, index) => ({
          ...entry(source, { n: index }),
          EventBusName: busName,
          Time: time,
        })),
      }),
    );
    await fixture.bus.waitForIdle();
    return (result.Entries ?? []).map((e) => e.EventId ?? '');
  }

  async function drain(queueUrl: string): Promise<Message[]> {
    const all: Message[] = [];
    for (let batch = await receiveAll(queueUrl); batch.length > 0; batch = await receiveAll(queueUrl))
      all.push(...batch);
    return all;
  }

  async function failure(request: Promise<unknown>): Promise<unknown> {
    return request.then(
      () => undefined,
      (error: unknown) => error,
    );
  }

  async function replayToEnd(name: string): Promise<DescribeReplayCommandOutput> {
    for (let attempt = 0; attempt < 200; attempt++) {
      const replay = await fixture.events.send(new DescribeReplayCommand({ ReplayName: name }));
      if (replay.State !== 'STARTING' && replay.State !== 'RUNNING') return replay;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    throw new Error(`replay ${name} did not finish`);
  }

  it('re-delivers the archived events of the time range through the rules, with replay-name set', async () => {
    // Arrange
    const source = unique('test.replay');
    const { busName, busArn, archiveArn, queueUrl } = await archivedBus(source);
    const ids = await publishAt(busName, source, [t('12:00:00'), t('12:01:00'), t('12:02:00')]);
    const live = await drain(queueUrl);
    const name = unique('replay');

    // Act
    const started = await fixture.events.send(
      new StartReplayCommand({
        ReplayName: name,
        EventSourceArn: archiveArn,
        EventStartTime: t('12:00:30'),
        EventEndTime: t('12:02:00'),
        Destination: { Arn: busArn },
      }),
    );
    const finished = await replayToEnd(name);

    // Assert
    expect(live).toHaveLength(3);
    expect(started).toMatchObject({
      State: 'STARTING',
      ReplayArn: `arn:aws:events:us-east-1:000000000000:replay/${name}`,
    });
    expect(finished).toMatchObject({
      State: 'COMPLETED',
      EventSourceArn: archiveArn,
      EventLastReplayedTime: t('12:01:00'),
    });
    const replayed = (await drain(queueUrl)).map((message) => JSON.parse(message.Body ?? '{}'));
    const original = live
      .map((message) => JSON.parse(message.Body ?? '{}'))
      .find((event) => event.id === ids[1]);
    expect(replayed).toEqual([{ ...original, 'replay-name': name }]);
  });

  it('replays an event without the TraceHeader it was published with, as archives do not keep it', async () => {
    // Arrange
    const source = unique('test.replaytrace');
    const { busName, busArn, archiveArn, queueUrl } = await archivedBus(source);
    await fixture.events.send(
      new PutEventsCommand({
        Entries: [
          {
            ...entry(source),
            EventBusName: busName,
            Time: t('17:00:00'),
            TraceHeader: 'Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1',
          },
        ],
      }),
    );
    await fixture.bus.waitForIdle();
    const live = await drain(queueUrl);
    const name = unique('replay');

    // Act
    await fixture.events.send(
      new StartReplayCommand({
        ReplayName: name,
        EventSourceArn: archiveArn,
        EventStartTime: t('17:00:00'),
        EventEndTime: t('17:01:00'),
        Destination: { Arn: busArn },
      }),
    );
    await replayToEnd(name);

    // Assert
    const replayed = await drain(queueUrl);
    expect(live.map((message) => message.Attributes?.AWSTraceHeader)).toEqual([
      'Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1',
    ]);
    expect(replayed.map((message) => message.Attributes?.AWSTraceHeader)).toEqual([undefined]);
  });

  it('does not archive replayed events again', async () => {
    // Arrange
    const source = unique('test.rearchive');
    const { busName, busArn, archiveArn } = await archivedBus(source);
    await publishAt(busName, source, [t('13:00:00'), t('13:00:01')]);
    const archiveName = archiveArn.split('/').at(-1);
    const name = unique('replay');

    // Act
    await fixture.events.send(
      new StartReplayCommand({
        ReplayName: name,
        EventSourceArn: archiveArn,
        EventStartTime: t('13:00:00'),
        EventEndTime: t('13:01:00'),
        Destination: { Arn: busArn },
      }),
    );
    await replayToEnd(name);

    // Assert
    const archive = await fixture.events.send(new DescribeArchiveCommand({ ArchiveName: archiveName }));
    expect(archive.EventCount).toBe(2);
  });

  it('replays to the rules named in FilterArns only', async () => {
    // Arrange
    const source = unique('test.filter');
    const { busName, busArn, archiveArn, queueUrl } = await archivedBus(source);
    const otherQueue = await createQueue(unique('other-target'));
    const otherRule = unique('rule');
    fixture.bus.putRule({
      name: otherRule,
      eventBusName: busName,
      eventPattern: { source: [source] },
      targets: [{ id: 'q', queueUrl: otherQueue }],
    });
    await publishAt(busName, source, [t('14:00:00')]);
    await Promise.all([drain(queueUrl), drain(otherQueue)]);
    const name = unique('replay');

    // Act
    await fixture.events.send(
      new StartReplayCommand({
        ReplayName: name,
        EventSourceArn: archiveArn,
        EventStartTime: t('14:00:00'),
        EventEndTime: t('14:01:00'),
        Destination: {
          Arn: busArn,
          FilterArns: [`arn:aws:events:us-east-1:000000000000:rule/${busName}/${otherRule}`],
        },
      }),
    );
    await replayToEnd(name);

    // Assert
    expect(await drain(queueUrl)).toEqual([]);
    expect(await drain(otherQueue)).toHaveLength(1);
  });

  it('keeps only the events that match the archive pattern, from the archive creation on', async () => {
    // Arrange
    const busName = unique('replay-bus');
    fixture.bus.createEventBus(busName);
    await publishAt(busName, 'test.before', [t('15:00:00')]);
    const archiveName = unique('archive');

    // Act
    const created = await fixture.events.send(
      new CreateArchiveCommand({
        ArchiveName: archiveName,
        EventSourceArn: `arn:aws:events:us-east-1:000000000000:event-bus/${busName}`,
        EventPattern: JSON.stringify({ source: ['test.kept'] }),
      }),
    );
    await publishAt(busName, 'test.kept', [t('15:00:01')]);
    await publishAt(busName, 'test.dropped', [t('15:00:02')]);

    // Assert
    expect(created.State).toBe('ENABLED');
    const archive = await fixture.events.send(new DescribeArchiveCommand({ ArchiveName: archiveName }));
    expect(archive).toMatchObject({ ArchiveArn: created.ArchiveArn, EventCount: 1, State: 'ENABLED' });
  });

  it('refuses a replay of an unknown archive, a reused name, an empty range and another bus', async () => {
    // Arrange
    const source = unique('test.refuse');
    const { busArn, archiveArn } = await archivedBus(source);
    const other = await archivedBus(unique('test.other'));
    const name = unique('replay');
    const replay = (overrides: Partial<ConstructorParameters<typeof StartReplayCommand>[0]>) =>
      fixture.events.send(
        new StartReplayCommand({
          ReplayName: name,
          EventSourceArn: archiveArn,
          EventStartTime: t('16:00:00'),
          EventEndTime: t('16:01:00'),
          Destination: { Arn: busArn },
          ...overrides,
        }),
      );

    // Act
    const unknownArchive = await failure(
      replay({ EventSourceArn: 'arn:aws:events:us-east-1:000000000000:archive/nope' }),
    );
    const emptyRange = await failure(replay({ EventEndTime: t('16:00:00') }));
    const otherBus = await failure(replay({ Destination: { Arn: other.busArn } }));
    await replay({});
    const reused = await failure(replay({}));

    // Assert
    expect(unknownArchive).toMatchObject({ name: 'ResourceNotFoundException' });
    expect(emptyRange).toMatchObject({ name: 'ValidationException' });
    expect(otherBus).toMatchObject({ name: 'ValidationException' });
    expect(reused).toMatchObject({ name: 'ResourceAlreadyExistsException' });
    await replayToEnd(name);
  });
});

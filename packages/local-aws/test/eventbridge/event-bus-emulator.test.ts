/**
 * The local EventBridge on the real wire: every request goes through the real
 * `EventBridgeClient`, and deliveries land in queues of the real fauxqs engine.
 */
import {
  CreateArchiveCommand,
  DescribeArchiveCommand,
  DescribeEventBusCommand,
  DescribeReplayCommand,
  type DescribeReplayCommandOutput,
  EventBridgeClient,
  ListRulesCommand,
  PutEventsCommand,
  type PutEventsRequestEntry,
  StartReplayCommand,
} from '@aws-sdk/client-eventbridge';
import { CreateQueueCommand, type Message, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SqsEmulator, startSqsEmulator } from '../../src/engines/sqs-emulator';
import { type EventBusEmulator, startEventBusEmulator } from '../../src/eventbridge/event-bus-emulator';

const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
const BUS = 'orders';
const LIMIT = 256 * 1024;

let sqsEngine: SqsEmulator | undefined;
let bus: EventBusEmulator;
let sqs: SQSClient;
let events: EventBridgeClient;
let counter = 0;

beforeAll(async () => {
  sqsEngine = await startSqsEmulator();
  bus = await startEventBusEmulator({ sqs: sqsEngine, retryBaseDelayMs: 10 });
  bus.createEventBus(BUS);
  sqs = new SQSClient({ endpoint: sqsEngine.endpoint, region: 'us-east-1', credentials });
  events = new EventBridgeClient({ endpoint: bus.endpoint, region: 'us-east-1', credentials });
});

afterAll(async () => {
  events?.destroy();
  sqs?.destroy();
  try {
    await bus?.stop();
  } finally {
    await sqsEngine?.stop();
  }
});

function unique(prefix: string): string {
  counter += 1;
  return `${prefix}-${counter}`;
}

async function createQueue(name: string, attributes: Record<string, string> = {}): Promise<string> {
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
  if (QueueUrl === undefined) throw new Error(`CreateQueue returned no QueueUrl for ${name}`);
  return QueueUrl;
}

async function receiveAll(queueUrl: string): Promise<Message[]> {
  const { Messages } = await sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: queueUrl,
      MaxNumberOfMessages: 10,
      MessageAttributeNames: ['All'],
      MessageSystemAttributeNames: ['All'],
    }),
  );
  return Messages ?? [];
}

/** A queue and a rule that sends events of `source` on the orders bus to it. */
async function routeSourceToNewQueue(source: string): Promise<string> {
  const queueUrl = await createQueue(unique('target'));
  bus.putRule({
    name: unique('rule'),
    eventBusName: BUS,
    eventPattern: { source: [source], 'detail-type': ['OrderPlaced'] },
    targets: [{ id: 'queue', queueUrl }],
  });
  return queueUrl;
}

function entry(source: string, detail: object = { orderId: 'o-1' }): PutEventsRequestEntry {
  return { EventBusName: BUS, Source: source, DetailType: 'OrderPlaced', Detail: JSON.stringify(detail) };
}

function attribute(message: Message | undefined, name: string): string | undefined {
  return message?.MessageAttributes?.[name]?.StringValue;
}

describe('startEventBusEmulator', () => {
  it('answers PutEvents from the real SDK client with one EventId per entry', async () => {
    // Arrange
    const source = unique('test.ids');

    // Act
    const result = await events.send(new PutEventsCommand({ Entries: [entry(source), entry(source)] }));

    // Assert
    expect(result.FailedEntryCount).toBe(0);
    expect(result.Entries).toHaveLength(2);
    const ids = (result.Entries ?? []).map((resultEntry) => resultEntry.EventId);
    expect(ids.every((id) => typeof id === 'string' && id.length > 0)).toBe(true);
    expect(new Set(ids).size).toBe(2);
  });

  it("delivers a matching event to the target queue in EventBridge's event shape", async () => {
    // Arrange
    const source = unique('test.shape');
    const queueUrl = await routeSourceToNewQueue(source);
    const detail = { orderId: 'o-42', lines: [{ sku: 'A', quantity: 2 }], total: 12.5 };

    // Act
    const result = await events.send(
      new PutEventsCommand({
        Entries: [
          { ...entry(source, detail), Time: new Date('2024-05-01T12:00:00.789Z'), Resources: ['order/o-42'] },
        ],
      }),
    );
    await bus.waitForIdle();

    // Assert
    const messages = await receiveAll(queueUrl);
    expect(messages).toHaveLength(1);
    const delivered = JSON.parse(messages[0]?.Body ?? 'null');
    expect(delivered).toEqual({
      version: '0',
      id: result.Entries?.[0]?.EventId,
      'detail-type': 'OrderPlaced',
      source,
      account: '000000000000',
      time: '2024-05-01T12:00:00Z',
      region: 'us-east-1',
      resources: ['order/o-42'],
      detail,
    });
    expect(Object.keys(delivered)).toEqual([
      'version',
      'id',
      'detail-type',
      'source',
      'account',
      'time',
      'region',
      'resources',
      'detail',
    ]);
  });

  it('does not deliver an event that matches no rule', async () => {
    // Arrange
    const source = unique('test.nomatch');
    const queueUrl = await routeSourceToNewQueue(source);

    // Act
    const result = await events.send(
      new PutEventsCommand({ Entries: [{ ...entry(source), DetailType: 'OrderCancelled' }] }),
    );
    await bus.waitForIdle();

    // Assert
    expect(result.FailedEntryCount).toBe(0);
    expect(await receiveAll(queueUrl)).toEqual([]);
  });

  it('delivers to a FIFO target with the MessageGroupId of the target', async () => {
    // Arrange
    const source = unique('test.fifo');
    const queueUrl = await createQueue(`${unique('target')}.fifo`, {
      FifoQueue: 'true',
      ContentBasedDeduplication: 'true',
    });
    bus.putRule({
      name: unique('rule'),
      eventBusName: BUS,
      eventPattern: JSON.stringify({ source: [source] }),
      targets: [{ id: 'fifo', queueUrl, messageGroupId: 'orders' }],
    });

    // Act
    await events.send(new PutEventsCommand({ Entries: [entry(source)] }));
    await bus.waitForIdle();

    // Assert
    const messages = await receiveAll(queueUrl);
    expect(messages).toHaveLength(1);
    expect(messages[0]?.Attributes?.MessageGroupId).toBe('orders');
  });

  it('refuses a request of 11 entries as a whole with ValidationException', async () => {
    // Arrange
    const source = unique('test.eleven');
    const before = bus.counters;

    // Act
    const sending = events.send(
      new PutEventsCommand({ Entries: Array.from({ length: 11 }, () => entry(source)) }),
    );

    // Assert
    await expect(sending).rejects.toMatchObject({
      name: 'ValidationException',
      $metadata: { httpStatusCode: 400 },
      message: expect.stringMatching(/Member must have length less than or equal to 10/),
    });
    expect(bus.counters.entriesAccepted).toBe(before.entriesAccepted);
    expect(bus.counters.rejectedRequests).toBe(before.rejectedRequests + 1);
  });

  it('refuses a request whose entries are over 256 KiB as a whole with ValidationException, as EventBridge does', async () => {
    // Arrange: Source + DetailType + Detail bytes one over the limit, plus a small entry that alone would pass
    const source = 'test.size';
    const padding = 'x'.repeat(LIMIT + 1 - (source.length + 'OrderPlaced'.length + '{"pad":""}'.length));
    const oversize = entry(source, { pad: padding });
    const before = bus.counters;

    // Act
    const sending = events.send(new PutEventsCommand({ Entries: [entry(source), oversize] }));

    // Assert
    await expect(sending).rejects.toMatchObject({
      name: 'ValidationException',
      message: expect.stringMatching(/^Total size of the entries in the request is over the limit\./),
    });
    expect(bus.counters.entriesAccepted).toBe(before.entriesAccepted);
  });

  it('accepts a request whose entries total exactly 256 KiB, counting Time as 14 bytes', async () => {
    // Arrange
    const source = 'test.size';
    const fixed = source.length + 'OrderPlaced'.length + '{"pad":""}'.length + 14;
    const exact = { ...entry(source, { pad: 'x'.repeat(LIMIT - fixed) }), Time: new Date() };

    // Act
    const result = await events.send(new PutEventsCommand({ Entries: [exact] }));

    // Assert
    expect(result.FailedEntryCount).toBe(0);
    expect(result.Entries?.[0]?.EventId).toBeDefined();
  });

  it('fails malformed entries alone with their error codes while the other entries are accepted', async () => {
    // Arrange
    const source = unique('test.malformed');

    // Act
    const result = await events.send(
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
    const result = await events.send(
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

  it('sends an event whose target queue does not exist to the target DLQ at once, with the error attributes', async () => {
    // Arrange: as EventBridge, a target that does not exist is not retried
    const source = unique('test.noqueue');
    const dlqUrl = await createQueue(unique('dlq'));
    const missingName = unique('missing');
    const missingQueueUrl = dlqUrl.replace(/[^/]+$/, missingName);
    const ruleName = unique('rule');
    bus.putRule({
      name: ruleName,
      eventBusName: BUS,
      eventPattern: { source: [source] },
      targets: [{ id: 'missing', queueUrl: missingQueueUrl, deadLetterQueueUrl: dlqUrl }],
    });
    const before = bus.counters;

    // Act
    const result = await events.send(new PutEventsCommand({ Entries: [entry(source)] }));
    await bus.waitForIdle();

    // Assert
    const [deadLetter, ...others] = await receiveAll(dlqUrl);
    expect(others).toEqual([]);
    expect(JSON.parse(deadLetter?.Body ?? 'null')).toMatchObject({
      id: result.Entries?.[0]?.EventId,
      source,
    });
    expect(attribute(deadLetter, 'RULE_ARN')).toBe(
      `arn:aws:events:us-east-1:000000000000:rule/${BUS}/${ruleName}`,
    );
    expect(attribute(deadLetter, 'TARGET_ARN')).toBe(`arn:aws:sqs:us-east-1:000000000000:${missingName}`);
    expect(attribute(deadLetter, 'ERROR_CODE')).toBe('NO_RESOURCE');
    expect(attribute(deadLetter, 'ERROR_MESSAGE')).toMatch(/does not exist/);
    expect(attribute(deadLetter, 'RETRY_ATTEMPTS')).toBe('0');
    expect(attribute(deadLetter, 'EXHAUSTED_RETRY_CONDITION')).toBeUndefined();
    expect(bus.counters.deadLettered).toBe(before.deadLettered + 1);
    expect(bus.counters.deliveryRetries).toBe(before.deliveryRetries);
  });

  it('retries a failing delivery maximumRetryAttempts times, then dead-letters it naming the exhausted condition', async () => {
    // Arrange
    const source = unique('test.retries');
    const queueUrl = await createQueue(unique('target'));
    const dlqUrl = await createQueue(unique('dlq'));
    bus.putRule({
      name: unique('rule'),
      eventBusName: BUS,
      eventPattern: { source: [source] },
      targets: [{ id: 'flaky', queueUrl, deadLetterQueueUrl: dlqUrl, maximumRetryAttempts: 2 }],
    });
    const before = bus.counters;
    bus.setFaults({ targetDeliveryFailureRate: 1 });

    try {
      // Act
      await events.send(new PutEventsCommand({ Entries: [entry(source)] }));
      await bus.waitForIdle();
    } finally {
      bus.setFaults({});
    }

    // Assert
    expect(await receiveAll(queueUrl)).toEqual([]);
    const [deadLetter] = await receiveAll(dlqUrl);
    expect(attribute(deadLetter, 'ERROR_CODE')).toBe('INTERNAL_ERROR');
    expect(attribute(deadLetter, 'RETRY_ATTEMPTS')).toBe('2');
    expect(attribute(deadLetter, 'EXHAUSTED_RETRY_CONDITION')).toBe('MaximumRetryAttempts');
    expect(bus.counters.deliveryRetries).toBe(before.deliveryRetries + 2);
  });

  it('fails the same entries with InternalFailure on two runs with the same seed', async () => {
    // Arrange
    const source = unique('test.seed');
    const failingIndexes = async (): Promise<number[]> => {
      bus.setFaults({ putEventsEntryFailureRate: 0.5, seed: 42 });
      const result = await events.send(
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
      bus.setFaults({});
    }
  });

  it('fails a whole request with ThrottlingException, which the SDK retries by itself', async () => {
    // Arrange
    const client = new EventBridgeClient({
      endpoint: bus.endpoint,
      region: 'us-east-1',
      credentials,
      maxAttempts: 2,
    });
    const before = bus.counters;
    bus.setFaults({ throttleRate: 1 });

    try {
      // Act
      const sending = client.send(new PutEventsCommand({ Entries: [entry(unique('test.throttle'))] }));

      // Assert
      await expect(sending).rejects.toMatchObject({
        name: 'ThrottlingException',
        $metadata: { attempts: 2 },
      });
      expect(bus.counters.throttledRequests).toBe(before.throttledRequests + 2);
    } finally {
      bus.setFaults({});
      client.destroy();
    }
  });

  it('keeps every accepted event of a bus in its archive, and no refused one', async () => {
    // Arrange
    const archived = unique('archived');
    bus.createEventBus(archived);
    const source = unique('test.archive');

    // Act
    const result = await events.send(
      new PutEventsCommand({
        Entries: [
          { ...entry(source, { n: 1 }), EventBusName: archived },
          { ...entry(source), EventBusName: archived, Detail: 'not json' },
          { ...entry(source, { n: 2 }), EventBusName: archived },
        ],
      }),
    );

    // Assert
    const archive = bus.archive(archived);
    expect(archive.map(({ event }) => event.id)).toEqual([
      result.Entries?.[0]?.EventId,
      result.Entries?.[2]?.EventId,
    ]);
    expect(archive.map(({ event }) => event.detail)).toEqual([{ n: 1 }, { n: 2 }]);
  });

  it('answers ListRules and DescribeEventBus through the SDK', async () => {
    // Arrange
    const ruleName = unique('listed');
    bus.putRule({
      name: ruleName,
      eventBusName: BUS,
      eventPattern: { source: ['test.listed'] },
      targets: [],
    });

    // Act
    const rules = await events.send(new ListRulesCommand({ EventBusName: BUS, NamePrefix: ruleName }));
    const described = await events.send(new DescribeEventBusCommand({ Name: BUS }));

    // Assert
    expect(rules.Rules).toEqual([
      {
        Name: ruleName,
        Arn: `arn:aws:events:us-east-1:000000000000:rule/${BUS}/${ruleName}`,
        EventPattern: '{"source":["test.listed"]}',
        State: 'ENABLED',
        EventBusName: BUS,
      },
    ]);
    expect(described).toMatchObject({
      Name: BUS,
      Arn: `arn:aws:events:us-east-1:000000000000:event-bus/${BUS}`,
    });
  });

  it('answers an operation it does not emulate with UnknownOperationException', async () => {
    // Act
    const response = await fetch(bus.endpoint, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-amz-json-1.1', 'X-Amz-Target': 'AWSEvents.PutPermission' },
      body: '{}',
    });

    // Assert
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toBe('application/x-amz-json-1.1');
    expect(await response.json()).toMatchObject({ __type: 'UnknownOperationException' });
  });

  it('refuses a FIFO target without messageGroupId when the rule is put', async () => {
    // Arrange
    const queueUrl = await createQueue(`${unique('target')}.fifo`, { FifoQueue: 'true' });

    // Act
    const putting = () =>
      bus.putRule({
        name: unique('rule'),
        eventBusName: BUS,
        eventPattern: { source: ['x'] },
        targets: [{ id: 't', queueUrl }],
      });

    // Assert
    expect(putting).toThrow(/a FIFO queue target needs a messageGroupId/);
  });
});

describe('archives and replays', () => {
  const t = (hhmmss: string) => new Date(`2024-05-01T${hhmmss}Z`);

  /** A new bus with an archive of every event and a rule sending `source` events to a new queue. */
  async function archivedBus(source: string) {
    const busName = unique('replay-bus');
    bus.createEventBus(busName);
    const archiveArn = bus.createArchive({ name: unique('archive'), eventBusName: busName });
    const queueUrl = await createQueue(unique('replay-target'));
    const ruleName = unique('rule');
    bus.putRule({
      name: ruleName,
      eventBusName: busName,
      eventPattern: { source: [source] },
      targets: [{ id: 'q', queueUrl }],
    });
    const busArn = `arn:aws:events:us-east-1:000000000000:event-bus/${busName}`;
    return { busName, busArn, archiveArn, queueUrl, ruleName };
  }

  async function publishAt(busName: string, source: string, times: Date[]): Promise<string[]> {
    const result = await events.send(
      new PutEventsCommand({
        Entries: times.map((time, index) => ({
          ...entry(source, { n: index }),
          EventBusName: busName,
          Time: time,
        })),
      }),
    );
    await bus.waitForIdle();
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
      const replay = await events.send(new DescribeReplayCommand({ ReplayName: name }));
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
    const started = await events.send(
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

  it('does not archive replayed events again', async () => {
    // Arrange
    const source = unique('test.rearchive');
    const { busName, busArn, archiveArn } = await archivedBus(source);
    await publishAt(busName, source, [t('13:00:00'), t('13:00:01')]);
    const archiveName = archiveArn.split('/').at(-1);
    const name = unique('replay');

    // Act
    await events.send(
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
    const archive = await events.send(new DescribeArchiveCommand({ ArchiveName: archiveName }));
    expect(archive.EventCount).toBe(2);
  });

  it('replays to the rules named in FilterArns only', async () => {
    // Arrange
    const source = unique('test.filter');
    const { busName, busArn, archiveArn, queueUrl } = await archivedBus(source);
    const otherQueue = await createQueue(unique('other-target'));
    const otherRule = unique('rule');
    bus.putRule({
      name: otherRule,
      eventBusName: busName,
      eventPattern: { source: [source] },
      targets: [{ id: 'q', queueUrl: otherQueue }],
    });
    await publishAt(busName, source, [t('14:00:00')]);
    await Promise.all([drain(queueUrl), drain(otherQueue)]);
    const name = unique('replay');

    // Act
    await events.send(
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
    bus.createEventBus(busName);
    await publishAt(busName, 'test.before', [t('15:00:00')]);
    const archiveName = unique('archive');

    // Act
    const created = await events.send(
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
    const archive = await events.send(new DescribeArchiveCommand({ ArchiveName: archiveName }));
    expect(archive).toMatchObject({ ArchiveArn: created.ArchiveArn, EventCount: 1, State: 'ENABLED' });
  });

  it('refuses a replay of an unknown archive, a reused name, an empty range and another bus', async () => {
    // Arrange
    const source = unique('test.refuse');
    const { busArn, archiveArn } = await archivedBus(source);
    const other = await archivedBus(unique('test.other'));
    const name = unique('replay');
    const replay = (overrides: Partial<ConstructorParameters<typeof StartReplayCommand>[0]>) =>
      events.send(
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

import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type SqsEmulator, startSqsEmulator } from '../../src/engines/sqs-emulator';
import { MappingConfigError } from '../../src/event-source-mappings/invoke';
import { SqsMapping, type SqsMappingOptions } from '../../src/event-source-mappings/sqs-mapping';

let engine: SqsEmulator;
let sqs: SQSClient;
let queueCounter = 0;
const started: SqsMapping[] = [];

beforeAll(async () => {
  engine = await startSqsEmulator();
  sqs = new SQSClient({
    endpoint: engine.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
});

afterEach(async () => {
  await Promise.all(started.splice(0).map((mapping) => mapping.stop()));
});

afterAll(async () => {
  sqs?.destroy();
  await engine?.stop();
});

async function createQueue(
  fifo: boolean,
  attributes: Record<string, string> = {},
): Promise<{ url: string; arn: string }> {
  queueCounter += 1;
  const name = `mapping-${queueCounter}${fifo ? '.fifo' : ''}`;
  const created = await sqs.send(
    new CreateQueueCommand({
      QueueName: name,
      Attributes: { ...(fifo ? { FifoQueue: 'true' } : {}), ...attributes },
    }),
  );
  const url = created.QueueUrl;
  if (url === undefined) throw new Error(`CreateQueue returned no QueueUrl for ${name}`);
  const described = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }),
  );
  const arn = described.Attributes?.QueueArn;
  if (arn === undefined) throw new Error(`no QueueArn for ${name}`);
  return { url, arn };
}

async function sendAll(url: string, bodies: string[], group?: (body: string) => string): Promise<void> {
  for (const body of bodies) {
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: url,
        MessageBody: body,
        MessageGroupId: group?.(body),
        MessageDeduplicationId: group === undefined ? undefined : body,
      }),
    );
  }
}

/** Starts a mapping that records every event; `respond` decides each outcome. */
async function startMapping(
  queueUrl: string,
  options: Partial<SqsMappingOptions> & {
    respond?: (event: SQSEvent, call: number) => unknown | Promise<unknown>;
  } = {},
): Promise<{ mapping: SqsMapping; events: SQSRecord[][] }> {
  const events: SQSRecord[][] = [];
  const { respond, ...mappingOptions } = options;
  const mapping = new SqsMapping({
    sqs,
    queueUrl,
    pollIntervalMs: 20,
    invoke: async (event) => {
      events.push(event.Records);
      return respond?.(event, events.length);
    },
    ...mappingOptions,
  });
  started.push(mapping);
  await mapping.start();
  return { mapping, events };
}

function bodiesOf(records: SQSRecord[]): string[] {
  return records.map((record) => record.body);
}

describe('SqsMapping on a standard queue', () => {
  it('delivers messages in the Lambda record shape and deletes them when the function succeeds', async () => {
    // Arrange
    const queue = await createQueue(false);
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: queue.url,
        MessageBody: 'with-attributes',
        MessageAttributes: {
          traceId: { DataType: 'String', StringValue: 't-1' },
          blob: { DataType: 'Binary', BinaryValue: Buffer.from('hi') },
        },
      }),
    );
    await sendAll(queue.url, ['m2', 'm3']);

    // Act
    const { mapping, events } = await startMapping(queue.url, { maximumConcurrency: 2 });
    await mapping.drain();

    // Assert
    expect(
      events
        .flat()
        .map((record) => record.body)
        .sort(),
    ).toEqual(['m2', 'm3', 'with-attributes']);
    const record = events.flat().find((candidate) => candidate.body === 'with-attributes');
    expect(record).toMatchObject({
      eventSource: 'aws:sqs',
      eventSourceARN: queue.arn,
      awsRegion: 'us-east-1',
      attributes: { ApproximateReceiveCount: '1', SenderId: expect.any(String) },
      messageAttributes: {
        traceId: { stringValue: 't-1', stringListValues: [], binaryListValues: [], dataType: 'String' },
        blob: { binaryValue: Buffer.from('hi').toString('base64'), dataType: 'Binary' },
      },
    });
    expect(Number(record?.attributes.SentTimestamp)).toBeGreaterThan(0);
    expect(mapping.counters).toMatchObject({ recordsDelivered: 3, recordsDeleted: 3, retries: 0 });
  });

  it('deletes all but the messages a partial batch response lists, which come back after the visibility timeout', async () => {
    // Arrange
    const queue = await createQueue(false, { VisibilityTimeout: '1' });
    await sendAll(queue.url, ['ok-1', 'fails-once', 'ok-2']);
    let failedOnce = false;

    // Act
    const { mapping, events } = await startMapping(queue.url, {
      reportBatchItemFailures: true,
      respond: (event) => {
        const failing = event.Records.find((record) => record.body === 'fails-once');
        if (failing === undefined || failedOnce) return { batchItemFailures: [] };
        failedOnce = true;
        return { batchItemFailures: [{ itemIdentifier: failing.messageId }] };
      },
    });
    await mapping.drain();

    // Assert
    const deliveries = events.flat();
    expect(deliveries.map((record) => record.body).sort()).toEqual([
      'fails-once',
      'fails-once',
      'ok-1',
      'ok-2',
    ]);
    expect(
      deliveries
        .filter((record) => record.body === 'fails-once')
        .map((record) => record.attributes.ApproximateReceiveCount),
    ).toEqual(['1', '2']);
    expect(mapping.counters).toMatchObject({
      partialFailures: 1,
      recordsLeftForRetry: 1,
      retries: 1,
      recordsDeleted: 3,
    });
  });

  it('deletes nothing when the function throws, so the whole batch is delivered again', async () => {
    // Arrange
    const queue = await createQueue(false, { VisibilityTimeout: '1' });
    await sendAll(queue.url, ['a', 'b']);

    // Act
    const { mapping, events } = await startMapping(queue.url, {
      maximumConcurrency: 2,
      respond: (_event, call) => {
        if (call === 1) throw new Error('transient failure');
      },
    });
    await mapping.drain();

    // Assert
    expect(
      events
        .flat()
        .map((record) => record.body)
        .sort(),
    ).toEqual(['a', 'a', 'b', 'b']);
    expect(mapping.counters).toMatchObject({ functionErrors: 1, recordsLeftForRetry: 2, retries: 2 });
  });

  it('deletes nothing when a partial batch response names a message that is not in the batch', async () => {
    // Arrange
    const queue = await createQueue(false, { VisibilityTimeout: '1' });
    await sendAll(queue.url, ['only']);

    // Act
    const { mapping, events } = await startMapping(queue.url, {
      reportBatchItemFailures: true,
      respond: (_event, call) =>
        call === 1 ? { batchItemFailures: [{ itemIdentifier: 'unknown-id' }] } : undefined,
    });
    await mapping.drain();

    // Assert
    expect(events.map(bodiesOf)).toEqual([['only'], ['only']]);
    expect(mapping.counters.invalidResponses).toBe(1);
  });

  it('deletes messages the filter rejects without invoking the function', async () => {
    // Arrange
    const queue = await createQueue(false);
    await sendAll(queue.url, ['keep-1', 'drop-1', 'keep-2']);

    // Act
    const { mapping, events } = await startMapping(queue.url, {
      filter: (record) => record.body.startsWith('keep'),
    });
    await mapping.drain();

    // Assert
    expect(
      events
        .flat()
        .map((record) => record.body)
        .sort(),
    ).toEqual(['keep-1', 'keep-2']);
    expect(mapping.counters).toMatchObject({ recordsFiltered: 1, recordsDeleted: 3 });
  });

  it('gathers a batch above 10 messages from several receives within the batching window', async () => {
    // Arrange
    const queue = await createQueue(false);
    await sendAll(
      queue.url,
      Array.from({ length: 25 }, (_, index) => `m${index}`),
    );

    // Act
    const { mapping, events } = await startMapping(queue.url, {
      batchSize: 25,
      maximumBatchingWindowInSeconds: 1,
      maximumConcurrency: 2,
    });
    await mapping.drain();

    // Assert
    expect(events.flat()).toHaveLength(25);
    expect(Math.max(...events.map((records) => records.length))).toBeGreaterThan(10);
  });

  it('lets the queue redrive a message that always fails to its DLQ after maxReceiveCount deliveries', async () => {
    // Arrange
    const dlq = await createQueue(false);
    const queue = await createQueue(false, {
      VisibilityTimeout: '1',
      RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlq.arn, maxReceiveCount: 2 }),
    });
    await sendAll(queue.url, ['good', 'poison']);

    // Act
    const { mapping, events } = await startMapping(queue.url, {
      reportBatchItemFailures: true,
      respond: (event) => ({
        batchItemFailures: event.Records.filter((record) => record.body === 'poison').map((record) => ({
          itemIdentifier: record.messageId,
        })),
      }),
    });
    await mapping.drain();
    const inDlq = await sqs.send(new ReceiveMessageCommand({ QueueUrl: dlq.url, MaxNumberOfMessages: 10 }));

    // Assert
    expect(events.flat().filter((record) => record.body === 'poison')).toHaveLength(2);
    expect(events.flat().filter((record) => record.body === 'good')).toHaveLength(1);
    expect(inDlq.Messages?.map((message) => message.Body)).toEqual(['poison']);
  });
});

describe('SqsMapping trace headers', () => {
  it("puts a message's AWSTraceHeader in its record's attributes, and none on a message without one", async () => {
    // Arrange
    const queue = await createQueue(false);
    const trace = 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1';
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: queue.url,
        MessageBody: 'traced',
        MessageSystemAttributes: { AWSTraceHeader: { DataType: 'String', StringValue: trace } },
      }),
    );
    await sendAll(queue.url, ['untraced']);

    // Act
    const { mapping, events } = await startMapping(queue.url);
    await mapping.drain();

    // Assert
    const byBody = Object.fromEntries(
      events.flat().map((record) => [record.body, record.attributes.AWSTraceHeader]),
    );
    expect(byBody).toEqual({ traced: trace, untraced: undefined });
  });
});

describe('SqsMapping on a FIFO queue', () => {
  it('keeps each group in order and never processes a group in two invocations at once', async () => {
    // Arrange
    const queue = await createQueue(true);
    const sent = Array.from({ length: 12 }, (_, index) => `g${index % 3}-${Math.floor(index / 3)}`);
    await sendAll(queue.url, sent, (body) => body.split('-')[0] ?? 'none');
    const inFlight = new Set<string>();
    const overlaps: string[] = [];
    const seen = new Map<string, string[]>();

    // Act
    const { mapping } = await startMapping(queue.url, {
      respond: async (event) => {
        const groups = event.Records.map((record) => record.attributes.MessageGroupId ?? '?');
        for (const group of groups) if (inFlight.has(group)) overlaps.push(group);
        for (const group of groups) inFlight.add(group);
        await new Promise((resolve) => setTimeout(resolve, 5));
        for (const record of event.Records) {
          const group = record.attributes.MessageGroupId ?? '?';
          seen.set(group, [...(seen.get(group) ?? []), record.body]);
        }
        for (const group of groups) inFlight.delete(group);
      },
    });
    await mapping.drain();

    // Assert
    expect(overlaps).toEqual([]);
    for (const group of ['g0', 'g1', 'g2']) {
      expect(seen.get(group)).toEqual(sent.filter((body) => body.startsWith(`${group}-`)));
    }
  });

  it('holds back the rest of a group until a failed message of that group succeeds', async () => {
    // Arrange
    const queue = await createQueue(true, { VisibilityTimeout: '1' });
    await sendAll(queue.url, ['a-1', 'a-2', 'b-1'], (body) => body.split('-')[0] ?? 'none');
    let failed = false;

    // Act
    const { mapping, events } = await startMapping(queue.url, {
      reportBatchItemFailures: true,
      respond: (event) => {
        const first = event.Records.find((record) => record.body === 'a-1');
        if (first === undefined || failed) return undefined;
        failed = true;
        return { batchItemFailures: [{ itemIdentifier: first.messageId }] };
      },
    });
    await mapping.drain();

    // Assert
    const groupA = events.flat().filter((record) => record.attributes.MessageGroupId === 'a');
    expect(groupA.map((record) => [record.body, record.attributes.ApproximateReceiveCount])).toEqual([
      ['a-1', '1'],
      ['a-1', '2'],
      ['a-2', '1'],
    ]);
  });
});

describe('SqsMapping configuration', () => {
  it('rejects a FIFO batchSize above 10 and says what was given', () => {
    // Act
    const creating = () =>
      new SqsMapping({
        sqs,
        queueUrl: 'http://127.0.0.1:1/000000000000/q.fifo',
        batchSize: 11,
        invoke: async () => undefined,
      });

    // Assert
    expect(creating).toThrow(MappingConfigError);
    expect(creating).toThrow('batchSize must be an integer between 1 and 10 (given 11)');
  });

  it('rejects a standard batchSize above 10 without a batching window', () => {
    // Act
    const creating = () =>
      new SqsMapping({
        sqs,
        queueUrl: 'http://127.0.0.1:1/000000000000/q',
        batchSize: 100,
        invoke: async () => undefined,
      });

    // Assert
    expect(creating).toThrow('maximumBatchingWindowInSeconds must be at least 1 when batchSize is above 10');
  });

  it('rejects a batching window on a FIFO queue', () => {
    // Act
    const creating = () =>
      new SqsMapping({
        sqs,
        queueUrl: 'http://127.0.0.1:1/000000000000/q.fifo',
        maximumBatchingWindowInSeconds: 1,
        invoke: async () => undefined,
      });

    // Assert
    expect(creating).toThrow('maximumBatchingWindowInSeconds is not supported for FIFO queues (given 1)');
  });
});

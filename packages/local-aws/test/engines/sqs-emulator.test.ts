/**
 * Pins what fauxqs 1.9.2 does (see the comment block in local/engines/sqs-emulator.ts).
 * These are facts about the emulator, not about our code: if a fauxqs upgrade
 * changes one, this file fails and the comment block and the local runtime need a look.
 */
import { connect } from 'node:net';
import { networkInterfaces } from 'node:os';
import {
  ChangeMessageVisibilityCommand,
  CreateQueueCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ListMessageMoveTasksCommand,
  ListQueuesCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
  StartMessageMoveTaskCommand,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SqsEmulator, startSqsEmulator } from '../../src/engines/sqs-emulator';

let engine: SqsEmulator;
let sqs: SQSClient;
let queueCounter = 0;

beforeAll(async () => {
  engine = await startSqsEmulator();
  sqs = new SQSClient({
    endpoint: engine.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
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
  const name = `facts-${queueCounter}${fifo ? '.fifo' : ''}`;
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
  if (arn === undefined) throw new Error(`GetQueueAttributes returned no QueueArn for ${name}`);
  return { url, arn };
}

async function receive(url: string, visibilityTimeout?: number): Promise<Message[]> {
  const result = await sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: url,
      MaxNumberOfMessages: 10,
      VisibilityTimeout: visibilityTimeout,
      MessageSystemAttributeNames: ['All'],
    }),
  );
  return result.Messages ?? [];
}

function bodies(messages: Message[]): Array<string | undefined> {
  return messages.map((message) => message.Body);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

describe('fauxqs 1.9.2 as started by startSqsEmulator', () => {
  it('answers on 127.0.0.1 and is not reachable on other interfaces', async () => {
    // Arrange
    const otherAddress = Object.values(networkInterfaces())
      .flat()
      .find((info) => info !== undefined && info.family === 'IPv4' && !info.internal)?.address;

    // Act
    const listed = await sqs.send(new ListQueuesCommand({}));
    const reachableElsewhere =
      otherAddress === undefined ? false : await canConnect(otherAddress, engine.port);

    // Assert
    expect(engine.endpoint).toBe(`http://127.0.0.1:${engine.port}`);
    expect(listed.$metadata.httpStatusCode).toBe(200);
    expect(reachableElsewhere).toBe(false);
  });
});

describe('fauxqs FIFO queues', () => {
  it('return one message per group per ReceiveMessage, in send order, and lock the group while it is in flight', async () => {
    // Arrange
    const queue = await createQueue(true, { ContentBasedDeduplication: 'true' });
    for (const [group, body] of [
      ['a', 'a1'],
      ['a', 'a2'],
      ['b', 'b1'],
      ['a', 'a3'],
      ['b', 'b2'],
    ] as const) {
      await sqs.send(
        new SendMessageCommand({ QueueUrl: queue.url, MessageBody: body, MessageGroupId: group }),
      );
    }

    // Act
    const first = await receive(queue.url);
    const whileLocked = await receive(queue.url);
    const a1 = first.find((message) => message.Body === 'a1');
    await sqs.send(new DeleteMessageCommand({ QueueUrl: queue.url, ReceiptHandle: a1?.ReceiptHandle }));
    const afterDeletingA1 = await receive(queue.url);

    // Assert
    expect(bodies(first)).toEqual(['a1', 'b1']);
    expect(whileLocked).toEqual([]);
    expect(bodies(afterDeletingA1)).toEqual(['a2']);
    expect(afterDeletingA1[0]?.Attributes?.MessageGroupId).toBe('a');
    expect(Number(afterDeletingA1[0]?.Attributes?.SequenceNumber)).toBeGreaterThan(
      Number(first[0]?.Attributes?.SequenceNumber),
    );
  });

  it('drop a repeated MessageDeduplicationId and answer with the original MessageId', async () => {
    // Arrange
    const queue = await createQueue(true);
    const send = (body: string) =>
      sqs.send(
        new SendMessageCommand({
          QueueUrl: queue.url,
          MessageBody: body,
          MessageGroupId: 'g',
          MessageDeduplicationId: 'same-id',
        }),
      );

    // Act
    const original = await send('first');
    const repeated = await send('second body, same deduplication id');
    const received = await receive(queue.url);

    // Assert
    expect(repeated.MessageId).toBe(original.MessageId);
    expect(repeated.SequenceNumber).toBe(original.SequenceNumber);
    expect(bodies(received)).toEqual(['first']);
  });

  it('deduplicate identical bodies when ContentBasedDeduplication is on', async () => {
    // Arrange
    const queue = await createQueue(true, { ContentBasedDeduplication: 'true' });

    // Act
    await sqs.send(
      new SendMessageCommand({ QueueUrl: queue.url, MessageBody: 'same', MessageGroupId: 'g1' }),
    );
    await sqs.send(
      new SendMessageCommand({ QueueUrl: queue.url, MessageBody: 'same', MessageGroupId: 'g2' }),
    );
    const received = await receive(queue.url);

    // Assert
    expect(bodies(received)).toEqual(['same']);
    expect(received[0]?.Attributes?.MessageDeduplicationId).toMatch(/^[0-9a-f]{64}$/);
  });

  it('reject a message without a deduplication id when ContentBasedDeduplication is off', async () => {
    // Arrange
    const queue = await createQueue(true);

    // Act
    const sending = sqs.send(
      new SendMessageCommand({ QueueUrl: queue.url, MessageBody: 'x', MessageGroupId: 'g' }),
    );

    // Assert: fauxqs prefixes every query-compatible error code, so the SDK names it AWS.SimpleQueueService.<code>
    await expect(sending).rejects.toMatchObject({ name: 'AWS.SimpleQueueService.InvalidParameterValue' });
  });
});

describe('fauxqs visibility timeout', () => {
  it('hides a received message until the timeout passes, then redelivers it with a higher receive count', async () => {
    // Arrange
    const queue = await createQueue(false, { VisibilityTimeout: '1' });
    await sqs.send(new SendMessageCommand({ QueueUrl: queue.url, MessageBody: 'm' }));

    // Act
    const first = await receive(queue.url);
    const whileHidden = await receive(queue.url);
    await sleep(1_100);
    const again = await receive(queue.url);

    // Assert
    expect(first[0]?.Attributes?.ApproximateReceiveCount).toBe('1');
    expect(whileHidden).toEqual([]);
    expect(again[0]?.MessageId).toBe(first[0]?.MessageId);
    expect(again[0]?.Attributes?.ApproximateReceiveCount).toBe('2');
  });

  it('makes a message visible at once with ChangeMessageVisibility 0 and keeps it hidden when extended', async () => {
    // Arrange
    const queue = await createQueue(false);
    await sqs.send(new SendMessageCommand({ QueueUrl: queue.url, MessageBody: 'released' }));
    await sqs.send(new SendMessageCommand({ QueueUrl: queue.url, MessageBody: 'extended' }));
    const received = await receive(queue.url, 1);
    const handleOf = (body: string) => received.find((message) => message.Body === body)?.ReceiptHandle;

    // Act
    await sqs.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: queue.url,
        ReceiptHandle: handleOf('released'),
        VisibilityTimeout: 0,
      }),
    );
    await sqs.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: queue.url,
        ReceiptHandle: handleOf('extended'),
        VisibilityTimeout: 5,
      }),
    );
    const immediately = await receive(queue.url, 30);
    await sleep(1_100);
    const afterOriginalTimeout = await receive(queue.url, 30);

    // Assert
    expect(bodies(immediately)).toEqual(['released']);
    expect(afterOriginalTimeout).toEqual([]);
  });
});

describe('fauxqs RedrivePolicy', () => {
  it('moves a standard message to the DLQ on the receive after maxReceiveCount deliveries', async () => {
    // Arrange
    const dlq = await createQueue(false);
    const queue = await createQueue(false, {
      RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlq.arn, maxReceiveCount: 2 }),
    });
    await sqs.send(new SendMessageCommand({ QueueUrl: queue.url, MessageBody: 'poison' }));

    // Act: visibility 0 makes every receive a redelivery without waiting
    const deliveries = [
      await receive(queue.url, 0),
      await receive(queue.url, 0),
      await receive(queue.url, 0),
    ];
    const inDlq = await receive(dlq.url);

    // Assert
    expect(deliveries.map((messages) => messages[0]?.Attributes?.ApproximateReceiveCount)).toEqual([
      '1',
      '2',
      undefined,
    ]);
    expect(bodies(inDlq)).toEqual(['poison']);
  });

  it('moves a FIFO message to a FIFO DLQ keeping its group, deduplication id and sequence number', async () => {
    // Arrange
    const dlq = await createQueue(true);
    const queue = await createQueue(true, {
      RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlq.arn, maxReceiveCount: 1 }),
    });
    const sent = await sqs.send(
      new SendMessageCommand({
        QueueUrl: queue.url,
        MessageBody: 'poison',
        MessageGroupId: 'order-1',
        MessageDeduplicationId: 'd-1',
      }),
    );

    // Act
    await receive(queue.url, 0);
    const secondReceive = await receive(queue.url, 0);
    const inDlq = await receive(dlq.url);

    // Assert
    expect(secondReceive).toEqual([]);
    expect(bodies(inDlq)).toEqual(['poison']);
    expect(inDlq[0]?.Attributes).toMatchObject({
      MessageGroupId: 'order-1',
      MessageDeduplicationId: 'd-1',
      SequenceNumber: sent.SequenceNumber,
    });
  });
});

describe('fauxqs SendMessageBatch', () => {
  it('reports entry failures per entry and enqueues the other entries', async () => {
    // Arrange
    const queue = await createQueue(true, { ContentBasedDeduplication: 'true' });

    // Act
    const result = await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queue.url,
        Entries: [
          { Id: 'ok', MessageBody: 'fine', MessageGroupId: 'g' },
          { Id: 'no-group', MessageBody: 'missing group' },
          { Id: 'bad-chars', MessageBody: 'nul \u0000 inside', MessageGroupId: 'g' },
        ],
      }),
    );

    // Assert
    expect(result.Successful?.map((entry) => entry.Id)).toEqual(['ok']);
    expect(result.Failed?.map((entry) => [entry.Id, entry.Code, entry.SenderFault])).toEqual([
      ['no-group', 'MissingParameter', true],
      ['bad-chars', 'InvalidMessageContents', true],
    ]);
    expect(bodies(await receive(queue.url))).toEqual(['fine']);
  });
});

describe('fauxqs message move tasks', () => {
  it('does not implement StartMessageMoveTask', async () => {
    // Arrange
    const dlq = await createQueue(false);

    // Act
    const starting = sqs.send(new StartMessageMoveTaskCommand({ SourceArn: dlq.arn }));

    // Assert
    await expect(starting).rejects.toMatchObject({ name: 'InvalidAction' });
  });

  it('does not implement ListMessageMoveTasks', async () => {
    // Arrange
    const dlq = await createQueue(false);

    // Act
    const listing = sqs.send(new ListMessageMoveTasksCommand({ SourceArn: dlq.arn }));

    // Assert
    await expect(listing).rejects.toMatchObject({ name: 'InvalidAction' });
  });
});

function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: 1_000 });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

/** The AWSTraceHeader message system attribute on the SQS emulator, through the SQS SDK client. */
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SqsEmulator, startSqsEmulator } from '../../src/engines/sqs-emulator';

const TRACE = 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1';
const OTHER_TRACE = 'Root=1-5759e989-00000000000000000000aaaa;Parent=0000000000000001;Sampled=0';

let engine: SqsEmulator | undefined;
let sqs: SQSClient;
let counter = 0;

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

async function newQueue(attributes: Record<string, string> = {}): Promise<string> {
  counter += 1;
  const { QueueUrl } = await sqs.send(
    new CreateQueueCommand({ QueueName: `traced-${counter}`, Attributes: attributes }),
  );
  if (QueueUrl === undefined) throw new Error('CreateQueue returned no QueueUrl');
  return QueueUrl;
}

function traced(header: string) {
  return { AWSTraceHeader: { DataType: 'String', StringValue: header } };
}

describe('AWSTraceHeader on the SQS emulator', () => {
  it('returns the header of SendMessage in ReceiveMessage when asked for AWSTraceHeader', async () => {
    // Arrange
    const queueUrl = await newQueue();
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: queueUrl,
        MessageBody: 'm',
        MessageSystemAttributes: traced(TRACE),
      }),
    );

    // Act
    const { Messages } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MessageSystemAttributeNames: ['AWSTraceHeader'] }),
    );

    // Assert
    expect(Messages?.[0]?.Attributes?.AWSTraceHeader).toBe(TRACE);
  });

  it('returns it for the older AttributeNames All too', async () => {
    // Arrange
    const queueUrl = await newQueue();
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: queueUrl,
        MessageBody: 'm',
        MessageSystemAttributes: traced(TRACE),
      }),
    );

    // Act
    const { Messages } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, AttributeNames: ['All'] }),
    );

    // Assert
    expect(Messages?.[0]?.Attributes?.AWSTraceHeader).toBe(TRACE);
  });

  it('leaves it out when ReceiveMessage does not ask for it', async () => {
    // Arrange
    const queueUrl = await newQueue();
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: queueUrl,
        MessageBody: 'm',
        MessageSystemAttributes: traced(TRACE),
      }),
    );

    // Act
    const { Messages } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MessageSystemAttributeNames: ['SentTimestamp'] }),
    );

    // Assert
    expect(Messages?.[0]?.Attributes?.AWSTraceHeader).toBeUndefined();
  });

  it('keeps each SendMessageBatch entry its own header, and none for an entry without one', async () => {
    // Arrange
    const queueUrl = await newQueue();
    await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: [
          { Id: 'a', MessageBody: 'a', MessageSystemAttributes: traced(TRACE) },
          { Id: 'b', MessageBody: 'b', MessageSystemAttributes: traced(OTHER_TRACE) },
          { Id: 'c', MessageBody: 'c' },
        ],
      }),
    );

    // Act
    const { Messages } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        MessageSystemAttributeNames: ['All'],
      }),
    );

    // Assert
    const byBody = Object.fromEntries(
      (Messages ?? []).map((m) => [m.Body, m.Attributes?.AWSTraceHeader ?? null]),
    );
    expect(byBody).toEqual({ a: TRACE, b: OTHER_TRACE, c: null });
  });

  it('answers MD5OfMessageSystemAttributes as SQS digests an attribute', async () => {
    // Arrange: fauxqs digests message attributes; the same attribute as a system attribute must digest the same
    const queueUrl = await newQueue();

    // Act
    const system = await sqs.send(
      new SendMessageCommand({
        QueueUrl: queueUrl,
        MessageBody: 'm',
        MessageSystemAttributes: traced(TRACE),
      }),
    );
    const user = await sqs.send(
      new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'm', MessageAttributes: traced(TRACE) }),
    );

    // Assert
    expect(system.MD5OfMessageSystemAttributes).toMatch(/^[0-9a-f]{32}$/);
    expect(system.MD5OfMessageSystemAttributes).toBe(user.MD5OfMessageAttributes);
  });

  it('refuses a system attribute other than AWSTraceHeader with InvalidParameterValue', async () => {
    // Arrange
    const queueUrl = await newQueue();

    // Act
    const sending = sqs.send(
      new SendMessageCommand({
        QueueUrl: queueUrl,
        MessageBody: 'm',
        MessageSystemAttributes: { Other: { DataType: 'String', StringValue: 'x' } } as never,
      }),
    );

    // Assert
    await expect(sending).rejects.toMatchObject({
      name: 'InvalidParameterValue',
      message: expect.stringContaining("Message system attribute name 'Other' is invalid"),
    });
  });

  it('keeps the header when the queue redrives the message to its DLQ', async () => {
    // Arrange
    const dlqUrl = await newQueue();
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ['QueueArn'] }),
    );
    const queueUrl = await newQueue({
      RedrivePolicy: JSON.stringify({ deadLetterTargetArn: Attributes?.QueueArn, maxReceiveCount: 1 }),
    });
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: queueUrl,
        MessageBody: 'm',
        MessageSystemAttributes: traced(TRACE),
      }),
    );
    await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, VisibilityTimeout: 0 }));
    await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, VisibilityTimeout: 0 }));

    // Act
    const { Messages } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: dlqUrl, MessageSystemAttributeNames: ['AWSTraceHeader'] }),
    );

    // Assert
    expect(Messages?.map((message) => message.Attributes?.AWSTraceHeader)).toEqual([TRACE]);
  });
});

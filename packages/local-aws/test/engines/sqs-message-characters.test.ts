/**
 * Message bodies with the characters AWS documents for SendMessage (#x9 | #xA | #xD |
 * #x20–#xD7FF | #xE000–#xFFFD | #x10000–#x10FFFF), through the SQS SDK client against
 * the patched fauxqs.
 */
import {
  CreateQueueCommand,
  InvalidMessageContents,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SqsEmulator, startSqsEmulator } from '../../src/engines/sqs-emulator';
import { awsInvalidContentsMessage, firstInvalidCharacter } from '../../src/engines/sqs-message-characters';

let engine: SqsEmulator | undefined;
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

async function newQueue(): Promise<string> {
  queueCounter += 1;
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: `characters-${queueCounter}` }));
  if (QueueUrl === undefined) throw new Error('CreateQueue returned no QueueUrl');
  return QueueUrl;
}

async function receivedBodies(queueUrl: string): Promise<Array<string | undefined>> {
  const { Messages } = await sqs.send(
    new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10 }),
  );
  return (Messages ?? []).map((message) => message.Body);
}

function failureOf(request: Promise<unknown>): Promise<unknown> {
  return request.then(
    () => undefined,
    (error: unknown) => error,
  );
}

const ACCEPTED: Array<[string, string]> = [
  ['an emoji (astral plane)', 'order \u{1F4E6} shipped'],
  ['the last code point U+10FFFF', '\u{10FFFF}'],
  ['the first astral code point U+10000', '\u{10000}'],
  ['tab, line feed and carriage return', 'a\tb\nc\rd'],
  ['U+E000 and U+FFFD', '\uE000\uFFFD'],
  ['U+D7FF', '\uD7FF'],
];

const REFUSED: Array<[string, string, string]> = [
  ['U+FFFE', 'x\uFFFE', '#xFFFE'],
  ['U+FFFF', 'x\uFFFF', '#xFFFF'],
  ['a lone high surrogate', 'x\uD800y', '#xD800'],
  ['a lone low surrogate', 'x\uDC00', '#xDC00'],
  ['NUL', 'x\u0000', '#x0'],
  ['a control character', 'x\u001F', '#x1F'],
];

describe('SendMessage message characters', () => {
  it.each(ACCEPTED)('accepts %s and delivers it unchanged', async (_name, body) => {
    // Arrange
    const queueUrl = await newQueue();

    // Act
    await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body }));

    // Assert
    expect(await receivedBodies(queueUrl)).toEqual([body]);
  });

  it.each(REFUSED)(
    'refuses %s with InvalidMessageContents naming the character',
    async (_name, body, hex) => {
      // Arrange
      const queueUrl = await newQueue();

      // Act
      const error = await failureOf(
        sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body })),
      );

      // Assert
      expect(error).toBeInstanceOf(InvalidMessageContents);
      expect(error).toMatchObject({
        name: 'InvalidMessageContents',
        message: `Invalid binary character '${hex}' was found in the message body, the set of allowed characters is #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF].`,
        $metadata: { httpStatusCode: 400 },
      });
      expect(await receivedBodies(queueUrl)).toEqual([]);
    },
  );
});

describe('SendMessageBatch message characters', () => {
  it('fails only the entry with a refused character, with SenderFault true, and enqueues the emoji', async () => {
    // Arrange
    const queueUrl = await newQueue();

    // Act
    const result = await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: [
          { Id: 'emoji', MessageBody: '\u{1F600}' },
          { Id: 'nonchar', MessageBody: 'bad \uFFFF' },
        ],
      }),
    );

    // Assert
    expect(result.Successful?.map((entry) => entry.Id)).toEqual(['emoji']);
    expect(result.Failed).toEqual([
      {
        Id: 'nonchar',
        SenderFault: true,
        Code: 'InvalidMessageContents',
        Message: awsInvalidContentsMessage('\uFFFF'),
      },
    ]);
    expect(await receivedBodies(queueUrl)).toEqual(['\u{1F600}']);
  });
});

describe('firstInvalidCharacter', () => {
  it('finds nothing in a body of allowed characters, astral ones included', () => {
    // Act
    const found = firstInvalidCharacter('ok \u{1F680} \t');

    // Assert
    expect(found).toBeUndefined();
  });

  it('finds the first refused character, a lone surrogate as one character', () => {
    // Act
    const found = firstInvalidCharacter('a\uDBFFb\uFFFF');

    // Assert
    expect(found).toBe('\uDBFF');
  });
});

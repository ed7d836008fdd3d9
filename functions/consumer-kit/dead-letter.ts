import { type MessageAttributeValue, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { freshDeduplicationId } from '../shared/deduplication';
import type { PermanentFailure } from '../shared/errors';

/** The message to dead-letter: its body and what identifies it, from SQS or from a parked event. */
export interface DeadLetterMessage {
  readonly body: string;
  readonly messageId: string;
  readonly messageGroupId: string | undefined;
  readonly messageDeduplicationId: string | undefined;
  /** The transport's string attributes, kept so that a redrive delivers the message as it came. */
  readonly attributes: Readonly<Record<string, string>>;
}

/** Attributes the kit adds to a dead-lettered message. */
export const DEAD_LETTER_ATTRIBUTES = ['reason', 'error', 'consumer', 'sourceMessageId'] as const;

/**
 * Sends a message to the consumer's DLQ with the failure's reason. A FIFO DLQ keeps the message's
 * group, so a redrive puts it back in its aggregate's order, but gets a fresh deduplication id:
 * with the event's own id, a second dead-lettering of the same event within SQS's 5-minute
 * deduplication window (after a redrive that failed again) would be dropped, and the event lost.
 * The id is made from the SQS message id, so the kit's own retry of one dead-lettering (after a
 * crash before the acknowledgement) is still deduplicated.
 */
export async function deadLetter(
  sqs: SQSClient,
  queueUrl: string,
  consumer: string,
  message: DeadLetterMessage,
  failure: PermanentFailure,
): Promise<void> {
  const fifo = queueUrl.endsWith('.fifo');
  const kept: Record<string, MessageAttributeValue> = {};
  for (const [name, value] of Object.entries(message.attributes)) {
    if (!(DEAD_LETTER_ATTRIBUTES as ReadonlyArray<string>).includes(name)) {
      kept[name] = { DataType: 'String', StringValue: value };
    }
  }
  await sqs.send(
    new SendMessageCommand({
      QueueUrl: queueUrl,
      MessageBody: message.body,
      MessageAttributes: {
        ...kept,
        reason: { DataType: 'String', StringValue: failure.reason },
        error: { DataType: 'String', StringValue: failure.message.slice(0, 1024) },
        consumer: { DataType: 'String', StringValue: consumer },
        sourceMessageId: { DataType: 'String', StringValue: message.messageId },
      },
      ...(fifo
        ? {
            MessageGroupId: message.messageGroupId ?? 'unknown',
            MessageDeduplicationId: freshDeduplicationId(
              message.messageDeduplicationId ?? message.messageId,
              'dlq',
            ),
          }
        : {}),
    }),
  );
}

import { GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';

/** Messages in a queue: visible (waiting) and in flight (received, not yet deleted). */
export interface QueueDepth {
  readonly visible: number;
  readonly inFlight: number;
}

/** ApproximateNumberOfMessages and ApproximateNumberOfMessagesNotVisible of a queue. */
export async function queueDepth(sqs: SQSClient, queueUrl: string): Promise<QueueDepth> {
  const { Attributes = {} } = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return {
    visible: Number(Attributes.ApproximateNumberOfMessages ?? 0),
    inFlight: Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0),
  };
}

/** The ARN of a queue (GetQueueAttributes QueueArn). */
export async function queueArn(sqs: SQSClient, queueUrl: string): Promise<string> {
  const { Attributes = {} } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }),
  );
  if (Attributes.QueueArn === undefined)
    throw new Error(`GetQueueAttributes returned no QueueArn for ${queueUrl}`);
  return Attributes.QueueArn;
}

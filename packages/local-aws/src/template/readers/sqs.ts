import { referencedLogicalId } from '../intrinsics';
import type { ReaderContext } from './resource-reader';

/** The queue attributes the local runtime passes on to CreateQueue. */
const QUEUE_ATTRIBUTES = [
  'VisibilityTimeout',
  'MessageRetentionPeriod',
  'DelaySeconds',
  'ReceiveMessageWaitTimeSeconds',
  'ContentBasedDeduplication',
  'DeduplicationScope',
  'FifoThroughputLimit',
] as const;

/** `AWS::SQS::Queue`: FIFO or standard, attributes, and the redrive policy's dead-letter queue. */
export function readQueue({ logicalId, properties: p, topology }: ReaderContext): void {
  const redrive = p.RedrivePolicy as { deadLetterTargetArn?: unknown; maxReceiveCount?: number } | undefined;
  const attributes: Record<string, string> = {};
  for (const key of QUEUE_ATTRIBUTES) {
    if (p[key] !== undefined) attributes[key] = String(p[key]);
  }
  topology.queues.push({
    logicalId,
    fifo: p.FifoQueue === true || p.FifoQueue === 'true',
    attributes,
    deadLetterQueueLogicalId: redrive ? referencedLogicalId(redrive.deadLetterTargetArn) : undefined,
    maxReceiveCount: redrive?.maxReceiveCount === undefined ? undefined : Number(redrive.maxReceiveCount),
  });
}

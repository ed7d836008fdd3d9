import {
  ChangeMessageVisibilityBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { LocalAws } from 'local-aws';
import { consumerOutputKey } from '../../contract/stack-outputs';

/** What the dead-letter queues hold at the end of a run, against what they should hold. */
export interface DeadLetterAudit {
  /** Distinct events in each dead-letter or failure queue, by queue name. */
  readonly queues: Record<string, number>;
  readonly problems: ReadonlyArray<string>;
}

/**
 * Checks which events each dead-letter queue holds. At-least-once holds for dead-letter queues
 * too (a standard DLQ may get a copy twice): what counts is which events each holds. Poison (a
 * payload its schema refuses) ends in the DLQs of `poisonConsumers`, the consumers that validate
 * it, and nowhere else.
 */
export async function auditDeadLetters(
  pipeline: LocalAws,
  poison: ReadonlyMap<string, string>,
  poisonConsumers: ReadonlyArray<string>,
  /** Other consumers may validate the poison too (ones a user scaffolded): their DLQs may hold it. */
  poisonElsewhere = false,
): Promise<DeadLetterAudit> {
  const deadLettered = await deadLetteredEvents(pipeline);
  const poisonDlqs = new Set(
    poisonConsumers.map((consumer) => pipeline.outputs[consumerOutputKey(consumer, 'deadLetterQueueUrl')]),
  );
  const queues: Record<string, number> = {};
  const problems: string[] = [];
  for (const queue of pipeline.queues) {
    const events = deadLettered.get(queue.logicalId);
    if (!events) continue;
    queues[queue.name] = events.size;
    const expected = poisonDlqs.has(queue.url) ? new Set(poison.keys()) : new Set<string>();
    const allowed = poisonElsewhere ? new Set(poison.keys()) : expected;
    const unexpected = [...events].filter(([id]) => !allowed.has(id));
    const absent = [...expected].filter((id) => !events.has(id));
    if (unexpected.length > 0 || absent.length > 0) {
      const why = [...new Set(unexpected.map(([, reason]) => reason))].join(', ');
      problems.push(
        `${queue.name} holds ${events.size} events: ${unexpected.length} that should not be there${why ? ` (${why})` : ''}, ${absent.length} poison missing`,
      );
    }
  }
  return { queues, problems };
}

/** Depth (visible + in flight) of every queue that is a dead-letter or failure destination in the stack. */
export async function dlqDepths(pipeline: LocalAws): Promise<Record<string, number>> {
  const topology = pipeline.topology;
  const dlqIds = new Set<string>([
    ...topology.queues.flatMap((q) => (q.deadLetterQueueLogicalId ? [q.deadLetterQueueLogicalId] : [])),
    ...topology.rules.flatMap((r) =>
      r.targets.flatMap((t) => (t.deadLetterQueueLogicalId ? [t.deadLetterQueueLogicalId] : [])),
    ),
    ...topology.mappings.flatMap((m) => (m.onFailureQueueLogicalId ? [m.onFailureQueueLogicalId] : [])),
  ]);
  const sqs = new SQSClient({ ...pipeline.clientConfig, endpoint: pipeline.endpoints.sqs });
  try {
    const depths: Record<string, number> = {};
    for (const queue of pipeline.queues.filter((q) => dlqIds.has(q.logicalId))) {
      const { Attributes } = await sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: queue.url,
          AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
        }),
      );
      depths[queue.name] =
        Number(Attributes?.ApproximateNumberOfMessages ?? 0) +
        Number(Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0);
    }
    return depths;
  } finally {
    sqs.destroy();
  }
}

/**
 * The distinct event ids in every dead-letter queue of the stack, by queue logical id (bodies:
 * an envelope, or an EventBridge event around one), and made visible again. On a FIFO DLQ only
 * the first message of each group can be read without deleting it (SQS holds back the rest of a
 * group while one is in flight): an aggregate's first dead-lettered event is what this sees.
 */
export async function deadLetteredEvents(pipeline: LocalAws): Promise<Map<string, Map<string, string>>> {
  const depths = await dlqDepths(pipeline);
  const sqs = new SQSClient({ ...pipeline.clientConfig, endpoint: pipeline.endpoints.sqs });
  const found = new Map<string, Map<string, string>>();
  try {
    for (const queue of pipeline.queues.filter((q) => depths[q.name] !== undefined)) {
      // Event id → why it is there: the kit's reason, or SQS's move after maxReceiveCount.
      const ids = new Map<string, string>();
      const handles: string[] = [];
      for (let empty = 0; empty < 2; ) {
        const { Messages = [] } = await sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: queue.url,
            MaxNumberOfMessages: 10,
            VisibilityTimeout: 5,
            MessageAttributeNames: ['reason'],
          }),
        );
        if (Messages.length === 0) empty++;
        for (const message of Messages) {
          if (message.ReceiptHandle) handles.push(message.ReceiptHandle);
          ids.set(
            eventIdOf(message.Body ?? '') ?? `unreadable:${message.MessageId}`,
            message.MessageAttributes?.reason?.StringValue ?? 'moved by SQS after maxReceiveCount',
          );
        }
      }
      // Visible again at once: reading is not consuming (an operator's redrive or a later audit still sees them).
      for (let i = 0; i < handles.length; i += 10) {
        await sqs.send(
          new ChangeMessageVisibilityBatchCommand({
            QueueUrl: queue.url,
            Entries: handles
              .slice(i, i + 10)
              .map((ReceiptHandle, n) => ({ Id: String(n), ReceiptHandle, VisibilityTimeout: 0 })),
          }),
        );
      }
      found.set(queue.logicalId, ids);
    }
  } finally {
    sqs.destroy();
  }
  return found;
}

function eventIdOf(body: string): string | undefined {
  try {
    const parsed = JSON.parse(body) as { id?: unknown; detail?: { id?: unknown }; 'detail-type'?: unknown };
    const id = parsed['detail-type'] !== undefined ? parsed.detail?.id : parsed.id;
    return typeof id === 'string' ? id : undefined;
  } catch {
    return undefined;
  }
}

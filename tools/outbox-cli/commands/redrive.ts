import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  ListMessageMoveTasksCommand,
  type Message,
  type MessageAttributeValue,
  ReceiveMessageCommand,
  SendMessageCommand,
  type SQSClient,
  StartMessageMoveTaskCommand,
} from '@aws-sdk/client-sqs';
import { freshDeduplicationId } from '../../../functions/shared/deduplication';
import {
  parseChoice,
  parseCommandArgs,
  parseInteger,
  parsePollSeconds,
  TARGET_HELP,
  TARGET_OPTION_SPECS,
  targetOptions,
} from '../arguments';
import { CliFailure, type CliIo, defaultSleep, EXIT, UsageError } from '../cli-io';
import type { Command } from '../command';
import { plural } from '../format';
import { queueArn, queueDepth } from '../queue-depth';
import {
  deadLetterQueues,
  type NamedQueue,
  queueLabel,
  resolveQueue,
  type StackOutputs,
} from '../stack-outputs';

/** Options of `redrive`. */
export interface RedriveOptions {
  /** The dead-letter queue: an output key or a URL. */
  readonly queue: string;
  /** Where to move the messages: an output key or a URL. @default the DLQ's source queue by output naming */
  readonly to?: string;
  /**
   * `move-task`: SQS StartMessageMoveTask only (standard queues); `copy`: receive → send → delete;
   * `auto`: copy for FIFO destinations, the move task else (copy where it is not available).
   */
  readonly method: 'auto' | 'move-task' | 'copy';
  /** Move at most this many messages (copy only). */
  readonly maxMessages?: number;
  /** Seconds between ListMessageMoveTasks polls. */
  readonly pollSeconds: number;
  /** Long-poll wait of each ReceiveMessage when copying; the copy ends at the first empty one. @default 2 */
  readonly receiveWaitSeconds?: number;
  /** @default setTimeout-based sleep */
  readonly sleep?: (ms: number) => Promise<void>;
}

const HELP = `Usage: npm run outbox -- redrive --queue <output key or URL> [--to <output key or URL>] [options] <target>

Moves the messages of a dead-letter queue back to the queue they came from, once the cause of
the failures is fixed, and checks that each one arrived. The source queue comes from the
consumer registry: a consumer's DeadLetterQueueUrl (and TargetDeadLetterQueueUrl, events
EventBridge could not deliver) go back to its QueueUrl; --to overrides it. The relay failure
queue has no source queue: its messages are events the relay could not publish, with the reason,
to fix and then re-publish with \`replay\` (or step over with \`skip\`).

FIFO destinations (ordered consumers): messages are moved one by one, in order: receive, send to
the destination with the body, the message attributes and the MessageGroupId, delete from the
dead-letter queue. Each copy gets a new deduplication id: a move task keeps the old one, and the
destination silently drops a deduplication id it saw in the last 5 minutes, so a message moved
soon after it failed would vanish while the task reports it moved. Every send is checked; a
message the destination did not take stays in the dead-letter queue and is reported.

Standard destinations: SQS StartMessageMoveTask (the console's "redrive"), polled until it
completes, then checked: what it says it moved against what it had to move, and what is left in
the dead-letter queue. Where a move task is not available (the local SQS emulator; AWS moves only
from queues that are some queue's redrive target), messages are copied as above.

Options:
  --queue <key or URL>      the dead-letter queue, e.g. OrderProjectionDeadLetterQueueUrl
  --to <key or URL>         the destination queue (default: the source queue from the output names)
  --method <auto|move-task|copy>
                            auto (default): copy for FIFO, move task for standard (copy if unavailable);
                            move-task is refused for FIFO destinations (see above)
  --max-messages <n>        move at most n messages, e.g. 1 to try one first (implies --method copy)
  --poll-seconds <n>        seconds between progress polls of the move task (default 5)
  -h, --help                show this help

${TARGET_HELP}

Exit code: 0 when every message was moved, 1 when some were not (or the move task failed),
2 on a wrong command line.

Examples:
  npm run outbox -- redrive --local --queue OrderProjectionDeadLetterQueueUrl
  npm run outbox -- redrive --stack OutboxPipeline --outputs outputs.json --queue OrderActivityDeadLetterQueueUrl --max-messages 1`;

/** `redrive`: move a dead-letter queue's messages back to their source queue. */
export const redriveCommand: Command<RedriveOptions> = {
  name: 'redrive',
  summary: "move a dead-letter queue's messages back to the queue they came from",
  help: HELP,
  parse(argv) {
    const values = parseCommandArgs('redrive', argv, {
      ...TARGET_OPTION_SPECS,
      queue: { type: 'string' },
      to: { type: 'string' },
      method: { type: 'string' },
      'max-messages': { type: 'string' },
      'poll-seconds': { type: 'string' },
    });
    if (values.queue === undefined) throw new UsageError('redrive needs --queue <output key or URL>');
    const maxMessages = parseInteger(values['max-messages'], '--max-messages', 1, 1_000_000);
    let method = parseChoice(values.method, '--method', ['auto', 'move-task', 'copy'] as const) ?? 'auto';
    if (maxMessages !== undefined) {
      if (method === 'move-task') {
        throw new UsageError('--max-messages needs --method copy: a move task moves every message');
      }
      method = 'copy';
    }
    return {
      target: targetOptions(values),
      options: {
        queue: values.queue,
        to: values.to,
        method,
        maxMessages,
        pollSeconds: parsePollSeconds(values['poll-seconds']),
      },
    };
  },
  async run(target, options, io) {
    const { source, destination } = endpoints(target.outputs, options);
    const sleep = options.sleep ?? defaultSleep;
    const depth = await queueDepth(target.sqs, source.url);
    io.out(`Target: ${target.description}`);
    io.out(
      `Redrive ${queueLabel(source)} → ${queueLabel(destination)} (${depth.visible} visible, ${depth.inFlight} in flight)`,
    );
    const fifo = destination.url.endsWith('.fifo');
    if (fifo && options.method === 'move-task') {
      throw new UsageError(
        'a move task keeps deduplication ids, and a FIFO destination drops one it saw in the last 5 minutes: use --method copy (or auto)',
      );
    }
    if (depth.visible === 0) {
      io.out(
        depth.inFlight === 0
          ? 'Nothing to redrive: the queue is empty.'
          : `Nothing visible to redrive; ${plural(depth.inFlight, 'message is', 'messages are')} in flight (received by someone) and will be visible again after the visibility timeout.`,
      );
      return EXIT.ok;
    }
    if (options.method !== 'copy' && !fifo) {
      const outcome = await moveTask(target.sqs, source, destination, options, sleep, io);
      if (outcome !== 'unsupported') return outcome;
    }
    return copyMessages(target.sqs, source, destination, options, io);
  },
};

function endpoints(
  outputs: StackOutputs,
  options: RedriveOptions,
): { source: NamedQueue; destination: NamedQueue } {
  const source = resolveQueue(outputs, options.queue);
  const known = deadLetterQueues(outputs);
  if (source === undefined) {
    throw new UsageError(
      `--queue ${options.queue} is neither a URL nor an output key (dead-letter queues: ${known.map(queueLabel).join(', ') || 'none'})`,
    );
  }
  let destination: NamedQueue | undefined;
  if (options.to !== undefined) {
    destination = resolveQueue(outputs, options.to);
    if (destination === undefined)
      throw new UsageError(`--to ${options.to} is neither a URL nor an output key`);
  } else {
    const entry = known.find((queue) => queue.url === source.url);
    if (entry === undefined) {
      throw new UsageError(
        `${queueLabel(source)} is not a dead-letter queue of a registered consumer: pass --to <queue>`,
      );
    }
    if (entry.source === undefined) {
      throw new CliFailure(
        `cannot redrive ${entry.key}: it holds events the relay could not publish (with the reason), not messages of a queue`,
        'read them, fix the cause, then re-publish with `replay` (or step ordered consumers over them with `skip`)',
      );
    }
    destination = entry.source;
  }
  if (destination.url === source.url) throw new UsageError('--to is the dead-letter queue itself');
  if (source.url.endsWith('.fifo') !== destination.url.endsWith('.fifo')) {
    throw new CliFailure(
      `${queueLabel(source)} and ${queueLabel(destination)} must both be FIFO or both standard queues`,
      'choose a destination of the same type with --to',
    );
  }
  return { source, destination };
}

/** StartMessageMoveTask and polling; 'unsupported' when the endpoint or the queue cannot do it and auto may copy. */
async function moveTask(
  sqs: SQSClient,
  source: NamedQueue,
  destination: NamedQueue,
  options: RedriveOptions,
  sleep: (ms: number) => Promise<void>,
  io: CliIo,
): Promise<number | 'unsupported'> {
  const [sourceArn, destinationArn] = await Promise.all([
    queueArn(sqs, source.url),
    queueArn(sqs, destination.url),
  ]);
  let taskHandle: string | undefined;
  try {
    ({ TaskHandle: taskHandle } = await sqs.send(
      new StartMessageMoveTaskCommand({ SourceArn: sourceArn, DestinationArn: destinationArn }),
    ));
  } catch (error) {
    const reason = unsupportedReason(error);
    if (reason === undefined) {
      throw new CliFailure(
        `StartMessageMoveTask failed: ${(error as Error).name}: ${(error as Error).message}`,
        /AccessDenied|NotAuthorized/i.test((error as Error).name)
          ? 'grant sqs:StartMessageMoveTask and sqs:ListMessageMoveTasks on the dead-letter queue, or use --method copy'
          : 'if a move task cannot move this queue, use --method copy to move the messages one by one',
      );
    }
    if (options.method === 'move-task') {
      throw new CliFailure(
        `StartMessageMoveTask failed: ${reason}`,
        'use --method copy (or auto) to move the messages one by one',
      );
    }
    io.out(`StartMessageMoveTask is not available here (${reason}); moving the messages one by one instead.`);
    return 'unsupported';
  }
  io.out(
    `Started message move task ${taskHandle ?? '(no handle)'}. Ctrl-C stops watching; the task keeps running.`,
  );
  let last = '';
  for (;;) {
    await sleep(options.pollSeconds * 1000);
    const { Results = [] } = await sqs.send(
      new ListMessageMoveTasksCommand({ SourceArn: sourceArn, MaxResults: 10 }),
    );
    // The handle is listed only while the task runs; the most recent task is listed first.
    const task = Results.find((result) => result.TaskHandle === taskHandle) ?? Results[0];
    if (task === undefined) continue;
    const progress = `${task.Status}: ${task.ApproximateNumberOfMessagesMoved ?? 0} of ${task.ApproximateNumberOfMessagesToMove ?? '?'} moved`;
    if (progress !== last) io.out(`  ${progress}`);
    last = progress;
    if (task.Status === 'COMPLETED') return verifyMoveTask(sqs, source, destination, task, io);
    if (task.Status === 'FAILED' || task.Status === 'CANCELLED') {
      throw new CliFailure(
        `the message move task ${task.Status === 'FAILED' ? 'failed' : 'was cancelled'}${task.FailureReason ? `: ${task.FailureReason}` : ''}`,
        'fix the cause (permissions on both queues, KMS, a deleted destination) and run redrive again; messages already moved stay moved',
      );
    }
  }
}

/**
 * Checks a completed move task: what it moved against what it had to move, and what is left in
 * the dead-letter queue. Anything left over is reported as not moved.
 */
async function verifyMoveTask(
  sqs: SQSClient,
  source: NamedQueue,
  destination: NamedQueue,
  task: { ApproximateNumberOfMessagesMoved?: number; ApproximateNumberOfMessagesToMove?: number },
  io: CliIo,
): Promise<number> {
  const moved = task.ApproximateNumberOfMessagesMoved ?? 0;
  const toMove = task.ApproximateNumberOfMessagesToMove ?? moved;
  const left = await queueDepth(sqs, source.url);
  io.out(
    `Move task completed: ${plural(moved, 'message')} moved to ${queueLabel(destination)} (of ${toMove} to move).`,
  );
  if (moved < toMove || left.visible + left.inFlight > 0) {
    io.out(
      `Not moved: ${plural(Math.max(toMove - moved, left.visible + left.inFlight), 'message')} still in ${queueLabel(source)} (${left.visible} visible, ${left.inFlight} in flight).`,
    );
    io.out(
      'Next: run the same redrive again (it moves only what is still there), or --method copy to see each message.',
    );
    return EXIT.failure;
  }
  io.out(`Checked: ${queueLabel(source)} is empty.`);
  return EXIT.ok;
}

/** Why StartMessageMoveTask cannot be used here, or undefined when the error is something else. */
export function unsupportedReason(error: unknown): string | undefined {
  const name = (error as Error).name ?? '';
  const message = (error as Error).message ?? '';
  const text = `${name}: ${message}`;
  if (/InvalidAction|UnsupportedOperation|UnknownOperation|NotImplemented/i.test(name)) return text;
  if (/unknown action|not supported|not implemented/i.test(message)) return text;
  // AWS moves messages only out of queues that are the redrive target of another queue.
  if (/InvalidParameterValue/.test(name) && /dead.?letter/i.test(message)) return text;
  return undefined;
}

interface Held {
  receiptHandle: string;
  readonly reason: string;
}

/**
 * Moves messages one by one (receive, send to the destination, delete), keeping a FIFO group's
 * order: a message that could not be moved holds back the later ones of its group. Held messages
 * are made visible again at the end; returns the exit code.
 */
async function copyMessages(
  sqs: SQSClient,
  source: NamedQueue,
  destination: NamedQueue,
  options: RedriveOptions,
  io: CliIo,
): Promise<number> {
  const fifo = destination.url.endsWith('.fifo');
  const held = new Map<string, Held>();
  const heldGroups = new Set<string>();
  let moved = 0;
  try {
    while (options.maxMessages === undefined || moved + held.size < options.maxMessages) {
      const want =
        options.maxMessages === undefined ? 10 : Math.min(10, options.maxMessages - moved - held.size);
      const messages = await receiveToCopy(sqs, source, want, options.receiveWaitSeconds ?? 2);
      let fresh = 0;
      for (const message of messages) {
        const id = message.MessageId ?? '';
        const known = held.get(id);
        if (known !== undefined) {
          // Held earlier and visible again: keep the newest receipt handle to release it at the end.
          known.receiptHandle = message.ReceiptHandle ?? known.receiptHandle;
          continue;
        }
        fresh++;
        const group = message.Attributes?.MessageGroupId;
        const reason =
          fifo && group !== undefined && heldGroups.has(group)
            ? 'held behind an earlier message of its group, to keep the order'
            : await moveOne(sqs, source, destination, message, fifo);
        if (reason === undefined) {
          moved++;
          continue;
        }
        held.set(id, { receiptHandle: message.ReceiptHandle ?? '', reason });
        if (group !== undefined) heldGroups.add(group);
        io.err(
          `left in ${queueLabel(source)}: message ${id}${group === undefined ? '' : ` (group ${group})`}: ${reason}`,
        );
      }
      if (fresh === 0) break;
    }
  } finally {
    await releaseHeld(sqs, source, held.values());
  }
  return reportCopy(sqs, source, destination, moved, held.size, io);
}

/** Receives up to `want` messages of the dead-letter queue, with their attributes, to copy them. */
async function receiveToCopy(
  sqs: SQSClient,
  source: NamedQueue,
  want: number,
  waitSeconds: number,
): Promise<Message[]> {
  const { Messages = [] } = await sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: source.url,
      MaxNumberOfMessages: want,
      WaitTimeSeconds: waitSeconds,
      // Long enough to send and delete the batch; held messages are made visible again at the end.
      VisibilityTimeout: 120,
      MessageAttributeNames: ['All'],
      MessageSystemAttributeNames: ['All'],
    }),
  );
  return Messages;
}

/** Makes held messages visible again now rather than after the 2-minute visibility timeout. */
async function releaseHeld(sqs: SQSClient, source: NamedQueue, held: Iterable<Held>): Promise<void> {
  await Promise.all(
    [...held].map((message) =>
      sqs
        .send(
          new ChangeMessageVisibilityCommand({
            QueueUrl: source.url,
            ReceiptHandle: message.receiptHandle,
            VisibilityTimeout: 0,
          }),
        )
        .catch(() => undefined),
    ),
  );
}

/** Says what a copy moved and what stayed; the exit code: failure when any message stayed. */
async function reportCopy(
  sqs: SQSClient,
  source: NamedQueue,
  destination: NamedQueue,
  moved: number,
  held: number,
  io: CliIo,
): Promise<number> {
  // Each FIFO copy has a new deduplication id (see moveOne); only the group is kept.
  const kept = destination.url.endsWith('.fifo') ? ' (message groups kept, new deduplication ids)' : '';
  io.out(`Moved ${plural(moved, 'message')} to ${queueLabel(destination)}${kept}.`);
  if (held > 0) {
    io.out(`${plural(held, 'message')} stayed in ${queueLabel(source)} (reasons above).`);
    // A FIFO queue does not hand out the later messages of a group while one is held: they stay
    // too, unseen, so the count above is not all that is left.
    const left = await queueDepth(sqs, source.url);
    io.out(`${queueLabel(source)} still holds ${plural(left.visible + left.inFlight, 'message')}.`);
    io.out('Next: run the same redrive again in a few minutes; it moves only what is still there.');
    return EXIT.failure;
  }
  return EXIT.ok;
}

/** Sends one message to the destination and deletes it from the DLQ; returns why not, if it did not. */
async function moveOne(
  sqs: SQSClient,
  source: NamedQueue,
  destination: NamedQueue,
  message: Message,
  fifo: boolean,
): Promise<string | undefined> {
  const group = message.Attributes?.MessageGroupId;
  if (fifo && group === undefined) return 'it has no MessageGroupId, which a FIFO destination needs';
  const sent = await sqs.send(
    new SendMessageCommand({
      QueueUrl: destination.url,
      MessageBody: message.Body ?? '',
      MessageAttributes: copyAttributes(message.MessageAttributes),
      ...(fifo
        ? {
            MessageGroupId: group,
            // A new deduplication id: the old one may still be in the destination's 5-minute window.
            MessageDeduplicationId: freshDeduplicationId(
              message.Attributes?.MessageDeduplicationId ?? message.MessageId ?? '',
              'redrive',
            ),
          }
        : {}),
    }),
  );
  // Arrival is checked: a send that was not taken (no id), or that was answered with the id of
  // the message it would duplicate, has not moved the message.
  const original = message.MessageAttributes?.sourceMessageId?.StringValue;
  if (sent.MessageId === undefined) return 'the destination did not confirm the send';
  if (sent.MessageId === message.MessageId || sent.MessageId === original) {
    return 'the destination dropped it as a duplicate';
  }
  await sqs.send(new DeleteMessageCommand({ QueueUrl: source.url, ReceiptHandle: message.ReceiptHandle }));
  return undefined;
}

function copyAttributes(
  attributes: Record<string, MessageAttributeValue> | undefined,
): Record<string, MessageAttributeValue> | undefined {
  if (attributes === undefined || Object.keys(attributes).length === 0) return undefined;
  return Object.fromEntries(
    Object.entries(attributes).map(([name, value]) => [
      name,
      {
        DataType: value.DataType,
        ...(value.StringValue === undefined ? {} : { StringValue: value.StringValue }),
        ...(value.BinaryValue === undefined ? {} : { BinaryValue: value.BinaryValue }),
      },
    ]),
  );
}

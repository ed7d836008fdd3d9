import { STACK_OUTPUTS } from '../../lib/stack-outputs';

/**
 * Reading the stack outputs by their naming rules (lib/outbox-pipeline-stack.ts), so that a
 * consumer added to the stack is found here with no change: every consumer adds
 * `<Consumer>QueueUrl` and `<Consumer>DeadLetterQueueUrl`, event consumers also
 * `<Consumer>TargetDeadLetterQueueUrl`, and the relay adds `RelayFailureQueueUrl`.
 */
export type StackOutputs = Readonly<Record<string, string>>;

/** A queue named by an output key, or given by URL. */
export interface NamedQueue {
  /** The output key, when the queue came from the outputs. */
  readonly key?: string;
  readonly url: string;
}

const DEAD_LETTER_SUFFIX = 'DeadLetterQueueUrl';
const TARGET_DEAD_LETTER_SUFFIX = 'TargetDeadLetterQueueUrl';
const FAILURE_SUFFIX = 'FailureQueueUrl';

/** Is this output a dead-letter or failure queue? */
export function isDeadLetterKey(key: string): boolean {
  return key.includes(DEAD_LETTER_SUFFIX) || key.includes(FAILURE_SUFFIX);
}

/** Every dead-letter and failure queue in the outputs, by key. */
export function deadLetterQueues(outputs: StackOutputs): NamedQueue[] {
  return Object.entries(outputs)
    .filter(([key]) => isDeadLetterKey(key))
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([key, url]) => ({ key, url }));
}

/** The ordered consumers' FIFO queues: `<Consumer>QueueUrl` outputs whose URL ends in `.fifo`. */
export function orderedQueues(outputs: StackOutputs): NamedQueue[] {
  return Object.entries(outputs)
    .filter(([key, url]) => key.endsWith('QueueUrl') && !isDeadLetterKey(key) && url.endsWith('.fifo'))
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([key, url]) => ({ key, url }));
}

/** A value the stack must output, or a failure naming the key and where outputs came from. */
export function requireOutput(outputs: StackOutputs, key: string, source: string): string {
  const value = outputs[key];
  if (value === undefined || value === '') {
    throw new MissingOutputError(`the stack outputs (${source}) have no ${key}`);
  }
  return value;
}

/** Raised by {@link requireOutput}. */
export class MissingOutputError extends Error {
  override readonly name = 'MissingOutputError';
}

/** A queue given as an output key or a URL. */
export function resolveQueue(outputs: StackOutputs, keyOrUrl: string): NamedQueue | undefined {
  if (/^https?:\/\//.test(keyOrUrl)) {
    const key = Object.entries(outputs).find(([, url]) => url === keyOrUrl)?.[0];
    return { key, url: keyOrUrl };
  }
  const url = outputs[keyOrUrl];
  return url === undefined ? undefined : { key: keyOrUrl, url };
}

/** Where a dead-letter queue's messages go back to, by output naming; or why there is no such place. */
export type RedriveSource =
  | { readonly kind: 'queue'; readonly queue: NamedQueue }
  | { readonly kind: 'none'; readonly reason: string };

/**
 * The queue a dead-letter queue's messages came from: `<Consumer>DeadLetterQueueUrl` and
 * `<Consumer>TargetDeadLetterQueueUrl` (events EventBridge could not deliver to the consumer's
 * queue) both go back to `<Consumer>QueueUrl`. The relay failure queue has no source queue.
 */
export function redriveSource(outputs: StackOutputs, deadLetterKey: string): RedriveSource {
  if (deadLetterKey === STACK_OUTPUTS.relayFailureQueueUrl || deadLetterKey.endsWith(FAILURE_SUFFIX)) {
    return {
      kind: 'none',
      reason:
        'the relay failure queue holds stream batch failures (shard and sequence-number ranges) and quarantined outbox items, not events of a queue: read them, fix the cause, then re-publish with `replay` (the sweeper also re-publishes pending events by itself)',
    };
  }
  const prefix = deadLetterKey.endsWith(TARGET_DEAD_LETTER_SUFFIX)
    ? deadLetterKey.slice(0, -TARGET_DEAD_LETTER_SUFFIX.length)
    : deadLetterKey.endsWith(DEAD_LETTER_SUFFIX)
      ? deadLetterKey.slice(0, -DEAD_LETTER_SUFFIX.length)
      : undefined;
  const sourceKey = prefix === undefined ? undefined : `${prefix}QueueUrl`;
  const url = sourceKey === undefined ? undefined : outputs[sourceKey];
  if (sourceKey === undefined || url === undefined) {
    return {
      kind: 'none',
      reason: `no output names the source queue of ${deadLetterKey}${sourceKey === undefined ? '' : ` (looked for ${sourceKey})`}`,
    };
  }
  return { kind: 'queue', queue: { key: sourceKey, url } };
}

/** How a queue appears in output: its key when known, else its URL. */
export function queueLabel(queue: NamedQueue): string {
  return queue.key ?? queue.url;
}

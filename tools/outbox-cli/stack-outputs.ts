import { type ConsumerDeclaration, registeredConsumers } from '../../contract/consumers';
import { consumerOutputKey, STACK_OUTPUTS } from '../../contract/stack-outputs';
import { UsageError } from './cli-io';

/**
 * The stack's outputs, read through the consumer registry (contract/consumers.ts) and the output
 * key names (contract/stack-outputs.ts): a consumer added to the registry is found here with no
 * change, and no key is parsed for its suffix.
 */
export type StackOutputs = Readonly<Record<string, string>>;

/** A queue named by an output key, or given by URL. */
export interface NamedQueue {
  /** The output key, when the queue came from the outputs. */
  readonly key?: string;
  readonly url: string;
}

/** A dead-letter or failure queue, and the queue its messages go back to (if any). */
export interface DeadLetterQueue extends NamedQueue {
  readonly key: string;
  /** The consumer whose DLQ this is; absent for the relay failure queue. */
  readonly consumer?: ConsumerDeclaration;
  /** Where a redrive sends the messages; absent for the relay failure queue. */
  readonly source?: NamedQueue & { readonly key: string };
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

/**
 * Every dead-letter and failure queue the outputs name: the relay failure queue, and for each
 * registered consumer its DLQ (and, unordered, its EventBridge target's DLQ) with the consumer's
 * queue as redrive source.
 */
export function deadLetterQueues(
  outputs: StackOutputs,
  consumers: ReadonlyArray<ConsumerDeclaration> = registeredConsumers(),
): DeadLetterQueue[] {
  const found: DeadLetterQueue[] = [];
  const relayFailure = outputs[STACK_OUTPUTS.relayFailureQueueUrl];
  if (relayFailure) found.push({ key: STACK_OUTPUTS.relayFailureQueueUrl, url: relayFailure });
  for (const consumer of consumers) {
    const sourceKey = consumerOutputKey(consumer.name, 'queueUrl');
    const sourceUrl = outputs[sourceKey];
    const source = sourceUrl ? { key: sourceKey, url: sourceUrl } : undefined;
    const keys = [consumerOutputKey(consumer.name, 'deadLetterQueueUrl')];
    if (consumer.kind === 'unordered')
      keys.push(consumerOutputKey(consumer.name, 'targetDeadLetterQueueUrl'));
    for (const key of keys) {
      const url = outputs[key];
      if (url) found.push({ key, url, consumer, ...(source ? { source } : {}) });
    }
  }
  return found;
}

/** The ordered consumers' FIFO queues the outputs name, with their consumers. */
export function orderedQueues(
  outputs: StackOutputs,
  consumers: ReadonlyArray<ConsumerDeclaration> = registeredConsumers(),
): Array<NamedQueue & { readonly key: string; readonly consumer: ConsumerDeclaration }> {
  return consumers
    .filter((consumer) => consumer.kind === 'ordered')
    .flatMap((consumer) => {
      const key = consumerOutputKey(consumer.name, 'queueUrl');
      const url = outputs[key];
      return url ? [{ key, url, consumer }] : [];
    });
}

/** A registered consumer and its queue from the outputs, or a usage failure listing the consumers. */
export function consumerQueue(
  outputs: StackOutputs,
  name: string,
  source: string,
  consumers: ReadonlyArray<ConsumerDeclaration> = registeredConsumers(),
): { readonly consumer: ConsumerDeclaration; readonly queue: NamedQueue & { readonly key: string } } {
  const consumer = consumers.find((candidate) => candidate.name === name);
  if (!consumer) {
    // A wrong --consumer is a wrong command line (exit 2, see --help), not outputs of another pipeline.
    throw new UsageError(
      `${name} is not a registered consumer (contract/consumers.ts has ${consumers.map((c) => c.name).join(', ')})`,
    );
  }
  const key = consumerOutputKey(name, 'queueUrl');
  return { consumer, queue: { key, url: requireOutput(outputs, key, source) } };
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

/** How a queue appears in output: its key when known, else its URL. */
export function queueLabel(queue: NamedQueue): string {
  return queue.key ?? queue.url;
}

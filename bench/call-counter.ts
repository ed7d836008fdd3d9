/**
 * Counts the AWS API calls an SDK v3 client makes, by command, with the number
 * of entries of batch calls. Counted once per logical call (before the SDK's own
 * retries), which is what a service bills and throttles per request.
 */
import { addInitializeMiddleware } from './sdk-middleware';

/** Calls and batch entries of one command. */
export interface CommandCount {
  calls: number;
  /** Entries of batch calls (PutEvents, SendMessageBatch, BatchGetItem keys); 1 for single-item calls. */
  entries: number;
  /**
   * What the service bills for these calls, by 64 KB chunk of payload: EventBridge one event per
   * chunk of each PutEvents entry, SQS one request per chunk of a request's messages (at least one).
   * Other services: one per call.
   */
  billed: number;
}

/** Counts per command name, e.g. `PutEventsCommand`. */
export type CallCounts = Record<string, CommandCount>;

/**
 * Shared counter for any number of clients; `snapshot()` and `since()` give
 * counts for one measured phase.
 *
 * @example
 * const counter = new CallCounter();
 * counter.attach(eventBridgeClient);
 * const before = counter.snapshot();
 * await relay.handle(records);
 * const calls = counter.since(before).PutEventsCommand?.calls ?? 0;
 */
export class CallCounter {
  private readonly counts: CallCounts = {};

  /** Adds the counting middleware to a client; returns the client for chaining. */
  attach<T>(client: T): T {
    return addInitializeMiddleware(client, 'benchCallCounter', (next, context) => async (args) => {
      const name = context.commandName ?? 'UnknownCommand';
      const count = this.counts[name] ?? { calls: 0, entries: 0, billed: 0 };
      this.counts[name] = count;
      count.calls++;
      count.entries += entriesOf(args.input);
      count.billed += billedUnitsOf(name, args.input);
      return next(args);
    });
  }

  /** A copy of the counts so far. */
  snapshot(): CallCounts {
    return structuredClone(this.counts);
  }

  /** Counts added since `before` (a snapshot). */
  since(before: CallCounts): CallCounts {
    const delta: CallCounts = {};
    for (const [name, count] of Object.entries(this.counts)) {
      const base = before[name] ?? { calls: 0, entries: 0, billed: 0 };
      if (count.calls === base.calls) continue;
      delta[name] = {
        calls: count.calls - base.calls,
        entries: count.entries - base.entries,
        billed: count.billed - base.billed,
      };
    }
    return delta;
  }
}

function entriesOf(input: unknown): number {
  const value = input as { Entries?: unknown[]; RequestItems?: Record<string, { Keys?: unknown[] }> };
  if (Array.isArray(value?.Entries)) return value.Entries.length;
  if (value?.RequestItems) {
    return Object.values(value.RequestItems).reduce((sum, request) => sum + (request.Keys?.length ?? 0), 0);
  }
  return 1;
}

/** EventBridge and SQS bill per 64 KB chunk of payload. */
export const BILLING_CHUNK_BYTES = 64 * 1024;

/** Billed units of a payload of `bytes`: one per 64 KB chunk, at least one. */
export function billedChunks(bytes: number): number {
  return Math.max(1, Math.ceil(bytes / BILLING_CHUNK_BYTES));
}

interface SqsMessageInput {
  MessageBody?: string;
  MessageAttributes?: Record<string, { DataType?: string; StringValue?: string; BinaryValue?: Uint8Array }>;
}

/**
 * Billed units of one call: a PutEvents entry is one event per 64 KB chunk (Time, Source,
 * DetailType, Detail, Resources), a SendMessage(Batch) one request per 64 KB chunk of its
 * messages (bodies and message attributes), anything else one.
 */
export function billedUnitsOf(commandName: string, input: unknown): number {
  if (commandName === 'PutEventsCommand') {
    const entries =
      (
        input as {
          Entries?: Array<{
            Source?: string;
            DetailType?: string;
            Detail?: string;
            Time?: Date;
            Resources?: string[];
          }>;
        }
      ).Entries ?? [];
    return entries.reduce((sum, entry) => {
      const bytes =
        (entry.Time ? 14 : 0) +
        utf8(entry.Source) +
        utf8(entry.DetailType) +
        utf8(entry.Detail) +
        (entry.Resources ?? []).reduce((n, r) => n + utf8(r), 0);
      return sum + billedChunks(bytes);
    }, 0);
  }
  if (commandName === 'SendMessageBatchCommand') {
    const entries = (input as { Entries?: SqsMessageInput[] }).Entries ?? [];
    return billedChunks(entries.reduce((sum, entry) => sum + sqsMessageBytes(entry), 0));
  }
  if (commandName === 'SendMessageCommand') return billedChunks(sqsMessageBytes(input as SqsMessageInput));
  return 1;
}

/** Bytes of an SQS message as SQS counts them: body, and each attribute's name, type and value. */
export function sqsMessageBytes(message: SqsMessageInput): number {
  let bytes = utf8(message.MessageBody);
  for (const [name, value] of Object.entries(message.MessageAttributes ?? {})) {
    bytes +=
      utf8(name) + utf8(value.DataType) + utf8(value.StringValue) + (value.BinaryValue?.byteLength ?? 0);
  }
  return bytes;
}

function utf8(text: string | undefined): number {
  return text === undefined ? 0 : Buffer.byteLength(text, 'utf8');
}

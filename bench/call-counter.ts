/**
 * Counts the AWS API calls an SDK v3 client makes, by command, with the number
 * of entries of batch calls. Counted once per logical call (before the SDK's own
 * retries), which is what a service bills and throttles per request.
 */

/** Calls and batch entries of one command. */
export interface CommandCount {
  calls: number;
  /** Entries of batch calls (PutEvents, SendMessageBatch, BatchGetItem keys); 1 for single-item calls. */
  entries: number;
}

/** Counts per command name, e.g. `PutEventsCommand`. */
export type CallCounts = Record<string, CommandCount>;

/** The subset of an SDK v3 client this module needs. */
interface MiddlewareHost {
  readonly middlewareStack: {
    add(
      middleware: (
        next: (args: { input: unknown }) => Promise<unknown>,
        context: { commandName?: string },
      ) => (args: { input: unknown }) => Promise<unknown>,
      options: { step: 'initialize'; name: string },
    ): void;
  };
}

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
    (client as unknown as MiddlewareHost).middlewareStack.add(
      (next, context) => async (args) => {
        const name = context.commandName ?? 'UnknownCommand';
        const count = this.counts[name] ?? { calls: 0, entries: 0 };
        this.counts[name] = count;
        count.calls++;
        count.entries += entriesOf(args.input);
        return next(args);
      },
      { step: 'initialize', name: 'benchCallCounter' },
    );
    return client;
  }

  /** A copy of the counts so far. */
  snapshot(): CallCounts {
    return structuredClone(this.counts);
  }

  /** Counts added since `before` (a snapshot). */
  since(before: CallCounts): CallCounts {
    const delta: CallCounts = {};
    for (const [name, count] of Object.entries(this.counts)) {
      const base = before[name] ?? { calls: 0, entries: 0 };
      if (count.calls === base.calls) continue;
      delta[name] = { calls: count.calls - base.calls, entries: count.entries - base.entries };
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

/**
 * Bench's hook into an AWS SDK v3 client: one middleware at the initialize step, which sees each
 * logical call once (before the SDK's own retries) with its command name and input. The call
 * counter and the capacity meter both count through it.
 */

/** The subset of an SDK v3 client this module needs. */
interface MiddlewareHost {
  readonly middlewareStack: {
    add(middleware: InitializeMiddleware, options: { step: 'initialize'; name: string }): void;
  };
}

/** A middleware of the initialize step: wraps `next`, the rest of the call. */
export type InitializeMiddleware = (
  next: (args: { input: unknown }) => Promise<unknown>,
  context: { commandName?: string },
) => (args: { input: unknown }) => Promise<unknown>;

/** Adds `middleware` to the initialize step of `client`, under `name` (unique per client); returns the client. */
export function addInitializeMiddleware<T>(client: T, name: string, middleware: InitializeMiddleware): T {
  (client as unknown as MiddlewareHost).middlewareStack.add(middleware, { step: 'initialize', name });
  return client;
}

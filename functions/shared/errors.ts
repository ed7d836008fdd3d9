/**
 * Typed errors shared by the writer, the relay and the consumer kit.
 *
 * Every error says what was wrong and what was given, so a log line or an API
 * response is enough to act on without a debugger.
 */

/** Base class: `code` is stable and safe to branch on; `message` is for humans. */
export class OutboxError extends Error {
  constructor(
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Input that does not have the required shape, e.g. a missing field or a bad type. */
export class ValidationError extends OutboxError {
  constructor(
    readonly field: string,
    problem: string,
    readonly given: unknown,
  ) {
    super('ValidationError', `${field} ${problem} (given ${describeValue(given)})`);
  }
}

/** Input that is well formed but exceeds a service limit (items, bytes, entries). */
export class LimitExceededError extends OutboxError {
  constructor(
    readonly limit: string,
    readonly max: number,
    readonly actual: number,
    detail = '',
  ) {
    super(
      'LimitExceeded',
      `${limit} is limited to ${max} but the request has ${actual}${detail ? `: ${detail}` : ''}`,
    );
  }
}

/** The aggregate's stored version is not the one the command expected (optimistic concurrency). */
export class ConcurrencyConflictError extends OutboxError {
  constructor(
    readonly aggregateKey: string,
    readonly expectedVersion: number,
    readonly actualVersion: number | undefined,
  ) {
    super(
      'ConcurrencyConflict',
      `${aggregateKey} expected version ${expectedVersion} but found ${
        actualVersion === undefined ? 'no aggregate' : `version ${actualVersion}`
      }; reload the aggregate and retry the command`,
    );
  }
}

/** DynamoDB cancelled the transaction because another transaction touched the same items; safe to retry. */
export class TransactionConflictError extends OutboxError {
  constructor(
    readonly aggregateKey: string,
    options?: { cause?: unknown },
  ) {
    super(
      'TransactionConflict',
      `transaction on ${aggregateKey} conflicted with another write; retry it`,
      options,
    );
  }
}

/** An idempotency key was sent again with a different request: the caller reused a key by mistake. */
export class IdempotencyKeyReuseError extends OutboxError {
  constructor(readonly idempotencyKey: string) {
    super(
      'IdempotencyKeyReused',
      `idempotency key ${idempotencyKey} was already used for a different request; use a new key for a new command`,
    );
  }
}

/** A required environment variable is missing. */
export class ConfigurationError extends OutboxError {
  constructor(message: string) {
    super('ConfigurationError', message);
  }
}

/**
 * A failure that retrying cannot fix (malformed event, unknown type, a gap that
 * means an earlier event was quarantined). The consumer kit sends the message to
 * the consumer's DLQ with `reason` instead of letting it block its group.
 */
export class PermanentFailure extends OutboxError {
  constructor(
    readonly reason: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super('PermanentFailure', `${reason}: ${message}`, options);
  }
}

/**
 * Whether an AWS SDK error has this name. Checks the name rather than `instanceof`, which
 * fails across two copies of an SDK package (a bundle and a test, say); SDK errors always set it.
 */
export function isAwsError(error: unknown, name: string): error is Error & { name: string } {
  return typeof error === 'object' && error !== null && (error as { name?: unknown }).name === name;
}

/** Short, log-safe description of a value: its type and, for scalars, a clipped rendering. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (value === null) return 'null';
  if (typeof value === 'string')
    return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint')
    return String(value);
  if (Array.isArray(value)) return `an array of ${value.length}`;
  return `a ${typeof value}`;
}

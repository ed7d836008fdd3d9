/**
 * The two kinds of error of the local EventBridge, and the input checks that
 * raise them: {@link EventBusEmulatorError} for misuse of the emulator's own
 * TypeScript API, {@link ServiceError} for an EventBridge error answered over
 * the wire (HTTP status, `__type` and `x-amzn-ErrorType` = `code`).
 */
import { EngineError } from '../engines/errors';
import { parseJsonTimestamp } from './put-events';

/** A misuse of the emulator's own API (not an EventBridge error answered over HTTP). */
export class EventBusEmulatorError extends EngineError {}

/** An error answered over HTTP in the JSON 1.1 error shape. */
export class ServiceError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** Throws `EventBusEmulatorError('InvalidParameter')` unless `value` is an integer in [min, max]. */
export function integerIn(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new EventBusEmulatorError(
      'InvalidParameter',
      `${name} must be an integer between ${min} and ${max} (given ${value})`,
    );
  }
  return value;
}

/** A fault probability: 0 when not given, otherwise within [0, 1]. */
export function rate(name: string, value: number | undefined): number {
  if (value === undefined) return 0;
  if (!(value >= 0 && value <= 1))
    throw new EventBusEmulatorError('InvalidFaults', `${name} must be between 0 and 1 (given ${value})`);
  return value;
}

/** A required non-empty string of a request, or the ValidationException EventBridge answers. */
export function requireString(value: unknown, name: string): string {
  if (typeof value !== 'string' || value === '') {
    throw new ServiceError(
      'ValidationException',
      `1 validation error detected: Value at '${name}' failed to satisfy constraint: Member must not be null`,
    );
  }
  return value;
}

/** A JSON 1.1 timestamp: epoch seconds (what the SDK sends), or an ISO 8601 string. */
export function requireTimestamp(value: unknown, name: string): Date {
  const date = parseJsonTimestamp(value);
  if (date === undefined) {
    throw new ServiceError(
      'ValidationException',
      `Parameter ${name} is not valid (given ${JSON.stringify(value)}).`,
    );
  }
  return date;
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

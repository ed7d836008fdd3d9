/**
 * AWSEvents.TestEventPattern: whether an event matches a pattern, with the
 * local engine, so `aws events test-event-pattern --endpoint-url ...` and the
 * SDK's TestEventPatternCommand work against the emulator.
 *
 * Request `{EventPattern: string, Event: string}`, response `{Result: boolean}`
 * (API reference, https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_TestEventPattern.html).
 * Errors as EventBridge answers them:
 * - a pattern that is not valid: InvalidEventPatternException,
 *   `Event pattern is not valid. Reason: ...`;
 * - an event that is not a JSON object or lacks one of the fields the API
 *   reference calls mandatory: ValidationException, `Parameter Event is not
 *   valid.`. The reference also lists `resources`, but EventBridge accepts
 *   events without it (observed by LocalStack's snapshot tests against AWS);
 * - a missing parameter: ValidationException naming it.
 */
import { isRecord, ServiceError } from './errors';
import { compileEventPattern } from './event-pattern';
import { EventPatternError } from './pattern-support';

/** The event fields TestEventPattern insists on. */
export const TEST_EVENT_MANDATORY_FIELDS = [
  'id',
  'account',
  'source',
  'time',
  'region',
  'detail-type',
] as const;

/**
 * Answers a TestEventPattern request body.
 * @throws ServiceError `ValidationException` or `InvalidEventPatternException`
 */
export function testEventPattern(body: unknown): { Result: boolean } {
  const input = isRecord(body) ? body : {};
  const patternText = requireParameter(input.EventPattern, 'eventPattern');
  const eventText = requireParameter(input.Event, 'event');
  let matches: (event: unknown) => boolean;
  try {
    matches = compileEventPattern(patternText);
  } catch (error) {
    if (!(error instanceof EventPatternError)) throw error;
    const reason = error.message.replace(/^Invalid event pattern: /, '');
    throw new ServiceError('InvalidEventPatternException', `Event pattern is not valid. Reason: ${reason}`);
  }
  return { Result: matches(parseEvent(eventText)) };
}

function requireParameter(value: unknown, name: string): string {
  if (value === undefined || value === null) {
    throw new ServiceError(
      'ValidationException',
      `1 validation error detected: Value null at '${name}' failed to satisfy constraint: Member must not be null`,
    );
  }
  if (typeof value !== 'string') {
    throw new ServiceError('SerializationException', `${name} must be a string (given ${typeof value})`);
  }
  return value;
}

function parseEvent(text: string): Record<string, unknown> {
  let event: unknown;
  try {
    event = JSON.parse(text);
  } catch {
    throw new ServiceError('ValidationException', 'Parameter Event is not valid.');
  }
  if (!isRecord(event) || !TEST_EVENT_MANDATORY_FIELDS.every((field) => Object.hasOwn(event, field))) {
    throw new ServiceError('ValidationException', 'Parameter Event is not valid.');
  }
  return event;
}

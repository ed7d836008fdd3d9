/**
 * The pure part of the local EventBridge: what PutEvents accepts and rejects,
 * how big an entry is, and the event EventBridge builds from an entry. No I/O;
 * the HTTP server and the target delivery live in `event-bus-emulator.ts`.
 *
 * Sources (AWS documentation unless noted):
 * - "PutEvents" API reference: 1 to 10 entries a request; Source, DetailType
 *   and Detail are required per entry and an entry without one fails alone;
 *   Entries[i] of the response lines up with entry i; per-entry error codes
 *   (InternalFailure and ThrottlingException retryable; InvalidArgument,
 *   MalformedDetail, NotAuthorizedForSourceException, ... not retryable).
 * - "Calculating PutEvents event entry size": Time counts 14 bytes when given;
 *   Source, DetailType, Detail and every Resources element count their UTF-8
 *   bytes; the total of the request's entries must stay under the limit.
 * - "Amazon EventBridge integration with AWS X-Ray": the TraceHeader of an
 *   entry goes to the targets but is not part of the event (nor of archives and
 *   replays); headers X-Ray considers invalid are dropped, the event is still
 *   processed; the header does not count towards the entry size.
 * - Observed service behaviour (SDK issues that quote the response, and
 *   LocalStack's snapshot-tested provider): a request whose entries are over
 *   the size limit fails as a whole with `ValidationException: Total size of
 *   the entries in the request is over the limit.`, not per entry; a Detail
 *   that is not a JSON object fails that entry with `MalformedDetail`.
 */

import { parseTraceHeader } from '../trace-header';

/** An event as EventBridge delivers it to targets (and stores in archives). */
export interface EventBridgeEvent {
  readonly version: '0';
  readonly id: string;
  readonly 'detail-type': string;
  readonly source: string;
  readonly account: string;
  /** ISO 8601 in whole seconds, e.g. `2024-05-01T12:00:00Z`. */
  readonly time: string;
  readonly region: string;
  readonly resources: ReadonlyArray<string>;
  readonly detail: Readonly<Record<string, unknown>>;
}

/** Where the event is published: a bus of this account and region. */
export interface BusAddress {
  readonly region: string;
  readonly accountId: string;
}

/** A PutEvents request that fails as a whole (HTTP 400 with `__type` = `code`). */
export class PutEventsRequestError extends Error {
  constructor(
    readonly code: 'ValidationException' | 'SerializationException',
    message: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** Per-entry outcome of validation: the event to route, or the documented error code and message. */
export type EntryValidation =
  | {
      readonly ok: true;
      readonly eventBusName: string;
      readonly event: EventBridgeEvent;
      /**
       * The entry's TraceHeader when it is a valid X-Ray header. It is not part
       * of the event: EventBridge hands it to targets beside the event (for SQS,
       * as the AWSTraceHeader system attribute) and drops headers X-Ray refuses.
       */
      readonly traceHeader: string | undefined;
    }
  | { readonly ok: false; readonly errorCode: string; readonly errorMessage: string };

/** Entries per PutEvents request (API reference: array members 1 to 10). */
export const MAX_ENTRIES_PER_REQUEST = 10;

/**
 * The size limit for the entries of one request: 256 KiB, the limit the
 * pipeline is built for (functions/shared/limits.ts). AWS raised it to 1 MiB
 * on 2026-01-29; pass `maxEntriesBytes` to the emulator to emulate that.
 */
export const DEFAULT_MAX_ENTRIES_BYTES = 256 * 1024;

/**
 * Size of one PutEvents entry as EventBridge computes it ("Calculating PutEvents
 * event entry size"). Accepts the raw wire entry; fields of the wrong type count 0.
 */
export function putEventsEntrySize(entry: unknown): number {
  if (!isRecord(entry)) return 0;
  let size = entry.Time !== undefined && entry.Time !== null ? 14 : 0;
  for (const field of [entry.Source, entry.DetailType, entry.Detail]) {
    if (typeof field === 'string') size += Buffer.byteLength(field, 'utf8');
  }
  if (Array.isArray(entry.Resources)) {
    for (const resource of entry.Resources) {
      if (typeof resource === 'string') size += Buffer.byteLength(resource, 'utf8');
    }
  }
  return size;
}

/**
 * The request-level checks of PutEvents: a JSON object with 1 to 10 entries
 * whose total size is within `maxEntriesBytes`. Returns the raw entries.
 *
 * @throws PutEventsRequestError with the code and message EventBridge answers
 */
export function checkPutEventsRequest(body: unknown, maxEntriesBytes: number): ReadonlyArray<unknown> {
  if (!isRecord(body))
    throw new PutEventsRequestError('SerializationException', 'Request body must be a JSON object');
  const entries = body.Entries;
  if (entries === undefined || entries === null) {
    throw new PutEventsRequestError(
      'ValidationException',
      "1 validation error detected: Value null at 'entries' failed to satisfy constraint: Member must not be null",
    );
  }
  if (!Array.isArray(entries))
    throw new PutEventsRequestError('SerializationException', 'Entries must be a list');
  if (entries.length < 1 || entries.length > MAX_ENTRIES_PER_REQUEST) {
    const bound =
      entries.length < 1 ? 'greater than or equal to 1' : `less than or equal to ${MAX_ENTRIES_PER_REQUEST}`;
    throw new PutEventsRequestError(
      'ValidationException',
      `1 validation error detected: Value at 'entries' failed to satisfy constraint: Member must have length ${bound} (given ${entries.length})`,
    );
  }
  const total = entries.reduce<number>((sum, entry) => sum + putEventsEntrySize(entry), 0);
  if (total > maxEntriesBytes) {
    // EventBridge words it without numbers; the numbers are added here for whoever reads the log.
    throw new PutEventsRequestError(
      'ValidationException',
      `Total size of the entries in the request is over the limit. (${total} bytes, limit ${maxEntriesBytes})`,
    );
  }
  return entries;
}

/**
 * Name of the bus an entry addresses: `EventBusName` as a name or an ARN;
 * `default` when absent. Returns `undefined` for an ARN of another account or
 * region (cross-account delivery is not emulated) or a malformed ARN.
 */
export function resolveEventBusName(value: unknown, address: BusAddress): string | undefined {
  if (value === undefined || value === null || value === '') return 'default';
  if (typeof value !== 'string') return undefined;
  if (!value.startsWith('arn:')) return value;
  const match = /^arn:aws[a-z-]*:events:([^:]+):(\d{12}):event-bus\/(.+)$/.exec(value);
  if (match === null || match[1] !== address.region || match[2] !== address.accountId) return undefined;
  return match[3];
}

/** ARN of an event bus. */
export function eventBusArn(name: string, address: BusAddress): string {
  return `arn:aws:events:${address.region}:${address.accountId}:event-bus/${name}`;
}

/** ARN of a rule; rules of custom buses carry the bus name in their ARN, rules of `default` do not. */
export function ruleArn(ruleName: string, eventBusName: string, address: BusAddress): string {
  const path = eventBusName === 'default' ? ruleName : `${eventBusName}/${ruleName}`;
  return `arn:aws:events:${address.region}:${address.accountId}:rule/${path}`;
}

/**
 * Check one entry and build the event EventBridge would route, or the per-entry
 * error EventBridge would answer. `busExists` says whether a bus name is known.
 */
export function validatePutEventsEntry(
  entry: unknown,
  context: BusAddress & {
    readonly busExists: (name: string) => boolean;
    readonly newEventId: () => string;
    readonly now: () => Date;
  },
): EntryValidation {
  if (!isRecord(entry)) return invalidArgument('Entry', 'Entry must be an object.');
  const { Source: source, DetailType: detailType, Detail: detailText } = entry;
  if (!isNonEmptyString(source)) return invalidArgument('Source', 'Source is a required argument.');
  if (!isNonEmptyString(detailType))
    return invalidArgument('DetailType', 'DetailType is a required argument.');
  if (!isNonEmptyString(detailText)) return invalidArgument('Detail', 'Detail is a required argument.');
  const detail = parseJsonObject(detailText);
  if (detail === undefined)
    return { ok: false, errorCode: 'MalformedDetail', errorMessage: 'Detail is malformed.' };
  const time = eventTime(entry.Time, context.now);
  if (time === undefined) return invalidArgument('Time', 'Time must be a timestamp (epoch seconds).');
  if (
    entry.TraceHeader !== undefined &&
    entry.TraceHeader !== null &&
    typeof entry.TraceHeader !== 'string'
  ) {
    return invalidArgument('TraceHeader', 'TraceHeader must be a string.');
  }
  const resources = entry.Resources ?? [];
  if (!Array.isArray(resources) || !resources.every((resource) => typeof resource === 'string')) {
    return invalidArgument('Resources', 'Resources must be a list of strings.');
  }
  // Sources starting with "aws." are reserved for AWS services.
  if (source.startsWith('aws.')) {
    return {
      ok: false,
      errorCode: 'NotAuthorizedForSourceException',
      errorMessage: 'Not authorized for the source.',
    };
  }
  const eventBusName = resolveEventBusName(entry.EventBusName, context);
  if (eventBusName === undefined || !context.busExists(eventBusName)) {
    return {
      ok: false,
      errorCode: 'InvalidArgument',
      errorMessage: `Event bus ${eventBusName ?? String(entry.EventBusName)} does not exist.`,
    };
  }
  return {
    ok: true,
    eventBusName,
    traceHeader:
      parseTraceHeader(entry.TraceHeader) === undefined ? undefined : (entry.TraceHeader as string),
    event: {
      version: '0',
      id: context.newEventId(),
      'detail-type': detailType,
      source,
      account: context.accountId,
      time,
      region: context.region,
      resources,
      detail,
    },
  };
}

/** ISO 8601 in whole seconds, as EventBridge writes `time`. */
export function isoSeconds(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function eventTime(value: unknown, now: () => Date): string | undefined {
  if (value === undefined || value === null) return isoSeconds(now());
  const date = parseJsonTimestamp(value);
  return date === undefined ? undefined : isoSeconds(date);
}

/**
 * A timestamp of the AWS JSON 1.1 protocol: epoch seconds (possibly fractional), as the
 * SDK sends it, or an ISO string from a hand-written request; undefined if neither.
 */
export function parseJsonTimestamp(value: unknown): Date | undefined {
  const date =
    typeof value === 'number'
      ? new Date(value * 1000)
      : typeof value === 'string'
        ? new Date(value)
        : undefined;
  return date === undefined || Number.isNaN(date.getTime()) ? undefined : date;
}

function parseJsonObject(text: string): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(text);
    return isRecord(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

function invalidArgument(parameter: string, reason: string): EntryValidation {
  return {
    ok: false,
    errorCode: 'InvalidArgument',
    errorMessage: `Parameter ${parameter} is not valid. Reason: ${reason}`,
  };
}

function isNonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * X-Ray trace headers as the emulators pass them on: `Root=1-<8 hex>-<24 hex>`
 * plus optional `Parent=<16 hex>`, `Sampled=0|1|?` and other `key=value`
 * fields, separated by ";" ("Tracing header", AWS X-Ray Developer Guide,
 * https://docs.aws.amazon.com/xray/latest/devguide/xray-concepts.html#xray-concepts-tracingheader).
 */
import { randomBytes } from 'node:crypto';

/** A parsed trace header. */
export interface TraceHeader {
  /** `1-<epoch seconds, 8 hex>-<96-bit id, 24 hex>`. */
  readonly root: string;
  readonly parent: string | undefined;
  readonly sampled: string | undefined;
}

const ROOT = /^1-[0-9a-f]{8}-[0-9a-f]{24}$/;
const PARENT = /^[0-9a-f]{16}$/;
/** PutEventsRequestEntry.TraceHeader and AWSTraceHeader allow at most 500 characters. */
const MAX_LENGTH = 500;

/**
 * Parses a trace header; undefined when it has no valid Root (X-Ray drops
 * such headers: "trace headers that aren't valid are dropped").
 */
export function parseTraceHeader(text: unknown): TraceHeader | undefined {
  if (typeof text !== 'string' || text === '' || text.length > MAX_LENGTH) return undefined;
  const fields = new Map<string, string>();
  for (const part of text.split(';')) {
    const equals = part.indexOf('=');
    if (equals <= 0) return undefined;
    fields.set(part.slice(0, equals).trim(), part.slice(equals + 1).trim());
  }
  const root = fields.get('Root');
  const parent = fields.get('Parent');
  if (root === undefined || !ROOT.test(root)) return undefined;
  if (parent !== undefined && !PARENT.test(parent)) return undefined;
  return { root, parent, sampled: fields.get('Sampled') };
}

/** A new trace root, as X-Ray makes one: the current time in seconds and 96 random bits. */
export function newTraceRoot(nowMs: number = Date.now()): string {
  const seconds = Math.floor(nowMs / 1000)
    .toString(16)
    .padStart(8, '0');
  return `1-${seconds}-${randomBytes(12).toString('hex')}`;
}

/** A new segment id (`Parent`). */
export function newSegmentId(): string {
  return randomBytes(8).toString('hex');
}

/**
 * The `_X_AMZN_TRACE_ID` of one Lambda invocation: the caller's Root and
 * Sampled decision when it sent a valid header, a new root otherwise, and a
 * new Parent for the invocation's own segment.
 */
export function lambdaTraceId(upstream: string | undefined): string {
  const parsed = parseTraceHeader(upstream);
  const root = parsed?.root ?? newTraceRoot();
  const sampled = parsed?.sampled === '1' ? '1' : '0';
  return `Root=${root};Parent=${newSegmentId()};Sampled=${sampled}`;
}

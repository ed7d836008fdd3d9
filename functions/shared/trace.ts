import { randomBytes } from 'node:crypto';

/**
 * W3C trace context ↔ AWS X-Ray trace header. The envelope carries the W3C `traceparent` of the
 * request that committed the event; AWS services (Lambda, EventBridge `TraceHeader`, the SQS
 * `AWSTraceHeader` system attribute) carry X-Ray headers. X-Ray trace ids are W3C trace ids
 * split as `1-<first 8 hex>-<last 24 hex>` (X-Ray documents this mapping), so one trace id
 * runs from the API request to every consumer's effect. Neither header ever holds payload data.
 */

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const XRAY_ROOT = /(?:^|;)Root=1-([0-9a-f]{8})-([0-9a-f]{24})(?:;|$)/;
const XRAY_PARENT = /(?:^|;)Parent=([0-9a-f]{16})(?:;|$)/;
const XRAY_SAMPLED = /(?:^|;)Sampled=([01])(?:;|$)/;

/** The parts of a W3C traceparent, or undefined if it is not one. */
export function parseTraceparent(
  traceparent: string | undefined,
): { traceId: string; parentId: string; sampled: boolean } | undefined {
  const match = traceparent === undefined ? null : TRACEPARENT.exec(traceparent);
  if (!match?.[1] || !match[2] || !match[3]) return undefined;
  return { traceId: match[1], parentId: match[2], sampled: (Number.parseInt(match[3], 16) & 1) === 1 };
}

/** The X-Ray trace id (`1-xxxxxxxx-yyyy…`) of a W3C traceparent, or undefined. */
export function xrayTraceId(traceparent: string | undefined): string | undefined {
  const parts = parseTraceparent(traceparent);
  return parts ? `1-${parts.traceId.slice(0, 8)}-${parts.traceId.slice(8)}` : undefined;
}

/**
 * The X-Ray trace header for a W3C traceparent (`Root=…;Parent=…;Sampled=…`), as PutEvents
 * `TraceHeader` and the SQS `AWSTraceHeader` system attribute take it; undefined without one.
 */
export function xrayTraceHeader(traceparent: string | undefined): string | undefined {
  const parts = parseTraceparent(traceparent);
  if (!parts) return undefined;
  return `Root=1-${parts.traceId.slice(0, 8)}-${parts.traceId.slice(8)};Parent=${parts.parentId};Sampled=${parts.sampled ? 1 : 0}`;
}

/**
 * The W3C traceparent continuing an X-Ray trace header (Lambda's `_X_AMZN_TRACE_ID`), with a new
 * span id when the header names no parent; undefined when the header has no root.
 */
export function traceparentFromXray(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const root = XRAY_ROOT.exec(header);
  if (!root?.[1] || !root[2]) return undefined;
  const parent = XRAY_PARENT.exec(header)?.[1] ?? newSpanId();
  const sampled = XRAY_SAMPLED.exec(header)?.[1] === '1';
  return `00-${root[1]}${root[2]}-${parent}-${sampled ? '01' : '00'}`;
}

/** A new W3C traceparent (sampled), for requests that arrive without one. */
export function newTraceparent(): string {
  return `00-${randomBytes(16).toString('hex')}-${newSpanId()}-01`;
}

function newSpanId(): string {
  return randomBytes(8).toString('hex');
}

import { ValidationError } from '../shared/errors';
import type { EntryFailure } from './ports';

/** Limits of one batch call: entries and total bytes. */
export interface BatchLimits {
  readonly maxEntries: number;
  readonly maxBytes: number;
}

/**
 * Splits items into batches of at most `maxEntries` items and `maxBytes` total
 * size, keeping their order. Throws if a single item alone exceeds `maxBytes`
 * (callers reject such items earlier, so reaching this is a bug, not a batch to drop).
 */
export function chunkBySizeAndCount<T>(
  items: ReadonlyArray<T>,
  sizeOf: (item: T) => number,
  limits: BatchLimits,
): T[][] {
  assertLimits(limits);
  const batches: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const size = sizeOf(item);
    if (size > limits.maxBytes)
      throw new ValidationError('batch item size', `must be at most ${limits.maxBytes} bytes`, size);
    if (current.length === limits.maxEntries || bytes + size > limits.maxBytes) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += size;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

/**
 * Picks the next FIFO batch: the head of up to `maxEntries` distinct groups,
 * within `maxBytes`, taking groups round-robin from `startGroup` so that a hot
 * aggregate cannot starve others.
 *
 * At most one message per group goes into a batch. SendMessageBatch reports
 * failures per entry; if two messages of one group shared a batch and the first
 * failed while the second succeeded, the second would already be in the queue
 * ahead of the first's retry, and order would be lost. One per group per call
 * makes a failed head simply block its own group until retried. The cost is
 * max(ceil(n/10), longest group) calls instead of ceil(n/10).
 */
export function nextFifoBatch<T>(
  groups: ReadonlyArray<{ readonly key: string; readonly pending: ReadonlyArray<T> }>,
  sizeOf: (item: T) => number,
  limits: BatchLimits,
  startGroup = 0,
): Array<{ groupIndex: number; item: T }> {
  assertLimits(limits);
  const batch: Array<{ groupIndex: number; item: T }> = [];
  let bytes = 0;
  for (let offset = 0; offset < groups.length && batch.length < limits.maxEntries; offset++) {
    const groupIndex = (startGroup + offset) % groups.length;
    const head = groups[groupIndex]?.pending[0];
    if (head === undefined) continue;
    const size = sizeOf(head);
    if (bytes + size > limits.maxBytes) continue;
    batch.push({ groupIndex, item: head });
    bytes += size;
  }
  return batch;
}

/** Exponential backoff with full jitter: a random delay in [0, min(max, base * 2^attempt)). */
export function backoffDelay(
  attempt: number,
  baseMs: number,
  maxMs: number,
  random: () => number = Math.random,
): number {
  const cap = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt));
  return Math.floor(random() * cap);
}

function assertLimits(limits: BatchLimits): void {
  if (!Number.isInteger(limits.maxEntries) || limits.maxEntries < 1) {
    throw new ValidationError('limits.maxEntries', 'must be a positive integer', limits.maxEntries);
  }
  if (!Number.isInteger(limits.maxBytes) || limits.maxBytes < 1) {
    throw new ValidationError('limits.maxBytes', 'must be a positive integer', limits.maxBytes);
  }
}

/**
 * Runs one batch call (PutEvents, SendMessageBatch). A call that throws, e.g. when
 * throttled, counts as every entry failing, so the caller retries entries the same way
 * whether the service failed one entry or the whole request.
 */
export async function callBatch(call: () => Promise<EntryFailure[]>, size: number): Promise<EntryFailure[]> {
  try {
    return await call();
  } catch (error) {
    const code = (error as Error).name ?? 'Error';
    // A whole call that fails (throttled, unreachable, not allowed) says nothing against any entry.
    return Array.from({ length: size }, (_, index) => ({
      index,
      code,
      message: (error as Error).message,
      permanent: false,
    }));
  }
}

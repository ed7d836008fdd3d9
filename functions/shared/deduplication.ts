import { randomUUID } from 'node:crypto';

/** SQS's longest MessageDeduplicationId. */
const MAX_DEDUPLICATION_ID_LENGTH = 128;
/** Separates the event's own id from what a resend adds; event ids never contain it. */
const SEPARATOR = '~';

/**
 * A FIFO deduplication id no queue has seen, for a message sent again on purpose (dead-lettered
 * by the kit, redriven, backfilled after a reset). A FIFO queue silently drops an id it saw in the
 * last 5 minutes, so a resend under the event's own id could vanish while reported sent. The id
 * keeps the event's own id in front (`<event id>~<why>~<random>`), never grows across resends, and
 * fits SQS's 128 characters. `unique` makes it new: random by default; the kit passes the SQS
 * message id, so that its own retry of one dead-lettering is deduplicated while a redriven copy
 * (a new message) is not.
 *
 * @example
 * freshDeduplicationId('0193a6a8-…', 'redrive'); // => '0193a6a8-…~redrive~5f0c…'
 */
export function freshDeduplicationId(
  original: string,
  why: 'dlq' | 'redrive' | 'backfill',
  unique: string = randomUUID(),
): string {
  const base = original.split(SEPARATOR)[0] ?? '';
  const suffix = `${SEPARATOR}${why}${SEPARATOR}${unique.replaceAll(/[^0-9A-Za-z]/g, '').slice(0, 40)}`;
  return `${base.slice(0, MAX_DEDUPLICATION_ID_LENGTH - suffix.length)}${suffix}`;
}

/**
 * Transaction conflicts: DynamoDB cancels a write when another transaction holds one of its
 * items. Nothing was written, so the write can be sent again. AWS recommends retrying them
 * ("Transaction conflict handling", DynamoDB Developer Guide); the SDK's standard retry
 * strategy does not retry a cancelled transaction, whatever its reasons.
 */
import { isAwsError } from './errors';

/** How often a conflicted write is sent in all, and the base of its jittered backoff. */
export const TRANSACTION_CONFLICT_ATTEMPTS = 3;
const BACKOFF_BASE_MS = 25;

/**
 * Whether DynamoDB refused a write only for a transaction conflict: a
 * `TransactionConflictException` (a single-item write meeting a transaction), or a cancelled
 * transaction whose reasons name a `TransactionConflict` and no failed condition.
 */
export function isTransactionConflict(error: unknown): boolean {
  if (isAwsError(error, 'TransactionConflictException')) return true;
  if (!isAwsError(error, 'TransactionCanceledException')) return false;
  const reasons =
    (error as { CancellationReasons?: ReadonlyArray<{ Code?: string }> }).CancellationReasons ?? [];
  return (
    reasons.some((reason) => reason.Code === 'TransactionConflict') &&
    !reasons.some((reason) => reason.Code === 'ConditionalCheckFailed')
  );
}

/**
 * Runs a write, and runs it again (up to {@link TRANSACTION_CONFLICT_ATTEMPTS} in all, with full
 * jitter) while DynamoDB cancels it for a transaction conflict. Any other error, and the last
 * conflict, is thrown as it came.
 */
export async function retryingTransactionConflicts<T>(
  write: () => Promise<T>,
  random: () => number = Math.random,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await write();
    } catch (error) {
      if (attempt >= TRANSACTION_CONFLICT_ATTEMPTS || !isTransactionConflict(error)) throw error;
      const delay = Math.floor(random() * BACKOFF_BASE_MS * 2 ** (attempt - 1));
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}

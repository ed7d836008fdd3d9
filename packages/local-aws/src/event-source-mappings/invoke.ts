/**
 * Pieces shared by the emulated event source mappings: the handler model, the
 * partial-batch-response rules and configuration errors.
 */

/**
 * A Lambda handler as the mappings see it. The caller wraps the real handler with
 * a context (and whatever else the function needs), so the same code runs locally.
 */
export type Invoke<E, R> = (event: E) => Promise<R>;

/** An event source mapping was configured outside the ranges AWS accepts. */
export class MappingConfigError extends Error {
  constructor(
    readonly option: string,
    problem: string,
    readonly given: unknown,
  ) {
    super(`${option} ${problem} (given ${JSON.stringify(given)})`);
    this.name = new.target.name;
  }
}

/** Throws {@link MappingConfigError} unless `value` is an integer within [min, max]. */
export function assertIntegerInRange(option: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new MappingConfigError(option, `must be an integer between ${min} and ${max}`, value);
  }
}

/** How Lambda reads a function's response when ReportBatchItemFailures is on. */
export type BatchResponseVerdict =
  | { readonly kind: 'success' }
  | { readonly kind: 'partial'; readonly failedIds: readonly string[] }
  | { readonly kind: 'invalid'; readonly reason: string };

/**
 * Applies Lambda's partial-batch-response rules to a function's return value.
 *
 * Complete success: a null/undefined response, a response without
 * `batchItemFailures`, or an empty list. Complete failure ('invalid'): a response
 * that is not an object, `batchItemFailures` that is not an array, or an item whose
 * `itemIdentifier` is missing, empty, not a string, or not one of `knownIds`
 * (SequenceNumbers for streams, messageIds for SQS).
 * Sources: https://docs.aws.amazon.com/lambda/latest/dg/services-ddb-batchfailurereporting.html
 * and https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html
 */
export function judgeBatchResponse(response: unknown, knownIds: ReadonlySet<string>): BatchResponseVerdict {
  if (response === null || response === undefined) return { kind: 'success' };
  if (typeof response !== 'object' || Array.isArray(response)) {
    return { kind: 'invalid', reason: `the response is not an object (got ${typeof response})` };
  }
  const failures = (response as { batchItemFailures?: unknown }).batchItemFailures;
  if (failures === null || failures === undefined) return { kind: 'success' };
  if (!Array.isArray(failures)) return { kind: 'invalid', reason: 'batchItemFailures is not an array' };
  if (failures.length === 0) return { kind: 'success' };
  const failedIds: string[] = [];
  for (const failure of failures) {
    const id = (failure as { itemIdentifier?: unknown } | null)?.itemIdentifier;
    if (typeof id !== 'string' || id === '') {
      return {
        kind: 'invalid',
        reason: `an item has no usable itemIdentifier (got ${JSON.stringify(failure)})`,
      };
    }
    if (!knownIds.has(id)) return { kind: 'invalid', reason: `itemIdentifier ${id} is not in the batch` };
    failedIds.push(id);
  }
  return { kind: 'partial', failedIds };
}

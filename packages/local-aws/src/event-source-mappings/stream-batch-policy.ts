/**
 * What Lambda does with a batch of stream records after invoking the function,
 * as pure decisions: no clock, no I/O, no engines. The shard worker of
 * `dynamodb-stream-mapping.ts` carries them out.
 *
 * The rules, with the AWS documentation they follow:
 * - Without ReportBatchItemFailures any response that is not an error is
 *   success. With it, the batch checkpoints before the LOWEST reported
 *   SequenceNumber and the records from there on are retried; an empty or
 *   missing list is success; an invalid response (not an object, a bad or
 *   unknown itemIdentifier) fails the whole batch.
 *   https://docs.aws.amazon.com/lambda/latest/dg/services-ddb-batchfailurereporting.html
 * - BisectBatchOnFunctionError: a batch that fails (error or invalid response)
 *   is split in two and each half is processed in turn, first half first;
 *   "Splitting batches doesn't consume the retry quota", so only a failing
 *   single record (or a partial failure) uses retries. A partial response is
 *   not bisected: it already says where to resume.
 * - MaximumRetryAttempts (-1 = infinite): once a (sub)batch has been retried
 *   that often and fails again, it is discarded (`RetryAttemptsExhausted`).
 * - MaximumRecordAgeInSeconds (-1 = infinite): records older than that are
 *   discarded before an invocation (`RecordAgeExceeded`).
 *   https://docs.aws.amazon.com/lambda/latest/dg/services-dynamodb-errors.html
 */
import type { DynamoDBRecord } from 'aws-lambda';
import { judgeBatchResponse, MappingConfigError } from './invoke';
import { compareSequenceNumbers, sequenceNumberOf } from './stream-reader';

/** The settings of AWS::Lambda::EventSourceMapping that decide the fate of a failing batch. */
export interface BatchFailurePolicy {
  readonly reportBatchItemFailures: boolean;
  readonly bisectBatchOnFunctionError: boolean;
  /** Retries of a failing (sub)batch before it is discarded; -1 = infinite. */
  readonly maximumRetryAttempts: number;
  /** Records older than this many seconds are discarded; -1 = no limit. */
  readonly maximumRecordAgeInSeconds: number;
}

/** A (sub)batch on its way through the function. */
export interface PendingBatch {
  readonly records: ReadonlyArray<DynamoDBRecord>;
  /** Retries used so far (inherited by bisected halves). */
  readonly retries: number;
  /** Invocations of this (sub)batch so far, the failure record's `approximateInvokeCount`. */
  readonly invocations: number;
}

/** What came back from one invocation, before Lambda judges it. */
export type InvocationResult =
  | { readonly kind: 'returned'; readonly response: unknown }
  | { readonly kind: 'threw' };

/** How Lambda reads one invocation. */
export type InvocationOutcome =
  | { readonly kind: 'success' }
  | { readonly kind: 'partial'; readonly lowestFailed: string }
  | {
      readonly kind: 'failure';
      /** `Unhandled` when the function threw; undefined for an invalid partial batch response. */
      readonly functionError: 'Unhandled' | undefined;
      readonly reason: string;
    };

/** What to do next with a (sub)batch that was just invoked. */
export type BatchDecision =
  /** Every record is done: checkpoint them. */
  | { readonly kind: 'checkpoint'; readonly checkpoint: ReadonlyArray<DynamoDBRecord> }
  /** Checkpoint the records before the failure, then invoke `retry` again. */
  | {
      readonly kind: 'retry';
      readonly checkpoint: ReadonlyArray<DynamoDBRecord>;
      readonly retry: PendingBatch;
    }
  /** Process `first`, then `second`, in place of the batch. */
  | { readonly kind: 'bisect'; readonly first: PendingBatch; readonly second: PendingBatch }
  /** Checkpoint the records before the failure and give up on `discard`. */
  | {
      readonly kind: 'discard';
      readonly checkpoint: ReadonlyArray<DynamoDBRecord>;
      readonly discard: ReadonlyArray<DynamoDBRecord>;
      readonly condition: 'RetryAttemptsExhausted';
      readonly functionError: 'Unhandled' | undefined;
      readonly invocations: number;
    };

/**
 * Checks the policy against the ranges AWS accepts.
 * @throws MappingConfigError naming the setting and the value given
 */
export function checkBatchFailurePolicy(policy: BatchFailurePolicy): BatchFailurePolicy {
  const { maximumRetryAttempts: retries, maximumRecordAgeInSeconds: age } = policy;
  if (!Number.isInteger(retries) || retries < -1 || retries > 10_000) {
    throw new MappingConfigError('maximumRetryAttempts', 'must be an integer between -1 and 10000', retries);
  }
  if (age !== -1 && (!Number.isInteger(age) || age < 60 || age > 604_800)) {
    throw new MappingConfigError(
      'maximumRecordAgeInSeconds',
      'must be an integer between 60 and 604800',
      age,
    );
  }
  return policy;
}

/** Judges one invocation of `records` as Lambda does (see the module comment). */
export function judgeInvocation(
  records: ReadonlyArray<DynamoDBRecord>,
  result: InvocationResult,
  reportBatchItemFailures: boolean,
): InvocationOutcome {
  if (result.kind === 'threw')
    return { kind: 'failure', functionError: 'Unhandled', reason: 'function error' };
  if (!reportBatchItemFailures) return { kind: 'success' };
  const verdict = judgeBatchResponse(result.response, new Set(records.map(sequenceNumberOf)));
  if (verdict.kind === 'success') return verdict;
  if (verdict.kind === 'invalid')
    return { kind: 'failure', functionError: undefined, reason: verdict.reason };
  const [lowestFailed] = [...verdict.failedIds].sort(compareSequenceNumbers);
  if (lowestFailed === undefined) return { kind: 'success' };
  return { kind: 'partial', lowestFailed };
}

/**
 * The leading records that are older than MaximumRecordAgeInSeconds at `nowMs`,
 * and the rest. Records are in sequence order, so once one is fresh, the rest are too.
 */
export function splitExpired(
  records: ReadonlyArray<DynamoDBRecord>,
  nowMs: number,
  maximumRecordAgeInSeconds: number,
): { readonly expired: DynamoDBRecord[]; readonly fresh: DynamoDBRecord[] } {
  if (maximumRecordAgeInSeconds === -1) return { expired: [], fresh: [...records] };
  const firstFresh = records.findIndex((record) => {
    const createdSeconds = record.dynamodb?.ApproximateCreationDateTime;
    return createdSeconds === undefined || nowMs - createdSeconds * 1000 <= maximumRecordAgeInSeconds * 1000;
  });
  if (firstFresh === -1) return { expired: [...records], fresh: [] };
  return { expired: records.slice(0, firstFresh), fresh: records.slice(firstFresh) };
}

/**
 * What to do with `batch` after one more invocation of it ended in `outcome`.
 * `batch.invocations` must already count that invocation.
 */
export function decideAfterInvocation(
  batch: PendingBatch,
  outcome: InvocationOutcome,
  policy: BatchFailurePolicy,
): BatchDecision {
  if (outcome.kind === 'success') return { kind: 'checkpoint', checkpoint: batch.records };
  if (outcome.kind === 'partial') {
    const done = batch.records.filter(
      (record) => compareSequenceNumbers(sequenceNumberOf(record), outcome.lowestFailed) < 0,
    );
    return retryOrDiscard(batch, done, batch.records.slice(done.length), undefined, policy);
  }
  if (policy.bisectBatchOnFunctionError && batch.records.length > 1) {
    const middle = Math.ceil(batch.records.length / 2);
    return {
      kind: 'bisect',
      first: { records: batch.records.slice(0, middle), retries: batch.retries, invocations: 0 },
      second: { records: batch.records.slice(middle), retries: batch.retries, invocations: 0 },
    };
  }
  return retryOrDiscard(batch, [], batch.records, outcome.functionError, policy);
}

function retryOrDiscard(
  batch: PendingBatch,
  checkpoint: ReadonlyArray<DynamoDBRecord>,
  failed: ReadonlyArray<DynamoDBRecord>,
  functionError: 'Unhandled' | undefined,
  policy: BatchFailurePolicy,
): BatchDecision {
  if (policy.maximumRetryAttempts !== -1 && batch.retries >= policy.maximumRetryAttempts) {
    return {
      kind: 'discard',
      checkpoint,
      discard: failed,
      condition: 'RetryAttemptsExhausted',
      functionError,
      invocations: batch.invocations,
    };
  }
  return {
    kind: 'retry',
    checkpoint,
    retry: { records: failed, retries: batch.retries + 1, invocations: batch.invocations },
  };
}

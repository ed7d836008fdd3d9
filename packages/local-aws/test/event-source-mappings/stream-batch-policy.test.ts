/**
 * The pure batch-failure policy of the DynamoDB stream mapping, without engines. Rules from
 * "Configuring partial batch response with DynamoDB and Lambda" and "Retain discarded records
 * for a DynamoDB event source in Lambda" (Lambda Developer Guide).
 */
import type { DynamoDBRecord } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { MappingConfigError } from '../../src/event-source-mappings/invoke';
import {
  type BatchFailurePolicy,
  checkBatchFailurePolicy,
  decideAfterInvocation,
  judgeInvocation,
  type PendingBatch,
  splitExpired,
} from '../../src/event-source-mappings/stream-batch-policy';

const NOW_MS = Date.parse('2024-05-01T12:00:00Z');

/** A stream record with sequence number `sequence`, created `ageSeconds` before NOW_MS. */
function record(sequence: number, ageSeconds = 0): DynamoDBRecord {
  return {
    eventName: 'INSERT',
    dynamodb: {
      SequenceNumber: String(100 + sequence),
      ApproximateCreationDateTime: NOW_MS / 1000 - ageSeconds,
    },
  };
}

function records(count: number): DynamoDBRecord[] {
  return Array.from({ length: count }, (_, index) => record(index));
}

function sequences(list: ReadonlyArray<DynamoDBRecord>): string[] {
  return list.map((r) => r.dynamodb?.SequenceNumber ?? '?');
}

const DEFAULTS: BatchFailurePolicy = {
  reportBatchItemFailures: false,
  bisectBatchOnFunctionError: false,
  maximumRetryAttempts: -1,
  maximumRecordAgeInSeconds: -1,
};

function batch(list: DynamoDBRecord[], retries = 0, invocations = 1): PendingBatch {
  return { records: list, retries, invocations };
}

describe('judgeInvocation', () => {
  it('reads any response as success without ReportBatchItemFailures', () => {
    // Act
    const outcome = judgeInvocation(records(2), { kind: 'returned', response: 'anything' }, false);

    // Assert
    expect(outcome).toEqual({ kind: 'success' });
  });

  it('reads a thrown error as an Unhandled function error', () => {
    // Act
    const outcome = judgeInvocation(records(2), { kind: 'threw' }, true);

    // Assert
    expect(outcome).toMatchObject({ kind: 'failure', functionError: 'Unhandled' });
  });

  it('reads an empty batchItemFailures list as success', () => {
    // Act
    const outcome = judgeInvocation(
      records(2),
      { kind: 'returned', response: { batchItemFailures: [] } },
      true,
    );

    // Assert
    expect(outcome).toEqual({ kind: 'success' });
  });

  it('picks the lowest reported sequence number, whatever the order of the list', () => {
    // Arrange
    const response = { batchItemFailures: [{ itemIdentifier: '104' }, { itemIdentifier: '102' }] };

    // Act
    const outcome = judgeInvocation(records(6), { kind: 'returned', response }, true);

    // Assert
    expect(outcome).toEqual({ kind: 'partial', lowestFailed: '102' });
  });

  it('compares sequence numbers as numbers, not as text', () => {
    // Arrange: '99' sorts after '100' as text
    const list = [
      { dynamodb: { SequenceNumber: '99' } },
      { dynamodb: { SequenceNumber: '100' } },
    ] as DynamoDBRecord[];
    const response = { batchItemFailures: [{ itemIdentifier: '100' }, { itemIdentifier: '99' }] };

    // Act
    const outcome = judgeInvocation(list, { kind: 'returned', response }, true);

    // Assert
    expect(outcome).toEqual({ kind: 'partial', lowestFailed: '99' });
  });

  it('reads an itemIdentifier that is not in the batch as a failure of the whole batch, not a function error', () => {
    // Act
    const outcome = judgeInvocation(
      records(2),
      { kind: 'returned', response: { batchItemFailures: [{ itemIdentifier: '999' }] } },
      true,
    );

    // Assert
    expect(outcome).toMatchObject({ kind: 'failure', functionError: undefined });
  });
});

describe('decideAfterInvocation', () => {
  it('checkpoints every record of a successful batch', () => {
    // Act
    const decision = decideAfterInvocation(batch(records(3)), { kind: 'success' }, DEFAULTS);

    // Assert
    expect(decision.kind).toBe('checkpoint');
    expect(sequences(decision.kind === 'checkpoint' ? decision.checkpoint : [])).toEqual([
      '100',
      '101',
      '102',
    ]);
  });

  it('checkpoints before the lowest failed record and retries from it', () => {
    // Act
    const decision = decideAfterInvocation(
      batch(records(5)),
      { kind: 'partial', lowestFailed: '102' },
      DEFAULTS,
    );

    // Assert
    expect(decision.kind).toBe('retry');
    if (decision.kind !== 'retry') return;
    expect(sequences(decision.checkpoint)).toEqual(['100', '101']);
    expect(sequences(decision.retry.records)).toEqual(['102', '103', '104']);
    expect(decision.retry).toMatchObject({ retries: 1, invocations: 1 });
  });

  it('does not bisect a partial failure even with BisectBatchOnFunctionError', () => {
    // Act
    const decision = decideAfterInvocation(
      batch(records(4)),
      { kind: 'partial', lowestFailed: '101' },
      { ...DEFAULTS, bisectBatchOnFunctionError: true },
    );

    // Assert
    expect(decision.kind).toBe('retry');
  });

  it('splits a failing batch in two, first half first, without using a retry', () => {
    // Act
    const decision = decideAfterInvocation(
      batch(records(5), 2),
      { kind: 'failure', functionError: 'Unhandled', reason: 'x' },
      { ...DEFAULTS, bisectBatchOnFunctionError: true },
    );

    // Assert
    expect(decision.kind).toBe('bisect');
    if (decision.kind !== 'bisect') return;
    expect(sequences(decision.first.records)).toEqual(['100', '101', '102']);
    expect(sequences(decision.second.records)).toEqual(['103', '104']);
    expect([decision.first.retries, decision.second.retries]).toEqual([2, 2]);
    expect([decision.first.invocations, decision.second.invocations]).toEqual([0, 0]);
  });

  it('retries a failing single record instead of bisecting it', () => {
    // Act
    const decision = decideAfterInvocation(
      batch([record(0)]),
      { kind: 'failure', functionError: 'Unhandled', reason: 'x' },
      { ...DEFAULTS, bisectBatchOnFunctionError: true },
    );

    // Assert
    expect(decision).toMatchObject({ kind: 'retry', retry: { retries: 1 } });
  });

  it('retries forever with MaximumRetryAttempts -1', () => {
    // Act
    const decision = decideAfterInvocation(
      batch(records(2), 10_000, 10_001),
      { kind: 'failure', functionError: 'Unhandled', reason: 'x' },
      DEFAULTS,
    );

    // Assert
    expect(decision.kind).toBe('retry');
  });

  it('discards the batch with RetryAttemptsExhausted once it failed after MaximumRetryAttempts retries', () => {
    // Act
    const decision = decideAfterInvocation(
      batch(records(2), 2, 3),
      { kind: 'failure', functionError: 'Unhandled', reason: 'x' },
      { ...DEFAULTS, maximumRetryAttempts: 2 },
    );

    // Assert
    expect(decision).toMatchObject({
      kind: 'discard',
      condition: 'RetryAttemptsExhausted',
      functionError: 'Unhandled',
      invocations: 3,
    });
    if (decision.kind === 'discard') expect(sequences(decision.discard)).toEqual(['100', '101']);
  });

  it('discards only the records from the lowest failure on when a partial failure exhausts the retries', () => {
    // Act
    const decision = decideAfterInvocation(
      batch(records(4), 1, 2),
      { kind: 'partial', lowestFailed: '102' },
      { ...DEFAULTS, maximumRetryAttempts: 1 },
    );

    // Assert
    expect(decision.kind).toBe('discard');
    if (decision.kind !== 'discard') return;
    expect(sequences(decision.checkpoint)).toEqual(['100', '101']);
    expect(sequences(decision.discard)).toEqual(['102', '103']);
    expect(decision.functionError).toBeUndefined();
  });

  it('discards at once with MaximumRetryAttempts 0', () => {
    // Act
    const decision = decideAfterInvocation(
      batch([record(0)]),
      { kind: 'failure', functionError: 'Unhandled', reason: 'x' },
      { ...DEFAULTS, maximumRetryAttempts: 0 },
    );

    // Assert
    expect(decision).toMatchObject({ kind: 'discard', invocations: 1 });
  });
});

describe('splitExpired', () => {
  it('keeps every record without MaximumRecordAgeInSeconds', () => {
    // Act
    const { expired, fresh } = splitExpired([record(0, 10_000)], NOW_MS, -1);

    // Assert
    expect([expired.length, fresh.length]).toEqual([0, 1]);
  });

  it('splits off the leading records older than MaximumRecordAgeInSeconds', () => {
    // Arrange
    const list = [record(0, 120), record(1, 61), record(2, 60), record(3, 5)];

    // Act
    const { expired, fresh } = splitExpired(list, NOW_MS, 60);

    // Assert
    expect(sequences(expired)).toEqual(['100', '101']);
    expect(sequences(fresh)).toEqual(['102', '103']);
  });

  it('keeps a record without ApproximateCreationDateTime', () => {
    // Arrange
    const undated = { dynamodb: { SequenceNumber: '100' } } as DynamoDBRecord;

    // Act
    const { expired } = splitExpired([undated], NOW_MS, 60);

    // Assert
    expect(expired).toEqual([]);
  });
});

describe('checkBatchFailurePolicy', () => {
  it.each([
    ['maximumRetryAttempts', { maximumRetryAttempts: -2 }, 'between -1 and 10000 (given -2)'],
    ['maximumRecordAgeInSeconds', { maximumRecordAgeInSeconds: 59 }, 'between 60 and 604800 (given 59)'],
    [
      'maximumRecordAgeInSeconds',
      { maximumRecordAgeInSeconds: 604_801 },
      'between 60 and 604800 (given 604801)',
    ],
  ])('refuses a %s outside the AWS range and says what was given', (_name, overrides, message) => {
    // Act
    const checking = () => checkBatchFailurePolicy({ ...DEFAULTS, ...overrides });

    // Assert
    expect(checking).toThrow(MappingConfigError);
    expect(checking).toThrow(message);
  });
});

import { TransactionCanceledException, TransactionConflictException } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import {
  isTransactionConflict,
  retryingTransactionConflicts,
  TRANSACTION_CONFLICT_ATTEMPTS,
} from '../../../functions/shared/transaction-conflicts';

function cancelled(...codes: string[]): TransactionCanceledException {
  return new TransactionCanceledException({
    message: `Transaction cancelled [${codes.join(', ')}]`,
    $metadata: {},
    CancellationReasons: codes.map((Code) => ({ Code })),
  });
}

describe('isTransactionConflict', () => {
  it.each([
    ['a transaction cancelled for a conflict', cancelled('None', 'TransactionConflict'), true],
    [
      'a single-item write that met a transaction',
      new TransactionConflictException({ message: 'x', $metadata: {} }),
      true,
    ],
    [
      'a cancelled transaction whose condition failed, even with a conflict beside it',
      cancelled('ConditionalCheckFailed', 'TransactionConflict'),
      false,
    ],
    ['a transaction cancelled for a failed condition', cancelled('ConditionalCheckFailed', 'None'), false],
    ['a cancelled transaction without reasons', cancelled(), false],
    ['another error', new Error('ProvisionedThroughputExceededException'), false],
    ['not an error', 'TransactionConflict', false],
  ])('%s: %s', (_what, error, expected) => {
    expect(isTransactionConflict(error)).toBe(expected);
  });
});

describe('retryingTransactionConflicts', () => {
  it('sends a conflicted write again and returns what the later attempt returns', async () => {
    // Arrange
    let calls = 0;
    const write = async () => {
      calls++;
      if (calls < TRANSACTION_CONFLICT_ATTEMPTS) throw cancelled('TransactionConflict');
      return 'written';
    };

    // Act
    const result = await retryingTransactionConflicts(write, () => 0);

    // Assert
    expect(result).toBe('written');
    expect(calls).toBe(TRANSACTION_CONFLICT_ATTEMPTS);
  });

  it(`stops after ${TRANSACTION_CONFLICT_ATTEMPTS} attempts and throws the last conflict`, async () => {
    // Arrange
    let calls = 0;
    const conflict = cancelled('TransactionConflict');
    const write = async () => {
      calls++;
      throw conflict;
    };

    // Act / Assert
    await expect(retryingTransactionConflicts(write, () => 0)).rejects.toBe(conflict);
    expect(calls).toBe(TRANSACTION_CONFLICT_ATTEMPTS);
  });

  it('does not send again a write whose condition failed', async () => {
    // Arrange
    let calls = 0;
    const write = async () => {
      calls++;
      throw cancelled('ConditionalCheckFailed');
    };

    // Act / Assert
    await expect(retryingTransactionConflicts(write, () => 0)).rejects.toMatchObject({
      name: 'TransactionCanceledException',
    });
    expect(calls).toBe(1);
  });
});

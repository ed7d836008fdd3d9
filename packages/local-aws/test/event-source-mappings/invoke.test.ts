import { describe, expect, it } from 'vitest';
import { judgeBatchResponse } from '../../src/event-source-mappings/invoke';

const known = new Set(['1', '2', '3']);

describe('judgeBatchResponse', () => {
  it.each([
    ['undefined', undefined],
    ['null', null],
    ['an object without batchItemFailures', {}],
    ['a null batchItemFailures', { batchItemFailures: null }],
    ['an empty batchItemFailures list', { batchItemFailures: [] }],
  ])('treats %s as complete success', (_label, response) => {
    // Act
    const verdict = judgeBatchResponse(response, known);

    // Assert
    expect(verdict).toEqual({ kind: 'success' });
  });

  it('returns the listed identifiers as a partial failure', () => {
    // Act
    const verdict = judgeBatchResponse(
      { batchItemFailures: [{ itemIdentifier: '3' }, { itemIdentifier: '2' }] },
      known,
    );

    // Assert
    expect(verdict).toEqual({ kind: 'partial', failedIds: ['3', '2'] });
  });

  it.each([
    ['a string response', 'ok'],
    ['batchItemFailures that is not an array', { batchItemFailures: { itemIdentifier: '1' } }],
    ['an empty itemIdentifier', { batchItemFailures: [{ itemIdentifier: '' }] }],
    ['a null itemIdentifier', { batchItemFailures: [{ itemIdentifier: null }] }],
    ['a misspelled key', { batchItemFailures: [{ itemIdentifer: '1' }] }],
    ['an identifier not in the batch', { batchItemFailures: [{ itemIdentifier: '9' }] }],
  ])('treats %s as a failure of the whole batch', (_label, response) => {
    // Act
    const verdict = judgeBatchResponse(response, known);

    // Assert
    expect(verdict.kind).toBe('invalid');
  });
});

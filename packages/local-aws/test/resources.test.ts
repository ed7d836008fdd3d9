/** Local names of the template's resources. */
import { describe, expect, it } from 'vitest';
import { localBucketName } from '../src/resources';

describe('localBucketName', () => {
  it.each([
    ['FailedBatches', 'failedbatches'],
    ['DiscardedRecords1A2B3C4D', 'discardedrecords1a2b3c4d'],
    ['My_Bucket.Name', 'my-bucket-name'],
    ['X', 'x-bucket'],
    ['A'.repeat(70), 'a'.repeat(63)],
  ])('names the bucket of logical id %s %s', (logicalId, expected) => {
    // Act
    const name = localBucketName(logicalId);

    // Assert
    expect(name).toBe(expected);
    expect(name).toMatch(/^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/);
  });

  it('refuses an empty logical id and says what was given', () => {
    // Act
    const naming = () => localBucketName('');

    // Assert
    expect(naming).toThrow('a bucket needs a logical id (given "")');
  });
});

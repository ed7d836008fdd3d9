import { describe, expect, it } from 'vitest';
import { freshDeduplicationId } from '../../../functions/shared/deduplication';

describe('freshDeduplicationId', () => {
  it('keeps the event id in front and is new every time', () => {
    // Act
    const ids = Array.from({ length: 50 }, () => freshDeduplicationId('event-1', 'redrive'));

    // Assert
    expect(new Set(ids).size).toBe(50);
    for (const id of ids) expect(id).toMatch(/^event-1~redrive~[0-9a-f]{32}$/);
  });

  it('never grows across resends: dead-lettered, redriven, dead-lettered again', () => {
    // Act
    const dlq = freshDeduplicationId('event-1', 'dlq');
    const redriven = freshDeduplicationId(dlq, 'redrive');
    const again = freshDeduplicationId(redriven, 'dlq');

    // Assert
    expect(again).toMatch(/^event-1~dlq~[0-9a-f]{32}$/);
  });

  it('is the same for the same unique part: a retried dead-lettering of one SQS message is deduplicated', () => {
    // Act
    const first = freshDeduplicationId('event-1', 'dlq', '7c1d3a2e-0000-4000-8000-000000000001');
    const retry = freshDeduplicationId('event-1', 'dlq', '7c1d3a2e-0000-4000-8000-000000000001');
    const redrivenCopy = freshDeduplicationId('event-1', 'dlq', '7c1d3a2e-0000-4000-8000-000000000002');

    // Assert
    expect(retry).toBe(first);
    expect(redrivenCopy).not.toBe(first);
  });

  it('fits SQS’s 128 characters for the longest original', () => {
    // Act
    const id = freshDeduplicationId('x'.repeat(128), 'backfill');

    // Assert
    expect(id).toHaveLength(128);
    expect(id.endsWith(id.slice(-32))).toBe(true);
    expect(id).toMatch(/~backfill~[0-9a-f]{32}$/);
  });
});

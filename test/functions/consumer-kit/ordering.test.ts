import { describe, expect, it } from 'vitest';
import { gate } from '../../../functions/consumer-kit';
import { advanced, nextParked } from '../../../functions/consumer-kit/ordering';

describe('the ordering gate', () => {
  it('applies the event right after the checkpoint', () => {
    expect(gate({ last: 3, parked: [] }, 4, 'earliest', false)).toEqual({ kind: 'apply', from: 3 });
  });

  it('calls an event at or below the checkpoint a duplicate', () => {
    expect(gate({ last: 3, parked: [] }, 3, 'earliest', false)).toEqual({ kind: 'duplicate', last: 3 });
    expect(gate({ last: 3, parked: [] }, 1, 'first-seen', false)).toEqual({ kind: 'duplicate', last: 3 });
  });

  it('parks an event whose predecessor has not been applied', () => {
    expect(gate({ last: 3, parked: [] }, 5, 'earliest', false)).toEqual({ kind: 'park', last: 3 });
    expect(gate({ last: 3, parked: [] }, 5, 'first-seen', true)).toEqual({ kind: 'park', last: 3 });
  });

  it('starts an aggregate without a checkpoint at sequence 1 when it starts at the earliest event', () => {
    expect(gate(undefined, 1, 'earliest', false)).toEqual({ kind: 'apply', from: undefined });
    expect(gate(undefined, 4, 'earliest', false)).toEqual({ kind: 'park', last: 0 });
  });

  it('starts an aggregate without a checkpoint at the first event it sees when it starts there', () => {
    expect(gate(undefined, 4, 'first-seen', false)).toEqual({ kind: 'apply', from: undefined });
  });

  it("lets the backfill's oldest retained event start an aggregate that has applied nothing", () => {
    expect(gate(undefined, 4, 'earliest', true)).toEqual({ kind: 'apply', from: undefined });
    expect(gate({ last: 0, parked: [6, 9] }, 4, 'earliest', true)).toEqual({ kind: 'apply', from: 0 });
  });

  it('finds the parked event that now follows the checkpoint, and forgets it once applied', () => {
    const checkpoint = { last: 4, parked: [5, 7] };
    expect(nextParked(checkpoint)).toBe(5);
    expect(nextParked(advanced(checkpoint, 5))).toBeUndefined();
    expect(advanced(checkpoint, 5)).toEqual({ last: 5, parked: [7] });
  });
});

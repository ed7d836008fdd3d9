import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { backoffDelay, chunkBySizeAndCount, nextFifoBatch } from '../../../functions/relay/batching';
import { ValidationError } from '../../../functions/shared/errors';

const RUNS = { seed: 42, numRuns: 300 } as const;

interface Sized {
  readonly id: number;
  readonly size: number;
}

const limits = fc.record({
  maxEntries: fc.integer({ min: 1, max: 12 }),
  maxBytes: fc.integer({ min: 1, max: 1_000 }),
});

/** Limits and items that each fit them on their own. */
const chunkInputs = limits.chain((l) =>
  fc.tuple(
    fc.constant(l),
    fc
      .array(fc.integer({ min: 1, max: l.maxBytes }), { maxLength: 60 })
      .map((sizes) => sizes.map((size, id): Sized => ({ id, size }))),
  ),
);

/** Limits, FIFO groups of sized items (heads may be too large to fit), and a start group. */
const fifoInputs = limits.chain((l) =>
  fc.tuple(
    fc.constant(l),
    fc
      .array(fc.array(fc.integer({ min: 1, max: l.maxBytes + 50 }), { maxLength: 4 }), { maxLength: 15 })
      .map((groups) =>
        groups.map((sizes, g) => ({
          key: `Order#o-${g}`,
          pending: sizes.map((size, i): Sized => ({ id: g * 100 + i, size })),
        })),
      ),
    fc.nat({ max: 30 }),
  ),
);

const sizeOf = (item: Sized) => item.size;
const total = (items: ReadonlyArray<Sized>) => items.reduce((sum, item) => sum + item.size, 0);

describe('chunkBySizeAndCount', () => {
  it('keeps every item, in order', () => {
    fc.assert(
      fc.property(chunkInputs, ([l, items]) => {
        expect(chunkBySizeAndCount(items, sizeOf, l).flat()).toEqual(items);
      }),
      RUNS,
    );
  });

  it('makes no batch over the entry or byte limit, and no empty batch', () => {
    fc.assert(
      fc.property(chunkInputs, ([l, items]) => {
        for (const batch of chunkBySizeAndCount(items, sizeOf, l)) {
          expect(batch.length).toBeGreaterThan(0);
          expect(batch.length).toBeLessThanOrEqual(l.maxEntries);
          expect(total(batch)).toBeLessThanOrEqual(l.maxBytes);
        }
      }),
      RUNS,
    );
  });

  it('starts a new batch only when the next item would not fit the current one', () => {
    fc.assert(
      fc.property(chunkInputs, ([l, items]) => {
        const batches = chunkBySizeAndCount(items, sizeOf, l);
        batches.slice(0, -1).forEach((batch, index) => {
          const next = batches[index + 1]?.[0];
          if (next === undefined) return;
          expect(batch.length === l.maxEntries || total(batch) + next.size > l.maxBytes).toBe(true);
        });
      }),
      RUNS,
    );
  });

  it('throws a ValidationError for an item larger than the byte limit on its own', () => {
    // Arrange
    const items = [
      { id: 0, size: 10 },
      { id: 1, size: 101 },
    ];

    // Act
    const chunk = () => chunkBySizeAndCount(items, sizeOf, { maxEntries: 10, maxBytes: 100 });

    // Assert
    expect(chunk).toThrow(ValidationError);
    expect(chunk).toThrow(/must be at most 100 bytes \(given 101\)/);
  });

  it.each([
    ['limits.maxEntries', { maxEntries: 0, maxBytes: 10 }],
    ['limits.maxBytes', { maxEntries: 10, maxBytes: 1.5 }],
  ])('throws a ValidationError naming %s when it is not a positive integer', (field, bad) => {
    // Act
    const chunk = () => chunkBySizeAndCount([], sizeOf, bad);

    // Assert
    expect(chunk).toThrow(new RegExp(`^${field.replace('.', '\\.')} must be a positive integer`));
  });
});

describe('nextFifoBatch', () => {
  it('takes at most one item per group, and only a group head', () => {
    fc.assert(
      fc.property(fifoInputs, ([l, groups, start]) => {
        const batch = nextFifoBatch(groups, sizeOf, l, start);
        expect(new Set(batch.map((entry) => entry.groupIndex)).size).toBe(batch.length);
        for (const { groupIndex, item } of batch) expect(groups[groupIndex]?.pending[0]).toBe(item);
      }),
      RUNS,
    );
  });

  it('stays within the entry and byte limits', () => {
    fc.assert(
      fc.property(fifoInputs, ([l, groups, start]) => {
        const batch = nextFifoBatch(groups, sizeOf, l, start);
        expect(batch.length).toBeLessThanOrEqual(l.maxEntries);
        expect(total(batch.map((entry) => entry.item))).toBeLessThanOrEqual(l.maxBytes);
      }),
      RUNS,
    );
  });

  it('leaves a group with a head out only when the batch is full or the head would not fit', () => {
    fc.assert(
      fc.property(fifoInputs, ([l, groups, start]) => {
        const batch = nextFifoBatch(groups, sizeOf, l, start);
        const taken = new Set(batch.map((entry) => entry.groupIndex));
        const bytes = total(batch.map((entry) => entry.item));
        groups.forEach((group, index) => {
          const head = group.pending[0];
          if (head === undefined || taken.has(index)) return;
          expect(batch.length === l.maxEntries || bytes + head.size > l.maxBytes).toBe(true);
        });
      }),
      RUNS,
    );
  });

  it('takes groups round-robin from the start group, so a full batch does not always favour the first groups', () => {
    // Arrange
    const groups = Array.from({ length: 4 }, (_, g) => ({
      key: `Order#o-${g}`,
      pending: [{ id: g, size: 1 }],
    }));

    // Act
    const batch = nextFifoBatch(groups, sizeOf, { maxEntries: 2, maxBytes: 100 }, 3);

    // Assert
    expect(batch.map((entry) => entry.groupIndex)).toEqual([3, 0]);
  });
});

describe('backoffDelay', () => {
  it('stays below base * 2^attempt and below the maximum', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 40 }),
        fc.integer({ min: 1, max: 1_000 }),
        fc.integer({ min: 1, max: 10_000 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (attempt, base, max, draw) => {
          const delay = backoffDelay(attempt, base, max, () => draw);
          expect(delay).toBeGreaterThanOrEqual(0);
          expect(delay).toBeLessThan(Math.min(max, base * 2 ** attempt));
        },
      ),
      RUNS,
    );
  });
});

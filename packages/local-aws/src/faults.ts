import type { DynamoDBRecord } from 'aws-lambda';

/**
 * Seeded, reproducible randomness for fault injection: the same seed gives the
 * same faults, so a failing chaos run can be replayed exactly.
 */
export function seededRandom(seed: number): () => number {
  // mulberry32: tiny, fast, and good enough to pick which records to disturb.
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Stream faults the local runtime injects, because DynamoDB Local's single shard never reorders. */
export interface StreamFaults {
  /** Probability that a delivered batch is shuffled. @default 0 */
  readonly reorderRate?: number;
  /** Probability that each record is delivered twice in its batch. @default 0 */
  readonly duplicateRate?: number;
  /** @default 1 */
  readonly seed?: number;
}

/** Builds the `shuffle` and `duplicate` hooks of a stream mapping from rates and a seed. */
export function streamFaultHooks(faults: StreamFaults = {}): {
  shuffle?: (records: DynamoDBRecord[]) => DynamoDBRecord[];
  duplicate?: (records: readonly DynamoDBRecord[]) => DynamoDBRecord[];
  stats: { reorderedBatches: number; duplicatedRecords: number };
} {
  const reorderRate = checkRate('reorderRate', faults.reorderRate ?? 0);
  const duplicateRate = checkRate('duplicateRate', faults.duplicateRate ?? 0);
  const random = seededRandom(faults.seed ?? 1);
  const stats = { reorderedBatches: 0, duplicatedRecords: 0 };
  return {
    stats,
    shuffle:
      reorderRate > 0
        ? (records) => {
            if (records.length < 2 || random() >= reorderRate) return records;
            stats.reorderedBatches++;
            const copy = [...records];
            for (let i = copy.length - 1; i > 0; i--) {
              const j = Math.floor(random() * (i + 1));
              [copy[i], copy[j]] = [copy[j] as DynamoDBRecord, copy[i] as DynamoDBRecord];
            }
            return copy;
          }
        : undefined,
    duplicate:
      duplicateRate > 0
        ? (records) => {
            const extra = records.filter(() => random() < duplicateRate);
            stats.duplicatedRecords += extra.length;
            return extra.map((r) => structuredClone(r));
          }
        : undefined,
  };
}

function checkRate(name: string, value: number): number {
  if (typeof value !== 'number' || Number.isNaN(value) || value < 0 || value > 1) {
    throw new RangeError(`${name} must be between 0 and 1 (given ${value})`);
  }
  return value;
}

import type { ConsumerStore, StoreUpdate } from '../../functions/consumer-kit';

/** One write a consumer staged, as the test sees it. */
export interface StagedWrite {
  readonly kind: 'put' | 'update' | 'delete';
  readonly key: string;
  readonly value?: unknown;
}

/**
 * A consumer's store in memory, for unit tests of `handle`: writes apply at once (as if the kit
 * had committed them) and are recorded in {@link MemoryStore.staged}.
 */
export class MemoryStore implements ConsumerStore {
  readonly items = new Map<string, Record<string, unknown>>();
  private readonly writes: StagedWrite[] = [];

  /** Every write staged so far, in order. */
  staged(): ReadonlyArray<StagedWrite> {
    return this.writes;
  }

  async get<T extends object>(key: string): Promise<T | undefined> {
    const item = this.items.get(key);
    return item ? (structuredClone(item) as T) : undefined;
  }

  put(key: string, item: object): void {
    this.items.set(key, structuredClone(item as Record<string, unknown>));
    this.writes.push({ kind: 'put', key, value: item });
  }

  update(key: string, change: StoreUpdate): void {
    const item = { ...(this.items.get(key) ?? {}) };
    for (const [field, amount] of Object.entries(change.add ?? {}))
      item[field] = Number(item[field] ?? 0) + amount;
    Object.assign(item, change.set ?? {});
    this.items.set(key, item);
    this.writes.push({ kind: 'update', key, value: change });
  }

  delete(key: string): void {
    this.items.delete(key);
    this.writes.push({ kind: 'delete', key });
  }
}

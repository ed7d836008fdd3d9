/**
 * Meters the DynamoDB capacity an SDK v3 client's calls consume, as DynamoDB on-demand bills
 * them: write request units (WRU) of 1 KB, read request units (RRU) of 4 KB strongly consistent
 * (half for an eventually consistent read), twice for transactions, a write at the larger of the
 * item before and after it, and a write to each global secondary index the item is in.
 *
 * Item sizes are computed as DynamoDB counts them (attribute names plus values, UTF-8:
 * `dynamoItemSize`), from the request for what is put and from the table for what was there: a
 * write's before and after images are read with an unmetered client (`oracle`) around the call.
 * That makes metered calls slower, so a metered client is never one that is timed.
 */
import { type AttributeValue, type DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import type { TableSpec } from 'local-aws';
import { dynamoItemSize } from '../functions/shared/outbox-item';
import { addInitializeMiddleware } from './sdk-middleware';

type Item = Record<string, AttributeValue>;

/** Capacity consumed by one command (or by a whole account). */
export interface CapacityCount {
  requests: number;
  wru: number;
  rru: number;
  /** WRU that only attributes of `relayOnlyAttributes` cause (the writer's bookkeeping for the relay). */
  relayOnlyWru: number;
  /** Bytes of those attributes written. */
  relayOnlyBytes: number;
  /** Capacity units DynamoDB Local itself reported (ReturnConsumedCapacity = TOTAL), a cross-check. */
  localReported: number;
}

/** WRU and RRU of one kind of item (idempotency records, checkpoints, outbox items, …). */
export interface CategoryCount {
  wru: number;
  rru: number;
}

/** What one account (a component: writer, relay, a consumer, …) consumed, by command and by kind of item. */
export interface AccountUsage {
  commands: Record<string, CapacityCount>;
  categories: Record<string, CategoryCount>;
}

/** Per account. */
export type CapacityUsage = Record<string, AccountUsage>;

/** Names the kind of item a key belongs to, for the breakdown by category. */
export type KeyClassifier = (table: string, key: Item) => string;

/** A table as the meter needs it: its name, key attributes and indexes' key attributes. */
export interface MeteredTable {
  readonly name: string;
  readonly keyNames: ReadonlyArray<string>;
  readonly indexKeyNames: ReadonlyArray<ReadonlyArray<string>>;
}

/** Builds the meter's view of a created table from its spec. */
export function meteredTable(name: string, spec: TableSpec): MeteredTable {
  return {
    name,
    keyNames: spec.keySchema.map((k) => k.AttributeName),
    indexKeyNames: spec.globalSecondaryIndexes.map((index) => index.KeySchema.map((k) => k.AttributeName)),
  };
}

/** One item a write touches. */
interface WriteTarget {
  readonly table: string;
  readonly key: Item;
  /** The item put (Put), absent for Update, Delete and ConditionCheck. */
  readonly put?: Item;
  readonly kind: 'put' | 'update' | 'delete' | 'check';
}

const KB = 1024;
const READ_UNIT = 4 * KB;

/** The meter; attach it to each client whose calls are to be billed, naming the account. */
export class CapacityMeter {
  private readonly usage: CapacityUsage = {};
  private readonly tables: Map<string, MeteredTable>;

  constructor(
    private readonly oracle: DynamoDBClient,
    tables: ReadonlyArray<MeteredTable>,
    private readonly relayOnlyAttributes: ReadonlyArray<string> = [],
    private readonly classify: KeyClassifier = (table) => table,
  ) {
    this.tables = new Map(tables.map((t) => [t.name, t]));
  }

  /** Adds the metering middleware to a client; its calls are billed to `account`. */
  attach<T>(client: T, account: string): T {
    return addInitializeMiddleware(
      client,
      `benchCapacityMeter-${account}`,
      (next, context) => async (args) => {
        const name = context.commandName ?? 'UnknownCommand';
        const input = args.input as Record<string, unknown>;
        if (input.ReturnConsumedCapacity === undefined) input.ReturnConsumedCapacity = 'TOTAL';
        const targets = writeTargets(name, input, this.tables);
        const before = await Promise.all(targets.map((t) => this.read(t)));
        let output: { output?: Record<string, unknown> } | undefined;
        try {
          output = (await next(args)) as { output?: Record<string, unknown> };
          return output as unknown;
        } finally {
          const after = await Promise.all(
            targets.map((t, i) => (t.kind === 'update' ? this.read(t) : Promise.resolve(t.put ?? before[i]))),
          );
          this.book(account, name, input, output?.output, targets, before, after);
        }
      },
    );
  }

  /** A copy of the usage so far. */
  snapshot(): CapacityUsage {
    return structuredClone(this.usage);
  }

  /** Usage added since `before` (a snapshot), per account and command. */
  since(before: CapacityUsage): CapacityUsage {
    const delta: CapacityUsage = {};
    for (const [account, usage] of Object.entries(this.usage)) {
      const out: AccountUsage = { commands: {}, categories: {} };
      for (const [category, count] of Object.entries(usage.categories)) {
        const base = before[account]?.categories[category] ?? { wru: 0, rru: 0 };
        if (count.wru === base.wru && count.rru === base.rru) continue;
        out.categories[category] = { wru: count.wru - base.wru, rru: count.rru - base.rru };
      }
      for (const [command, count] of Object.entries(usage.commands)) {
        const base = before[account]?.commands[command] ?? emptyCount();
        if (count.requests === base.requests) continue;
        delta[account] = out;
        out.commands[command] = {
          requests: count.requests - base.requests,
          wru: count.wru - base.wru,
          rru: count.rru - base.rru,
          relayOnlyWru: count.relayOnlyWru - base.relayOnlyWru,
          relayOnlyBytes: count.relayOnlyBytes - base.relayOnlyBytes,
          localReported: count.localReported - base.localReported,
        };
      }
    }
    return delta;
  }

  private async read(target: WriteTarget): Promise<Item | undefined> {
    const { Item } = await this.oracle.send(
      new GetItemCommand({ TableName: target.table, Key: target.key, ConsistentRead: true }),
    );
    return Item;
  }

  private book(
    account: string,
    command: string,
    input: Record<string, unknown>,
    output: Record<string, unknown> | undefined,
    targets: ReadonlyArray<WriteTarget>,
    before: ReadonlyArray<Item | undefined>,
    after: ReadonlyArray<Item | undefined>,
  ): void {
    const usage = this.usage[account] ?? { commands: {}, categories: {} };
    this.usage[account] = usage;
    const count = usage.commands[command] ?? emptyCount();
    usage.commands[command] = count;
    const category = (table: string, key: Item) => {
      const name = this.classify(table, key);
      usage.categories[name] ??= { wru: 0, rru: 0 };
      return usage.categories[name];
    };
    count.requests++;
    const factor = command === 'TransactWriteItemsCommand' ? 2 : 1;
    targets.forEach((target, i) => {
      const units = this.writeUnits(target, before[i], after[i]);
      count.wru += factor * units;
      category(target.table, target.key).wru += factor * units;
      const strip = (item: Item | undefined) => (item ? without(item, this.relayOnlyAttributes) : undefined);
      const reduced = this.writeUnits(target, strip(before[i]), strip(after[i]));
      count.relayOnlyWru += factor * (units - reduced);
      const written = after[i] ?? {};
      count.relayOnlyBytes += this.relayOnlyAttributes.reduce(
        (sum, name) => sum + (written[name] ? dynamoItemSize({ [name]: written[name] }) : 0),
        0,
      );
    });
    const rru = readUnits(command, input, output);
    count.rru += rru;
    if (rru > 0) {
      const returned = (output?.Item ??
        (output?.Items as Item[] | undefined)?.[0] ??
        input.Key ??
        {}) as Item;
      category(String(input.TableName ?? ''), returned).rru += rru;
    }
    count.localReported += reportedUnits(output?.ConsumedCapacity);
  }

  /** WRU of one item write: the larger image, at least 1 KB, plus one write per index it is in. */
  private writeUnits(target: WriteTarget, before: Item | undefined, after: Item | undefined): number {
    const size = Math.max(before ? dynamoItemSize(before) : 0, after ? dynamoItemSize(after) : 0);
    const units = Math.max(1, Math.ceil(size / KB));
    if (target.kind === 'check') return units;
    const indexes = this.tables.get(target.table)?.indexKeyNames ?? [];
    const inIndex = (item: Item | undefined, keys: ReadonlyArray<string>) =>
      item !== undefined && keys.length > 0 && keys.every((k) => item[k] !== undefined);
    // Projections are taken as ALL (the whole item), the dearest case.
    const indexUnits = indexes.filter((keys) => inIndex(before, keys) || inIndex(after, keys)).length * units;
    return units + indexUnits;
  }
}

function emptyCount(): CapacityCount {
  return { requests: 0, wru: 0, rru: 0, relayOnlyWru: 0, relayOnlyBytes: 0, localReported: 0 };
}

function without(item: Item, names: ReadonlyArray<string>): Item {
  const copy = { ...item };
  for (const name of names) delete copy[name];
  return copy;
}

/** The items a write command touches, with their keys. */
function writeTargets(
  command: string,
  input: Record<string, unknown>,
  tables: Map<string, MeteredTable>,
): WriteTarget[] {
  const keyOf = (table: string, item: Item): Item =>
    Object.fromEntries(
      (tables.get(table)?.keyNames ?? ['pk', 'sk']).flatMap((k) => (item[k] ? [[k, item[k]]] : [])),
    );
  const table = String(input.TableName ?? '');
  switch (command) {
    case 'PutItemCommand': {
      const item = input.Item as Item;
      return [{ table, key: keyOf(table, item), put: item, kind: 'put' }];
    }
    case 'UpdateItemCommand':
      return [{ table, key: input.Key as Item, kind: 'update' }];
    case 'DeleteItemCommand':
      return [{ table, key: input.Key as Item, kind: 'delete' }];
    case 'TransactWriteItemsCommand':
      return (
        (input.TransactItems ?? []) as Array<Record<string, { TableName?: string; Item?: Item; Key?: Item }>>
      ).map((action) => {
        const [kind, body] = Object.entries(action).find(([, value]) => value !== undefined) ?? ['Put', {}];
        const name = String(body.TableName ?? '');
        if (kind === 'Put' && body.Item)
          return { table: name, key: keyOf(name, body.Item), put: body.Item, kind: 'put' };
        const mapped = kind === 'Update' ? 'update' : kind === 'Delete' ? 'delete' : 'check';
        return { table: name, key: body.Key ?? {}, kind: mapped } as WriteTarget;
      });
    case 'BatchWriteItemCommand':
      return Object.entries(
        (input.RequestItems ?? {}) as Record<
          string,
          Array<{ PutRequest?: { Item: Item }; DeleteRequest?: { Key: Item } }>
        >,
      ).flatMap(([name, requests]) =>
        requests.map(
          (request): WriteTarget =>
            request.PutRequest
              ? {
                  table: name,
                  key: keyOf(name, request.PutRequest.Item),
                  put: request.PutRequest.Item,
                  kind: 'put',
                }
              : { table: name, key: request.DeleteRequest?.Key ?? {}, kind: 'delete' },
        ),
      );
    default:
      return [];
  }
}

/** RRU of a read command, from the items it returned. */
function readUnits(
  command: string,
  input: Record<string, unknown>,
  output: Record<string, unknown> | undefined,
): number {
  const rate = input.ConsistentRead === true ? 1 : 0.5;
  const units = (bytes: number) => Math.max(1, Math.ceil(bytes / READ_UNIT));
  switch (command) {
    case 'GetItemCommand': {
      const item = output?.Item as Item | undefined;
      return rate * units(item ? dynamoItemSize(item) : 0);
    }
    case 'QueryCommand':
    case 'ScanCommand': {
      // A Query is billed on the items it read, summed, then rounded up to 4 KB (a Scan's filter
      // is applied after the read: this counts returned items only, a lower bound for a filtered Scan).
      const items = (output?.Items ?? []) as Item[];
      return rate * units(items.reduce((sum, item) => sum + dynamoItemSize(item), 0));
    }
    case 'BatchGetItemCommand': {
      const responses = (output?.Responses ?? {}) as Record<string, Item[]>;
      return Object.values(responses)
        .flat()
        .reduce((sum, item) => sum + rate * units(dynamoItemSize(item)), 0);
    }
    case 'TransactGetItemsCommand': {
      const responses = (output?.Responses ?? []) as Array<{ Item?: Item }>;
      return responses.reduce((sum, r) => sum + 2 * units(r.Item ? dynamoItemSize(r.Item) : 0), 0);
    }
    default:
      return 0;
  }
}

function reportedUnits(consumed: unknown): number {
  const list = Array.isArray(consumed) ? consumed : consumed ? [consumed] : [];
  return list.reduce((sum, c) => sum + Number((c as { CapacityUnits?: number }).CapacityUnits ?? 0), 0);
}

/** One account's capacity in a usage: in all, by command and by kind of item. */
export interface AccountCapacity {
  /** DynamoDB capacity of its calls, all commands together. */
  readonly capacity: CapacityCount;
  /** Capacity by command, and by kind of item. */
  readonly capacityByCommand: Readonly<Record<string, CapacityCount>>;
  readonly capacityByCategory: Readonly<Record<string, CategoryCount>>;
}

/** What `account` consumed in `usage` (a {@link CapacityMeter.since} delta), in all, by command and by category. */
export function accountCapacity(usage: CapacityUsage, account: string): AccountCapacity {
  return {
    capacity: accountTotal(usage, account),
    capacityByCommand: usage[account]?.commands ?? {},
    capacityByCategory: usage[account]?.categories ?? {},
  };
}

/** Sums the commands of one account. */
export function accountTotal(usage: CapacityUsage, account: string): CapacityCount {
  const total = emptyCount();
  for (const count of Object.values(usage[account]?.commands ?? {})) {
    total.requests += count.requests;
    total.wru += count.wru;
    total.rru += count.rru;
    total.relayOnlyWru += count.relayOnlyWru;
    total.relayOnlyBytes += count.relayOnlyBytes;
    total.localReported += count.localReported;
  }
  return total;
}

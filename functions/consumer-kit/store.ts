import { type DynamoDBClient, GetItemCommand, type TransactWriteItem } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { consumerItemPk, ENTITY_TYPES, KEYS } from '../../contract/keys';
import { ValidationError } from '../shared/errors';

/**
 * A consumer's own items in the app table (its read model), under its key prefix
 * `VIEW#<consumer>#`. Reads go to DynamoDB at once (strongly consistent); writes are staged
 * and committed by the kit after `handle` returns, in one transaction with the event's
 * checkpoint or effect marker, so an effect is never half applied or applied twice.
 *
 * @example
 * const view = await store.get<OrderView>(aggregateKey);
 * store.put(aggregateKey, { ...view, status: 'CONFIRMED' });
 * store.update(`customer#${customerId}`, { add: { orders: 1 } });
 */
export interface ConsumerStore {
  /** One item by key, or undefined. */
  get<T extends object>(key: string): Promise<T | undefined>;
  /** Stages writing the whole item. */
  put(key: string, item: object): void;
  /** Stages adding to numbers (`add`) and setting fields (`set`) of an item, creating it if absent. */
  update(key: string, change: StoreUpdate): void;
  /** Stages deleting an item. */
  delete(key: string): void;
}

/** A staged update: numbers to add to, fields to set. */
export interface StoreUpdate {
  readonly add?: Readonly<Record<string, number>>;
  readonly set?: Readonly<Record<string, unknown>>;
}

/** Attributes the kit writes itself; an item may not set them. */
const RESERVED = new Set(['pk', 'sk', 'entityType']);
/** A transaction holds 100 actions; the kit needs up to three (checkpoint, parked item, marker). */
export const MAX_STAGED_WRITES = 97;
const FIELD_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

/** A store for one event: reads through `client`, collects writes for the kit to commit. */
export class StagingStore implements ConsumerStore {
  private readonly staged: TransactWriteItem[] = [];

  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
    private readonly consumer: string,
  ) {}

  /** The writes staged so far, as TransactWriteItems actions. */
  get writes(): ReadonlyArray<TransactWriteItem> {
    return this.staged;
  }

  async get<T extends object>(key: string): Promise<T | undefined> {
    const { Item } = await this.client.send(
      new GetItemCommand({ TableName: this.tableName, Key: this.keyOf(key), ConsistentRead: true }),
    );
    if (!Item) return undefined;
    const { pk: _pk, sk: _sk, entityType: _type, ...fields } = unmarshall(Item);
    return fields as T;
  }

  put(key: string, item: object): void {
    if (!item || typeof item !== 'object' || Array.isArray(item)) {
      throw new ValidationError('store.put item', 'must be an object', item);
    }
    for (const field of Object.keys(item)) checkField('store.put', field);
    this.stage({
      Put: {
        TableName: this.tableName,
        Item: {
          ...marshall(item, { removeUndefinedValues: true, convertClassInstanceToMap: true }),
          ...this.keyOf(key),
          entityType: { S: ENTITY_TYPES.view },
        },
      },
    });
  }

  update(key: string, change: StoreUpdate): void {
    const add = Object.entries(change?.add ?? {});
    const set = Object.entries(change?.set ?? {});
    if (add.length + set.length === 0) {
      throw new ValidationError('store.update change', 'must add to or set at least one field', change);
    }
    const names: Record<string, string> = { '#entityType': 'entityType' };
    const values: Record<string, unknown> = { ':entityType': ENTITY_TYPES.view };
    const clauses = { set: ['#entityType = :entityType'], add: [] as string[] };
    add.forEach(([field, amount], index) => {
      checkField('store.update add', field);
      if (typeof amount !== 'number' || !Number.isFinite(amount)) {
        throw new ValidationError(`store.update add.${field}`, 'must be a finite number', amount);
      }
      names[`#a${index}`] = field;
      values[`:a${index}`] = amount;
      clauses.add.push(`#a${index} :a${index}`);
    });
    set.forEach(([field, value], index) => {
      checkField('store.update set', field);
      names[`#s${index}`] = field;
      values[`:s${index}`] = value;
      clauses.set.push(`#s${index} = :s${index}`);
    });
    this.stage({
      Update: {
        TableName: this.tableName,
        Key: this.keyOf(key),
        UpdateExpression: `SET ${clauses.set.join(', ')}${clauses.add.length > 0 ? ` ADD ${clauses.add.join(', ')}` : ''}`,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: marshall(values, { removeUndefinedValues: true }),
      },
    });
  }

  delete(key: string): void {
    this.stage({ Delete: { TableName: this.tableName, Key: this.keyOf(key) } });
  }

  private stage(write: TransactWriteItem): void {
    if (this.staged.length >= MAX_STAGED_WRITES) {
      throw new ValidationError(
        'store writes',
        `are limited to ${MAX_STAGED_WRITES} per event (one DynamoDB transaction)`,
        this.staged.length + 1,
      );
    }
    this.staged.push(write);
  }

  private keyOf(key: string) {
    if (typeof key !== 'string' || key.length === 0 || key.length > 900) {
      throw new ValidationError('store key', 'must be a string of 1 to 900 characters', key);
    }
    return { pk: { S: consumerItemPk(this.consumer, key) }, sk: { S: KEYS.viewSk } };
  }
}

function checkField(where: string, field: string): void {
  if (RESERVED.has(field)) {
    throw new ValidationError(
      `${where} field`,
      'must not be pk, sk or entityType (the kit sets them)',
      field,
    );
  }
  if (!FIELD_NAME.test(field)) {
    throw new ValidationError(`${where} field`, `must match ${FIELD_NAME}`, field);
  }
}

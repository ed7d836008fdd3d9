/**
 * DynamoDB (JSON 1.0, `X-Amz-Target: DynamoDB_20120810.<Operation>`) and
 * DynamoDB Streams (`DynamoDBStreams_20120810.<Operation>`) requests → the IAM
 * authorizations AWS performs ("Actions, resources, and condition keys for
 * Amazon DynamoDB"; Developer Guide, "Using IAM policy conditions for
 * fine-grained access control"):
 *
 * - Item operations are authorized on the table ARN; Query and Scan with an
 *   IndexName on `table/<t>/index/<i>`.
 * - BatchGetItem / BatchWriteItem: `dynamodb:BatchGetItem` / `dynamodb:BatchWriteItem`
 *   once per table of RequestItems.
 * - TransactWriteItems: each item as `dynamodb:PutItem`, `UpdateItem`, `DeleteItem`
 *   or `ConditionCheckItem` on its table; TransactGetItems: each as `dynamodb:GetItem`
 *   (with `dynamodb:EnclosingOperation`).
 * - `dynamodb:LeadingKeys`: the partition-key values the request touches (the
 *   index partition key for an index Query); absent for Scan.
 * - `dynamodb:Attributes` (best effort): item attribute names of PutItem and
 *   BatchWriteItem puts, projected names of reads, written names plus key names
 *   of UpdateItem. `dynamodb:Select`, `dynamodb:ReturnValues` and
 *   `dynamodb:ReturnConsumedCapacity` as given in the request.
 */
import type { AuthorizationRequest } from '../evaluate';
import { partitionKeyPlaceholders, projectionNames, updatedNames } from './dynamodb-expressions';
import {
  type JsonBody,
  type LocalAccount,
  type MappedRequest,
  operationOf,
  RequestMappingError,
} from './types';

/** Partition and sort key attribute names of a table or index. */
export interface KeySchema {
  readonly partitionKey: string;
  readonly sortKey?: string;
}

/** A table's key schema and those of its secondary indexes. */
export interface TableKeys extends KeySchema {
  readonly indexes?: Readonly<Record<string, KeySchema>>;
}

/** Key schema of a table by its name, or undefined for a table the runtime does not know. */
export type TableKeyLookup = (tableName: string) => TableKeys | undefined;

/** What {@link mapDynamoDbRequest} needs besides the request. */
export interface DynamoDbMappingEnv extends LocalAccount {
  readonly tableKeys: TableKeyLookup;
}

type Item = Readonly<Record<string, Readonly<Record<string, unknown>>>>;
type Context = Record<string, string | readonly string[] | undefined>;

/** The scalar of an attribute value (`{S: 'a'}` → `a`, `{N: '1'}` → `1`, `{B: …}` → base64). */
function scalarOf(value: Readonly<Record<string, unknown>> | undefined): string | undefined {
  const scalar = value?.S ?? value?.N ?? value?.B;
  return typeof scalar === 'string' ? scalar : undefined;
}

class TableRequests {
  constructor(
    private readonly operation: string,
    private readonly env: DynamoDbMappingEnv,
  ) {}

  name(raw: unknown): string {
    if (typeof raw !== 'string' || raw === '')
      throw new RequestMappingError(
        this.operation,
        `TableName must be a non-empty string (given ${JSON.stringify(raw)})`,
      );
    return raw.startsWith('arn:') ? (raw.replace(/^.*:table\//, '').split('/', 1)[0] ?? raw) : raw;
  }

  arn(table: string, index?: string): string {
    const base = `arn:aws:dynamodb:${this.env.region}:${this.env.accountId}:table/${table}`;
    return index === undefined ? base : `${base}/index/${index}`;
  }

  keys(table: string, index?: string): KeySchema {
    const keys = this.env.tableKeys(table);
    if (keys === undefined)
      throw new RequestMappingError(
        this.operation,
        `table ${table} is not a table of the stack, so its key schema is unknown`,
      );
    if (index === undefined) return keys;
    const indexKeys = keys.indexes?.[index];
    if (indexKeys === undefined)
      throw new RequestMappingError(this.operation, `table ${table} has no index ${index}`);
    return indexKeys;
  }

  leadingKeys(table: string, items: ReadonlyArray<Item | undefined>): string[] {
    const { partitionKey } = this.keys(table);
    const values = items.map((item) => scalarOf(item?.[partitionKey]));
    if (values.some((value) => value === undefined))
      throw new RequestMappingError(
        this.operation,
        `an item or key of ${table} lacks its partition key ${partitionKey}`,
      );
    return [...new Set(values as string[])];
  }
}

function options(body: JsonBody): Context {
  const pick = (field: string) => (typeof body[field] === 'string' ? (body[field] as string) : undefined);
  return {
    'dynamodb:Select': pick('Select'),
    'dynamodb:ReturnValues': pick('ReturnValues'),
    'dynamodb:ReturnConsumedCapacity': pick('ReturnConsumedCapacity'),
  };
}

function projected(body: JsonBody): string[] | undefined {
  const names = body.ExpressionAttributeNames as Readonly<Record<string, string>> | undefined;
  if (typeof body.ProjectionExpression === 'string') return projectionNames(body.ProjectionExpression, names);
  if (Array.isArray(body.AttributesToGet)) return body.AttributesToGet.map(String);
  return undefined;
}

/** The authorization of one item operation (GetItem, PutItem, UpdateItem, DeleteItem, ConditionCheck). */
function itemAuthorization(
  tables: TableRequests,
  action: string,
  body: JsonBody,
  extra: Context = {},
): AuthorizationRequest {
  const table = tables.name(body.TableName);
  const item = (body.Item ?? body.Key) as Item | undefined;
  const names = body.ExpressionAttributeNames as Readonly<Record<string, string>> | undefined;
  let attributes: string[] | undefined;
  if (action === 'dynamodb:PutItem') attributes = Object.keys(item ?? {});
  else if (action === 'dynamodb:UpdateItem' && typeof body.UpdateExpression === 'string')
    attributes = [...new Set([...Object.keys(item ?? {}), ...updatedNames(body.UpdateExpression, names)])];
  else if (action === 'dynamodb:GetItem') attributes = projected(body);
  return {
    action,
    resource: tables.arn(table),
    context: {
      'dynamodb:LeadingKeys': tables.leadingKeys(table, [item]),
      'dynamodb:Attributes': attributes,
      ...options(body),
      ...extra,
    },
  };
}

function queryAuthorization(tables: TableRequests, body: JsonBody): AuthorizationRequest {
  const table = tables.name(body.TableName);
  const index = typeof body.IndexName === 'string' ? body.IndexName : undefined;
  const { partitionKey } = tables.keys(table, index);
  const names = body.ExpressionAttributeNames as Readonly<Record<string, string>> | undefined;
  const values = body.ExpressionAttributeValues as Item | undefined;
  let leading: string[];
  if (typeof body.KeyConditionExpression === 'string') {
    leading = partitionKeyPlaceholders(body.KeyConditionExpression, partitionKey, names).flatMap(
      (placeholder) => {
        const value = scalarOf(values?.[placeholder]);
        return value === undefined ? [] : [value];
      },
    );
  } else {
    const condition = (
      body.KeyConditions as Readonly<Record<string, { AttributeValueList?: unknown[] }>> | undefined
    )?.[partitionKey];
    leading = (condition?.AttributeValueList ?? []).flatMap((value) => {
      const scalar = scalarOf(value as Readonly<Record<string, unknown>>);
      return scalar === undefined ? [] : [scalar];
    });
  }
  if (leading.length === 0)
    throw new RequestMappingError(
      'Query',
      `no equality on partition key ${partitionKey} found in the key condition`,
    );
  return {
    action: 'dynamodb:Query',
    resource: tables.arn(table, index),
    context: { 'dynamodb:LeadingKeys': leading, 'dynamodb:Attributes': projected(body), ...options(body) },
  };
}

function batchAuthorizations(
  tables: TableRequests,
  operation: string,
  body: JsonBody,
): AuthorizationRequest[] {
  const requestItems = (body.RequestItems ?? {}) as Readonly<Record<string, unknown>>;
  return Object.entries(requestItems).map(([rawTable, entry]) => {
    const table = tables.name(rawTable);
    let items: Array<Item | undefined>;
    let attributes: string[] | undefined;
    if (operation === 'BatchGetItem') {
      const get = entry as { Keys?: Item[] } & JsonBody;
      items = get.Keys ?? [];
      attributes = projected(get);
    } else {
      const writes = (entry ?? []) as Array<{ PutRequest?: { Item?: Item }; DeleteRequest?: { Key?: Item } }>;
      items = writes.map((write) => write.PutRequest?.Item ?? write.DeleteRequest?.Key);
      const puts = writes.flatMap((write) => Object.keys(write.PutRequest?.Item ?? {}));
      attributes = puts.length > 0 ? [...new Set(puts)] : undefined;
    }
    return {
      action: `dynamodb:${operation}`,
      resource: tables.arn(table),
      context: {
        'dynamodb:LeadingKeys': tables.leadingKeys(table, items),
        'dynamodb:Attributes': attributes,
        ...options(body),
      },
    };
  });
}

const TRANSACT_WRITE_ACTIONS: Readonly<Record<string, string>> = {
  Put: 'dynamodb:PutItem',
  Update: 'dynamodb:UpdateItem',
  Delete: 'dynamodb:DeleteItem',
  ConditionCheck: 'dynamodb:ConditionCheckItem',
};

function transactAuthorizations(
  tables: TableRequests,
  operation: string,
  body: JsonBody,
): AuthorizationRequest[] {
  const items = (body.TransactItems ?? []) as Array<Readonly<Record<string, JsonBody>>>;
  return items.map((entry, i) => {
    const [kind, request] = Object.entries(entry)[0] ?? [];
    const action =
      operation === 'TransactGetItems' && kind === 'Get'
        ? 'dynamodb:GetItem'
        : TRANSACT_WRITE_ACTIONS[kind ?? ''];
    if (
      action === undefined ||
      request === undefined ||
      (operation === 'TransactGetItems') !== (kind === 'Get')
    )
      throw new RequestMappingError(
        operation,
        `TransactItems[${i}] is not a ${operation} item (given ${kind})`,
      );
    return itemAuthorization(tables, action, request, {
      'dynamodb:EnclosingOperation': operation,
      'dynamodb:ReturnConsumedCapacity': options(body)['dynamodb:ReturnConsumedCapacity'],
    });
  });
}

/** PartiQL: the verb decides the action (`PartiQLSelect`...), the first quoted or bare name after FROM/INTO/UPDATE the table. */
function partiQlAuthorization(tables: TableRequests, statement: unknown): AuthorizationRequest {
  const text = typeof statement === 'string' ? statement.trim() : '';
  const verb = /^(SELECT|INSERT|UPDATE|DELETE)\b/i.exec(text)?.[1]?.toUpperCase();
  const table = /\b(?:FROM|INTO|UPDATE)\s+"?([A-Za-z0-9_.-]+)"?(?:\."([A-Za-z0-9_.-]+)")?/i.exec(text);
  if (verb === undefined || table?.[1] === undefined)
    throw new RequestMappingError(
      'ExecuteStatement',
      `cannot read the verb and table of ${JSON.stringify(text)}`,
    );
  const action = `dynamodb:PartiQL${verb.charAt(0)}${verb.slice(1).toLowerCase()}`;
  return { action, resource: tables.arn(table[1], table[2]), context: {} };
}

const TABLE_OPERATIONS = new Set([
  'DescribeTable',
  'CreateTable',
  'DeleteTable',
  'UpdateTable',
  'DescribeTimeToLive',
  'UpdateTimeToLive',
  'DescribeContinuousBackups',
  'UpdateContinuousBackups',
  'DescribeKinesisStreamingDestination',
  'DescribeTableReplicaAutoScaling',
]);
const ACCOUNT_OPERATIONS = new Set([
  'ListTables',
  'DescribeLimits',
  'DescribeEndpoints',
  'ListBackups',
  'ListGlobalTables',
]);

/** Authorizations of one DynamoDB request; undefined for an operation this module does not map. */
export function mapDynamoDbRequest(
  target: string | undefined,
  body: JsonBody,
  env: DynamoDbMappingEnv,
): MappedRequest | undefined {
  const operation = operationOf(target, 'DynamoDB_20120810');
  if (operation === undefined) return mapDynamoDbStreamsRequest(target, body);
  const tables = new TableRequests(operation, env);
  const authorizations = ((): AuthorizationRequest[] | undefined => {
    switch (operation) {
      case 'GetItem':
      case 'PutItem':
      case 'UpdateItem':
      case 'DeleteItem':
        return [itemAuthorization(tables, `dynamodb:${operation}`, body)];
      case 'Query':
        return [queryAuthorization(tables, body)];
      case 'Scan': {
        const index = typeof body.IndexName === 'string' ? body.IndexName : undefined;
        const resource = tables.arn(tables.name(body.TableName), index);
        return [
          {
            action: 'dynamodb:Scan',
            resource,
            context: { 'dynamodb:Attributes': projected(body), ...options(body) },
          },
        ];
      }
      case 'BatchGetItem':
      case 'BatchWriteItem':
        return batchAuthorizations(tables, operation, body);
      case 'TransactWriteItems':
      case 'TransactGetItems':
        return transactAuthorizations(tables, operation, body);
      case 'ExecuteStatement':
        return [partiQlAuthorization(tables, body.Statement)];
      case 'BatchExecuteStatement':
        return ((body.Statements ?? []) as JsonBody[]).map((s) => partiQlAuthorization(tables, s.Statement));
      case 'ListTagsOfResource':
      case 'TagResource':
      case 'UntagResource':
        return [{ action: `dynamodb:${operation}`, resource: String(body.ResourceArn ?? '*'), context: {} }];
      default:
        if (TABLE_OPERATIONS.has(operation))
          return [
            {
              action: `dynamodb:${operation}`,
              resource: tables.arn(tables.name(body.TableName)),
              context: {},
            },
          ];
        if (ACCOUNT_OPERATIONS.has(operation))
          return [{ action: `dynamodb:${operation}`, resource: '*', context: {} }];
        return undefined;
    }
  })();
  return authorizations === undefined ? undefined : { operation, authorizations };
}

/**
 * DynamoDB Streams: DescribeStream and GetShardIterator on the StreamArn;
 * GetRecords on the stream ARN carried inside the shard iterator (DynamoDB
 * Local's iterators contain it; otherwise `*`); ListStreams on `*`.
 */
function mapDynamoDbStreamsRequest(target: string | undefined, body: JsonBody): MappedRequest | undefined {
  const operation = operationOf(target, 'DynamoDBStreams_20120810');
  switch (operation) {
    case 'DescribeStream':
    case 'GetShardIterator':
      return {
        operation,
        authorizations: [
          { action: `dynamodb:${operation}`, resource: String(body.StreamArn ?? '*'), context: {} },
        ],
      };
    case 'GetRecords': {
      const arn = /arn:aws:dynamodb:[^|\s"]+\/stream\/[0-9T:.-]+/.exec(String(body.ShardIterator ?? ''))?.[0];
      return {
        operation,
        authorizations: [{ action: 'dynamodb:GetRecords', resource: arn ?? '*', context: {} }],
      };
    }
    case 'ListStreams':
      return { operation, authorizations: [{ action: 'dynamodb:ListStreams', resource: '*', context: {} }] };
    default:
      return undefined;
  }
}

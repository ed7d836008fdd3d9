import {
  type AttributeValue,
  BatchWriteItemCommand,
  type BatchWriteItemCommandOutput,
  type DynamoDBClient,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import { consumerItemPrefix, consumerRecordPrefix } from '../../contract/keys';
import { scanPages } from './table-scan';

/**
 * Deletes everything a consumer owns, so that a backfill rebuilds it from scratch: its kit records
 * (idempotency records, effect markers, checkpoints, parked events: ids `<consumer>#…`) and its
 * own items in the app table (`VIEW#<consumer>#…`). Two filtered scans and batched deletes.
 * Returns how many items went.
 */
export async function resetConsumer(
  dynamodb: DynamoDBClient,
  tables: { readonly tableName: string; readonly kitTableName: string },
  consumer: string,
): Promise<{ kitRecords: number; items: number }> {
  // Kit records first: an event arriving meanwhile then finds no checkpoint and waits (parks) for
  // the backfill instead of applying onto a read model that is about to be deleted.
  const kitRecords = await deleteWhere(
    dynamodb,
    tables.kitTableName,
    'id',
    consumerRecordPrefix(consumer),
    (item) => pick(item, ['id']),
  );
  const items = await deleteWhere(dynamodb, tables.tableName, 'pk', consumerItemPrefix(consumer), (item) =>
    pick(item, ['pk', 'sk']),
  );
  return { kitRecords, items };
}

async function deleteWhere(
  dynamodb: DynamoDBClient,
  tableName: string,
  keyAttribute: string,
  prefix: string,
  keyOf: (item: Record<string, AttributeValue>) => Record<string, AttributeValue>,
): Promise<number> {
  let deleted = 0;
  for await (const page of scanPages(dynamodb, {
    TableName: tableName,
    FilterExpression: 'begins_with(#key, :prefix)',
    ExpressionAttributeNames: { '#key': keyAttribute },
    ExpressionAttributeValues: { ':prefix': { S: prefix } },
  })) {
    const requests = (page.Items ?? []).map((item) => ({ DeleteRequest: { Key: keyOf(item) } }));
    for (let i = 0; i < requests.length; i += 25) {
      let pending: WriteRequest[] | undefined = requests.slice(i, i + 25);
      for (let attempt = 0; pending && pending.length > 0; attempt++) {
        if (attempt > 0)
          await new Promise((resolve) => setTimeout(resolve, Math.min(2000, 50 * 2 ** attempt)));
        const response: BatchWriteItemCommandOutput = await dynamodb.send(
          new BatchWriteItemCommand({ RequestItems: { [tableName]: pending } }),
        );
        pending = response.UnprocessedItems?.[tableName];
      }
    }
    deleted += requests.length;
  }
  return deleted;
}

function pick(
  item: Record<string, AttributeValue>,
  names: ReadonlyArray<string>,
): Record<string, AttributeValue> {
  const key: Record<string, AttributeValue> = {};
  for (const name of names) {
    const value = item[name];
    if (value) key[name] = value;
  }
  return key;
}

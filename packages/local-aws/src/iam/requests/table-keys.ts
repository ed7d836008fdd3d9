/** Key schemas of the template's tables, for `dynamodb:LeadingKeys`. */
import type { CfnTemplate } from '../template-policies';
import type { KeySchema, TableKeyLookup, TableKeys } from './dynamodb';

type KeySchemaElements = ReadonlyArray<{ readonly AttributeName?: unknown; readonly KeyType?: unknown }>;

function keySchemaOf(elements: KeySchemaElements | undefined): KeySchema | undefined {
  const partitionKey = elements?.find((e) => e.KeyType === 'HASH')?.AttributeName;
  const sortKey = elements?.find((e) => e.KeyType === 'RANGE')?.AttributeName;
  if (typeof partitionKey !== 'string') return undefined;
  return typeof sortKey === 'string' ? { partitionKey, sortKey } : { partitionKey };
}

/**
 * Reads the key schema of every AWS::DynamoDB::Table (and its GSIs and LSIs).
 * @param tableName the local name of a table from its logical id
 * @default tables are named after their logical ids, as the local runtime creates them
 */
export function readTableKeys(
  template: CfnTemplate,
  tableName: (logicalId: string) => string = (logicalId) => logicalId,
): TableKeyLookup {
  const tables = new Map<string, TableKeys>();
  for (const [logicalId, resource] of Object.entries(template.Resources ?? {})) {
    if (resource.Type !== 'AWS::DynamoDB::Table' && resource.Type !== 'AWS::DynamoDB::GlobalTable') continue;
    const p = resource.Properties ?? {};
    const keys = keySchemaOf(p.KeySchema as KeySchemaElements | undefined);
    if (keys === undefined) continue;
    const indexes: Record<string, KeySchema> = {};
    const indexList = [
      ...((p.GlobalSecondaryIndexes as unknown[]) ?? []),
      ...((p.LocalSecondaryIndexes as unknown[]) ?? []),
    ] as Array<{ IndexName?: unknown; KeySchema?: KeySchemaElements }>;
    for (const index of indexList) {
      const indexKeys = keySchemaOf(index.KeySchema);
      if (typeof index.IndexName === 'string' && indexKeys) indexes[index.IndexName] = indexKeys;
    }
    tables.set(tableName(logicalId), { ...keys, indexes });
  }
  return (name) => tables.get(name);
}

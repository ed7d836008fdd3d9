import type { TableSpec } from '../topology';
import type { ReaderContext } from './resource-reader';

/** `AWS::DynamoDB::Table` and `AWS::DynamoDB::GlobalTable`: key schema, indexes, stream and TTL. */
export function readTable({ logicalId, properties: p, topology }: ReaderContext): void {
  const stream = p.StreamSpecification as { StreamViewType?: string } | undefined;
  const ttl = p.TimeToLiveSpecification as { AttributeName?: string; Enabled?: boolean } | undefined;
  topology.tables.push({
    logicalId,
    keySchema: p.KeySchema as TableSpec['keySchema'],
    attributeDefinitions: p.AttributeDefinitions as TableSpec['attributeDefinitions'],
    globalSecondaryIndexes: (p.GlobalSecondaryIndexes as TableSpec['globalSecondaryIndexes']) ?? [],
    streamViewType: stream?.StreamViewType,
    ttlAttribute: ttl?.Enabled ? ttl.AttributeName : undefined,
  });
}

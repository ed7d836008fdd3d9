import {
  type DynamoDBClient,
  ScanCommand,
  type ScanCommandInput,
  type ScanCommandOutput,
} from '@aws-sdk/client-dynamodb';

/**
 * The pages of a Scan, one after the other (each page is asked for only when the previous one has
 * been handled), until DynamoDB returns no LastEvaluatedKey.
 *
 * @example
 * for await (const page of scanPages(dynamodb, { TableName, Select: 'COUNT' })) count += page.Count ?? 0;
 */
export async function* scanPages(
  dynamodb: DynamoDBClient,
  input: Omit<ScanCommandInput, 'ExclusiveStartKey'>,
): AsyncGenerator<ScanCommandOutput> {
  let start: ScanCommandInput['ExclusiveStartKey'];
  do {
    const page = await dynamodb.send(new ScanCommand({ ...input, ExclusiveStartKey: start }));
    yield page;
    start = page.LastEvaluatedKey;
  } while (start);
}

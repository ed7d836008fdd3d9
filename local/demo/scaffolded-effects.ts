import {
  BatchGetItemCommand,
  type BatchGetItemCommandOutput,
  DynamoDBClient,
  type KeysAndAttributes,
} from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { LocalAws } from 'local-aws';
import { consumerItemPk, KEYS } from '../../contract/keys';
import { STACK_OUTPUTS } from '../../contract/stack-outputs';
import { counterOf } from '../../tools/new-consumer/templates';
import type { ScaffoldedConsumer } from './scaffolded-app';
import type { WorkloadResult } from './workload';

/**
 * Effects of scaffolded consumers, read back from the table: the template counts each handled
 * event type per aggregate, so each counter must equal the number of such events committed (the
 * poison excepted: the consumers that validate it dead-letter it). A lost effect leaves a counter
 * lower, a doubled one higher.
 */
export async function scaffoldedEffectMismatches(
  pipeline: LocalAws,
  consumers: ReadonlyArray<ScaffoldedConsumer>,
  workload: Pick<WorkloadResult, 'committed'>,
  poison: ReadonlySet<string>,
): Promise<number> {
  const expected = new Map<string, Map<string, number>>();
  for (const [id, { aggregate, type }] of workload.committed) {
    if (poison.has(id)) continue;
    const counts = expected.get(aggregate) ?? new Map<string, number>();
    counts.set(type, (counts.get(type) ?? 0) + 1);
    expected.set(aggregate, counts);
  }
  const table = pipeline.outputs[STACK_OUTPUTS.tableName] ?? '';
  const dynamodb = new DynamoDBClient({ ...pipeline.clientConfig, endpoint: pipeline.endpoints.dynamodb });
  let mismatches = 0;
  try {
    for (const consumer of consumers) {
      const items = await readItems(
        dynamodb,
        table,
        [...expected.keys()].map((aggregate) => consumerItemPk(consumer.name, aggregate)),
      );
      for (const [aggregate, counts] of expected) {
        const item = items.get(consumerItemPk(consumer.name, aggregate));
        for (const type of consumer.handles) {
          if (Number(item?.[counterOf(type)] ?? 0) !== (counts.get(type) ?? 0)) mismatches++;
        }
      }
    }
  } finally {
    dynamodb.destroy();
  }
  return mismatches;
}

/** Consistent reads of `<pk>`/VIEW items, 100 a request, retrying what DynamoDB leaves unprocessed. */
async function readItems(dynamodb: DynamoDBClient, table: string, pks: ReadonlyArray<string>) {
  const items = new Map<string, Record<string, unknown>>();
  for (let i = 0; i < pks.length; i += 100) {
    let request: Record<string, KeysAndAttributes> | undefined = {
      [table]: {
        Keys: pks.slice(i, i + 100).map((pk) => ({ pk: { S: pk }, sk: { S: KEYS.viewSk } })),
        ConsistentRead: true,
      },
    };
    while (request && Object.keys(request).length > 0) {
      const response: BatchGetItemCommandOutput = await dynamodb.send(
        new BatchGetItemCommand({ RequestItems: request }),
      );
      for (const item of response.Responses?.[table] ?? []) {
        const plain = unmarshall(item);
        items.set(String(plain.pk), plain);
      }
      request = response.UnprocessedKeys;
    }
  }
  return items;
}

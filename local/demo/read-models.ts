import { type AttributeValue, BatchGetItemCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { LocalAws } from 'local-aws';
import { consumerItemPk, KEYS } from '../../contract/keys';
import type { WorkloadResult } from './workload';

/** The example consumers whose effects the demo reads back. */
export const PROJECTION = 'order-projection';
const ACTIVITY = 'order-activity';

/** Highest committed sequence per aggregate key. */
export function committedVersions(workload: Pick<WorkloadResult, 'committed'>): Map<string, number> {
  const versions = new Map<string, number>();
  for (const { aggregate, sequence } of workload.committed.values())
    versions.set(aggregate, Math.max(versions.get(aggregate) ?? 0, sequence));
  return versions;
}

/**
 * Effects of the example consumers, read back from the table: the order view's
 * lastSequence and the activity counter must both equal the order's version.
 * A lost effect leaves them lower, a doubled one leaves the counter higher.
 */
export async function readModelMismatches(
  pipeline: LocalAws,
  versions: ReadonlyMap<string, number>,
  projectedVersion: (aggregate: string) => number = (aggregate) => versions.get(aggregate) ?? 0,
): Promise<number> {
  const table = pipeline.tables.find((t) => t.streamArn);
  if (!table) return 0;
  const dynamodb = new DynamoDBClient({ ...pipeline.clientConfig, endpoint: pipeline.endpoints.dynamodb });
  let mismatches = 0;
  try {
    const aggregates = [...versions.keys()];
    for (let i = 0; i < aggregates.length; i += 33) {
      // Three keys per aggregate; BatchGetItem takes at most 100.
      const slice = aggregates.slice(i, i + 33);
      const keys = slice.flatMap((aggregate) => [
        { pk: { S: aggregate }, sk: { S: KEYS.stateSk } },
        { pk: { S: consumerItemPk(PROJECTION, aggregate) }, sk: { S: KEYS.viewSk } },
        { pk: { S: consumerItemPk(ACTIVITY, aggregate) }, sk: { S: KEYS.viewSk } },
      ]);
      const items = new Map<string, Record<string, unknown>>();
      let request:
        | Record<string, { Keys: Record<string, AttributeValue>[]; ConsistentRead: boolean }>
        | undefined = {
        [table.name]: { Keys: keys, ConsistentRead: true },
      };
      while (request && Object.keys(request).length > 0) {
        const response = await dynamodb.send(new BatchGetItemCommand({ RequestItems: request }));
        for (const item of response.Responses?.[table.name] ?? []) {
          const plain = unmarshall(item);
          items.set(`${plain.pk}|${plain.sk}`, plain);
        }
        request = response.UnprocessedKeys as typeof request;
      }
      for (const aggregate of slice) {
        const version = Number(items.get(`${aggregate}|${KEYS.stateSk}`)?.version ?? -1);
        const view = items.get(`${consumerItemPk(PROJECTION, aggregate)}|${KEYS.viewSk}`);
        const activity = items.get(`${consumerItemPk(ACTIVITY, aggregate)}|${KEYS.viewSk}`);
        if (Number(view?.lastSequence ?? 0) !== projectedVersion(aggregate)) mismatches++;
        if (Number(activity?.eventCount ?? 0) !== version) mismatches++;
      }
    }
  } finally {
    dynamodb.destroy();
  }
  return mismatches;
}

import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { QueryCommand, type QueryCommandInput } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import middy from '@middy/core';
import { createAwsRelay } from '../relay/aws-relay';
import { requirePositiveIntEnv } from '../shared/env';
import { ENV } from '../shared/env-names';
import { PENDING } from '../shared/outbox-item';
import { OLDEST_UNPUBLISHED_METRIC, type PendingEntry, Sweeper, type SweepResult } from './sweeper';

const logger = new Logger();
const metrics = new Metrics();
const { relay, ports, dynamodb, tableName } = createAwsRelay(logger, metrics);

const sweeper = new Sweeper(
  {
    index: {
      async oldest(shard, limit, before) {
        const entries: PendingEntry[] = [];
        let start: QueryCommandInput['ExclusiveStartKey'];
        do {
          const page = await dynamodb.send(
            new QueryCommand({
              TableName: tableName,
              IndexName: PENDING.indexName,
              KeyConditionExpression: before ? '#shard = :shard AND #since < :before' : '#shard = :shard',
              // DynamoDB refuses an attribute name the expression does not use.
              ExpressionAttributeNames: {
                '#shard': PENDING.shardAttribute,
                ...(before ? { '#since': PENDING.sinceAttribute } : {}),
              },
              ExpressionAttributeValues: {
                ':shard': { S: shard },
                ...(before ? { ':before': { S: before } } : {}),
              },
              ScanIndexForward: true,
              Limit: limit - entries.length,
              ExclusiveStartKey: start,
            }),
          );
          for (const item of page.Items ?? []) {
            const plain = unmarshall(item);
            entries.push({
              pk: String(plain.pk),
              sk: String(plain.sk),
              pendingSince: String(plain[PENDING.sinceAttribute]),
            });
          }
          start = page.LastEvaluatedKey;
        } while (start && entries.length < limit);
        return entries;
      },
    },
    cursors: ports.cursors,
    outbox: ports.outbox,
    pending: ports.pending,
    relay,
    telemetry: ports.telemetry,
  },
  { olderThanSeconds: requirePositiveIntEnv(ENV.sweepAfterSeconds) },
);

/** Sweeper Lambda, on a schedule: re-publishes outbox events the stream failed to deliver. */
export const handler = middy(async (): Promise<SweepResult> => {
  const result = await sweeper.sweep();
  metrics.addMetric(OLDEST_UNPUBLISHED_METRIC, MetricUnit.Seconds, result.oldestPendingAgeSeconds);
  metrics.addMetric('SweptEvents', MetricUnit.Count, result.republished);
  metrics.addMetric('StaleMarksCleared', MetricUnit.Count, result.staleMarksCleared);
  metrics.addMetric('SweepFailures', MetricUnit.Count, result.failed);
  logger.info('sweep done', { ...result });
  return result;
})
  .use(injectLambdaContext(logger))
  .use(logMetrics(metrics));

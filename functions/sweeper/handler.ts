import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { Tracer } from '@aws-lambda-powertools/tracer';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import { S3Client } from '@aws-sdk/client-s3';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { ENV } from '../../contract/env';
import { SERVICES, SWEEPER_METRICS } from '../../contract/metrics';
import { createAwsRelay } from '../relay/aws-relay';
import { requireEnv, requirePositiveIntEnv } from '../shared/env';
import { DynamoDbOutboxScanner, DynamoDbRelayBookkeeping, S3FailedBatchStore } from './aws-adapters';
import { Sweeper, type SweepResult } from './sweeper';

const logger = new Logger({ serviceName: SERVICES.sweeper });
const tracer = new Tracer({ serviceName: SERVICES.sweeper });
const metrics = new Metrics({ serviceName: SERVICES.sweeper });
const { relay, ports, relayMetrics, dynamodb, tableName } = createAwsRelay(logger, tracer);
const s3 = tracer.captureAWSv3Client(new S3Client({}));
const intervalSeconds = requirePositiveIntEnv(ENV.sweepIntervalSeconds);
let remainingMs: () => number = () => Number.POSITIVE_INFINITY;

const sweeper = new Sweeper(
  {
    bookkeeping: new DynamoDbRelayBookkeeping(dynamodb, tableName),
    failedBatches: new S3FailedBatchStore(s3, requireEnv(ENV.failureBucketName)),
    scanner: new DynamoDbOutboxScanner(dynamodb, tableName),
    relay,
    failures: ports.failures,
    telemetry: ports.telemetry,
  },
  { intervalSeconds, remainingMs: () => remainingMs() },
);

/** Sweeper Lambda, on a schedule: probes the relay and re-publishes what the stream failed to deliver. */
export const handler = middy(async (_event: unknown, context: Context): Promise<SweepResult> => {
  remainingMs = () => context.getRemainingTimeInMillis();
  const result = await sweeper.sweep();
  // Emitted on every run, 0 included: the alarms treat missing data as breaching (a broken sweeper).
  metrics.addMetric(SWEEPER_METRICS.relayProbeLag, MetricUnit.Seconds, result.relayProbeLagSeconds);
  metrics.addMetric(
    SWEEPER_METRICS.oldestUnrecovered,
    MetricUnit.Seconds,
    result.oldestUnrecoveredAgeSeconds,
  );
  metrics.addMetric(SWEEPER_METRICS.recordsRecovered, MetricUnit.Count, result.recordsRecovered);
  metrics.addMetric(SWEEPER_METRICS.recoveryFailures, MetricUnit.Count, result.recoveryFailures);
  metrics.addMetric(SWEEPER_METRICS.recoveryGivenUp, MetricUnit.Count, result.recoveryGivenUp);
  metrics.addMetric(SWEEPER_METRICS.lostWindows, MetricUnit.Count, result.lostWindowsOpened);
  logger.info('sweep done', { ...result });
  return result;
})
  .use(captureLambdaHandler(tracer))
  .use(injectLambdaContext(logger))
  .use(logMetrics([metrics, relayMetrics]));

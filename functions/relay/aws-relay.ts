import type { Logger } from '@aws-lambda-powertools/logger';
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SQSClient } from '@aws-sdk/client-sqs';
import { requireEnv, requireStringListEnv } from '../shared/env';
import { ENV } from '../shared/env-names';
import {
  DynamoDbCursorStore,
  DynamoDbOutboxReader,
  DynamoDbPendingMarks,
  EventBridgeBusPublisher,
  SqsFailureSink,
  SqsFifoPublisher,
} from './aws-adapters';
import type { RelayPorts, RelayTelemetry } from './ports';
import { Relay } from './relay';

/** Relay telemetry through Powertools: counts and lag as metrics, warnings and errors as logs. */
export function powertoolsTelemetry(logger: Logger, metrics: Metrics): RelayTelemetry {
  return {
    count: (metric, value) => {
      if (value > 0) metrics.addMetric(metric, MetricUnit.Count, value);
    },
    publishLag: (ms) => metrics.addMetric('PublishLag', MetricUnit.Milliseconds, ms),
    warn: (message, attributes) => logger.warn(message, attributes ?? {}),
    error: (message, attributes) => logger.error(message, attributes ?? {}),
  };
}

/**
 * The relay wired to AWS from the function's environment. Shared by the relay
 * (stream-driven) and the sweeper (schedule-driven), which publish through the
 * same core so that order, cursors and pending marks work the same way.
 */
export function createAwsRelay(
  logger: Logger,
  metrics: Metrics,
): { relay: Relay; ports: RelayPorts; dynamodb: DynamoDBClient; tableName: string } {
  const tableName = requireEnv(ENV.tableName);
  const dynamodb = new DynamoDBClient({});
  const sqs = new SQSClient({});
  const ports: RelayPorts = {
    cursors: new DynamoDbCursorStore(dynamodb, tableName),
    outbox: new DynamoDbOutboxReader(dynamodb, tableName),
    pending: new DynamoDbPendingMarks(dynamodb, tableName),
    eventBus: new EventBridgeBusPublisher(new EventBridgeClient({}), requireEnv(ENV.eventBusName)),
    queues: new SqsFifoPublisher(sqs),
    failures: new SqsFailureSink(sqs, requireEnv(ENV.relayFailureQueueUrl)),
    telemetry: powertoolsTelemetry(logger, metrics),
  };
  return {
    relay: new Relay(ports, { queueUrls: requireStringListEnv(ENV.orderedQueueUrls) }),
    ports,
    dynamodb,
    tableName,
  };
}

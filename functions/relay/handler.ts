import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SQSClient } from '@aws-sdk/client-sqs';
import middy from '@middy/core';
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
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
import type { RelayTelemetry } from './ports';
import { Relay } from './relay';

const tableName = requireEnv(ENV.tableName);
const logger = new Logger();
const metrics = new Metrics();
const dynamodb = new DynamoDBClient({});
const sqs = new SQSClient({});

const telemetry: RelayTelemetry = {
  count: (metric, value) => {
    if (value > 0) metrics.addMetric(metric, MetricUnit.Count, value);
  },
  publishLag: (ms) => metrics.addMetric('PublishLag', MetricUnit.Milliseconds, ms),
  warn: (message, attributes) => logger.warn(message, attributes ?? {}),
  error: (message, attributes) => logger.error(message, attributes ?? {}),
};

const relay = new Relay(
  {
    cursors: new DynamoDbCursorStore(dynamodb, tableName),
    outbox: new DynamoDbOutboxReader(dynamodb, tableName),
    pending: new DynamoDbPendingMarks(dynamodb, tableName),
    eventBus: new EventBridgeBusPublisher(new EventBridgeClient({}), requireEnv(ENV.eventBusName)),
    queues: new SqsFifoPublisher(sqs),
    failures: new SqsFailureSink(sqs, requireEnv(ENV.relayFailureQueueUrl)),
    telemetry,
  },
  { queueUrls: requireStringListEnv(ENV.orderedQueueUrls) },
);

/** Relay Lambda: DynamoDB stream batch of outbox INSERTs → EventBridge + FIFO queues; partial batch response. */
export const handler = middy(async (event: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse> => {
  const response = await relay.handle(event.Records ?? []);
  logger.info('relay batch done', {
    records: event.Records?.length ?? 0,
    failed: response.batchItemFailures.length,
  });
  return response;
})
  .use(injectLambdaContext(logger))
  .use(logMetrics(metrics));
